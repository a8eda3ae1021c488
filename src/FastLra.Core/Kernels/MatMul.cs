using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastLra.Kernels;

/// <summary>
/// The three batched matrix products the trainers need, on row-major spans.
/// Argument order follows TensorPrimitives: inputs, sizes, destination last.
/// Destinations must not overlap the inputs.
/// </summary>
public static class MatMul
{
    /// <summary>c (m x n) += a (m x k) · w (k x n).</summary>
    public static void MultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> w, int m, int k, int n, Span<float> c)
    {
        Check(a.Length, m * k, w.Length, k * n, c.Length, m * n);
        if (m == 0 || n == 0 || k == 0) return;
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rw = ref MemoryMarshal.GetReference(w);
        ref float rc = ref MemoryMarshal.GetReference(c);
        int width = Vector<float>.Count;
        int nVec = n - n % width;
        int row = 0;
        // Four rows of c share every loaded vector of w: 4 FMAs per load.
        for (; row + 4 <= m; row += 4)
        {
            ref float a0 = ref Unsafe.Add(ref ra, row * k);
            ref float a1 = ref Unsafe.Add(ref a0, k);
            ref float a2 = ref Unsafe.Add(ref a1, k);
            ref float a3 = ref Unsafe.Add(ref a2, k);
            ref float c0 = ref Unsafe.Add(ref rc, row * n);
            ref float c1 = ref Unsafe.Add(ref c0, n);
            ref float c2 = ref Unsafe.Add(ref c1, n);
            ref float c3 = ref Unsafe.Add(ref c2, n);
            for (int j = 0; j < nVec; j += width)
            {
                var s0 = LoadVector(ref c0, j);
                var s1 = LoadVector(ref c1, j);
                var s2 = LoadVector(ref c2, j);
                var s3 = LoadVector(ref c3, j);
                ref float wj = ref Unsafe.Add(ref rw, j);
                for (int p = 0; p < k; p++)
                {
                    var wv = LoadVector(ref wj, p * n);
                    s0 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref a0, p)), wv, s0);
                    s1 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref a1, p)), wv, s1);
                    s2 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref a2, p)), wv, s2);
                    s3 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref a3, p)), wv, s3);
                }
                StoreVector(s0, ref c0, j);
                StoreVector(s1, ref c1, j);
                StoreVector(s2, ref c2, j);
                StoreVector(s3, ref c3, j);
            }
            for (int j = nVec; j < n; j++)
            {
                float s0 = Unsafe.Add(ref c0, j), s1 = Unsafe.Add(ref c1, j), s2 = Unsafe.Add(ref c2, j), s3 = Unsafe.Add(ref c3, j);
                for (int p = 0; p < k; p++)
                {
                    float wv = Unsafe.Add(ref rw, p * n + j);
                    s0 = MathF.FusedMultiplyAdd(Unsafe.Add(ref a0, p), wv, s0);
                    s1 = MathF.FusedMultiplyAdd(Unsafe.Add(ref a1, p), wv, s1);
                    s2 = MathF.FusedMultiplyAdd(Unsafe.Add(ref a2, p), wv, s2);
                    s3 = MathF.FusedMultiplyAdd(Unsafe.Add(ref a3, p), wv, s3);
                }
                Unsafe.Add(ref c0, j) = s0;
                Unsafe.Add(ref c1, j) = s1;
                Unsafe.Add(ref c2, j) = s2;
                Unsafe.Add(ref c3, j) = s3;
            }
        }
        for (; row < m; row++)
        {
            ref float ar = ref Unsafe.Add(ref ra, row * k);
            ref float cr = ref Unsafe.Add(ref rc, row * n);
            for (int j = 0; j < nVec; j += width)
            {
                var s = LoadVector(ref cr, j);
                ref float wj = ref Unsafe.Add(ref rw, j);
                for (int p = 0; p < k; p++)
                    s = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref ar, p)), LoadVector(ref wj, p * n), s);
                StoreVector(s, ref cr, j);
            }
            for (int j = nVec; j < n; j++)
            {
                float s = Unsafe.Add(ref cr, j);
                for (int p = 0; p < k; p++)
                    s = MathF.FusedMultiplyAdd(Unsafe.Add(ref ar, p), Unsafe.Add(ref rw, p * n + j), s);
                Unsafe.Add(ref cr, j) = s;
            }
        }
    }

    /// <summary>c (m x k) = a (m x n) · wᵀ, with w (k x n): c[i, p] = dot(a row i, w row p).</summary>
    public static void MultiplyTransposed(ReadOnlySpan<float> a, ReadOnlySpan<float> w, int m, int n, int k, Span<float> c)
    {
        Check(a.Length, m * n, w.Length, k * n, c.Length, m * k);
        if (m == 0 || k == 0) return;
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rw = ref MemoryMarshal.GetReference(w);
        ref float rc = ref MemoryMarshal.GetReference(c);
        int width = Vector<float>.Count;
        int nVec = n - n % width;
        for (int i = 0; i < m; i++)
        {
            ref float ai = ref Unsafe.Add(ref ra, i * n);
            ref float ci = ref Unsafe.Add(ref rc, i * k);
            int p = 0;
            // Four rows of w share every loaded vector of a.
            for (; p + 4 <= k; p += 4)
            {
                ref float w0 = ref Unsafe.Add(ref rw, p * n);
                ref float w1 = ref Unsafe.Add(ref w0, n);
                ref float w2 = ref Unsafe.Add(ref w1, n);
                ref float w3 = ref Unsafe.Add(ref w2, n);
                Vector<float> s0 = default, s1 = default, s2 = default, s3 = default;
                for (int j = 0; j < nVec; j += width)
                {
                    var av = LoadVector(ref ai, j);
                    s0 = Vector.FusedMultiplyAdd(av, LoadVector(ref w0, j), s0);
                    s1 = Vector.FusedMultiplyAdd(av, LoadVector(ref w1, j), s1);
                    s2 = Vector.FusedMultiplyAdd(av, LoadVector(ref w2, j), s2);
                    s3 = Vector.FusedMultiplyAdd(av, LoadVector(ref w3, j), s3);
                }
                float d0 = Vector.Sum(s0), d1 = Vector.Sum(s1), d2 = Vector.Sum(s2), d3 = Vector.Sum(s3);
                for (int j = nVec; j < n; j++)
                {
                    float av = Unsafe.Add(ref ai, j);
                    d0 = MathF.FusedMultiplyAdd(av, Unsafe.Add(ref w0, j), d0);
                    d1 = MathF.FusedMultiplyAdd(av, Unsafe.Add(ref w1, j), d1);
                    d2 = MathF.FusedMultiplyAdd(av, Unsafe.Add(ref w2, j), d2);
                    d3 = MathF.FusedMultiplyAdd(av, Unsafe.Add(ref w3, j), d3);
                }
                Unsafe.Add(ref ci, p) = d0;
                Unsafe.Add(ref ci, p + 1) = d1;
                Unsafe.Add(ref ci, p + 2) = d2;
                Unsafe.Add(ref ci, p + 3) = d3;
            }
            for (; p < k; p++)
            {
                ref float wp = ref Unsafe.Add(ref rw, p * n);
                Vector<float> s = default;
                for (int j = 0; j < nVec; j += width)
                    s = Vector.FusedMultiplyAdd(LoadVector(ref ai, j), LoadVector(ref wp, j), s);
                float d = Vector.Sum(s);
                for (int j = nVec; j < n; j++)
                    d = MathF.FusedMultiplyAdd(Unsafe.Add(ref ai, j), Unsafe.Add(ref wp, j), d);
                Unsafe.Add(ref ci, p) = d;
            }
        }
    }

    /// <summary>g (k x n) += aᵀ · d, with a (m x k) and d (m x n): the weight-gradient product.</summary>
    public static void TransposedMultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> d, int m, int k, int n, Span<float> g)
    {
        Check(a.Length, m * k, d.Length, m * n, g.Length, k * n);
        if (m == 0 || k == 0 || n == 0) return;
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rd = ref MemoryMarshal.GetReference(d);
        ref float rg = ref MemoryMarshal.GetReference(g);
        int width = Vector<float>.Count;
        int nVec = n - n % width;
        int p = 0;
        // Four rows of g share every loaded vector of d.
        for (; p + 4 <= k; p += 4)
        {
            ref float g0 = ref Unsafe.Add(ref rg, p * n);
            ref float g1 = ref Unsafe.Add(ref g0, n);
            ref float g2 = ref Unsafe.Add(ref g1, n);
            ref float g3 = ref Unsafe.Add(ref g2, n);
            for (int j = 0; j < nVec; j += width)
            {
                var s0 = LoadVector(ref g0, j);
                var s1 = LoadVector(ref g1, j);
                var s2 = LoadVector(ref g2, j);
                var s3 = LoadVector(ref g3, j);
                for (int i = 0; i < m; i++)
                {
                    var dv = LoadVector(ref rd, i * n + j);
                    ref float ai = ref Unsafe.Add(ref ra, i * k + p);
                    s0 = Vector.FusedMultiplyAdd(new Vector<float>(ai), dv, s0);
                    s1 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref ai, 1)), dv, s1);
                    s2 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref ai, 2)), dv, s2);
                    s3 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref ai, 3)), dv, s3);
                }
                StoreVector(s0, ref g0, j);
                StoreVector(s1, ref g1, j);
                StoreVector(s2, ref g2, j);
                StoreVector(s3, ref g3, j);
            }
            for (int j = nVec; j < n; j++)
            {
                float s0 = Unsafe.Add(ref g0, j), s1 = Unsafe.Add(ref g1, j), s2 = Unsafe.Add(ref g2, j), s3 = Unsafe.Add(ref g3, j);
                for (int i = 0; i < m; i++)
                {
                    float dv = Unsafe.Add(ref rd, i * n + j);
                    ref float ai = ref Unsafe.Add(ref ra, i * k + p);
                    s0 = MathF.FusedMultiplyAdd(ai, dv, s0);
                    s1 = MathF.FusedMultiplyAdd(Unsafe.Add(ref ai, 1), dv, s1);
                    s2 = MathF.FusedMultiplyAdd(Unsafe.Add(ref ai, 2), dv, s2);
                    s3 = MathF.FusedMultiplyAdd(Unsafe.Add(ref ai, 3), dv, s3);
                }
                Unsafe.Add(ref g0, j) = s0;
                Unsafe.Add(ref g1, j) = s1;
                Unsafe.Add(ref g2, j) = s2;
                Unsafe.Add(ref g3, j) = s3;
            }
        }
        for (; p < k; p++)
        {
            ref float gp = ref Unsafe.Add(ref rg, p * n);
            for (int j = 0; j < nVec; j += width)
            {
                var s = LoadVector(ref gp, j);
                for (int i = 0; i < m; i++)
                    s = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref ra, i * k + p)), LoadVector(ref rd, i * n + j), s);
                StoreVector(s, ref gp, j);
            }
            for (int j = nVec; j < n; j++)
            {
                float s = Unsafe.Add(ref gp, j);
                for (int i = 0; i < m; i++)
                    s = MathF.FusedMultiplyAdd(Unsafe.Add(ref ra, i * k + p), Unsafe.Add(ref rd, i * n + j), s);
                Unsafe.Add(ref gp, j) = s;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> LoadVector(ref float source, int offset) =>
        Vector.LoadUnsafe(ref source, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreVector(Vector<float> value, ref float destination, int offset) =>
        value.StoreUnsafe(ref destination, (nuint)offset);

    // Sizes are checked once per call, outside the loops; the throw lives elsewhere so this inlines.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(int aLength, int aNeeded, int bLength, int bNeeded, int cLength, int cNeeded)
    {
        if (aLength < aNeeded || bLength < bNeeded || cLength < cNeeded)
            ThrowHelper.ShapeMismatch();
    }
}

/// <summary>The plain triple loops the fast products are tested against.</summary>
public static class MatMulReference
{
    /// <summary>c (m x n) += a (m x k) · w (k x n).</summary>
    public static void MultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> w, int m, int k, int n, Span<float> c)
    {
        MatMul.Check(a.Length, m * k, w.Length, k * n, c.Length, m * n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float s = c[i * n + j];
                for (int p = 0; p < k; p++) s += a[i * k + p] * w[p * n + j];
                c[i * n + j] = s;
            }
    }

    /// <summary>c (m x k) = a (m x n) · wᵀ, with w (k x n).</summary>
    public static void MultiplyTransposed(ReadOnlySpan<float> a, ReadOnlySpan<float> w, int m, int n, int k, Span<float> c)
    {
        MatMul.Check(a.Length, m * n, w.Length, k * n, c.Length, m * k);
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++)
            {
                float s = 0;
                for (int j = 0; j < n; j++) s += a[i * n + j] * w[p * n + j];
                c[i * k + p] = s;
            }
    }

    /// <summary>g (k x n) += aᵀ · d, with a (m x k) and d (m x n).</summary>
    public static void TransposedMultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> d, int m, int k, int n, Span<float> g)
    {
        MatMul.Check(a.Length, m * k, d.Length, m * n, g.Length, k * n);
        for (int p = 0; p < k; p++)
            for (int j = 0; j < n; j++)
            {
                float s = g[p * n + j];
                for (int i = 0; i < m; i++) s += a[i * k + p] * d[i * n + j];
                g[p * n + j] = s;
            }
    }
}
