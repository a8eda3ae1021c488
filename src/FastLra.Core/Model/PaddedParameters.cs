using FastLra.Kernels;

namespace FastLra.Model;

/// <summary>
/// A parameter set's hidden-layer tensors in the trainers' layout: Wxh (I x S), Whh (H x S) and
/// bh (S), each row of H values padded with zeros to the stride S, H rounded up to whole vectors
/// of the width the kernels run (<see cref="SimdWidth.Bits"/>: 16 floats, a cache line, at 512
/// bits). States kept in rows of S then are whole vectors that start on a vector boundary, so no
/// load or store straddles a cache line and no row needs a masked tail: the products run 5-20%
/// faster than on rows of H = 100 (docs/performance.md). The weights' zero padding columns keep
/// the states' padding zero. Why and by are the set's own tensors (the products read them whole).
/// </summary>
internal sealed class PaddedParameters : IRnnParameters
{
    /// <summary>Floats of padded storage for <paramref name="shape"/>: I + H + 1 rows of S.</summary>
    public static long Length(RnnShape shape) => (shape.Inputs + shape.Hidden + 1L) * StrideOf(shape.Hidden);

    /// <summary>H rounded up to a multiple of the vector width in floats (4 without vectors).</summary>
    public static int StrideOf(int hidden)
    {
        int width = Math.Max(SimdWidth.Bits, 128) / 32;
        return (hidden + width - 1) / width * width;
    }

    private readonly Memory<float> _memory;

    /// <summary>The padded tensors of <paramref name="set"/> over <paramref name="memory"/> (<see cref="Length"/> floats, zeroed here).</summary>
    public PaddedParameters(ParameterSet set, Memory<float> memory)
    {
        if (memory.Length != Length(set.Shape)) throw new ArgumentException("Memory length does not match the padded shape.", nameof(memory));
        Set = set;
        Stride = StrideOf(set.Shape.Hidden);
        _memory = memory;
        memory.Span.Clear();
    }

    /// <summary>The parameter set these tensors come from and go back to.</summary>
    public ParameterSet Set { get; }

    public RnnShape Shape => Set.Shape;

    /// <summary>S, the floats from one row to the next.</summary>
    public int Stride { get; }

    // Wxh, Whh and bh are consecutive in both layouts: I + H + 1 rows of H in the set, of S here.
    private int Rows => Shape.Inputs + Shape.Hidden + 1;

    /// <summary>Input weights, I x S.</summary>
    public Span<float> Wxh => _memory.Span[..(Shape.Inputs * Stride)];

    /// <summary>Recurrent weights, H x S.</summary>
    public Span<float> Whh => _memory.Span.Slice(Shape.Inputs * Stride, Shape.Hidden * Stride);

    /// <summary>Hidden bias, S.</summary>
    public Span<float> Bh => _memory.Span.Slice((Rows - 1) * Stride, Stride);

    /// <summary>The set's output weights, H x O.</summary>
    public Span<float> Why => Set.Why;

    /// <summary>The set's output bias, O.</summary>
    public Span<float> By => Set.By;

    /// <summary>Copies the set's Wxh, Whh and bh in (the padding stays zero).</summary>
    public void Load()
    {
        int h = Shape.Hidden;
        Span<float> source = Set.Data, padded = _memory.Span;
        for (int r = 0; r < Rows; r++) source.Slice(r * h, h).CopyTo(padded.Slice(r * Stride, h));
    }

    /// <summary>Copies Wxh, Whh and bh out into the set.</summary>
    public void Store()
    {
        int h = Shape.Hidden;
        Span<float> target = Set.Data, padded = _memory.Span;
        for (int r = 0; r < Rows; r++) padded.Slice(r * Stride, h).CopyTo(target.Slice(r * h, h));
    }

    /// <summary>Zeroes the padded tensors and the set's Why and by (a gradient about to be accumulated).</summary>
    public void Clear()
    {
        _memory.Span.Clear();
        Set.Why.Clear();
        Set.By.Clear();
    }
}
