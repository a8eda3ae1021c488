namespace FastLra.Model;

/// <summary>
/// One recurrent cell, the seam every stack of layers, trainer, streaming state and exporter is
/// written against: its gates, what one step keeps for the backward pass, and the step forward
/// and backward for a batch of rows, side by side in the cell's own file. Implementations are
/// structs used as type parameters, so a step costs no virtual call.
/// Shapes: S the stride of a gate block (H for compact weights, the padded width in the trainers),
/// G the gates; u is the layer's input at the step (rows x I_l: x for the first layer, the state
/// of the layer below, rows of S, above it); states h are rows x S; gate rows are G blocks of S.
/// </summary>
internal interface ICell
{
    /// <summary>Which cell this is.</summary>
    static abstract CellKind Kind { get; }

    /// <summary>
    /// Whether the input's share of the gates, u Wx + bias, is one product over every step of a
    /// sequence (<see cref="InputGates"/>) before the steps run (the gated cells), or part of each
    /// step's own product (tanh, whose step is one fused product).
    /// </summary>
    static abstract bool PrecomputesInput { get; }

    /// <summary>Blocks of S per row that a step keeps for its backward pass (its gates, LSTM's c).</summary>
    static abstract int CacheBlocks { get; }

    /// <summary>The block of the cache carried to the next step besides h (LSTM's c), or -1.</summary>
    static abstract int CarryBlock { get; }

    /// <summary>Whether dE/d(h Wh + bh) differs from dE/d(u Wx + bx) (GRU's n gate), so a step writes both.</summary>
    static abstract bool SeparateHiddenGradient { get; }

    /// <summary>
    /// gx (rows x GS) = u (rows x I_l) Wx_l + the bias the cell adds there (GRU bx; LSTM bx + bh,
    /// precombined in <paramref name="bias"/> by <see cref="InputBias"/>), for cells that
    /// <see cref="PrecomputesInput"/>.
    /// </summary>
    static abstract void InputGates(IRnnParameters p, int layer, ReadOnlySpan<float> u, int rows, ReadOnlySpan<float> bias, Span<float> gx);

    /// <summary>The bias <see cref="InputGates"/> adds (GS), into <paramref name="bias"/>.</summary>
    static abstract void InputBias(IRnnParameters p, int layer, Span<float> bias);

    /// <summary>
    /// One step forward: h (rows x S) from u (tanh) or gx (the gated cells), hPrev (empty = zero)
    /// and the carried block of the previous step (rows <paramref name="carryStride"/> apart; empty
    /// = zero), through <paramref name="gates"/> (rows x GS scratch), keeping the cache (rows x
    /// <see cref="CacheBlocks"/> S) for the backward pass.
    /// </summary>
    static abstract void StepForward(IRnnParameters p, int layer, ReadOnlySpan<float> u, ReadOnlySpan<float> gx, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> carryPrev, int carryStride, int rows, Span<float> gates, Span<float> cache, Span<float> h);

    /// <summary>
    /// One step back. From dE/dh = <paramref name="dh"/> (the next step's share) + <paramref name="dhAbove"/>
    /// (the layer above's or the output's; may be empty), with the step's h, hPrev, cache and the
    /// previous step's carried block: the gate gradients dgx (rows x GS) and, for a cell with
    /// <see cref="SeparateHiddenGradient"/>, dgh (else dgh is dgx); the carried block's gradient in
    /// <paramref name="carry"/> (in: the next step's; out: the previous step's); and
    /// <paramref name="dh"/> overwritten with dE/dhPrev unless <paramref name="needPrevious"/> is
    /// false (the first step of a sequence from a constant state). <paramref name="scratch"/> is
    /// rows x S.
    /// </summary>
    static abstract void StepBackward(IRnnParameters p, int layer, Span<float> dh, ReadOnlySpan<float> dhAbove, ReadOnlySpan<float> h,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cache, ReadOnlySpan<float> carryPrev, int carryStride, int rows, bool needPrevious,
        Span<float> dgx, Span<float> dgh, Span<float> carry, Span<float> scratch);
}
