using FastLra.Kernels;

namespace FastLra.Model;

/// <summary>
/// The GRU cell, nn.GRU's: gx = u Wx + bx for every step at once, then per step gh = hPrev Wh + bh,
/// r = σ(gx_r + gh_r), u = σ(gx_z + gh_z), n = tanh(gx_n + r gh_n), h = (1 - u) n + u hPrev
/// (<see cref="Gates.GruForward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, Span{float}, Span{float})"/>).
/// Backward: the gate gradients of both products (they differ in the n block by r), and
/// dhPrev = u dh + dgh Whᵀ. The cache holds r, u, n and gh_n.
/// </summary>
internal readonly struct GruCell : ICell
{
    public static CellKind Kind => CellKind.Gru;

    public static bool PrecomputesInput => true;

    public static int CacheBlocks => 4;

    public static int CarryBlock => -1;

    public static bool SeparateHiddenGradient => true;

    public static void InputGates(IRnnParameters p, int layer, ReadOnlySpan<float> u, int rows, ReadOnlySpan<float> bias, Span<float> gx)
    {
        int s = p.Stride;
        MatMul.GateForward(u, p.InputWeights(layer), default, default, bias, rows, p.Shape.LayerInputs(layer), 0, 3 * s, layer == 0 ? p.Shape.Inputs : s, s, gx);
    }

    public static void InputBias(IRnnParameters p, int layer, Span<float> bias) => p.InputBias(layer).CopyTo(bias);

    public static void StepForward(IRnnParameters p, int layer, ReadOnlySpan<float> u, ReadOnlySpan<float> gx, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> carryPrev, int carryStride, int rows, Span<float> gates, Span<float> cache, Span<float> h)
    {
        int s = p.Stride;
        // gh = bh + hPrev Wh (bh alone from a zero state).
        MatMul.GateForward(default, default, hPrev, p.RecurrentWeights(layer), p.HiddenBias(layer), rows, 0, p.Shape.Hidden, 3 * s, 0, s, gates);
        Gates.GruForward(gx, gates, hPrev, rows, s, cache, h);
    }

    public static void StepBackward(IRnnParameters p, int layer, Span<float> dh, ReadOnlySpan<float> dhAbove, ReadOnlySpan<float> h,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cache, ReadOnlySpan<float> carryPrev, int carryStride, int rows, bool needPrevious,
        Span<float> dgx, Span<float> dgh, Span<float> carry, Span<float> scratch)
    {
        int s = p.Stride, rs = rows * s;
        Gates.GruBackward(dh, dhAbove, cache, hPrev, rows, s, dgx, dgh, scratch);
        if (!needPrevious) return;
        MatMul.MultiplyTransposed(p.Summation, dgh[..(3 * rs)], p.RecurrentWeights(layer), rows, 3 * s, p.Shape.Hidden, s, dh);
        System.Numerics.Tensors.TensorPrimitives.Add(dh[..rs], scratch[..rs], dh[..rs]);
    }
}
