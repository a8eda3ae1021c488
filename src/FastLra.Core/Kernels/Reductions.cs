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
    /// Sum of squares, in blocks of <see cref="FlushBlock"/> elements summed in double so long spans
    /// keep their precision; within a block in the fixed order of <see cref="Dot(SimdTarget, ReadOnlySpan{float}, ReadOnlySpan{float})"/>,
    /// so the norms that clip gradients and scale Omega come out the same at every vector width.
    /// </summary>
    public static double SumOfSquares(ReadOnlySpan<float> x) => SumOfSquares(SimdWidth.Current, x);

    /// <summary>As the overload without a target, at <paramref name="target"/>, for tests (as every such overload below).</summary>
    public static double SumOfSquares(SimdTarget target, ReadOnlySpan<float> x) => Dot(target, x, x);

    /// <summary>Σ x_i y_i, in the fixed order below, in double across blocks of <see cref="FlushBlock"/>.</summary>
    public static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y) => Dot(SimdWidth.Current, x, y);

    /// <summary>
    /// Σ x_i y_i, the same bits at every vector width: element e goes to partial e mod 8
    /// (<see cref="Partials8"/>), which adds its elements in ascending order; the partials of each
    /// block of <see cref="FlushBlock"/> fold by one tree into a double total. One set of eight
    /// partials, not several: a state padded to a stride S (a multiple of eight, but not the same
    /// at every width) then puts every element in the same partial at every width, its zero
    /// padding adding nothing, which a layout over more partials would not.
    /// </summary>
    public static double Dot(SimdTarget target, ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (y.Length != x.Length) ThrowHelper.ShapeMismatch();
        return (target.Bits, target.Fma) switch
        {
            (512, _) => Dot<V512>(x, y),
            (256, true) => Dot<V256<MachineFma>>(x, y),
            (256, false) => Dot<V256<NoFma>>(x, y),
            (_, true) => Dot<V128<MachineFma>>(x, y),
            _ => Dot<V128<NoFma>>(x, y),
        };
    }

    /// <summary>Elements summed in float before a block's sum goes into the double total (a multiple of every width).</summary>
    public const int FlushBlock = 4096;

    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Dot<TV>(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
        where TV : struct, IVector<TV>
    {
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        int n = x.Length, width = TV.Count, i = 0;
        double total = 0;
        Span<float> padded = stackalloc float[2 * width];
        while (i < n)
        {
            int end = Math.Min(n, i + FlushBlock);
            Partials8 sum = Whole<TV>(ref rx, ref ry, ref i, end);
            if (i < end)
            {
                // The tail, zero-padded to a vector.
                padded.Clear();
                x[i..end].CopyTo(padded);
                y[i..end].CopyTo(padded[width..]);
                ref float rp = ref MemoryMarshal.GetReference(padded);
                sum = TV.MultiplyAdd8(TV.Load(ref rp, 0), TV.Load(ref rp, width), sum, i);
                i = end;
            }
            total += sum.Total();
        }
        return total;
    }

    // The whole vectors from i to end, i left at the first element of the rest. Apart from the
    // tail's stack copy, so the partials stay in registers (with it, the compiler kept them on
    // the stack and every multiply-add waited on a store).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Partials8 Whole<TV>(ref float x, ref float y, ref int i, int end)
        where TV : struct, IVector<TV>
    {
        Partials8 sum = default;
        int j = i;
        for (; j + TV.Count <= end; j += TV.Count) sum = TV.MultiplyAdd8(TV.Load(ref x, j), TV.Load(ref y, j), sum, j);
        i = j;
        return sum;
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
        return (rows + 1L) * (m + n) <= 2L * m * n ? GramNorm(target, a, d, rows, m, n) : FormedNorm(target, a, d, rows, m, n, scratch);
    }

    private static float GramNorm(SimdTarget target, ReadOnlySpan<float> a, ReadOnlySpan<float> d, int rows, int m, int n)
    {
        double total = 0;
        for (int b = 0; b < rows; b++)
        {
            var ab = a.Slice(b * m, m);
            var db = d.Slice(b * n, n);
            total += Dot(target, ab, ab) * Dot(target, db, db);
            for (int c = 0; c < b; c++)
                total += 2.0 * Dot(target, ab, a.Slice(c * m, m)) * Dot(target, db, d.Slice(c * n, n));
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

    /// <summary>
    /// Σ x_i y_i in <see cref="Reductions.Dot(SimdTarget, ReadOnlySpan{float}, ReadOnlySpan{float})"/>'s
    /// order, one element at a time: blocks of <see cref="Reductions.FlushBlock"/>, element e into
    /// partial e mod 8 (a block's last vector zero-padded to <paramref name="width"/> lanes), each
    /// block folded as <see cref="Partials8.Fold"/> into a double total.
    /// </summary>
    public static double FixedDot(ReadOnlySpan<float> x, ReadOnlySpan<float> y, int width, bool fused)
    {
        double total = 0;
        var p = new float[8];
        for (int block = 0; block < x.Length; block += Reductions.FlushBlock)
        {
            int end = Math.Min(x.Length, block + Reductions.FlushBlock), padded = block + (end - block + width - 1) / width * width;
            Array.Clear(p);
            for (int e = block; e < padded; e++)
            {
                float a = e < end ? x[e] : 0f, b = e < end ? y[e] : 0f;
                p[e % 8] = fused ? MathF.FusedMultiplyAdd(a, b, p[e % 8]) : a * b + p[e % 8];
            }
            float f0 = p[0] + p[4], f1 = p[1] + p[5], f2 = p[2] + p[6], f3 = p[3] + p[7];
            total += (f0 + f1) + (f2 + f3);
        }
        return total;
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
