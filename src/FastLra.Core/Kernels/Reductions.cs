using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastLra.Kernels;

/// <summary>Row broadcasts, column sums and norms over row-major (rows x cols) spans.</summary>
internal static class Reductions
{
    /// <summary>Every row of dest (rows x cols) = row.</summary>
    public static void BroadcastRows(ReadOnlySpan<float> row, int rows, Span<float> dest)
    {
        int cols = row.Length;
        if (dest.Length < rows * cols) ThrowHelper.ShapeMismatch();
        for (int i = 0; i < rows; i++) row.CopyTo(dest.Slice(i * cols, cols));
    }

    /// <summary>sum (cols) += column sums of d (rows x cols): the bias gradient.</summary>
    public static void SumRowsAdd(ReadOnlySpan<float> d, int rows, int cols, Span<float> sum) =>
        MatMul.SumRowsAdd(SimdWidth.Current, d, rows, cols, sum);

    /// <summary>Sum of squares, accumulated in double so long spans keep their precision.</summary>
    public static double SumOfSquares(ReadOnlySpan<float> x) => SumOfSquares(SimdWidth.Current, x);

    /// <summary>As the overload without a target, at <paramref name="target"/>, for tests (as every such overload below).</summary>
    public static double SumOfSquares(SimdTarget target, ReadOnlySpan<float> x) => (target.Bits, target.Fma) switch
    {
        (512, _) => SumOfSquares<V512>(x),
        (256, true) => SumOfSquares<V256<MachineFma>>(x),
        (256, false) => SumOfSquares<V256<NoFma>>(x),
        (128, true) => SumOfSquares<V128<MachineFma>>(x),
        (128, false) => SumOfSquares<V128<NoFma>>(x),
        _ => SumOfSquaresTail(x, 0),
    };

    // Four independent accumulators (one FMA chain is bound by its latency: a 10,000-float gradient
    // took 1.5 us), flushed to double every 4096 elements to bound the rounding; then single
    // vectors and one overlapping vector with its done lanes zeroed, so only spans shorter than a
    // vector take the scalar loop (a 36-float scalar tail made a 100-float row cost 45 ns).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double SumOfSquares<TV>(ReadOnlySpan<float> x)
        where TV : struct, IVector<TV>
    {
        ref float rx = ref MemoryMarshal.GetReference(x);
        int n = x.Length, width = TV.Count, step = 4 * width, i = 0;
        double total = 0;
        while (i + step <= n)
        {
            int end = Math.Min(n - step, i + 4096);
            TV a0 = TV.Zero, a1 = TV.Zero, a2 = TV.Zero, a3 = TV.Zero;
            for (; i <= end; i += step)
            {
                TV v0 = TV.Load(ref rx, i), v1 = TV.Load(ref rx, i + width), v2 = TV.Load(ref rx, i + 2 * width), v3 = TV.Load(ref rx, i + 3 * width);
                a0 = TV.MultiplyAdd(v0, v0, a0);
                a1 = TV.MultiplyAdd(v1, v1, a1);
                a2 = TV.MultiplyAdd(v2, v2, a2);
                a3 = TV.MultiplyAdd(v3, v3, a3);
            }
            total += TV.Sum(a0 + a1 + (a2 + a3));
        }
        TV rest = TV.Zero;
        for (; i + width <= n; i += width)
        {
            TV v = TV.Load(ref rx, i);
            rest = TV.MultiplyAdd(v, v, rest);
        }
        if (i < n && n >= width)
        {
            TV v = TV.LoadSkipping(ref rx, n - width, width - (n - i));
            rest = TV.MultiplyAdd(v, v, rest);
            i = n;
        }
        return total + TV.Sum(rest) + SumOfSquaresTail(x, i);
    }

    private static double SumOfSquaresTail(ReadOnlySpan<float> x, int from)
    {
        double total = 0;
        for (int i = from; i < x.Length; i++) total += (double)x[i] * x[i];
        return total;
    }

    /// <summary>
    /// Whether every element is finite (neither NaN nor infinite): x·0 is 0 for a finite x and NaN
    /// otherwise, so the sum of those products is 0 exactly when all are. One fused multiply-add per
    /// vector, so checking an update's gradient and weights costs less than copying them; a span
    /// of a tick's few inputs or outputs takes the scalar loop.
    /// </summary>
    public static bool AllFinite(ReadOnlySpan<float> x) => x.Length < 16 ? AllFiniteTail(x, 0) == 0f : AllFinite(SimdWidth.Current, x);

