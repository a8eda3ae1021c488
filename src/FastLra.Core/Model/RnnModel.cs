namespace FastLra.Model;

/// <summary>
/// Read-only weights for inference, with the standardisation of the data they were trained on
/// when they have one. Immutable once built, so any number of <see cref="RnnState"/>s on any
/// threads may share one model without locks.
/// </summary>
public sealed class RnnModel
{
    private readonly ParameterSet _p;

    /// <summary>A model holding a copy of <paramref name="parameters"/>, with an optional normalisation (inputs and outputs in original units).</summary>
    public RnnModel(ParameterSet parameters, Normalization? normalization = null)
        : this(parameters.Shape, parameters.Data, normalization)
    {
    }

    /// <summary>A model from parameters in the flat layout of <see cref="RnnShape"/>, with an optional normalisation.</summary>
    public RnnModel(RnnShape shape, ReadOnlySpan<float> parameters, Normalization? normalization = null)
    {
        _p = new ParameterSet(shape);
        if (parameters.Length != shape.Count)
            throw new ArgumentException($"Expected {shape.Count} parameters for I={shape.Inputs}, H={shape.Hidden}, O={shape.Outputs}, got {parameters.Length}.");
        if (normalization is not null && (normalization.InputMean.Length != shape.Inputs || (normalization.HasTargets && normalization.TargetMean.Length != shape.Outputs)))
            throw new ArgumentException("The normalisation's widths are not the model's.");
        parameters.CopyTo(_p.Data);
        Normalization = normalization;
    }

    // A model over the caller's parameters themselves, not a copy.
    private RnnModel(Normalization? normalization, ParameterSet shared)
    {
        _p = shared;
        Normalization = normalization;
    }

    /// <summary>
    /// A model over <paramref name="live"/> itself, not a copy: the view the online learner steps its
    /// stream with while it trains those weights (so, unlike every other model, it changes).
    /// </summary>
    internal static RnnModel Over(ParameterSet live, Normalization? normalization) => new(normalization, live);

    /// <summary>The network: I, H, O, its cell and layers.</summary>
    public RnnShape Shape => _p.Shape;

    /// <summary>The standardisation applied to inputs and undone on outputs by <see cref="RnnState"/>, or null.</summary>
    public Normalization? Normalization { get; }

    /// <summary>Loads a model file (<see cref="ModelFile.Load"/>): the network, and the normalisation of its data when it has one.</summary>
    public static RnnModel Load(string path) => ModelFile.Load(path);

    /// <summary>Writes the model to <paramref name="path"/> (<see cref="ModelFile.Save(string, RnnModel, IReadOnlyList{KeyValuePair{string, string}}?)"/>), atomically.</summary>
    public void Save(string path) => ModelFile.Save(path, this);

    /// <summary>The parameters, read-only, in layout order.</summary>
    public ReadOnlySpan<float> Parameters => _p.Data;

    internal ParameterSet Weights => _p;
}
