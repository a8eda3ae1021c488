using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FastLra.Kernels;

/// <summary>
/// Omega(G, W, a) = (r - 1)², r = ||N|| / ||G||, N = M * D, M = G Wᵀ, for a signal G (B x n, a
/// constant), a weight W (H x n) and a pre-activation a (B x H) with t = tanh(a). The value and
/// the two coefficients its derivatives need; all zero when ||G|| = 0 or ||N|| = 0.
/// </summary>
internal readonly record struct OmegaValue(float Value, float CoefficientA, float CoefficientW)
{
    /// <summary>
    /// Omega's value and coefficients from S = ||N|| and g = ||G||; with <paramref name="guard"/> = e
    /// &gt; 0 the guarded form, r = S / (g + e) (docs/algorithm.md, "Guarded Omega"): the paper's
    /// Omega for signals well above e, and a term that vanishes with the signal below it.
    /// </summary>
    public static OmegaValue From(double s, double g, double guard = 0)
    {
        if (g == 0 || s == 0) return default;
        double ge = g + guard, r = s / ge;
        return new OmegaValue((float)((r - 1) * (r - 1)), (float)(-4 * (r - 1) / (ge * s)), (float)(2 * (r - 1) / (ge * s)));
    }
}

/// <summary>
/// The gradient regulariser of Pascanu et al. (2013) as kernels. D is built by the caller, from
/// t = tanh(a): <c>PlainD</c> is the spec's 1 - t², <see cref="DiagonalD"/> the reference
/// code's quirk that fills row b with 1 - t[b, b]². M = G Wᵀ comes from the caller too, since the
/// target updates compute that product anyway. Shapes: G B x n, M, D, N, t, da B x H, dW H x n.
/// </summary>
internal static class Omega
{
    /// <summary>d = 1 - t².</summary>
    public static void PlainD(ReadOnlySpan<float> t, Span<float> d) => PlainD(SimdWidth.Current, t, d);

    /// <summary>As the overload without a target, at <paramref name="target"/>, for tests (as every such overload below).</summary>
    public static void PlainD(SimdTarget target, ReadOnlySpan<float> t, Span<float> d)
    {
        if (d.Length < t.Length) ThrowHelper.ShapeMismatch();
        Elementwise.Map<TanhDerivativeOperator>(target, t, default, default, 0f, d[..t.Length]);
    }

    /// <summary>
    /// Row b of d (B x H, rows of <paramref name="stride"/> floats) = 1 - t[b, b]² (the reference code's
    /// diagonal; needs B &lt;= H); padding columns are left as they are.
    /// </summary>
    public static void DiagonalD(ReadOnlySpan<float> t, int batch, int hidden, int stride, Span<float> d)
    {
        if (batch > hidden) ThrowHelper.Argument("The diagonal Omega needs B <= H.");
        if (stride < hidden || t.Length < batch * stride || d.Length < batch * stride) ThrowHelper.ShapeMismatch();
        for (int b = 0; b < batch; b++)
        {
            float tb = t[b * stride + b];
            d.Slice(b * stride, hidden).Fill(1f - tb * tb);
        }
    }

    /// <summary>n = m * d; returns Omega and its coefficients for the signal g (guarded by <paramref name="guard"/>, see <see cref="OmegaValue.From"/>).</summary>
    public static OmegaValue Forward(ReadOnlySpan<float> g, ReadOnlySpan<float> m, ReadOnlySpan<float> d, Span<float> n, float guard = 0f) =>
        Forward(SimdWidth.Current, g, m, d, n, guard);

    public static OmegaValue Forward(SimdTarget target, ReadOnlySpan<float> g, ReadOnlySpan<float> m, ReadOnlySpan<float> d, Span<float> n, float guard = 0f)
    {
        int count = m.Length;
        if (d.Length < count || n.Length < count) ThrowHelper.ShapeMismatch();
        double s = Elementwise.Map<MultiplyOperator>(target, m, d, default, 0f, n[..count]);
        return OmegaValue.From(Math.Sqrt(s), Math.Sqrt(Reductions.SumOfSquares(g)), guard);
    }

    /// <summary>da += scale · dOmega/da = scale · cA · N² · t (plain D).</summary>
    public static void BackwardA(ReadOnlySpan<float> n, ReadOnlySpan<float> t, OmegaValue omega, float scale, Span<float> da) =>
        BackwardA(SimdWidth.Current, n, t, omega, scale, da);

    public static void BackwardA(SimdTarget target, ReadOnlySpan<float> n, ReadOnlySpan<float> t, OmegaValue omega, float scale, Span<float> da)
    {
        int count = n.Length;
        if (t.Length < count || da.Length < count) ThrowHelper.ShapeMismatch();
        float c = scale * omega.CoefficientA;
        if (c == 0f) return;
        Elementwise.Map<OmegaBackwardAOperator>(target, n[..count], t, da, c, da[..count]);
    }

