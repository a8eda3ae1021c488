using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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

    /// <summary>
    /// Sum of squares, in the fixed order of <see cref="Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>,
    /// so the norms that clip gradients and scale Omega come out the same at every vector width.
    /// </summary>
    public static double SumOfSquares(ReadOnlySpan<float> x) => Dot(x, x);

    /// <summary>
    /// Σ x_i y_i in double, the same bits on every machine: element e goes to partial e mod 8, each
    /// partial a double that adds its elements' exact products in ascending order, and the eight
    /// fold as <see cref="Partials8.Fold"/> does, in double. In double because a state padded to a
    /// stride S (a multiple of eight, not the same at every width) puts each element in the same
    /// partial at every width, its zero padding adding nothing, but not at the same index: blocks
    /// summed in float and flushed to double at fixed indices would split a padded matrix
    /// differently at each width. A float's product is exact in double, so fused or not, the
    /// arithmetic is the same everywhere. Two 128-bit lanes of doubles per pair of partials: four
    /// chains, as fast as the float partials were.
    /// </summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (y.Length != x.Length) ThrowHelper.ShapeMismatch();
        int n = x.Length, i = n - n % 8;
        var (p01, p23, p45, p67) = DoubleSums(ref MemoryMarshal.GetReference(x), ref MemoryMarshal.GetReference(y), i);
        if (i < n)
        {
            Span<float> padded = stackalloc float[16];
            padded.Clear();
            x[i..].CopyTo(padded);
            y[i..].CopyTo(padded[8..]);
            ref float rp = ref MemoryMarshal.GetReference(padded);
            (p01, p23, p45, p67) = DoubleSums(ref rp, ref Unsafe.Add(ref rp, 8), 8, p01, p23, p45, p67);
        }
        Vector128<double> f01 = p01 + p45, f23 = p23 + p67;
        return (f01.GetElement(0) + f01.GetElement(1)) + (f23.GetElement(0) + f23.GetElement(1));
    }

    // Partials (0, 1), (2, 3), (4, 5), (6, 7) += the products of the first `count` (a multiple of
    // eight) elements. Apart from Dot's stack copy, so the partials stay in registers. With 256-bit
    // vectors the same partials are two registers of four (the same lane-by-lane arithmetic, half
    // the instructions: 2,080 floats took 310 ns against 420).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static (Vector128<double>, Vector128<double>, Vector128<double>, Vector128<double>) DoubleSums(ref float x, ref float y, int count,
        Vector128<double> p01 = default, Vector128<double> p23 = default, Vector128<double> p45 = default, Vector128<double> p67 = default)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<double> p03 = Vector256.Create(p01, p23), p47 = Vector256.Create(p45, p67);
            for (int i = 0; i < count; i += 8)
            {
                Vector256<float> xv = Vector256.LoadUnsafe(ref x, (nuint)i), yv = Vector256.LoadUnsafe(ref y, (nuint)i);
                p03 = Vector256.FusedMultiplyAdd(Vector256.WidenLower(xv), Vector256.WidenLower(yv), p03);
                p47 = Vector256.FusedMultiplyAdd(Vector256.WidenUpper(xv), Vector256.WidenUpper(yv), p47);
            }
            return (p03.GetLower(), p03.GetUpper(), p47.GetLower(), p47.GetUpper());
        }
        for (int i = 0; i < count; i += 8)
        {
            Vector128<float> x0 = Vector128.LoadUnsafe(ref x, (nuint)i), x1 = Vector128.LoadUnsafe(ref x, (nuint)(i + 4));
            Vector128<float> y0 = Vector128.LoadUnsafe(ref y, (nuint)i), y1 = Vector128.LoadUnsafe(ref y, (nuint)(i + 4));
            p01 = Vector128.FusedMultiplyAdd(Vector128.WidenLower(x0), Vector128.WidenLower(y0), p01);
            p23 = Vector128.FusedMultiplyAdd(Vector128.WidenUpper(x0), Vector128.WidenUpper(y0), p23);
            p45 = Vector128.FusedMultiplyAdd(Vector128.WidenLower(x1), Vector128.WidenLower(y1), p45);
            p67 = Vector128.FusedMultiplyAdd(Vector128.WidenUpper(x1), Vector128.WidenUpper(y1), p67);
        }
        return (p01, p23, p45, p67);
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
    public static float Norm(ReadOnlySpan<float> x) => (float)Math.Sqrt(SumOfSquares(x));

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
        TransposedProductNorm(SimdWidth.Current, a, d, rows, m, n, scratch, GramIsCheaper(rows, m, n));

    /// <summary>
    /// As the overload without a target, at <paramref name="target"/>, the way chosen by
    /// <paramref name="gram"/>: the two ways round differently, so a caller whose rows are padded
    /// to a width-dependent stride decides by the unpadded sizes (<see cref="GramIsCheaper"/>), the
    /// same at every width.
    /// </summary>
    public static float TransposedProductNorm(SimdTarget target, ReadOnlySpan<float> a, ReadOnlySpan<float> d, int rows, int m, int n, Span<float> scratch, bool gram)
    {
        if (a.Length < (long)rows * m || d.Length < (long)rows * n) ThrowHelper.ShapeMismatch();
        return gram ? GramNorm(a, d, rows, m, n) : FormedNorm(target, a, d, rows, m, n, scratch);
    }

    /// <summary>Whether the Gram identity costs less than forming the product: pairs b >= c cost m + n each, the product m n per row.</summary>
    public static bool GramIsCheaper(int rows, int m, int n) => (rows + 1L) * (m + n) <= 2L * m * n;

    private static float GramNorm(ReadOnlySpan<float> a, ReadOnlySpan<float> d, int rows, int m, int n)
    {
        double total = 0;
        for (int b = 0; b < rows; b++)
        {
            var ab = a.Slice(b * m, m);
            var db = d.Slice(b * n, n);
            total += Dot(ab, ab) * Dot(db, db);
            for (int c = 0; c < b; c++)
                total += 2.0 * Dot(ab, a.Slice(c * m, m)) * Dot(db, d.Slice(c * n, n));
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
            total += SumOfSquares(block);
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

    /// <summary>
    /// Σ x_i y_i in <see cref="Reductions.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>'s order,
    /// one element at a time: element e into double partial e mod 8, fused, the partials folded
    /// as (p_0 + p_4 + p_1 + p_5) + (p_2 + p_6 + p_3 + p_7) in that tree.
    /// </summary>
    public static double FixedDot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var p = new double[8];
        for (int e = 0; e < x.Length; e++) p[e % 8] = Math.FusedMultiplyAdd(x[e], y[e], p[e % 8]);
        double f0 = p[0] + p[4], f1 = p[1] + p[5], f2 = p[2] + p[6], f3 = p[3] + p[7];
        return (f0 + f1) + (f2 + f3);
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