    internal static bool AllFinite(SimdTarget target, ReadOnlySpan<float> x) => (target.Bits, target.Fma) switch
    {
        (512, _) => AllFinite<V512>(x),
        (256, true) => AllFinite<V256<MachineFma>>(x),
        (256, false) => AllFinite<V256<NoFma>>(x),
        (128, true) => AllFinite<V128<MachineFma>>(x),
        (128, false) => AllFinite<V128<NoFma>>(x),
        _ => AllFiniteTail(x, 0) == 0f,
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool AllFinite<TV>(ReadOnlySpan<float> x)
        where TV : struct, IVector<TV>
    {
        ref float rx = ref MemoryMarshal.GetReference(x);
        int n = x.Length, width = TV.Count, step = 4 * width, i = 0;
        TV zero = TV.Zero, a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        for (; i + step <= n; i += step)
        {
            a0 = TV.MultiplyAdd(TV.Load(ref rx, i), zero, a0);
            a1 = TV.MultiplyAdd(TV.Load(ref rx, i + width), zero, a1);
            a2 = TV.MultiplyAdd(TV.Load(ref rx, i + 2 * width), zero, a2);
            a3 = TV.MultiplyAdd(TV.Load(ref rx, i + 3 * width), zero, a3);
        }
        for (; i + width <= n; i += width) a0 = TV.MultiplyAdd(TV.Load(ref rx, i), zero, a0);
        if (i < n && n >= width)
        {
            a1 = TV.MultiplyAdd(TV.LoadSkipping(ref rx, n - width, width - (n - i)), zero, a1);
            i = n;
        }
        return TV.Sum(a0 + a1 + (a2 + a3)) + AllFiniteTail(x, i) == 0f;
    }

    private static float AllFiniteTail(ReadOnlySpan<float> x, int from)
    {
        float sum = 0;
        for (int i = from; i < x.Length; i++) sum += x[i] * 0f;
        return sum;
    }

    /// <summary>Frobenius norm.</summary>
    public static float Norm(ReadOnlySpan<float> x) => (float)Math.Sqrt(SumOfSquares(SimdWidth.Current, x));

    /// <summary>x·y / (||x|| ||y||), summed in double (a diagnostic, once per check); NaN when either is zero.</summary>
    public static double Cosine(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (x.Length != y.Length) ThrowHelper.ShapeMismatch();
        double xy = 0, xx = 0, yy = 0;
        for (int i = 0; i < x.Length; i++)
        {
            xy += (double)x[i] * y[i];
            xx += (double)x[i] * x[i];
            yy += (double)y[i] * y[i];
        }
        return xx == 0 || yy == 0 ? double.NaN : xy / Math.Sqrt(xx * yy);
    }

    /// <summary>x *= scale.</summary>
    public static void Scale(Span<float> x, float scale) => TensorPrimitives.Multiply(x, scale, x);

    /// <summary>Rows of aᵀd that <c>TransposedProductNorm</c> forms at a time when it forms the product.</summary>
    public const int NormBlockRows = 16;

    /// <summary>
    /// ||aᵀ d||_F for a (rows x m) and d (rows x n), in the cheaper of two exact ways. With few rows,
    /// by the Gram identity ||aᵀd||² = Σ_{b,c} (a_b · a_c)(d_b · d_c), which never forms the m x n
    /// product: O(rows² (m + n)). With many, by forming aᵀd <see cref="NormBlockRows"/> rows at a
    /// time in <paramref name="scratch"/> (at least NormBlockRows x n): O(rows m n), linear in the
    /// rows, the cost of the weight-gradient product itself (the Gram identity alone made a check
    /// iteration at B = 8,000 take 56 s).
    /// </summary>
    public static float TransposedProductNorm(ReadOnlySpan<float> a, ReadOnlySpan<float> d, int rows, int m, int n, Span<float> scratch) =>
        TransposedProductNorm(SimdWidth.Current, a, d, rows, m, n, scratch);

    public static float TransposedProductNorm(SimdTarget target, ReadOnlySpan<float> a, ReadOnlySpan<float> d, int rows, int m, int n, Span<float> scratch)
    {
        if (a.Length < (long)rows * m || d.Length < (long)rows * n) ThrowHelper.ShapeMismatch();
        // Pairs b >= c cost m + n each; the product costs m n per row.
        return (rows + 1L) * (m + n) <= 2L * m * n ? GramNorm(a, d, rows, m, n) : FormedNorm(target, a, d, rows, m, n, scratch);
    }

    private static float GramNorm(ReadOnlySpan<float> a, ReadOnlySpan<float> d, int rows, int m, int n)
    {
        double total = 0;
        for (int b = 0; b < rows; b++)
        {
            var ab = a.Slice(b * m, m);
            var db = d.Slice(b * n, n);
            total += (double)TensorPrimitives.Dot(ab, ab) * TensorPrimitives.Dot(db, db);
            for (int c = 0; c < b; c++)
                total += 2.0 * TensorPrimitives.Dot(ab, a.Slice(c * m, m)) * TensorPrimitives.Dot(db, d.Slice(c * n, n));
        }
        return (float)Math.Sqrt(Math.Max(total, 0));
    }

    private static float FormedNorm(SimdTarget target, ReadOnlySpan<float> a, ReadOnlySpan<float> d, int rows, int m, int n, Span<float> scratch)
    {
        if (scratch.Length < NormBlockRows * n) ThrowHelper.ShapeMismatch();
        double total = 0;
        for (int first = 0; first < m; first += NormBlockRows)
        {
            // Rows first .. first + k - 1 of aᵀd: columns of a read with its row stride m.
            int k = Math.Min(NormBlockRows, m - first);
            var block = scratch[..(k * n)];
            block.Clear();
            MatMul.TransposedMultiplyAdd(target, a[first..], d, rows, k, n, m, block);
            total += SumOfSquares(target, block);
        }
        return (float)Math.Sqrt(total);
    }
}

/// <summary>Scalar oracles for <see cref="Reductions"/>.</summary>
internal static class ReductionsReference
{
    public static void SumRowsAdd(ReadOnlySpan<float> d, int rows, int cols, Span<float> sum)
    {
        for (int j = 0; j < cols; j++)
        {
            float s = sum[j];
            for (int i = 0; i < rows; i++) s += d[i * cols + j];
            sum[j] = s;
        }
    }

    public static double SumOfSquares(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (float v in x) s += (double)v * v;
        return s;
    }

    /// <summary>||aᵀ d||_F by forming the product.</summary>
    public static float TransposedProductNorm(ReadOnlySpan<float> a, ReadOnlySpan<float> d, int rows, int m, int n)
    {
        double s = 0;
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double e = 0;
                for (int b = 0; b < rows; b++) e += (double)a[b * m + i] * d[b * n + j];
                s += e * e;
            }
        }
        return (float)Math.Sqrt(s);
    }
}
