namespace FastLra.Model;

/// <summary>
/// The five tensors of the network in one flat buffer (layout: <see cref="RnnShape"/>).
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

    /// <summary>Compact rows: S = H.</summary>
    public int Stride => Shape.Hidden;

    /// <summary>All parameters, in layout order.</summary>
    public Span<float> Data => _memory.Span;

    /// <summary>Input weights, I x H.</summary>
    public Span<float> Wxh => Data.Slice(Shape.WxhOffset, Shape.WxhLength);

    /// <summary>Recurrent weights, H x H.</summary>
    public Span<float> Whh => Data.Slice(Shape.WhhOffset, Shape.WhhLength);

    /// <summary>Hidden bias, H.</summary>
    public Span<float> Bh => Data.Slice(Shape.BhOffset, Shape.BhLength);

    /// <summary>Output weights, H x O.</summary>
    public Span<float> Why => Data.Slice(Shape.WhyOffset, Shape.WhyLength);

    /// <summary>Output bias, O.</summary>
    public Span<float> By => Data.Slice(Shape.ByOffset, Shape.ByLength);

    /// <summary>Parameter <paramref name="index"/> in layout order (Wxh, Whh, bh, Why, by).</summary>
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