    /// <summary>
    /// A target step with the plain Omega, in one pass: g = n + c n² t (dOmega/da with c = scale · cA,
    /// added to N in place, so <paramref name="n"/> ends as g), hNext = h + step g (fused) and
    /// tNext = tanh(hNext), where t = tanh(h). Returns Σ g². h and t are left as they were, so a
    /// step whose clip factor turns out below 1 can be redone from them. All spans are B x H;
    /// hNext and tNext must not overlap the inputs.
    /// </summary>
    public static double DescendTanh(Span<float> n, float c, float step, ReadOnlySpan<float> h, ReadOnlySpan<float> t, Span<float> hNext, Span<float> tNext) =>
        DescendTanh(SimdWidth.Current, n, c, step, h, t, hNext, tNext);

    public static double DescendTanh(SimdTarget target, Span<float> n, float c, float step, ReadOnlySpan<float> h, ReadOnlySpan<float> t, Span<float> hNext, Span<float> tNext)
    {
        int count = n.Length;
        if (h.Length < count || t.Length < count || hNext.Length < count || tNext.Length < count) ThrowHelper.ShapeMismatch();
        return (target.Bits, target.Fma) switch
        {
            (512, _) => DescendTanh<V512>(n, c, step, h, t, hNext, tNext),
            (256, true) => DescendTanh<V256<MachineFma>>(n, c, step, h, t, hNext, tNext),
            (256, false) => DescendTanh<V256<NoFma>>(n, c, step, h, t, hNext, tNext),
            (_, true) => DescendTanh<V128<MachineFma>>(n, c, step, h, t, hNext, tNext),
            _ => DescendTanh<V128<NoFma>>(n, c, step, h, t, hNext, tNext),
        };
    }

    // The tail shorter than a vector goes through the same vector code on a padded stack copy, as in Elementwise.Map.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double DescendTanh<TV>(Span<float> n, float c, float step, ReadOnlySpan<float> h, ReadOnlySpan<float> t, Span<float> hNext, Span<float> tNext)
        where TV : struct, IVector<TV>
    {
        int count = n.Length, width = TV.Count, i = 0;
        ref float rn = ref MemoryMarshal.GetReference(n);
        ref float rh = ref MemoryMarshal.GetReference(h);
        ref float rt = ref MemoryMarshal.GetReference(t);
        ref float rhn = ref MemoryMarshal.GetReference(hNext);
        ref float rtn = ref MemoryMarshal.GetReference(tNext);
        TV cv = TV.Broadcast(c), sv = TV.Broadcast(step);
        Partials8 squares = default;
        for (; i + width <= count; i += width)
        {
            TV g = Step(TV.Load(ref rn, i), TV.Load(ref rt, i), cv);
            g.Store(ref rn, i);
            squares = TV.MultiplyAdd8(g, g, squares, i);
            TV next = TV.MultiplyAdd(g, sv, TV.Load(ref rh, i));
            next.Store(ref rhn, i);
            TanhOperator.Tanh(next).Store(ref rtn, i);
        }
        if (i < count) squares = DescendTanhTail<TV>(n, c, step, h, t, hNext, tNext, i, squares);
        return squares.Total();
    }

