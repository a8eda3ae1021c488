using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastLra.Kernels;

/// <summary>Row broadcasts, column sums and norms over row-major (rows x cols) spans.</summary>
public static class Reductions
{
    /// <summary>Every row of dest (rows x cols) = row.</summary>
    public static void BroadcastRows(ReadOnlySpan<float> row, int rows, Span<float> dest)
    {
        int cols = row.Length;
        if (dest.Length < rows * cols) ThrowHelper.ShapeMismatch();
        for (int i = 0; i < rows; i++) row.CopyTo(dest.Slice(i * cols, cols));
    }

    /// <summary>sum (cols) += column sums of d (rows x cols): the bias gradient.</summary>
    public static void SumRowsAdd(ReadOnlySpan<float> d, int rows, int cols, Span<float> sum)
    {
        if (d.Length < rows * cols || sum.Length < cols) ThrowHelper.ShapeMismatch();
        ref float rd = ref MemoryMarshal.GetReference(d);
        ref float rs = ref MemoryMarshal.GetReference(sum);
        int width = Vector<float>.Count;
        int j = 0;
        for (; j + width <= cols; j += width)
        {
            var s = Vector.LoadUnsafe(ref rs, (nuint)j);
            for (int i = 0; i < rows; i++) s += Vector.LoadUnsafe(ref rd, (nuint)(i * cols + j));
            s.StoreUnsafe(ref rs, (nuint)j);
        }
        for (; j < cols; j++)
        {
            float s = Unsafe.Add(ref rs, j);
            for (int i = 0; i < rows; i++) s += Unsafe.Add(ref rd, i * cols + j);
            Unsafe.Add(ref rs, j) = s;
        }
    }

    /// <summary>Sum of squares, accumulated in double so long spans keep their precision.</summary>
    public static double SumOfSquares(ReadOnlySpan<float> x)
    {
        ref float rx = ref MemoryMarshal.GetReference(x);
        int width = Vector<float>.Count;
        int i = 0;
        var acc = Vector<float>.Zero;
        double total = 0;
        // Flush the float accumulator every few thousand elements to bound rounding.
        while (i + width <= x.Length)
        {
            int end = Math.Min(x.Length - width, i + 4096);
            for (; i <= end; i += width)
            {
                var v = Vector.LoadUnsafe(ref rx, (nuint)i);
                acc = Vector.FusedMultiplyAdd(v, v, acc);
            }
            total += Vector.Sum(acc);
            acc = Vector<float>.Zero;
        }
        for (; i < x.Length; i++) total += (double)Unsafe.Add(ref rx, i) * Unsafe.Add(ref rx, i);
        return total;
    }

    /// <summary>Frobenius norm.</summary>
    public static float Norm(ReadOnlySpan<float> x) => (float)Math.Sqrt(SumOfSquares(x));

    /// <summary>x *= scale.</summary>
    public static void Scale(Span<float> x, float scale) => TensorPrimitives.Multiply(x, scale, x);
}

/// <summary>Scalar oracles for <see cref="Reductions"/>.</summary>
public static class ReductionsReference
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
}
