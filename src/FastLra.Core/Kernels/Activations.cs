using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastLra.Kernels;

/// <summary>tanh and its backward step; any length, destination may alias the source exactly.</summary>
public static class Activations
{
    /// <summary>z = tanh(a), within a few ulps everywhere (relative error too, near zero).</summary>
    public static void TanhForward(ReadOnlySpan<float> a, Span<float> z)
    {
        int n = a.Length;
        if (z.Length < n) ThrowHelper.ShapeMismatch();
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rz = ref MemoryMarshal.GetReference(z);
        int width = Vector<float>.Count;
        int i = 0;
        for (; i + width <= n; i += width)
            Tanh(Vector.LoadUnsafe(ref ra, (nuint)i)).StoreUnsafe(ref rz, (nuint)i);
        if (i < n)
        {
            // The tail goes through the same vector code, so every element gets the same rounding.
            Span<float> tail = stackalloc float[Vector<float>.Count];
            tail.Clear();
            a[i..n].CopyTo(tail);
            Tanh(Vector.Create<float>(tail)).CopyTo(tail);
            tail[..(n - i)].CopyTo(z[i..n]);
        }
    }

    // TensorPrimitives.Tanh has ~1e-7 absolute error at every x, so its relative error near zero
    // is unbounded (it returns -6e-8 for tanh(0)); LRA works on small differences of states, so:
    // |x| < 0.55: the odd Taylor series through x^19 (truncation below 4e-10, Horner in float);
    // otherwise sign(x) (1 - 2 / (exp(2|x|) + 1)), which has no cancellation there.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Tanh(Vector<float> x)
    {
        var ax = Vector.Abs(x);
        var x2 = ax * ax;
        var p = new Vector<float>(-443861162f / 1856156927625f);
        p = Vector.FusedMultiplyAdd(p, x2, new Vector<float>(6404582f / 10854718875f));
        p = Vector.FusedMultiplyAdd(p, x2, new Vector<float>(-929569f / 638512875f));
        p = Vector.FusedMultiplyAdd(p, x2, new Vector<float>(21844f / 6081075f));
        p = Vector.FusedMultiplyAdd(p, x2, new Vector<float>(-1382f / 155925f));
        p = Vector.FusedMultiplyAdd(p, x2, new Vector<float>(62f / 2835f));
        p = Vector.FusedMultiplyAdd(p, x2, new Vector<float>(-17f / 315f));
        p = Vector.FusedMultiplyAdd(p, x2, new Vector<float>(2f / 15f));
        p = Vector.FusedMultiplyAdd(p, x2, new Vector<float>(-1f / 3f));
        var small = Vector.FusedMultiplyAdd(p * x2, ax, ax);
        var e = Vector.Exp(ax + ax);
        var large = Vector<float>.One - new Vector<float>(2f) / (e + Vector<float>.One);
        // NaN fails the comparison and takes the large branch, where it propagates.
        var magnitude = Vector.ConditionalSelect(Vector.LessThan(ax, new Vector<float>(0.55f)), small, large);
        // Odd function: the sign bit of x onto |tanh x|, which keeps tanh(-0) = -0.
        return Vector.ConditionalSelect(new Vector<int>(int.MinValue), x, magnitude);
    }

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
