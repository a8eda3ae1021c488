namespace FastLra.Kernels;

/// <summary>
/// Omega(G, W, a) = (r - 1)², r = ||N|| / ||G||, N = M * D, M = G Wᵀ, for a signal G (B x n, a
/// constant), a weight W (H x n) and a pre-activation a (B x H) with t = tanh(a). The value and
/// the two coefficients its derivatives need; all zero when ||G|| = 0 or ||N|| = 0.
/// </summary>
public readonly record struct OmegaValue(float Value, float CoefficientA, float CoefficientW)
{
    /// <summary>Omega's value and coefficients from S = ||N|| and g = ||G||.</summary>
    public static OmegaValue From(double s, double g)
    {
        if (g == 0 || s == 0) return default;
        double r = s / g;
        return new OmegaValue((float)((r - 1) * (r - 1)), (float)(-4 * (r - 1) / (g * s)), (float)(2 * (r - 1) / (g * s)));
    }
}

/// <summary>
/// The gradient regulariser of Pascanu et al. (2013) as kernels. D is built by the caller, from
/// t = tanh(a): <see cref="PlainD"/> is the spec's 1 - t², <see cref="DiagonalD"/> the reference
/// code's quirk that fills row b with 1 - t[b, b]². M = G Wᵀ comes from the caller too, since the
/// target updates compute that product anyway. Shapes: G B x n, M, D, N, t, da B x H, dW H x n.
/// </summary>
public static class Omega
{
    /// <summary>d = 1 - t².</summary>
    public static void PlainD(ReadOnlySpan<float> t, Span<float> d)
    {
        if (d.Length < t.Length) ThrowHelper.ShapeMismatch();
        Elementwise.Map<TanhDerivativeOperator>(t, default, default, 0f, d[..t.Length]);
    }

    /// <summary>Row b of d (B x H) = 1 - t[b, b]² (the reference code's diagonal; needs B &lt;= H).</summary>
    public static void DiagonalD(ReadOnlySpan<float> t, int batch, int hidden, Span<float> d)
    {
        if (batch > hidden) ThrowHelper.Argument("The diagonal Omega needs B <= H.");
        if (t.Length < batch * hidden || d.Length < batch * hidden) ThrowHelper.ShapeMismatch();
        for (int b = 0; b < batch; b++)
        {
            float tb = t[b * hidden + b];
            d.Slice(b * hidden, hidden).Fill(1f - tb * tb);
        }
    }

    /// <summary>n = m * d; returns Omega and its coefficients for the signal g.</summary>
    public static OmegaValue Forward(ReadOnlySpan<float> g, ReadOnlySpan<float> m, ReadOnlySpan<float> d, Span<float> n)
    {
        int count = m.Length;
        if (d.Length < count || n.Length < count) ThrowHelper.ShapeMismatch();
        double s = Elementwise.Map<MultiplyOperator>(m, d, default, 0f, n[..count]);
        return OmegaValue.From(Math.Sqrt(s), Math.Sqrt(Reductions.SumOfSquares(g)));
    }

    /// <summary>da += scale · dOmega/da = scale · cA · N² · t (plain D).</summary>
    public static void BackwardA(ReadOnlySpan<float> n, ReadOnlySpan<float> t, OmegaValue omega, float scale, Span<float> da)
    {
        int count = n.Length;
        if (t.Length < count || da.Length < count) ThrowHelper.ShapeMismatch();
        float c = scale * omega.CoefficientA;
        if (c == 0f) return;
        Elementwise.Map<OmegaBackwardAOperator>(n[..count], t, da, c, da[..count]);
    }

    /// <summary>da[b, b] += scale · cA · t[b, b] · Σ_j N[b, j]² (diagonal D: only the diagonal moves).</summary>
    public static void BackwardADiagonal(ReadOnlySpan<float> n, ReadOnlySpan<float> t, int batch, int hidden, OmegaValue omega, float scale, Span<float> da)
    {
        if (n.Length < batch * hidden || t.Length < batch * hidden || da.Length < batch * hidden) ThrowHelper.ShapeMismatch();
        float c = scale * omega.CoefficientA;
        if (c == 0f) return;
        for (int b = 0; b < batch; b++)
        {
            double rowSquares = Reductions.SumOfSquares(n.Slice(b * hidden, hidden));
            da[b * hidden + b] += c * t[b * hidden + b] * (float)rowSquares;
        }
    }

    /// <summary>dW (H x width) += scale · cW · (N * D)ᵀ G; nd is B x H scratch.</summary>
    public static void BackwardW(ReadOnlySpan<float> n, ReadOnlySpan<float> d, ReadOnlySpan<float> g, int batch, int hidden, int width,
        OmegaValue omega, float scale, Span<float> nd, Span<float> dW)
    {
        int count = batch * hidden;
        if (n.Length < count || d.Length < count || nd.Length < count) ThrowHelper.ShapeMismatch();
        float c = scale * omega.CoefficientW;
        if (c == 0f) return;
        Elementwise.Map<ScaledProductOperator>(n[..count], d, default, c, nd[..count]);
        MatMul.TransposedMultiplyAdd(nd[..count], g, batch, hidden, width, dW);
    }
}
