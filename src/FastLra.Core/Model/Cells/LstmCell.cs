using FastLra.Kernels;

namespace FastLra.Model;

/// <summary>
/// The LSTM cell, nn.LSTM's: gx = u Wx + bx + bh for every step at once, then per step
/// a = gx + hPrev Wh, i, f, o = σ, g = tanh of their blocks, c = f cPrev + i g, h = o tanh(c)
/// (<see cref="Gates.LstmForward(ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, Span{float}, Span{float})"/>).
/// Backward: one gate gradient da for both products, dcPrev = f dc, dhPrev = da Whᵀ. The cache
/// holds i, f, g, o, c and tanh c; c is carried to the next step.
/// </summary>
internal readonly struct LstmCell : ICell
{
    public static CellKind Kind => CellKind.Lstm;

    public static bool PrecomputesInput => true;

    public static int CacheBlocks => 6;

    public static int CarryBlock => 4;

    public static bool SeparateHiddenGradient => false;

    public static void InputGates(IRnnParameters p, int layer, ReadOnlySpan<float> u, int rows, ReadOnlySpan<float> bias, Span<float> gx)
    {
        int s = p.Stride;
        MatMul.GateForward(u, p.InputWeights(layer), default, default, bias, rows, p.Shape.LayerInputs(layer), 0, 4 * s, layer == 0 ? p.Shape.Inputs : s, s, gx);
    }

    public static void InputBias(IRnnParameters p, int layer, Span<float> bias) =>
        System.Numerics.Tensors.TensorPrimitives.Add(p.InputBias(layer), p.HiddenBias(layer), bias);

    public static void StepForward(IRnnParameters p, int layer, ReadOnlySpan<float> u, ReadOnlySpan<float> gx, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> carryPrev, int carryStride, int rows, Span<float> gates, Span<float> cache, Span<float> h)
    {
        int s = p.Stride, g4 = rows * 4 * s;
        if (hPrev.IsEmpty) gx[..g4].CopyTo(gates);
        else MatMul.MultiplyAdd(hPrev, p.RecurrentWeights(layer), gx[..g4], rows, p.Shape.Hidden, 4 * s, s, gates);
        Gates.LstmForward(gates, carryPrev, carryStride, rows, s, cache, h);
    }

    public static void StepBackward(IRnnParameters p, int layer, Span<float> dh, ReadOnlySpan<float> dhAbove, ReadOnlySpan<float> h,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cache, ReadOnlySpan<float> carryPrev, int carryStride, int rows, bool needPrevious,
        Span<float> dgx, Span<float> dgh, Span<float> carry, Span<float> scratch)
    {
        int s = p.Stride;
        Gates.LstmBackward(dh, dhAbove, cache, carryPrev, carryStride, rows, s, carry, dgx);
        if (needPrevious) MatMul.MultiplyTransposed(p.Summation, dgx[..(rows * 4 * s)], p.RecurrentWeights(layer), rows, 4 * s, p.Shape.Hidden, s, dh);
    }
}
