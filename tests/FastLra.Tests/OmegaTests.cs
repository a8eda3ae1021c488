using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;
using Xunit;

namespace FastLra.Tests;

/// <summary>Omega's value and hand-derived derivatives, plain and diagonal, against central differences, at one target per width and FMA setting.</summary>
public class OmegaTests
{
    private const int B = 3, H = 5, N = 4;

    private static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
    }

    /// <summary>Omega(G, W, a) computed from scratch, in double, with D plain or diagonal.</summary>
    private static double Value(float[] g, float[] w, float[] a, bool diagonal, int n = N, double guard = 0)
    {
        double s = 0, gg = 0;
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
            {
                double m = 0;
                for (int j = 0; j < n; j++) m += (double)g[b * n + j] * w[h * n + j];
                double t = Math.Tanh(diagonal ? a[b * H + b] : a[b * H + h]);
                double nn = m * (1 - t * t);
                s += nn * nn;
            }
        foreach (float v in g) gg += (double)v * v;
        double r = Math.Sqrt(s) / (Math.Sqrt(gg) + guard);
        return (r - 1) * (r - 1);
    }

    private static (OmegaValue Omega, float[] Da, float[] Dw) Analytic(SimdTarget target, float[] g, float[] w, float[] a, bool diagonal, int n = N, float guard = 0f)
    {
        var t = new float[B * H];
        ActivationsReference.TanhForward(a, t);
        var m = new float[B * H];
        MatMulReference.MultiplyTransposed(g, w, B, n, H, m);
        var d = new float[B * H];
        if (diagonal) Omega.DiagonalD(t, B, H, H, d);
        else Omega.PlainD(target, t, d);
        var nn = new float[B * H];
        var omega = Omega.Forward(target, g, m, d, nn, guard);
        var da = new float[B * H];
        if (diagonal)
        {
            // From M's row norms alone: the same Omega as through D and N.
            var fromRows = Omega.DiagonalBackwardA(target, g, m, t, B, H, H, 1f, da, guard);
            Assert.Equal(omega.Value, fromRows.Value, 1e-6f);
            Assert.Equal(omega.CoefficientA, fromRows.CoefficientA, Math.Abs(omega.CoefficientA) * 1e-5f);
        }
        else
        {
            Omega.BackwardA(target, nn, t, omega, 1f, da);
        }
        var dw = new float[H * n];
        Omega.BackwardW(target, nn, d, g, B, H, H, n, omega, 1f, new float[B * H], dw);
        return (omega, da, dw);
    }

    /// <summary>The paper's Omega (guard 0) and the guarded one, whose guard here is of the signal's own size (||G|| is about 2).</summary>
    public static TheoryData<Target, bool, float> Variants()
    {
        var data = new TheoryData<Target, bool, float>();
        foreach (var target in Targets.Lanes())
            foreach (var (diagonal, guard) in new[] { (false, 0f), (true, 0f), (false, 0.5f), (true, 3f) })
                data.Add(target, diagonal, guard);
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Value_and_derivatives_match_central_differences(Target target, bool diagonal, float guard)
    {
        var g = Random(B * N, 1);
        var w = Random(H * N, 2);
        var a = Random(B * H, 3, 1.5f);
        var (omega, da, dw) = Analytic(target.Value, g, w, a, diagonal, guard: guard);
        Assert.Equal(Value(g, w, a, diagonal, guard: guard), omega.Value, 1e-5);
        const float eps = 1e-3f;
        double scaleA = da.Max(Math.Abs), scaleW = dw.Max(Math.Abs);
        Assert.True(scaleA > 1e-3 && scaleW > 1e-3, "the check needs non-trivial derivatives");
        for (int i = 0; i < a.Length; i++)
        {
            float keep = a[i];
            a[i] = keep + eps;
            double up = Value(g, w, a, diagonal, guard: guard);
            a[i] = keep - eps;
            double down = Value(g, w, a, diagonal, guard: guard);
            a[i] = keep;
            Assert.True(Math.Abs((up - down) / (2 * eps) - da[i]) <= 1e-3 * scaleA + 1e-6, $"dOmega/da[{i}]: {da[i]} vs {(up - down) / (2 * eps)}");
        }
        for (int i = 0; i < w.Length; i++)
        {
            float keep = w[i];
            w[i] = keep + eps;
            double up = Value(g, w, a, diagonal, guard: guard);
            w[i] = keep - eps;
            double down = Value(g, w, a, diagonal, guard: guard);
            w[i] = keep;
            Assert.True(Math.Abs((up - down) / (2 * eps) - dw[i]) <= 1e-3 * scaleW + 1e-6, $"dOmega/dW[{i}]: {dw[i]} vs {(up - down) / (2 * eps)}");
        }
    }

    /// <summary>
    /// The guarded Omega's gradient vanishes with the signal: scaling G by 1e-7 leaves the paper's
    /// dOmega/da as large as before (it depends on G only through the ratio), while the guarded one
    /// falls by orders of magnitude; for a signal far above the guard the two agree.
    /// </summary>
    [Fact]
    public void The_guarded_gradient_vanishes_with_the_signal_and_the_plain_one_does_not()
    {
        var w = Random(H * N, 2);
        var a = Random(B * H, 3, 1.5f);
        float[] Scaled(float s) => [.. Random(B * N, 1).Select(v => v * s)];
        double Size(float[] da) => da.Max(Math.Abs);
        var machine = SimdWidth.Machine;
        var (plainBig, plainBigDa, _) = Analytic(machine, Scaled(1f), w, a, diagonal: false);
        var (_, plainSmallDa, _) = Analytic(machine, Scaled(1e-7f), w, a, diagonal: false);
        var (_, guardedBigDa, _) = Analytic(machine, Scaled(1f), w, a, diagonal: false, guard: 1e-4f);
        var (_, guardedSmallDa, _) = Analytic(machine, Scaled(1e-7f), w, a, diagonal: false, guard: 1e-4f);
        Assert.True(plainBig.Value > 0.01f);
        Assert.Equal(Size(plainBigDa), Size(plainSmallDa), Size(plainBigDa) * 1e-3);
        Assert.Equal(Size(plainBigDa), Size(guardedBigDa), Size(plainBigDa) * 1e-3);
        Assert.True(Size(guardedSmallDa) < 0.02 * Size(plainSmallDa), $"{Size(guardedSmallDa)} against {Size(plainSmallDa)}");
    }

    [Fact]
    public void Diagonal_derivative_moves_only_the_diagonal()
    {
        var (_, da, _) = Analytic(SimdWidth.Machine, Random(B * N, 4), Random(H * N, 5), Random(B * H, 6), diagonal: true);
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                if (h != b) Assert.Equal(0f, da[b * H + h]);
    }

    [Fact]
    public void A_norm_preserving_step_has_zero_omega_and_zero_gradient()
    {
        // W orthogonal (H x H) and a = 0 (D = 1): N = G Wᵀ keeps the norm of G exactly.
        var w = new float[H * H];
        Initialization.Orthogonal(new RandomState(8), H, H, w);
        var g = Random(B * H, 9);
        var a = new float[B * H];
        var (omega, da, dw) = Analytic(SimdWidth.Machine, g, w, a, diagonal: false, n: H);
        Assert.True(omega.Value < 1e-12, $"Omega = {omega.Value}");
        Assert.All(da, v => Assert.True(Math.Abs(v) < 1e-5));
        Assert.All(dw, v => Assert.True(Math.Abs(v) < 1e-5));
    }

    [Fact]
    public void Zero_norms_give_zero_not_nan()
    {
        var zeroSignal = Analytic(SimdWidth.Machine, new float[B * N], Random(H * N, 10), Random(B * H, 11), diagonal: false);
        Assert.Equal(default, zeroSignal.Omega);
        Assert.All(zeroSignal.Da, v => Assert.Equal(0f, v));
        Assert.All(zeroSignal.Dw, v => Assert.Equal(0f, v));
        // Saturated tanh makes D = 0, so ||N|| = 0.
        var saturated = Enumerable.Repeat(100f, B * H).ToArray();
        var zeroN = Analytic(SimdWidth.Machine, Random(B * N, 12), Random(H * N, 13), saturated, diagonal: true);
        Assert.Equal(default, zeroN.Omega);
        Assert.All(zeroN.Da, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Diagonal_D_needs_B_at_most_H()
    {
        Assert.Throws<ArgumentException>(() => Omega.DiagonalD(new float[6], 3, 2, 2, new float[6]));
        Assert.Throws<ArgumentException>(() => Omega.DiagonalBackwardA(new float[6], new float[6], new float[6], 3, 2, 2, 1f, new float[6]));
        // A stride shorter than the row.
        Assert.Throws<ArgumentException>(() => Omega.DiagonalD(new float[6], 2, 3, 2, new float[6]));
        Assert.Throws<ArgumentException>(() => Omega.DiagonalBackwardA(new float[6], new float[6], new float[6], 2, 3, 2, 1f, new float[6]));
        Assert.Throws<ArgumentException>(() => Omega.BackwardW(new float[6], new float[6], new float[6], 2, 3, 2, 3, default, 1f, new float[6], new float[9]));
    }

    /// <summary>
    /// The diagonal step of every row, in double from its definition, for a batch past the row norms
    /// the kernel keeps between its passes (those past it are taken again).
    /// </summary>
    public static TheoryData<Target> LaneTargets() => [.. Targets.Lanes()];

    [Theory]
    [MemberData(nameof(LaneTargets))]
    public void Diagonal_step_holds_for_a_batch_past_the_kept_row_norms(Target target)
    {
        const int batch = 300, hidden = 300, stride = 304;
        var rng = new Random(44);
        float[] Draw(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() - 0.5) * scale)).ToArray();
        var g = Draw(batch * stride, 1);
        var m = Draw(batch * stride, 1);
        var t = Draw(batch * stride, 1.8);
        for (int b = 0; b < batch; b++)
            for (int j = hidden; j < stride; j++) (g[b * stride + j], m[b * stride + j], t[b * stride + j]) = (0f, 0f, 0f);
        var da = new float[batch * stride];
        var omega = Omega.DiagonalBackwardA(target.Value, g, m, t, batch, hidden, stride, 0.5f, da);
        double c = 0.5 * omega.CoefficientA;
        Assert.NotEqual(0.0, c);
        for (int b = 0; b < batch; b++)
        {
            double tb = t[b * stride + b], d = 1 - tb * tb, row = 0;
            for (int j = 0; j < hidden; j++) row += (double)m[b * stride + j] * m[b * stride + j];
            double expected = c * tb * d * d * row;
            Assert.Equal(expected, da[b * stride + b], Math.Abs(expected) * 1e-4 + 1e-9);
        }
    }

    /// <summary>The same matrices in rows padded with zeros (the trainers' layout) give the same Omega, derivatives and dW.</summary>
    [Theory]
    [MemberData(nameof(LaneTargets))]
    public void Padded_rows_give_the_compact_results(Target target)
    {
        const int stride = H + 5;
        var g = Random(B * N, 40);
        var w = Random(H * N, 41);
        var a = Random(B * H, 42);
        var t = new float[B * H];
        ActivationsReference.TanhForward(a, t);
        var m = new float[B * H];
        MatMulReference.MultiplyTransposed(g, w, B, N, H, m);
        float[] Pad(float[] x)
        {
            var padded = new float[B * stride];
            for (int b = 0; b < B; b++) Array.Copy(x, b * H, padded, b * stride, H);
            return padded;
        }
        var (da, paddedDa) = (new float[B * H], new float[B * stride]);
        var omega = Omega.DiagonalBackwardA(target.Value, g, m, t, B, H, H, 0.5f, da);
        Assert.Equal(omega, Omega.DiagonalBackwardA(target.Value, g, Pad(m), Pad(t), B, H, stride, 0.5f, paddedDa));
        Assert.Equal(Pad(da), paddedDa);

        var (d, paddedD) = (new float[B * H], new float[B * stride]);
        Omega.DiagonalD(t, B, H, H, d);
        Omega.DiagonalD(Pad(t), B, H, stride, paddedD);
        Assert.Equal(Pad(d), paddedD);
        var n = new float[B * H];
        Omega.Forward(target.Value, g, m, d, n);
        var (dw, paddedDw) = (new float[H * N], new float[H * N]);
        Omega.BackwardW(target.Value, n, d, g, B, H, H, N, omega, 1f, new float[B * H], dw);
        Omega.BackwardW(target.Value, Pad(n), paddedD, g, B, H, stride, N, omega, 1f, new float[B * stride], paddedDw);
        Assert.Equal(dw, paddedDw);
    }
}
