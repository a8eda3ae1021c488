using FastLra.Kernels;

namespace FastLra.Model;

/// <summary>
/// The tanh cell, nn.RNN's and the paper's: a = u Wx + hPrev Wh + b, h = tanh(a), one fused
/// product per step (<see cref="MatMul.CellForward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, int, int, Span{float}, Span{float})"/>);
/// its backward step needs only h: da = dh (1 - h²), dhPrev = da Whᵀ.
/// </summary>
internal readonly struct TanhCell : ICell
{
    public static CellKind Kind => CellKind.Tanh;

    public static bool PrecomputesInput => false;

    public static int CacheBlocks => 0;

    public static int CarryBlock => -1;

    public static bool SeparateHiddenGradient => false;

    public static void InputGates(IRnnParameters p, int layer, ReadOnlySpan<float> u, int rows, ReadOnlySpan<float> bias, Span<float> gx) =>
        throw new NotSupportedException("The tanh cell's input product is part of its step.");

    public static void InputBias(IRnnParameters p, int layer, Span<float> bias) => p.HiddenBias(layer).CopyTo(bias);

    public static void StepForward(IRnnParameters p, int layer, ReadOnlySpan<float> u, ReadOnlySpan<float> gx, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> carryPrev, int carryStride, int rows, Span<float> gates, Span<float> cache, Span<float> h)
    {
        int s = p.Stride, inputs = p.Shape.LayerInputs(layer);
        MatMul.CellForward(u, p.InputWeights(layer), hPrev, p.RecurrentWeights(layer), p.HiddenBias(layer), rows, inputs, p.Shape.Hidden, s,
            layer == 0 ? inputs : s, s, gates, h);
    }

    public static void StepBackward(IRnnParameters p, int layer, Span<float> dh, ReadOnlySpan<float> dhAbove, ReadOnlySpan<float> h,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cache, ReadOnlySpan<float> carryPrev, int carryStride, int rows, bool needPrevious,
        Span<float> dgx, Span<float> dgh, Span<float> carry, Span<float> scratch)
    {
        int s = p.Stride, rs = rows * s;
        if (dhAbove.IsEmpty) Activations.TanhBackward(h[..rs], dh, dgx);
        else Activations.TanhBackward(h[..rs], dh, dhAbove, dgx);
        if (needPrevious) MatMul.MultiplyTransposed(p.Summation, dgx[..rs], p.RecurrentWeights(layer), rows, s, p.Shape.Hidden, s, dh);
    }
}