    // The tail shorter than a vector, on a zero-padded stack copy; apart, as Elementwise.MapTail.
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Partials8 DescendTanhTail<TV>(Span<float> n, float c, float step, ReadOnlySpan<float> h, ReadOnlySpan<float> t, Span<float> hNext,
        Span<float> tNext, int i, Partials8 squares)
        where TV : struct, IVector<TV>
    {
        int width = TV.Count, rest = n.Length - i;
        Span<float> buffer = stackalloc float[3 * width];
        buffer.Clear();
        n.Slice(i, rest).CopyTo(buffer);
        t.Slice(i, rest).CopyTo(buffer[width..]);
        h.Slice(i, rest).CopyTo(buffer[(2 * width)..]);
        ref float rb = ref MemoryMarshal.GetReference(buffer);
        TV g = Step(TV.Load(ref rb, 0), TV.Load(ref rb, width), TV.Broadcast(c));
        TV next = TV.MultiplyAdd(g, TV.Broadcast(step), TV.Load(ref rb, 2 * width));
        g = Elementwise.Valid(g, rest, buffer);
        next.Store(ref rb, width);
        TanhOperator.Tanh(next).Store(ref rb, 2 * width);
        buffer[..rest].CopyTo(n[i..]);
        buffer.Slice(width, rest).CopyTo(hNext[i..]);
        buffer.Slice(2 * width, rest).CopyTo(tNext[i..]);
        return TV.MultiplyAdd8(g, g, squares, i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Step<TV>(TV n, TV t, TV c)
        where TV : struct, IVector<TV> => OmegaBackwardAOperator.Invoke(n, t, n, c);

    // Rows of M whose norms DiagonalBackwardA keeps on the stack (2 KB) between its two passes.
    private const int KeptRows = 256;

    /// <summary>
    /// The diagonal Omega of the signal g given M = g Wᵀ and t = tanh(a) (B x H, in rows of
    /// <paramref name="stride"/> floats, padding zero), and da += scale · dOmega/da, from row norms
    /// alone: with D_b = 1 - t[b, b]², ||N||² = Σ_b D_b² ||M_b||² and dOmega/da moves only the entries
    /// (b, b), by cA t[b, b] D_b² ||M_b||². No D or N is formed.
    /// </summary>
    public static OmegaValue DiagonalBackwardA(ReadOnlySpan<float> g, ReadOnlySpan<float> m, ReadOnlySpan<float> t, int batch, int hidden, int stride,
        float scale, Span<float> da, float guard = 0f) =>
        DiagonalBackwardA(SimdWidth.Current, g, m, t, batch, hidden, stride, scale, da, guard);

    public static OmegaValue DiagonalBackwardA(SimdTarget target, ReadOnlySpan<float> g, ReadOnlySpan<float> m, ReadOnlySpan<float> t, int batch, int hidden,
        int stride, float scale, Span<float> da, float guard = 0f)
    {
        if (batch > hidden) ThrowHelper.Argument("The diagonal Omega needs B <= H.");
        int count = batch * stride;
        if (stride < hidden || m.Length < count || t.Length < count || da.Length < count) ThrowHelper.ShapeMismatch();
        // Each row's norm serves ||N|| and then the row's own step; rows past KeptRows take theirs again.
        Span<double> rows = stackalloc double[Math.Min(batch, KeptRows)];
        double s = 0;
        for (int b = 0; b < batch; b++)
        {
            double d = 1.0 - (double)t[b * stride + b] * t[b * stride + b], row = Reductions.SumOfSquares(m.Slice(b * stride, hidden));
            if (b < rows.Length) rows[b] = row;
            s += d * d * row;
        }
        var omega = OmegaValue.From(Math.Sqrt(s), Math.Sqrt(Reductions.SumOfSquares(g)), guard);
        float c = scale * omega.CoefficientA;
        if (c == 0f) return omega;
        for (int b = 0; b < batch; b++)
        {
            float tb = t[b * stride + b], d = 1f - tb * tb;
            double row = b < rows.Length ? rows[b] : Reductions.SumOfSquares(m.Slice(b * stride, hidden));
            da[b * stride + b] += c * tb * d * d * (float)row;
        }
        return omega;
    }

    /// <summary>dW (H x width) += scale · cW · (N * D)ᵀ G, with n and d B x H in rows of <paramref name="stride"/> floats; nd is scratch of their size.</summary>
    public static void BackwardW(ReadOnlySpan<float> n, ReadOnlySpan<float> d, ReadOnlySpan<float> g, int batch, int hidden, int stride, int width,
        OmegaValue omega, float scale, Span<float> nd, Span<float> dW) =>
        BackwardW(SimdWidth.Current, n, d, g, batch, hidden, stride, width, omega, scale, nd, dW);

    public static void BackwardW(SimdTarget target, ReadOnlySpan<float> n, ReadOnlySpan<float> d, ReadOnlySpan<float> g, int batch, int hidden, int stride,
        int width, OmegaValue omega, float scale, Span<float> nd, Span<float> dW)
    {
        int count = batch * stride;
        if (stride < hidden || n.Length < count || d.Length < count || nd.Length < count) ThrowHelper.ShapeMismatch();
        float c = scale * omega.CoefficientW;
        if (c == 0f) return;
        Elementwise.Map<ScaledProductOperator>(target, n[..count], d, default, c, nd[..count]);
        MatMul.TransposedMultiplyAdd(target, nd[..count], g, batch, hidden, width, stride, dW);
    }
}

/// <summary>The plain loop <c>Omega.DescendTanh</c> is tested against.</summary>
internal static class OmegaReference
{
    /// <summary>The step's multiply-adds by <paramref name="target"/>'s rule, as the kernel at that target.</summary>
    public static double DescendTanh(SimdTarget target, Span<float> n, float c, float step, ReadOnlySpan<float> h, ReadOnlySpan<float> t, Span<float> hNext, Span<float> tNext)
    {
        double squares = 0;
        for (int i = 0; i < n.Length; i++)
        {
            n[i] = target.MultiplyAdd(c * n[i] * n[i], t[i], n[i]);
            squares += (double)n[i] * n[i];
            hNext[i] = target.MultiplyAdd(n[i], step, h[i]);
            tNext[i] = MathF.Tanh(hNext[i]);
        }
        return squares;
    }
}
