using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FastLra.Kernels;

/// <summary>An element-wise operation of up to three inputs and a scalar parameter, written once for every width.</summary>
internal interface IElementwise
{
    static abstract TV Invoke<TV>(TV x, TV y, TV z, TV s)
        where TV : struct, IVector<TV>;
}

/// <summary>
/// Runs element-wise operators (struct type parameters, no delegates) over spans at the widest
/// accelerated width; the tail shorter than a vector goes through the same vector code on a
/// padded stack copy, so every element gets identical rounding. The destination may be any of
/// the inputs (each element is read before it is written). Each map returns Σ dest² (summed in one
/// order at every width, then widened to double), so a norm costs no extra pass.
/// </summary>
internal static class Elementwise
{
    /// <summary>dest[i] = TOp(x[i], y[i], z[i], s); unused inputs may be empty. Returns Σ dest[i]², in the fixed order of <see cref="Partials8"/>.</summary>
    public static double Map<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> z, float s, Span<float> dest)
        where TOp : IElementwise => Map<TOp>(SimdWidth.Current, x, y, z, s, dest);

    /// <summary>As the overload without a target, at <paramref name="target"/> (the scalar target runs 128-bit vectors).</summary>
    public static double Map<TOp>(SimdTarget target, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> z, float s, Span<float> dest)
        where TOp : IElementwise
    {
        int n = dest.Length;
        if (x.Length < n || (!y.IsEmpty && y.Length < n) || (!z.IsEmpty && z.Length < n)) ThrowHelper.ShapeMismatch();
        // Empty inputs read as x, which keeps every load in bounds; operators ignore inputs they do not use.
        if (y.IsEmpty) y = x;
        if (z.IsEmpty) z = x;
        return (target.Bits, target.Fma) switch
        {
            (512, _) => Map<TOp, V512>(x, y, z, s, dest),
            (256, true) => Map<TOp, V256<MachineFma>>(x, y, z, s, dest),
            (256, false) => Map<TOp, V256<NoFma>>(x, y, z, s, dest),
            (_, true) => Map<TOp, V128<MachineFma>>(x, y, z, s, dest),
            _ => Map<TOp, V128<NoFma>>(x, y, z, s, dest),
        };
    }

    /// <summary>Σ TOp(x[i], y[i], x[i], s), storing nothing, in the fixed order of <see cref="Partials8"/> (the same at every width).</summary>
    public static double Sum<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, float s)
        where TOp : IElementwise => Sum<TOp>(SimdWidth.Current, x, y, s);

    /// <summary>As the overload without a target, at <paramref name="target"/>.</summary>
    public static double Sum<TOp>(SimdTarget target, ReadOnlySpan<float> x, ReadOnlySpan<float> y, float s)
        where TOp : IElementwise
    {
        int n = x.Length;
        if (y.Length < n) ThrowHelper.ShapeMismatch();
        return (target.Bits, target.Fma) switch
        {
            (512, _) => Sum<TOp, V512>(x, y, s),
            (256, true) => Sum<TOp, V256<MachineFma>>(x, y, s),
            (256, false) => Sum<TOp, V256<NoFma>>(x, y, s),
            (_, true) => Sum<TOp, V128<MachineFma>>(x, y, s),
            _ => Sum<TOp, V128<NoFma>>(x, y, s),
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Sum<TOp, TV>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, float s)
        where TOp : IElementwise
        where TV : struct, IVector<TV>
    {
        int n = x.Length, width = TV.Count, i = 0;
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        // The values summed in the fixed order of Partials8 (each times one, exactly), so the sum
        // is the same at every width.
        TV sv = TV.Broadcast(s), one = TV.Broadcast(1f);
        Partials8 sum = default;
        for (; i + width <= n; i += width)
        {
            TV xi = TV.Load(ref rx, i);
            sum = TV.MultiplyAdd8(TOp.Invoke(xi, TV.Load(ref ry, i), xi, sv), one, sum, i);
        }
        if (i < n) sum = SumTail<TOp, TV>(x, y, s, i, sum);
        return sum.Total();
    }

    // The tail shorter than a vector, as MapTail.
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Partials8 SumTail<TOp, TV>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, float s, int i, Partials8 sum)
        where TOp : IElementwise
        where TV : struct, IVector<TV>
    {
        int width = TV.Count, rest = x.Length - i;
        Span<float> buffer = stackalloc float[3 * width];
        buffer.Clear();
        x.Slice(i, rest).CopyTo(buffer);
        y.Slice(i, rest).CopyTo(buffer[width..]);
        ref float rb = ref MemoryMarshal.GetReference(buffer);
        TV xi = TV.Load(ref rb, 0);
        return TV.MultiplyAdd8(Valid(TOp.Invoke(xi, TV.Load(ref rb, width), xi, TV.Broadcast(s)), rest, buffer[(2 * width)..]), TV.Broadcast(1f), sum, i);
    }

    // v with its lanes from `rest` on zeroed (the padding of a row's tail), through scratch (a vector).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Valid<TV>(TV v, int rest, Span<float> scratch)
        where TV : struct, IVector<TV>
    {
        ref float r = ref MemoryMarshal.GetReference(scratch);
        v.Store(ref r, 0);
        scratch[rest..TV.Count].Clear();
        return TV.Load(ref r, 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // as the MatMul kernels: no PGO re-compilation
    private static double Map<TOp, TV>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> z, float s, Span<float> dest)
        where TOp : IElementwise
        where TV : struct, IVector<TV>
    {
        int n = dest.Length, width = TV.Count, i = 0;
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        ref float rz = ref MemoryMarshal.GetReference(z);
        ref float rd = ref MemoryMarshal.GetReference(dest);
        TV sv = TV.Broadcast(s);
        Partials8 squares = default;
        for (; i + width <= n; i += width)
        {
            TV r = TOp.Invoke(TV.Load(ref rx, i), TV.Load(ref ry, i), TV.Load(ref rz, i), sv);
            r.Store(ref rd, i);
            squares = TV.MultiplyAdd8(r, r, squares, i);
        }
        if (i < n) squares = MapTail<TOp, TV>(x, y, z, s, dest, i, squares);
        return squares.Total();
    }

    // The tail shorter than a vector, through a zero-padded stack copy. A method apart: with the
    // stack copy in Map, the compiler kept the partials on the stack in Map's loop too.
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Partials8 MapTail<TOp, TV>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> z, float s, Span<float> dest, int i,
        Partials8 squares)
        where TOp : IElementwise
        where TV : struct, IVector<TV>
    {
        int width = TV.Count, rest = dest.Length - i;
        Span<float> buffer = stackalloc float[4 * width];
        buffer.Clear();
        x.Slice(i, rest).CopyTo(buffer);
        y.Slice(i, rest).CopyTo(buffer[width..]);
        z.Slice(i, rest).CopyTo(buffer[(2 * width)..]);
        ref float rb = ref MemoryMarshal.GetReference(buffer);
        TV r = Valid(TOp.Invoke(TV.Load(ref rb, 0), TV.Load(ref rb, width), TV.Load(ref rb, 2 * width), TV.Broadcast(s)), rest, buffer[(3 * width)..]);
        buffer.Slice(3 * width, rest).CopyTo(dest[i..]);
        return TV.MultiplyAdd8(r, r, squares, i);
    }
}

