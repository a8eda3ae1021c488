using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastLra.Kernels;

/// <summary>tanh and its backward step; any length, destination may alias the source exactly.</summary>
public static class Activations
{
    /// <summary>z = tanh(a), within 3 ulps everywhere (relative error too, near zero); z may be a.</summary>
    public static void TanhForward(ReadOnlySpan<float> a, Span<float> z) => TanhForward(SimdWidth.Current, a, z);

    /// <summary>As the public overload, at <paramref name="target"/>, for tests.</summary>
    internal static void TanhForward(SimdTarget target, ReadOnlySpan<float> a, Span<float> z)
    {
        if (z.Length < a.Length) ThrowHelper.ShapeMismatch();
        Elementwise.Map<TanhOperator>(target, a, default, default, 0f, z[..a.Length]);
    }

    /// <summary>
    /// h += step * g (fused), then z = tanh(h): a target's descent step and the activation the next
    /// step needs, in one pass. z must not overlap g or h.
    /// </summary>
    public static void DescendTanh(ReadOnlySpan<float> g, float step, Span<float> h, Span<float> z) => DescendTanh(SimdWidth.Current, g, step, h, z);

    /// <summary>As the public overload, at <paramref name="target"/> (the scalar target runs 128-bit vectors), for tests.</summary>
    internal static void DescendTanh(SimdTarget target, ReadOnlySpan<float> g, float step, Span<float> h, Span<float> z)
    {
        int n = h.Length;
        if (g.Length < n || z.Length < n) ThrowHelper.ShapeMismatch();
        switch (target.Bits, target.Fma)
        {
            case (512, _): DescendTanh<V512>(g, step, h, z); break;
            case (256, true): DescendTanh<V256<MachineFma>>(g, step, h, z); break;
            case (256, false): DescendTanh<V256<NoFma>>(g, step, h, z); break;
            case (_, true): DescendTanh<V128<MachineFma>>(g, step, h, z); break;
            default: DescendTanh<V128<NoFma>>(g, step, h, z); break;
        }
    }

    // The tail shorter than a vector goes through the same vector code on a padded stack copy, as in Elementwise.Map.
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DescendTanh<TV>(ReadOnlySpan<float> g, float step, Span<float> h, Span<float> z)
        where TV : struct, IVector<TV>
    {
        int n = h.Length, width = TV.Count, i = 0;
        ref float rg = ref MemoryMarshal.GetReference(g);
        ref float rh = ref MemoryMarshal.GetReference(h);
        ref float rz = ref MemoryMarshal.GetReference(z);
        TV s = TV.Broadcast(step);
        for (; i + width <= n; i += width)
        {
            TV v = TV.MultiplyAdd(TV.Load(ref rg, i), s, TV.Load(ref rh, i));
            v.Store(ref rh, i);
            TanhOperator.Tanh(v).Store(ref rz, i);
        }
        if (i < n)
        {
            int rest = n - i;
            Span<float> buffer = stackalloc float[2 * width];
            buffer.Clear();
            g.Slice(i, rest).CopyTo(buffer);
            h.Slice(i, rest).CopyTo(buffer[width..]);
            ref float rb = ref MemoryMarshal.GetReference(buffer);
            TV v = TV.MultiplyAdd(TV.Load(ref rb, 0), s, TV.Load(ref rb, width));
            v.Store(ref rb, width);
            TanhOperator.Tanh(v).Store(ref rb, 0);
            buffer.Slice(width, rest).CopyTo(h[i..]);
            buffer[..rest].CopyTo(z[i..]);
        }
    }

    /// <summary>da = (dz + extra) (1 - z²): the backward step of a state that also feeds an output; da may be any input.</summary>
    public static void TanhBackward(ReadOnlySpan<float> z, ReadOnlySpan<float> dz, ReadOnlySpan<float> extra, Span<float> da) =>
        TanhBackward(SimdWidth.Current, z, dz, extra, da);

    /// <summary>As the public overload, at <paramref name="target"/>, for tests.</summary>
    internal static void TanhBackward(SimdTarget target, ReadOnlySpan<float> z, ReadOnlySpan<float> dz, ReadOnlySpan<float> extra, Span<float> da)
    {
        int n = z.Length;
        if (dz.Length < n || extra.Length < n || da.Length < n) ThrowHelper.ShapeMismatch();
        Elementwise.Map<AddTanhBackwardOperator>(target, z, dz, extra, 0f, da[..n]);
    }

    /// <summary>da = dz * (1 - z²), where z = tanh(a); da may be z or dz.</summary>
    public static void TanhBackward(ReadOnlySpan<float> z, ReadOnlySpan<float> dz, Span<float> da) => TanhBackward(SimdWidth.Current, z, dz, da);

    /// <summary>As the public overload, at <paramref name="target"/>, for tests.</summary>
    internal static void TanhBackward(SimdTarget target, ReadOnlySpan<float> z, ReadOnlySpan<float> dz, Span<float> da)
    {
        int n = z.Length;
        if (dz.Length < n || da.Length < n) ThrowHelper.ShapeMismatch();
        Elementwise.Map<TanhBackwardOperator>(target, z, dz, default, 0f, da[..n]);
    }
}

/// <summary>Scalar oracles for <see cref="Activations"/>.</summary>
internal static class ActivationsReference
{
    public static void TanhForward(ReadOnlySpan<float> a, Span<float> z)
    {
        for (int i = 0; i < a.Length; i++) z[i] = MathF.Tanh(a[i]);
    }

    public static void TanhBackward(ReadOnlySpan<float> z, ReadOnlySpan<float> dz, Span<float> da)
    {
        for (int i = 0; i < z.Length; i++) da[i] = dz[i] * (1f - z[i] * z[i]);
    }

    public static void TanhBackward(ReadOnlySpan<float> z, ReadOnlySpan<float> dz, ReadOnlySpan<float> extra, Span<float> da)
    {
        for (int i = 0; i < z.Length; i++) da[i] = (dz[i] + extra[i]) * (1f - z[i] * z[i]);
    }

    /// <summary>The step's multiply-add by <paramref name="target"/>'s rule, as the kernel at that target.</summary>
    public static void DescendTanh(SimdTarget target, ReadOnlySpan<float> g, float step, Span<float> h, Span<float> z)
    {
        for (int i = 0; i < h.Length; i++)
        {
            h[i] = target.MultiplyAdd(g[i], step, h[i]);
            z[i] = MathF.Tanh(h[i]);
        }
    }
}
