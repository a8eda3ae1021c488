using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FastLra.Kernels;

/// <summary>
/// The three batched matrix products the trainers need, on row-major spans.
/// Argument order follows TensorPrimitives: inputs, sizes, destination last.
/// Destinations must not overlap the inputs.
/// <para>
/// c += a·w and g += aᵀ·d are one register-blocked kernel (<see cref="Gemm{TV}"/>) that reads A
/// through a row stride and an inner stride, so the transposed operand is never copied; c = a·wᵀ
/// is a blocked dot-product kernel (<see cref="Dot{TV}"/>). Both are written once over
/// <see cref="IVector{TSelf}"/> and run at the widest width the hardware accelerates
/// (<see cref="SimdWidth.Bits"/>, decided once), narrower when a row is shorter than a vector.
/// A row's tail is one more vector that overlaps the previous one, its already-done lanes
/// masked, so no element is ever computed twice into memory.
/// </para>
/// <para>
/// The kernels are <see cref="MethodImplOptions.AggressiveOptimization"/>: compiled fully
/// optimised at once and never instrumented. Dynamic PGO otherwise re-compiles them from the
/// profile of one shape (B = 1 inference made the step 9x slower), and Native AOT has no PGO.
/// </para>
/// </summary>
public static class MatMul
{
    /// <summary>c (m x n) += a (m x k) · w (k x n).</summary>
    public static void MultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> w, int m, int k, int n, Span<float> c) =>
        MultiplyAdd(SimdWidth.Bits, a, w, m, k, n, c);

    /// <summary>As the public overload, at vector width <paramref name="bits"/> (512, 256, 128; 0 = scalar), for tests.</summary>
    internal static void MultiplyAdd(int bits, ReadOnlySpan<float> a, ReadOnlySpan<float> w, int m, int k, int n, Span<float> c)
    {
        Check(a.Length, m * k, w.Length, k * n, c.Length, m * n);
        if (m == 0 || n == 0 || k == 0) return;
        Gemm(bits, ref MemoryMarshal.GetReference(a), k, 1, ref MemoryMarshal.GetReference(w), m, k, n, ref MemoryMarshal.GetReference(c));
    }

    /// <summary>g (k x n) += aᵀ · d, with a (m x k) and d (m x n): the weight-gradient product.</summary>
    public static void TransposedMultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> d, int m, int k, int n, Span<float> g) =>
        TransposedMultiplyAdd(SimdWidth.Bits, a, d, m, k, n, g);

    /// <summary>As the public overload, at vector width <paramref name="bits"/>, for tests.</summary>
    internal static void TransposedMultiplyAdd(int bits, ReadOnlySpan<float> a, ReadOnlySpan<float> d, int m, int k, int n, Span<float> g)
    {
        Check(a.Length, m * k, d.Length, m * n, g.Length, k * n);
        if (m == 0 || k == 0 || n == 0) return;
        // Row p of aᵀ is column p of a: row stride 1, inner stride k.
        Gemm(bits, ref MemoryMarshal.GetReference(a), 1, k, ref MemoryMarshal.GetReference(d), k, m, n, ref MemoryMarshal.GetReference(g));
    }

    /// <summary>c (m x k) = a (m x n) · wᵀ, with w (k x n): c[i, p] = dot(a row i, w row p).</summary>
    public static void MultiplyTransposed(ReadOnlySpan<float> a, ReadOnlySpan<float> w, int m, int n, int k, Span<float> c) =>
        MultiplyTransposed(SimdWidth.Bits, a, w, m, n, k, c);

    /// <summary>As the public overload, at vector width <paramref name="bits"/>, for tests.</summary>
    internal static void MultiplyTransposed(int bits, ReadOnlySpan<float> a, ReadOnlySpan<float> w, int m, int n, int k, Span<float> c)
    {
        Check(a.Length, m * n, w.Length, k * n, c.Length, m * k);
        if (m == 0 || k == 0) return;
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rw = ref MemoryMarshal.GetReference(w);
        ref float rc = ref MemoryMarshal.GetReference(c);
        if (bits >= 512 && n >= 16) Dot<V512>(ref ra, ref rw, m, n, k, ref rc);
        else if (bits >= 256 && n >= 8) Dot<V256>(ref ra, ref rw, m, n, k, ref rc);
        else if (bits >= 128 && n >= 4) Dot<V128>(ref ra, ref rw, m, n, k, ref rc);
        else DotScalar(ref ra, ref rw, m, n, k, ref rc);
    }

    /// <summary>c (rows x n) += A (rows x inner) · w (inner x n), A[r, p] = a[r * aRow + p * aInner].</summary>
    private static void Gemm(int bits, ref float a, int aRow, int aInner, ref float w, int rows, int inner, int n, ref float c)
    {
        if (bits >= 512 && n >= 16) Gemm<V512>(ref a, aRow, aInner, ref w, rows, inner, n, ref c);
        else if (bits >= 256 && n >= 8) Gemm<V256>(ref a, aRow, aInner, ref w, rows, inner, n, ref c);
        else if (bits >= 128 && n >= 4) Gemm<V128>(ref a, aRow, aInner, ref w, rows, inner, n, ref c);
        else GemmScalar(ref a, aRow, aInner, ref w, rows, inner, n, ref c);
    }

    // Column panels of two vectors, then one, then the overlapping tail (n >= TV.Count).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemm<TV>(ref float a, int aRow, int aInner, ref float w, int rows, int inner, int n, ref float c)
        where TV : struct, IVector<TV>
    {
        int width = TV.Count, j = 0;
        for (; j + 2 * width <= n; j += 2 * width) GemmPanel2<TV>(ref a, aRow, aInner, ref w, rows, inner, n, ref c, j);
        for (; j + width <= n; j += width) GemmPanel1<TV>(ref a, aRow, aInner, ref w, rows, inner, n, ref c, j, 0);
        if (j < n) GemmPanel1<TV>(ref a, aRow, aInner, ref w, rows, inner, n, ref c, n - width, width - (n - j));
    }

    // Four rows by two vectors: eight accumulators, each loaded vector of w feeds four FMAs.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GemmPanel2<TV>(ref float a, int aRow, int aInner, ref float w, int rows, int inner, int n, ref float c, int j)
        where TV : struct, IVector<TV>
    {
        int width = TV.Count, r = 0;
        ref float wj = ref Unsafe.Add(ref w, j);
        for (; r + 4 <= rows; r += 4)
        {
            ref float c0 = ref Unsafe.Add(ref c, r * n + j);
            ref float c1 = ref Unsafe.Add(ref c0, n);
            ref float c2 = ref Unsafe.Add(ref c1, n);
            ref float c3 = ref Unsafe.Add(ref c2, n);
            ref float a0 = ref Unsafe.Add(ref a, r * aRow);
            ref float a1 = ref Unsafe.Add(ref a0, aRow);
            ref float a2 = ref Unsafe.Add(ref a1, aRow);
            ref float a3 = ref Unsafe.Add(ref a2, aRow);
            TV s00 = TV.Load(ref c0, 0), s01 = TV.Load(ref c0, width);
            TV s10 = TV.Load(ref c1, 0), s11 = TV.Load(ref c1, width);
            TV s20 = TV.Load(ref c2, 0), s21 = TV.Load(ref c2, width);
            TV s30 = TV.Load(ref c3, 0), s31 = TV.Load(ref c3, width);
            for (int p = 0; p < inner; p++)
            {
                TV w0 = TV.Load(ref wj, p * n), w1 = TV.Load(ref wj, p * n + width);
                int ap = p * aInner;
                TV b = TV.Broadcast(Unsafe.Add(ref a0, ap));
                s00 = TV.MultiplyAdd(b, w0, s00);
                s01 = TV.MultiplyAdd(b, w1, s01);
                b = TV.Broadcast(Unsafe.Add(ref a1, ap));
                s10 = TV.MultiplyAdd(b, w0, s10);
                s11 = TV.MultiplyAdd(b, w1, s11);
                b = TV.Broadcast(Unsafe.Add(ref a2, ap));
                s20 = TV.MultiplyAdd(b, w0, s20);
                s21 = TV.MultiplyAdd(b, w1, s21);
                b = TV.Broadcast(Unsafe.Add(ref a3, ap));
                s30 = TV.MultiplyAdd(b, w0, s30);
                s31 = TV.MultiplyAdd(b, w1, s31);
            }
            s00.Store(ref c0, 0);
            s01.Store(ref c0, width);
            s10.Store(ref c1, 0);
            s11.Store(ref c1, width);
            s20.Store(ref c2, 0);
            s21.Store(ref c2, width);
            s30.Store(ref c3, 0);
            s31.Store(ref c3, width);
        }
        for (; r < rows; r++)
        {
            ref float cr = ref Unsafe.Add(ref c, r * n + j);
            ref float ar = ref Unsafe.Add(ref a, r * aRow);
            TV s0 = TV.Load(ref cr, 0), s1 = TV.Load(ref cr, width);
            for (int p = 0; p < inner; p++)
            {
                TV b = TV.Broadcast(Unsafe.Add(ref ar, p * aInner));
                s0 = TV.MultiplyAdd(b, TV.Load(ref wj, p * n), s0);
                s1 = TV.MultiplyAdd(b, TV.Load(ref wj, p * n + width), s1);
            }
            s0.Store(ref cr, 0);
            s1.Store(ref cr, width);
        }
    }

    // Four rows by one vector; the first `skip` lanes are not stored (the overlapping tail).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GemmPanel1<TV>(ref float a, int aRow, int aInner, ref float w, int rows, int inner, int n, ref float c, int j, int skip)
        where TV : struct, IVector<TV>
    {
        int r = 0;
        ref float wj = ref Unsafe.Add(ref w, j);
        for (; r + 4 <= rows; r += 4)
        {
            ref float c0 = ref Unsafe.Add(ref c, r * n + j);
            ref float c1 = ref Unsafe.Add(ref c0, n);
            ref float c2 = ref Unsafe.Add(ref c1, n);
            ref float c3 = ref Unsafe.Add(ref c2, n);
            ref float a0 = ref Unsafe.Add(ref a, r * aRow);
            ref float a1 = ref Unsafe.Add(ref a0, aRow);
            ref float a2 = ref Unsafe.Add(ref a1, aRow);
            ref float a3 = ref Unsafe.Add(ref a2, aRow);
            TV s0 = TV.Load(ref c0, 0), s1 = TV.Load(ref c1, 0), s2 = TV.Load(ref c2, 0), s3 = TV.Load(ref c3, 0);
            for (int p = 0; p < inner; p++)
            {
                TV wv = TV.Load(ref wj, p * n);
                int ap = p * aInner;
                s0 = TV.MultiplyAdd(TV.Broadcast(Unsafe.Add(ref a0, ap)), wv, s0);
                s1 = TV.MultiplyAdd(TV.Broadcast(Unsafe.Add(ref a1, ap)), wv, s1);
                s2 = TV.MultiplyAdd(TV.Broadcast(Unsafe.Add(ref a2, ap)), wv, s2);
                s3 = TV.MultiplyAdd(TV.Broadcast(Unsafe.Add(ref a3, ap)), wv, s3);
            }
            s0.StoreSkipping(ref c0, 0, skip);
            s1.StoreSkipping(ref c1, 0, skip);
            s2.StoreSkipping(ref c2, 0, skip);
            s3.StoreSkipping(ref c3, 0, skip);
        }
        for (; r < rows; r++)
        {
            ref float cr = ref Unsafe.Add(ref c, r * n + j);
            ref float ar = ref Unsafe.Add(ref a, r * aRow);
            TV s = TV.Load(ref cr, 0);
            for (int p = 0; p < inner; p++)
                s = TV.MultiplyAdd(TV.Broadcast(Unsafe.Add(ref ar, p * aInner)), TV.Load(ref wj, p * n), s);
            s.StoreSkipping(ref cr, 0, skip);
        }
    }

    private static void GemmScalar(ref float a, int aRow, int aInner, ref float w, int rows, int inner, int n, ref float c)
    {
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++)
            {
                ref float cr = ref Unsafe.Add(ref c, r * n + j);
                float s = cr;
                for (int p = 0; p < inner; p++)
                    s = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, r * aRow + p * aInner), Unsafe.Add(ref w, p * n + j), s);
                cr = s;
            }
    }

    // c[i, p] = Σ_j a[i, j] w[p, j] in blocks of four rows of a by four rows of w (sixteen
    // accumulators; every loaded vector feeds four FMAs), then the leftover rows one by one.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot<TV>(ref float a, ref float w, int m, int n, int k, ref float c)
        where TV : struct, IVector<TV>
    {
        int i = 0;
        for (; i + 4 <= m; i += 4)
        {
            int p = 0;
            for (; p + 4 <= k; p += 4) Dot4x4<TV>(ref a, ref w, n, k, ref c, i, p);
            for (; p < k; p++)
                for (int r = i; r < i + 4; r++) Unsafe.Add(ref c, r * k + p) = Dot1<TV>(ref Unsafe.Add(ref a, r * n), ref Unsafe.Add(ref w, p * n), n);
        }
        for (; i < m; i++)
            for (int p = 0; p < k; p++) Unsafe.Add(ref c, i * k + p) = Dot1<TV>(ref Unsafe.Add(ref a, i * n), ref Unsafe.Add(ref w, p * n), n);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4x4<TV>(ref float a, ref float w, int n, int k, ref float c, int i, int p)
        where TV : struct, IVector<TV>
    {
        int width = TV.Count, full = n - n % width;
        ref float a0 = ref Unsafe.Add(ref a, i * n);
        ref float a1 = ref Unsafe.Add(ref a0, n);
        ref float a2 = ref Unsafe.Add(ref a1, n);
        ref float a3 = ref Unsafe.Add(ref a2, n);
        ref float w0 = ref Unsafe.Add(ref w, p * n);
        ref float w1 = ref Unsafe.Add(ref w0, n);
        ref float w2 = ref Unsafe.Add(ref w1, n);
        ref float w3 = ref Unsafe.Add(ref w2, n);
        TV s00 = TV.Zero, s01 = TV.Zero, s02 = TV.Zero, s03 = TV.Zero;
        TV s10 = TV.Zero, s11 = TV.Zero, s12 = TV.Zero, s13 = TV.Zero;
        TV s20 = TV.Zero, s21 = TV.Zero, s22 = TV.Zero, s23 = TV.Zero;
        TV s30 = TV.Zero, s31 = TV.Zero, s32 = TV.Zero, s33 = TV.Zero;
        for (int j = 0; j < full; j += width)
        {
            Accumulate4x4(TV.Load(ref a0, j), TV.Load(ref a1, j), TV.Load(ref a2, j), TV.Load(ref a3, j),
                TV.Load(ref w0, j), TV.Load(ref w1, j), TV.Load(ref w2, j), TV.Load(ref w3, j),
                ref s00, ref s01, ref s02, ref s03, ref s10, ref s11, ref s12, ref s13,
                ref s20, ref s21, ref s22, ref s23, ref s30, ref s31, ref s32, ref s33);
        }
        if (full < n)
        {
            // The overlapping tail, its done lanes zeroed on both sides.
            int j = n - width, skip = width - (n - full);
            Accumulate4x4(TV.LoadSkipping(ref a0, j, skip), TV.LoadSkipping(ref a1, j, skip), TV.LoadSkipping(ref a2, j, skip), TV.LoadSkipping(ref a3, j, skip),
                TV.LoadSkipping(ref w0, j, skip), TV.LoadSkipping(ref w1, j, skip), TV.LoadSkipping(ref w2, j, skip), TV.LoadSkipping(ref w3, j, skip),
                ref s00, ref s01, ref s02, ref s03, ref s10, ref s11, ref s12, ref s13,
                ref s20, ref s21, ref s22, ref s23, ref s30, ref s31, ref s32, ref s33);
        }
        ref float c0 = ref Unsafe.Add(ref c, i * k + p);
        TV.Sum4(s00, s01, s02, s03).StoreUnsafe(ref c0);
        TV.Sum4(s10, s11, s12, s13).StoreUnsafe(ref Unsafe.Add(ref c0, k));
        TV.Sum4(s20, s21, s22, s23).StoreUnsafe(ref Unsafe.Add(ref c0, 2 * k));
        TV.Sum4(s30, s31, s32, s33).StoreUnsafe(ref Unsafe.Add(ref c0, 3 * k));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate4x4<TV>(TV x0, TV x1, TV x2, TV x3, TV y0, TV y1, TV y2, TV y3,
        ref TV s00, ref TV s01, ref TV s02, ref TV s03, ref TV s10, ref TV s11, ref TV s12, ref TV s13,
        ref TV s20, ref TV s21, ref TV s22, ref TV s23, ref TV s30, ref TV s31, ref TV s32, ref TV s33)
        where TV : struct, IVector<TV>
    {
        s00 = TV.MultiplyAdd(x0, y0, s00); s01 = TV.MultiplyAdd(x0, y1, s01); s02 = TV.MultiplyAdd(x0, y2, s02); s03 = TV.MultiplyAdd(x0, y3, s03);
        s10 = TV.MultiplyAdd(x1, y0, s10); s11 = TV.MultiplyAdd(x1, y1, s11); s12 = TV.MultiplyAdd(x1, y2, s12); s13 = TV.MultiplyAdd(x1, y3, s13);
        s20 = TV.MultiplyAdd(x2, y0, s20); s21 = TV.MultiplyAdd(x2, y1, s21); s22 = TV.MultiplyAdd(x2, y2, s22); s23 = TV.MultiplyAdd(x2, y3, s23);
        s30 = TV.MultiplyAdd(x3, y0, s30); s31 = TV.MultiplyAdd(x3, y1, s31); s32 = TV.MultiplyAdd(x3, y2, s32); s33 = TV.MultiplyAdd(x3, y3, s33);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot1<TV>(ref float x, ref float y, int n)
        where TV : struct, IVector<TV>
    {
        int width = TV.Count, full = n - n % width;
        TV s = TV.Zero;
        for (int j = 0; j < full; j += width) s = TV.MultiplyAdd(TV.Load(ref x, j), TV.Load(ref y, j), s);
        if (full < n)
        {
            int skip = width - (n - full);
            s = TV.MultiplyAdd(TV.LoadSkipping(ref x, n - width, skip), TV.LoadSkipping(ref y, n - width, skip), s);
        }
        return TV.Sum(s);
    }

    private static void DotScalar(ref float a, ref float w, int m, int n, int k, ref float c)
    {
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++)
            {
                float s = 0;
                for (int j = 0; j < n; j++) s = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, i * n + j), Unsafe.Add(ref w, p * n + j), s);
                Unsafe.Add(ref c, i * k + p) = s;
            }
    }

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
