using FastLra.Kernels;

namespace FastLra.Model;

/// <summary>
/// A parameter set's layers in the trainers' layout: every row of a layer's tensors (Wx_l, Wh_l
/// and the biases) holds its G gate blocks of H values each padded with zeros to the stride S, H
/// rounded up to whole vectors of the width the kernels run (<see cref="SimdWidth.Bits"/>: 16
/// floats, a cache line, at 512 bits), and to at least eight floats (<see cref="StrideOf"/>). States kept in rows of S then are whole vectors
/// that start on a vector boundary, so no load or store straddles a cache line and no row needs a
/// masked tail: the products run 5-20% faster than on rows of H = 100 (docs/performance.md). The
/// weights' zero padding keeps the states' padding zero. Why and by are the set's own tensors (the
/// products read them whole). For the paper's one tanh layer this is Wxh (I x S), Whh (H x S), bh (S).
/// </summary>
internal sealed class PaddedParameters : IRnnParameters
{
    /// <summary>Floats of padded storage for <paramref name="shape"/>: each layer's rows of GS.</summary>
    public static long Length(RnnShape shape)
    {
        long total = 0;
        for (int l = 0; l < shape.Layers; l++) total += LayerRows(shape, l) * (long)shape.Gates * StrideOf(shape.Hidden);
        return total;
    }

    /// <summary>
    /// H rounded up to a multiple of the vector width in floats, and of eight: a gate block then
    /// starts at a multiple of eight floats at every width, so the fixed-order dot products
    /// (<see cref="Summation.Fixed"/>) give each element the same partial sum at 512, 256 and 128
    /// bits, the zero padding adding nothing.
    /// </summary>
    public static int StrideOf(int hidden)
    {
        int width = Math.Max(SimdWidth.Bits / 32, 8);
        return (hidden + width - 1) / width * width;
    }

    // Rows of layer l: its input rows (I, or H above the first), H recurrent rows and its biases.
    private static int LayerRows(RnnShape shape, int layer) => shape.LayerInputs(layer) + shape.Hidden + (shape.HasInputBias ? 2 : 1);

    private readonly Memory<float> _memory;
    private readonly int[] _layerStart;

    /// <summary>
    /// The padded tensors of <paramref name="set"/> over <paramref name="memory"/> (<see cref="Length"/>
    /// floats, zeroed here), whose dot products sum in the order <paramref name="summation"/> names.
    /// </summary>
    public PaddedParameters(ParameterSet set, Memory<float> memory, Summation summation = Summation.Fixed)
    {
        Summation = summation;
        if (memory.Length != Length(set.Shape)) throw new ArgumentException("Memory length does not match the padded shape.", nameof(memory));
        Set = set;
        Stride = StrideOf(set.Shape.Hidden);
        _memory = memory;
        _layerStart = new int[set.Shape.Layers + 1];
        for (int l = 0; l < set.Shape.Layers; l++) _layerStart[l + 1] = _layerStart[l] + LayerRows(set.Shape, l) * RowLength;
        memory.Span.Clear();
    }

    /// <summary>The parameter set these tensors come from and go back to.</summary>
    public ParameterSet Set { get; }

    public RnnShape Shape => Set.Shape;

    /// <summary>S, the floats from one gate block to the next.</summary>
    public int Stride { get; }

    public Summation Summation { get; }

    /// <summary>GS, the floats of one row of a layer's tensors.</summary>
    public int RowLength => Shape.Gates * Stride;

    /// <summary>Layer <paramref name="layer"/>'s input weights, I_l x GS (I_l = H above the first layer).</summary>
    public Span<float> InputWeights(int layer) => _memory.Span.Slice(_layerStart[layer], Shape.LayerInputs(layer) * RowLength);

    /// <summary>Layer <paramref name="layer"/>'s recurrent weights, H x GS.</summary>
    public Span<float> RecurrentWeights(int layer) => _memory.Span.Slice(_layerStart[layer] + Shape.LayerInputs(layer) * RowLength, Shape.Hidden * RowLength);

    /// <summary>Layer <paramref name="layer"/>'s input bias, GS (gated cells; empty for tanh).</summary>
    public Span<float> InputBias(int layer) =>
        Shape.HasInputBias ? _memory.Span.Slice(_layerStart[layer] + (Shape.LayerInputs(layer) + Shape.Hidden) * RowLength, RowLength) : default;

    /// <summary>Layer <paramref name="layer"/>'s hidden bias, GS.</summary>
    public Span<float> HiddenBias(int layer) => _memory.Span.Slice(_layerStart[layer + 1] - RowLength, RowLength);

    /// <summary>The paper's Wxh (I x S): layer 0's input weights.</summary>
    public Span<float> Wxh => InputWeights(0);

    /// <summary>The paper's Whh (H x S): layer 0's recurrent weights.</summary>
    public Span<float> Whh => RecurrentWeights(0);

    /// <summary>The paper's bh (S): layer 0's (tanh) bias.</summary>
    public Span<float> Bh => HiddenBias(0);

    /// <summary>The set's output weights, H x O.</summary>
    public Span<float> Why => Set.Why;

    /// <summary>The set's output bias, O.</summary>
    public Span<float> By => Set.By;

    /// <summary>Copies the set's layers in (the padding stays zero).</summary>
    public void Load() => Copy(toPadded: true);

    /// <summary>Copies the layers out into the set.</summary>
    public void Store() => Copy(toPadded: false);

    // Each compact row of G blocks of H, in its layer's order (Wx, Wh, biases), to or from the padded row.
    private void Copy(bool toPadded)
    {
        var shape = Shape;
        int h = shape.Hidden, gates = shape.Gates, s = Stride;
        Span<float> compact = Set.Data, padded = _memory.Span;
        for (int l = 0, at = 0; l < shape.Layers; l++)
        {
            int rows = shape.LayerInputs(l) + h + (shape.HasInputBias ? 2 : 1);
            for (int r = 0; r < rows; r++)
            {
                var to = padded.Slice(_layerStart[l] + r * RowLength, RowLength);
                for (int g = 0; g < gates; g++, at += h)
                {
                    if (toPadded) compact.Slice(at, h).CopyTo(to.Slice(g * s, h));
                    else to.Slice(g * s, h).CopyTo(compact.Slice(at, h));
                }
            }
        }
    }

    /// <summary>Zeroes the padded tensors and the set's Why and by (a gradient about to be accumulated).</summary>
    public void Clear()
    {
        _memory.Span.Clear();
        Set.Why.Clear();
        Set.By.Clear();
    }
}
