using System.Runtime.CompilerServices;

namespace FastLra.Kernels;

/// <summary>
/// A local loss l(u, v) = mean f(u - v) over B x H entries, for an even f, so that
/// l'_1(u, v) = f'(u - v) / n and l'_2(u, v) = -l'_1(u, v) = l'_1(v, u).
/// Implemented by structs so the trainers specialise on them (no delegates), once for scalars
/// (the oracle) and once for every vector width.
/// </summary>
internal interface ILocalLoss
{
    /// <summary>f(d).</summary>
    static abstract float Value(float d);

    /// <summary>f'(d).</summary>
    static abstract float Slope(float d);

    static abstract TV Value<TV>(TV d)
        where TV : struct, IVector<TV>;

    static abstract TV Slope<TV>(TV d)
        where TV : struct, IVector<TV>;
}

/// <summary>mse: f(d) = d².</summary>
internal readonly struct MseLoss : ILocalLoss
{
    public static float Value(float d) => d * d;

    public static float Slope(float d) => 2f * d;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Value<TV>(TV d)
        where TV : struct, IVector<TV> => d * d;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Slope<TV>(TV d)
        where TV : struct, IVector<TV> => d + d;
}

/// <summary>log-penalty: f(d) = log(1 + d²).</summary>
internal readonly struct LogPenaltyLoss : ILocalLoss
{
    public static float Value(float d) => MathF.Log(1f + d * d);

    public static float Slope(float d) => 2f * d / (1f + d * d);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Value<TV>(TV d)
        where TV : struct, IVector<TV> => TV.Log(TV.MultiplyAdd(d, d, TV.Broadcast(1f)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Slope<TV>(TV d)
        where TV : struct, IVector<TV> => (d + d) / TV.MultiplyAdd(d, d, TV.Broadcast(1f));
}

/// <summary>f(x - y).</summary>
internal readonly struct LossValueOperator<TLoss> : IElementwise
    where TLoss : struct, ILocalLoss
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TV>(TV x, TV y, TV z, TV s)
        where TV : struct, IVector<TV> => TLoss.Value(x - y);
}

/// <summary>s f'(x - y): l'_1(x, y) with s = 1/n.</summary>
internal readonly struct LossSlopeOperator<TLoss> : IElementwise
    where TLoss : struct, ILocalLoss
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TV>(TV x, TV y, TV z, TV s)
        where TV : struct, IVector<TV> => s * TLoss.Slope(x - y);
}

/// <summary>s f'(x - y) (1 - z²): l'_1(x, y) through tanh, with s = 1/n and z = x usually.</summary>
internal readonly struct LossSlopeTanhOperator<TLoss> : IElementwise
    where TLoss : struct, ILocalLoss
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TV>(TV x, TV y, TV z, TV s)
        where TV : struct, IVector<TV> => s * TLoss.Slope(x - y) * (TV.Broadcast(1f) - z * z);
}

/// <summary>
/// With t = tanh(x): s f'(t - y) (1 - t²), the adjoint of a prediction's pre-activation x
/// against the state y, fused with the tanh (a target step's first pass).
/// </summary>
internal readonly struct TanhLossSlopeOperator<TLoss> : IElementwise
    where TLoss : struct, ILocalLoss
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TV>(TV x, TV y, TV z, TV s)
        where TV : struct, IVector<TV>
    {
        TV t = TanhOperator.Tanh(x);
        return s * TLoss.Slope(t - y) * (TV.Broadcast(1f) - t * t);
    }
}

/// <summary>Which local loss the LRA trainers use.</summary>
public enum LocalLossKind
{
    /// <summary>mean((u - v)^2) (algorithm.md).</summary>
    Mse,

    /// <summary>mean(log(1 + (u - v)^2)) (algorithm.md).</summary>
    LogPenalty,
}

/// <summary>
/// Local losses on equal-length spans: B x H matrices, flattened, or the same in padded rows (the
/// padding zero in every input), the mean then over the <c>count</c> entries that are not padding.
/// </summary>
internal static class LocalLoss
{
    /// <summary>l(u, v) = mean f(u - v) over <paramref name="count"/> entries.</summary>
    public static float Forward<TLoss>(ReadOnlySpan<float> u, ReadOnlySpan<float> v, int count)
        where TLoss : struct, ILocalLoss => Forward<TLoss>(SimdWidth.Current, u, v, count);

    /// <summary>As the overload without a target, at <paramref name="target"/>, for tests.</summary>
    public static float Forward<TLoss>(SimdTarget target, ReadOnlySpan<float> u, ReadOnlySpan<float> v, int count)
        where TLoss : struct, ILocalLoss
    {
        if (v.Length < u.Length || count > u.Length) ThrowHelper.ShapeMismatch();
        if (count == 0) return 0f;
        return (float)(Elementwise.Sum<LossValueOperator<TLoss>>(target, u, v[..u.Length], 0f) / count);
    }

    /// <summary>
    /// dest = l'_1(u, v) * (1 - w²) for the mean over <paramref name="count"/> entries, the adjoint of
    /// the pre-activation of u when u = tanh(·) and w is u; an empty <paramref name="w"/> leaves out
    /// the factor (dest = l'_1(u, v)). dest may be the same span as any input.
    /// </summary>
    public static void Backward<TLoss>(ReadOnlySpan<float> u, ReadOnlySpan<float> v, ReadOnlySpan<float> w, int count, Span<float> dest)
        where TLoss : struct, ILocalLoss => Backward<TLoss>(SimdWidth.Current, u, v, w, count, dest);

    /// <summary>As the overload without a target, at <paramref name="target"/>, for tests.</summary>
    public static void Backward<TLoss>(SimdTarget target, ReadOnlySpan<float> u, ReadOnlySpan<float> v, ReadOnlySpan<float> w, int count, Span<float> dest)
        where TLoss : struct, ILocalLoss
    {
        int n = u.Length;
        if (v.Length < n || dest.Length < n || (!w.IsEmpty && w.Length < n) || count > n) ThrowHelper.ShapeMismatch();
        if (n == 0) return;
        if (w.IsEmpty) Elementwise.Map<LossSlopeOperator<TLoss>>(target, u, v, default, 1f / count, dest[..n]);
        else Elementwise.Map<LossSlopeTanhOperator<TLoss>>(target, u, v, w, 1f / count, dest[..n]);
    }
}

/// <summary>The plain loops the vectorised local losses are tested against.</summary>
internal static class LocalLossReference
{
    public static float Forward<TLoss>(ReadOnlySpan<float> u, ReadOnlySpan<float> v)
        where TLoss : struct, ILocalLoss
    {
        if (u.IsEmpty) return 0f;
        double sum = 0;
        for (int i = 0; i < u.Length; i++) sum += TLoss.Value(u[i] - v[i]);
        return (float)(sum / u.Length);
    }

    public static void Backward<TLoss>(ReadOnlySpan<float> u, ReadOnlySpan<float> v, ReadOnlySpan<float> w, Span<float> dest)
        where TLoss : struct, ILocalLoss
    {
        float inverse = 1f / u.Length;
        for (int i = 0; i < u.Length; i++)
            dest[i] = TLoss.Slope(u[i] - v[i]) * inverse * (w.IsEmpty ? 1f : 1f - w[i] * w[i]);
    }
}
