namespace FastLra.Kernels;

/// <summary>
/// A local loss l(u, v) = mean f(u - v) over B x H entries, for an even f, so that
/// l'_1(u, v) = f'(u - v) / n and l'_2(u, v) = -l'_1(u, v) = l'_1(v, u).
/// Implemented by structs so the trainers specialise on them (no delegates).
/// </summary>
public interface ILocalLoss
{
    /// <summary>f(d).</summary>
    static abstract float Value(float d);

    /// <summary>f'(d).</summary>
    static abstract float Slope(float d);
}

/// <summary>mse: f(d) = d².</summary>
public readonly struct MseLoss : ILocalLoss
{
    public static float Value(float d) => d * d;

    public static float Slope(float d) => 2f * d;
}

/// <summary>log-penalty: f(d) = log(1 + d²).</summary>
public readonly struct LogPenaltyLoss : ILocalLoss
{
    public static float Value(float d) => MathF.Log(1f + d * d);

    public static float Slope(float d) => 2f * d / (1f + d * d);
}

/// <summary>Which local loss the LRA trainers use.</summary>
public enum LocalLossKind
{
    Mse,
    LogPenalty,
}

/// <summary>Local losses on equal-length spans (B x H matrices, flattened). O(B H): written plainly.</summary>
public static class LocalLoss
{
    /// <summary>l(u, v) = mean f(u - v).</summary>
    public static float Forward<TLoss>(ReadOnlySpan<float> u, ReadOnlySpan<float> v)
        where TLoss : struct, ILocalLoss
    {
        if (v.Length < u.Length) ThrowHelper.ShapeMismatch();
        if (u.IsEmpty) return 0f;
        double sum = 0;
        for (int i = 0; i < u.Length; i++) sum += TLoss.Value(u[i] - v[i]);
        return (float)(sum / u.Length);
    }

    /// <summary>
    /// dest = l'_1(u, v) * (1 - w²), the adjoint of the pre-activation of u when u = tanh(·) and
    /// w is u; an empty <paramref name="w"/> leaves out the factor (dest = l'_1(u, v)).
    /// dest may be the same span as any input.
    /// </summary>
    public static void Backward<TLoss>(ReadOnlySpan<float> u, ReadOnlySpan<float> v, ReadOnlySpan<float> w, Span<float> dest)
        where TLoss : struct, ILocalLoss
    {
        int n = u.Length;
        if (v.Length < n || dest.Length < n || (!w.IsEmpty && w.Length < n)) ThrowHelper.ShapeMismatch();
        float inverse = 1f / n;
        if (w.IsEmpty)
        {
            for (int i = 0; i < n; i++) dest[i] = TLoss.Slope(u[i] - v[i]) * inverse;
            return;
        }
        for (int i = 0; i < n; i++)
        {
            float wi = w[i];
            dest[i] = TLoss.Slope(u[i] - v[i]) * inverse * (1f - wi * wi);
        }
    }
}
