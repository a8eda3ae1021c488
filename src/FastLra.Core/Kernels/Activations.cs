using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastLra.Kernels;

/// <summary>tanh and its backward step; any length, destination may alias the source exactly.</summary>
public static class Activations
{
    /// <summary>z = tanh(a).</summary>
    public static void TanhForward(ReadOnlySpan<float> a, Span<float> z) => TensorPrimitives.Tanh(a, z);

    /// <summary>da = dz * (1 - z²), where z = tanh(a).</summary>
    public static void TanhBackward(ReadOnlySpan<float> z, ReadOnlySpan<float> dz, Span<float> da)
    {
        int n = z.Length;
        if (dz.Length < n || da.Length < n) ThrowHelper.ShapeMismatch();
        ref float rz = ref MemoryMarshal.GetReference(z);
        ref float rdz = ref MemoryMarshal.GetReference(dz);
        ref float rda = ref MemoryMarshal.GetReference(da);
        int width = Vector<float>.Count;
        int i = 0;
        for (; i + width <= n; i += width)
        {
            var zv = Vector.LoadUnsafe(ref rz, (nuint)i);
            var g = Vector.LoadUnsafe(ref rdz, (nuint)i);
            (g * (Vector<float>.One - zv * zv)).StoreUnsafe(ref rda, (nuint)i);
        }
        for (; i < n; i++)
        {
            float zi = Unsafe.Add(ref rz, i);
            Unsafe.Add(ref rda, i) = Unsafe.Add(ref rdz, i) * (1f - zi * zi);
        }
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
