namespace FastLra.Kernels;

/// <summary>tanh and its backward step; any length, destination may alias the source exactly.</summary>
public static class Activations
{
    /// <summary>z = tanh(a), within 3 ulps everywhere (relative error too, near zero); z may be a.</summary>
    public static void TanhForward(ReadOnlySpan<float> a, Span<float> z)
    {
        if (z.Length < a.Length) ThrowHelper.ShapeMismatch();
        Elementwise.Map<TanhOperator>(a, default, default, 0f, z[..a.Length]);
    }

    /// <summary>da = dz * (1 - z²), where z = tanh(a); da may be z or dz.</summary>
    public static void TanhBackward(ReadOnlySpan<float> z, ReadOnlySpan<float> dz, Span<float> da)
    {
        int n = z.Length;
        if (dz.Length < n || da.Length < n) ThrowHelper.ShapeMismatch();
        Elementwise.Map<TanhBackwardOperator>(z, dz, default, 0f, da[..n]);
    }
}

/// <summary>Scalar oracles for <see cref="Activations"/>.</summary>
public static class ActivationsReference
{
    public static void TanhForward(ReadOnlySpan<float> a, Span<float> z)
    {
        for (int i = 0; i < a.Length; i++) z[i] = MathF.Tanh(a[i]);
    }

    public static void TanhBackward(ReadOnlySpan<float> z, ReadOnlySpan<float> dz, Span<float> da)
    {
        for (int i = 0; i < z.Length; i++) da[i] = dz[i] * (1f - z[i] * z[i]);
    }
}
