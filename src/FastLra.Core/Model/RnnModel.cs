using FastLra.IO;

namespace FastLra.Model;

/// <summary>
/// Read-only weights for inference. Immutable once built, so any number of <see cref="RnnState"/>s
/// on any threads may share one model without locks.
/// </summary>
public sealed class RnnModel
{
    private readonly ParameterSet _p;

    /// <summary>A model holding a copy of <paramref name="parameters"/>.</summary>
    public RnnModel(ParameterSet parameters)
        : this(parameters.Shape, parameters.Data)
    {
    }

    /// <summary>A model from parameters in the flat layout of <see cref="RnnShape"/>.</summary>
    public RnnModel(RnnShape shape, ReadOnlySpan<float> parameters)
    {
        _p = new ParameterSet(shape);
        if (parameters.Length != shape.Count)
            throw new ArgumentException($"Expected {shape.Count} parameters for I={shape.Inputs}, H={shape.Hidden}, O={shape.Outputs}, got {parameters.Length}.");
        parameters.CopyTo(_p.Data);
    }

    public RnnShape Shape => _p.Shape;

    /// <summary>Loads a safetensors weight file (see <see cref="ModelFile.Load(string)"/>).</summary>
    public static RnnModel Load(string path) => new(ModelFile.Load(path).Parameters);

    /// <summary>The parameters, read-only, in layout order.</summary>
    public ReadOnlySpan<float> Parameters => _p.Data;

    internal ParameterSet Weights => _p;
}