/// <summary>
/// tanh(x) = e / (e + 2) with e = expm1(2|x|), and x's sign. expm1(y) = 2^n (1 + p) - 1 with
/// y = n ln2 + r, |r| &lt;= ln2/2 and p = expm1(r) by its Taylor series through r^7; for n = 0
/// that is p itself, so the result keeps its relative accuracy down to the smallest x (within
/// 2.5 ulps for every float, checked exhaustively). One series, one division, no branch.
/// </summary>
internal readonly struct TanhOperator : IElementwise
{
    private const float Bias = 12582912f + 127f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TV>(TV x, TV y, TV z, TV s)
        where TV : struct, IVector<TV> => Tanh(x);

    // TensorPrimitives.Tanh has ~1e-7 absolute error at every x, so its relative error near zero
    // is unbounded (it returns -6e-8 for tanh(0)); LRA works on small differences of states.
    // Below 2^-12, tanh(x) rounds to x; the series runs on |x| clamped there, so no subnormal is
    // ever squared (subnormal arithmetic is ~10x slower and states can decay that far). Past
    // |x| = 10 tanh rounds to 1; the clamp keeps 2^n finite. NaN passes the clamp and propagates.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Tanh<TV>(TV x)
        where TV : struct, IVector<TV>
    {
        TV ax = TV.Abs(x);
        TV small = TV.Broadcast(1f / 4096f);
        TV y = TV.Clamp(ax, small, TV.Broadcast(10f));
        y += y;
        // n = round(y / ln2) and 2^n from one add: 1.5 * 2^23 + 127 has a float spacing of 1, so
        // the sum holds n + 127 in its low mantissa bits, which shifted into the exponent field
        // are 2^n. ln2 is split in two so n ln2 is exact.
        TV biased = TV.MultiplyAdd(y, TV.Broadcast(1.44269504088896341f), TV.Broadcast(Bias));
        TV n = biased - TV.Broadcast(Bias);
        TV r = TV.MultiplyAdd(n, TV.Broadcast(-0.693359375f), y);
        r = TV.MultiplyAdd(n, TV.Broadcast(2.12194440e-4f), r);
        TV q = TV.Broadcast(1f / 5040f);
        q = TV.MultiplyAdd(q, r, TV.Broadcast(1f / 720f));
        q = TV.MultiplyAdd(q, r, TV.Broadcast(1f / 120f));
        q = TV.MultiplyAdd(q, r, TV.Broadcast(1f / 24f));
        q = TV.MultiplyAdd(q, r, TV.Broadcast(1f / 6f));
        q = TV.MultiplyAdd(q, r, TV.Broadcast(0.5f));
        TV p = TV.MultiplyAdd(q, r * r, r);
        TV scale = TV.ShiftIntoExponent(biased);
        TV e = TV.MultiplyAdd(scale, p, scale - TV.Broadcast(1f));
        TV magnitude = TV.SelectBelow(ax, small, ax, e / (e + TV.Broadcast(2f)));
        return TV.CopySign(magnitude, x);
    }
}

