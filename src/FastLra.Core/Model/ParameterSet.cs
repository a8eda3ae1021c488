using FastLra.Kernels;
namespace FastLra.Model;

/// <summary>
/// The tensors of the network in one flat buffer (layout: <see cref="RnnShape"/>).
/// The same type holds parameters and gradients, so an optimiser step is one loop over
/// <see cref="Data"/>.
/// </summary>
public sealed class ParameterSet : IRnnParameters
{
    private readonly Memory<float> _memory;

    /// <summary>A parameter set with its own buffer.</summary>
    public ParameterSet(RnnShape shape)
        : this(shape, new float[shape.Count])
    {
    }

    /// <summary>A parameter set over <paramref name="memory"/> (for example a workspace segment).</summary>
    public ParameterSet(RnnShape shape, Memory<float> memory)
    {
        shape.Validate();
        if (memory.Length != shape.Count) throw new ArgumentException("Memory length does not match the shape.", nameof(memory));
        Shape = shape;
        _memory = memory;
    }

    /// <summary>The widths, and with them the layout of <see cref="Data"/>.</summary>
    public RnnShape Shape { get; }

    /// <summary>Compact rows: S = H, gate blocks H apart.</summary>
    public int Stride => Shape.Hidden;

    /// <summary>Fixed: compact rows are read by inference and evaluation, which sum in the one order every width shares.</summary>
    Summation IRnnParameters.Summation => Summation.Fixed;

    /// <summary>All parameters, in layout order.</summary>
    public Span<float> Data => _memory.Span;

    /// <summary>Layer 0's input weights, I x GH (the paper's Wxh, I x H).</summary>
    public Span<float> Wxh => InputWeights(0);

    /// <summary>Layer 0's recurrent weights, H x GH (the paper's Whh, H x H).</summary>
    public Span<float> Whh => RecurrentWeights(0);

    /// <summary>Layer 0's hidden bias, GH (the paper's bh, H).</summary>
    public Span<float> Bh => HiddenBias(0);

    /// <summary>Output weights, H x O.</summary>
    public Span<float> Why => Data.Slice(Shape.WhyOffset, Shape.WhyLength);

    /// <summary>Output bias, O.</summary>
    public Span<float> By => Data.Slice(Shape.ByOffset, Shape.ByLength);

    /// <summary>Layer <paramref name="layer"/>'s input weights Wx_l, I_l x GH.</summary>
    public Span<float> InputWeights(int layer) => Tensor(layer * Shape.TensorsPerLayer);

    /// <summary>Layer <paramref name="layer"/>'s recurrent weights Wh_l, H x GH.</summary>
    public Span<float> RecurrentWeights(int layer) => Tensor(layer * Shape.TensorsPerLayer + 1);

    /// <summary>Layer <paramref name="layer"/>'s input bias bx_l (GH) of a gated cell; empty for tanh, whose layers have one bias.</summary>
    public Span<float> InputBias(int layer) => Shape.HasInputBias ? Tensor(layer * Shape.TensorsPerLayer + 2) : default;

    /// <summary>Layer <paramref name="layer"/>'s hidden bias bh_l, GH.</summary>
    public Span<float> HiddenBias(int layer) => Tensor((layer + 1) * Shape.TensorsPerLayer - 1);

    /// <summary>Tensor <paramref name="index"/> in layout order (<see cref="RnnShape.Slot"/>).</summary>
    public Span<float> Tensor(int index)
    {
        var (offset, length, _, _) = Shape.Slot(index);
        return Data.Slice(offset, length);
    }

    /// <summary>Sets every parameter to zero.</summary>
    public void Clear() => Data.Clear();

    /// <summary>Copies every parameter of <paramref name="other"/>, which must have the same shape.</summary>
    public void CopyFrom(ParameterSet other)
    {
        if (other.Shape != Shape) throw new ArgumentException("Parameter shapes differ.", nameof(other));
        other.Data.CopyTo(Data);
    }
}