/// <summary>y (1 - x²): the tanh backward step with x = tanh(a) and y = dE/dz.</summary>
internal readonly struct TanhBackwardOperator : IElementwise
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TV>(TV x, TV y, TV z, TV s)
        where TV : struct, IVector<TV> => y * (TV.Broadcast(1f) - x * x);
}

/// <summary>(y + z)(1 - x²): a tanh backward step whose state also feeds an output.</summary>
internal readonly struct AddTanhBackwardOperator : IElementwise
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TV>(TV x, TV y, TV z, TV s)
        where TV : struct, IVector<TV> => (y + z) * (TV.Broadcast(1f) - x * x);
}

/// <summary>x * y.</summary>
internal readonly struct MultiplyOperator : IElementwise
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TV>(TV x, TV y, TV z, TV s)
        where TV : struct, IVector<TV> => x * y;
}

/// <summary>s x y.</summary>
internal readonly struct ScaledProductOperator : IElementwise
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TV>(TV x, TV y, TV z, TV s)
        where TV : struct, IVector<TV> => s * x * y;
}

/// <summary>x + y.</summary>
internal readonly struct AddOperator : IElementwise
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TV>(TV x, TV y, TV z, TV s)
        where TV : struct, IVector<TV> => x + y;
}


/// <summary>1 - x²: the tanh derivative from x = tanh(a) (Omega's plain D).</summary>
internal readonly struct TanhDerivativeOperator : IElementwise
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TV>(TV x, TV y, TV z, TV s)
        where TV : struct, IVector<TV> => TV.Broadcast(1f) - x * x;
}

/// <summary>x + s y (1 - x²): a state x plus s times Omega's N * D, with D = 1 - x² (the plain D).</summary>
internal readonly struct OmegaLeftOperator : IElementwise
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TV>(TV x, TV y, TV z, TV s)
        where TV : struct, IVector<TV> => TV.MultiplyAdd(s * y, TV.Broadcast(1f) - x * x, x);
}

/// <summary>z + s x² y: Omega's dOmega/da = cA N² t added to z, with s = scale · cA.</summary>
internal readonly struct OmegaBackwardAOperator : IElementwise
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TV>(TV x, TV y, TV z, TV s)
        where TV : struct, IVector<TV> => TV.MultiplyAdd(s * x * x, y, z);
}
