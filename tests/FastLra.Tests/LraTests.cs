using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

public class LraTests
{
    private static (Workspace Ws, IGradientAlgorithm Lra) Create(LraSettings settings, GlobalLossKind loss, int seed,
        int inputs = 3, int hidden = 6, int outputs = 2, int steps = 5, int batch = 4, int? washout = null)
    {
        var shape = new RnnShape(inputs, hidden, outputs);
        var layout = new SequenceLayout(steps, inputs, outputs, washout ?? steps - 1, loss);
        var ws = new Workspace(shape, layout, batch, 0, Lra.ScratchLength(shape, steps, batch, settings.Semantics));
        var rng = new Random(seed);
        foreach (ref float v in ws.Parameters.Data) v = (float)(rng.NextDouble() - 0.5);
        foreach (ref float v in ws.X) v = (float)(rng.NextDouble() * 2 - 1);
        for (int row = 0; row < layout.OutputSteps * batch; row++)
            if (loss == GlobalLossKind.SoftmaxCrossEntropy) ws.Y[row * outputs + rng.Next(outputs)] = 1f;
            else for (int j = 0; j < outputs; j++) ws.Y[row * outputs + j] = (float)rng.NextDouble();
        var lra = Lra.Create(ws, settings);
        lra.Diagnostics.Detailed = true;
        return (ws, lra);
    }

    private static LraSettings Settings(LraSemantics semantics, float alpha = 0f, float clip = 1f, ClipMode mode = ClipMode.Above,
        LocalLossKind loss = LocalLossKind.LogPenalty, int k = 3, float beta = 1f) =>
        new(semantics, k, beta, clip, mode, alpha, loss);

    [Theory]
    [InlineData(LraSemantics.Local, LocalLossKind.LogPenalty)]
    [InlineData(LraSemantics.Local, LocalLossKind.Mse)]
    [InlineData(LraSemantics.Reference, LocalLossKind.LogPenalty)]
    [InlineData(LraSemantics.Reference, LocalLossKind.Mse)]
    public void Zero_output_error_gives_zero_updates(LraSemantics semantics, LocalLossKind localLoss)
    {
        // Regression targets equal to the forward output: G_o = 0, so every target equals its state.
        var (ws, lra) = Create(Settings(semantics, loss: localLoss), GlobalLossKind.MeanSquaredError, 1);
        Rnn.Forward(ws.Parameters, ws.X, default, ws.Steps, ws.Batch, ws.Layout.Washout, ws.Z, ws.Z, ws.O);
        ws.O.CopyTo(ws.Y);
        float loss = lra.ComputeGradients(ws.Sequences);
        Assert.Equal(0f, loss);
        Assert.All(ws.Gradients.Data.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(lra.Diagnostics.LocalLosses, v => Assert.Equal(0f, v));
    }

    [Theory]
    [InlineData(LraSemantics.Local)]
    [InlineData(LraSemantics.Reference)]
    public void Clip_mode_always_rescales_every_step_update_to_c(LraSemantics semantics)
    {
        const float c = 0.05f;
        var (aboveWs, above) = Create(Settings(semantics, alpha: 0.1f, clip: c, mode: ClipMode.Above), GlobalLossKind.SoftmaxCrossEntropy, 2);
        above.ComputeGradients(aboveWs.Sequences);
        var (alwaysWs, always) = Create(Settings(semantics, alpha: 0.1f, clip: c, mode: ClipMode.Always), GlobalLossKind.SoftmaxCrossEntropy, 2);
        always.ComputeGradients(alwaysWs.Sequences);
        int first = semantics == LraSemantics.Reference ? 1 : 0; // the reference never updates step 0
        for (int t = first; t < above.Diagnostics.DWhhNorms.Length; t++)
        {
            Assert.True(above.Diagnostics.DWhhNorms[t] <= c * (1 + 1e-5f));
            Assert.True(above.Diagnostics.DWxhNorms[t] <= c * (1 + 1e-5f));
            if (t > 0) Assert.Equal(c, always.Diagnostics.DWhhNorms[t], 1e-6f);
            Assert.Equal(c, always.Diagnostics.DWxhNorms[t], 1e-6f);
        }
    }

    [Fact]
    public void Clip_modes_follow_the_definition()
    {
        float[] g = [3f, 4f];
        Assert.Equal(5f, Clipping.Clip(g, 10f, ClipMode.Above));
        Assert.Equal([3f, 4f], g);
        Clipping.Clip(g, 10f, ClipMode.Always);
        Assert.Equal([6f, 8f], g);
        Clipping.Clip(g, 5f, ClipMode.Above);
        Assert.Equal([3f, 4f], g);
        Clipping.Clip(g, 0f, ClipMode.Always); // c = 0: off, in either mode
        Assert.Equal([3f, 4f], g);
        float[] zero = [0f, 0f];
        Clipping.Clip(zero, 1f, ClipMode.Always);
        Assert.Equal([0f, 0f], zero);
    }

    /// <summary>
    /// The hand-derived target gradients of the local semantics against central differences of
    /// the quantity they descend: l(tanh(tanh(h^) Whh + u), v) + alpha Omega(G, Whh, h^) with G
    /// held at its value (the spec treats the signal as a constant), and likewise for the top target.
    /// </summary>
    [Theory]
    [InlineData(0f, LocalLossKind.LogPenalty)]
    [InlineData(0.5f, LocalLossKind.LogPenalty)]
    [InlineData(0.5f, LocalLossKind.Mse)]
    public void Step_target_gradient_matches_central_differences(float alpha, LocalLossKind localLoss)
    {
        if (localLoss == LocalLossKind.Mse) StepTargetCheck<MseLoss>(alpha);
        else StepTargetCheck<LogPenaltyLoss>(alpha);
    }

    private static void StepTargetCheck<TLoss>(float alpha)
        where TLoss : struct, ILocalLoss
    {
        var (ws, _) = Create(Settings(LraSemantics.Local, alpha), GlobalLossKind.SoftmaxCrossEntropy, 3);
        var lra = new Lra<TLoss>(ws, Settings(LraSemantics.Local, alpha));
        ws.PaddedWeights.Load();
        var (hHatMemory, tanhMemory, uMemory, gradMemory) = lra.TargetBuffers;
        int b = ws.Batch, h = ws.Shape.Hidden;
        var rng = new Random(4);
        FillRows(ws, hHatMemory.Span, rng, -1, 1);
        Activations.TanhForward(hHatMemory.Span, tanhMemory.Span); // the step's precondition
        FillRows(ws, uMemory.Span, rng, -0.5, 0.5);
        var target = new float[b * ws.Stride];
        FillRows(ws, target, rng, -0.8, 0.8);
        var whh = ws.Parameters.Whh.ToArray();
        var u = Compact(ws, uMemory.Span);
        var hHat = Compact(ws, hHatMemory.Span);

        lra.LocalTargetStep(target);
        var analytic = Compact(ws, gradMemory.Span);
        var compactTarget = Compact(ws, target);

        // G at the base point, held constant in Omega.
        var p = Predict(hHat, whh, u, b, h);
        var signal = new float[b * h];
        LocalLoss.Backward<TLoss>(p, compactTarget, p, b * h, signal);

        double Objective(float[] state) =>
            LocalLoss.Forward<TLoss>(Predict(state, whh, u, b, h), compactTarget, b * h) + alpha * OmegaValue(signal, whh, state, b, h, h);
        AssertGradient(analytic, hHat, Objective);
    }

    /// <summary>
    /// A local target step moves h^ by -beta clip_c(grad) and leaves tanh(h^) beside it, whether the
    /// clip acts (the step is redone from the untouched h^) or not (the step taken with factor 1 is kept).
    /// </summary>
    [Theory]
    [InlineData(0f, ClipMode.Above)]      // no clip
    [InlineData(1f, ClipMode.Above)]      // a bound the gradient stays under
    [InlineData(1e-7f, ClipMode.Above)]   // a bound it exceeds
    [InlineData(1e-3f, ClipMode.Always)]
    public void Local_target_step_descends_by_the_clipped_gradient(float clip, ClipMode mode)
    {
        var settings = Settings(LraSemantics.Local, alpha: 0.5f, clip: clip, mode: mode);
        var (ws, _) = Create(settings, GlobalLossKind.SoftmaxCrossEntropy, 7);
        var lra = new Lra<LogPenaltyLoss>(ws, settings);
        ws.PaddedWeights.Load();
        var (hHatMemory, tanhMemory, uMemory, gradMemory) = lra.TargetBuffers;
        int n = ws.Batch * ws.Stride; // the padding included: it must stay zero
        var rng = new Random(8);
        FillRows(ws, hHatMemory.Span, rng, -1, 1);
        FillRows(ws, uMemory.Span, rng, -0.5, 0.5);
        Activations.TanhForward(hHatMemory.Span, tanhMemory.Span);
        var target = new float[n];
        FillRows(ws, target, rng, -0.8, 0.8);
        var before = hHatMemory.ToArray();

        float norm = lra.LocalTargetStep(target);

        var grad = gradMemory.ToArray();
        Assert.Equal(Reductions.Norm(grad), norm, norm * 1e-5f);
        float factor = Clipping.Factor(norm, clip, mode);
        Assert.True(clip != 1e-7f || factor < 1e-3f, "the small bound must act");
        var (hHat, tanhHHat, _, _) = lra.TargetBuffers;
        for (int i = 0; i < n; i++)
            Assert.Equal(MathF.FusedMultiplyAdd(grad[i], -settings.Beta * factor, before[i]), hHat.Span[i], 1e-6f);
        var expectedTanh = new float[n];
        Activations.TanhForward(hHat.Span, expectedTanh);
        Assert.Equal(expectedTanh, tanhHHat.ToArray());
        Assert.All(Padding(ws, hHat.Span), v => Assert.Equal(0f, v));
        Assert.All(Padding(ws, tanhHHat.Span), v => Assert.Equal(0f, v));
    }

    [Theory]
    [InlineData(0f, GlobalLossKind.SoftmaxCrossEntropy)]
    [InlineData(0.5f, GlobalLossKind.SoftmaxCrossEntropy)]
    [InlineData(0.5f, GlobalLossKind.MeanSquaredError)]
    public void Top_target_gradient_matches_central_differences(float alpha, GlobalLossKind loss)
    {
        var (ws, _) = Create(Settings(LraSemantics.Local, alpha), loss, 5);
        var lra = new Lra<LogPenaltyLoss>(ws, Settings(LraSemantics.Local, alpha));
        ws.PaddedWeights.Load();
        var (hHatMemory, tanhMemory, _, gradMemory) = lra.TargetBuffers;
        int b = ws.Batch, h = ws.Shape.Hidden, o = ws.Shape.Outputs;
        var rng = new Random(6);
        FillRows(ws, hHatMemory.Span, rng, -1, 1);
        Activations.TanhForward(hHatMemory.Span, tanhMemory.Span); // the step's precondition
        gradMemory.Span.Clear();
        lra.AddOutputTargetGradient(ws.Steps - 1, gradMemory.Span);
        var analytic = Compact(ws, gradMemory.Span);
        Assert.All(Padding(ws, gradMemory.Span), v => Assert.Equal(0f, v));
        var hHat = Compact(ws, hHatMemory.Span);
        var y = ws.Y.ToArray();
        var p = ws.Parameters;

        float[] Output(float[] state)
        {
            var t = new float[b * h];
            ActivationsReference.TanhForward(state, t);
            var output = new float[b * o];
            Rnn.OutputForward(p, t, b, output);
            return output;
        }
        var gradO = new float[b * o];
        GlobalLoss.Backward(loss, Output(hHat), y, b, o, gradO);
        var why = p.Why.ToArray();

        double Objective(float[] state) =>
            GlobalLoss.Forward(loss, Output(state), y, b, o) + alpha * OmegaValue(gradO, why, state, b, h, o);
        AssertGradient(analytic, hHat, Objective);
    }

    /// <summary>Uniform values in [lo, hi) at the B x H entries of a matrix in the workspace's padded rows; the padding stays zero.</summary>
    private static void FillRows(Workspace ws, Span<float> rows, Random rng, double lo, double hi)
    {
        for (int r = 0; r < ws.Batch; r++)
            foreach (ref float v in rows.Slice(r * ws.Stride, ws.Shape.Hidden)) v = (float)(lo + rng.NextDouble() * (hi - lo));
    }

    private static float[] Compact(Workspace ws, ReadOnlySpan<float> rows) => BpttTests.Compact(rows, ws.Batch, ws.Shape.Hidden, ws.Stride);

    /// <summary>The padding entries of B padded rows, one after another.</summary>
    private static float[] Padding(Workspace ws, ReadOnlySpan<float> rows)
    {
        int h = ws.Shape.Hidden, pad = ws.Stride - h;
        var padding = new float[ws.Batch * pad];
        for (int r = 0; r < ws.Batch; r++) rows.Slice(r * ws.Stride + h, pad).CopyTo(padding.AsSpan(r * pad, pad));
        return padding;
    }

    private static float[] Predict(float[] hHat, float[] whh, float[] u, int b, int h)
    {
        var t = new float[b * h];
        ActivationsReference.TanhForward(hHat, t);
        var pre = (float[])u.Clone();
        MatMulReference.MultiplyAdd(t, whh, b, h, h, pre);
        var p = new float[b * h];
        ActivationsReference.TanhForward(pre, p);
        return p;
    }

    /// <summary>Plain Omega(G, W, a) in double: ((||(G Wᵀ)(1 - tanh(a)²)|| / ||G||) - 1)².</summary>
    private static double OmegaValue(float[] g, float[] w, float[] a, int b, int h, int n)
    {
        double s = 0, gg = 0;
        for (int i = 0; i < b; i++)
            for (int j = 0; j < h; j++)
            {
                double m = 0;
                for (int k = 0; k < n; k++) m += (double)g[i * n + k] * w[j * n + k];
                double t = Math.Tanh(a[i * h + j]);
                s += m * m * (1 - t * t) * (1 - t * t);
            }
        foreach (float v in g) gg += (double)v * v;
        double r = Math.Sqrt(s / gg);
        return (r - 1) * (r - 1);
    }

    private static void AssertGradient(float[] analytic, float[] point, Func<float[], double> objective)
    {
        const float eps = 1e-3f;
        double scale = analytic.Max(Math.Abs);
        Assert.True(scale > 1e-4, "the check needs a non-trivial gradient");
        for (int i = 0; i < point.Length; i++)
        {
            float keep = point[i];
            point[i] = keep + eps;
            double up = objective(point);
            point[i] = keep - eps;
            double down = objective(point);
            point[i] = keep;
            double numeric = (up - down) / (2 * eps);
            Assert.True(Math.Abs(numeric - analytic[i]) <= 2e-3 * scale + 1e-6, $"entry {i}: analytic {analytic[i]}, numeric {numeric}");
        }
    }

    [Fact]
    public void Lra_local_with_omega_learns_temporal_order()
    {
        var trainer = TestRuns.Start(TaskKind.TemporalOrder, 10, new TrainingOptions
        {
            Hidden = 32, LearningRate = 0.05f, Algorithm = AlgorithmKind.Lra, Alpha = 0.1f,
        }, validSize: 500);
        var before = trainer.Evaluate();
        double first = 0, last = 0;
        for (int i = 0; i < 600; i++)
        {
            float loss = trainer.Iterate();
            if (i < 50) first += loss / 50;
            if (i >= 550) last += loss / 50;
        }
        var after = trainer.Evaluate();
        Assert.True(last < first / 2.5, $"train loss {first} -> {last}");
        Assert.True(after.Loss < before.Loss / 2.5, $"validation loss {before.Loss} -> {after.Loss}");
        Assert.True(after.Accuracy > 0.9, $"validation accuracy {after.Accuracy}");
    }

    [Fact]
    public void Lra_reference_learns_adding()
    {
        var trainer = TestRuns.Start(TaskKind.Adding, 10, new TrainingOptions
        {
            Hidden = 32, LearningRate = 0.1f, Algorithm = AlgorithmKind.Lra, Semantics = LraSemantics.Reference,
        }, validSize: 500);
        var before = trainer.Evaluate();
        for (int i = 0; i < 500; i++) Assert.True(float.IsFinite(trainer.Iterate()));
        var after = trainer.Evaluate();
        Assert.True(after.Loss < before.Loss / 2, $"validation loss {before.Loss} -> {after.Loss}");
        Assert.True(after.Accuracy > 0.7, $"validation accuracy {after.Accuracy}");
    }

    [Fact]
    public void Reference_semantics_refuses_B_above_H()
    {
        var e = Assert.Throws<OptionException>(() => TrainingRun.Start(RunSpec.Default with
        {
            Options = new TrainingOptions { Algorithm = AlgorithmKind.Lra, Semantics = LraSemantics.Reference, Hidden = 8, Batch = 20 },
        }));
        Assert.Contains("--batch <= --hidden", e.Message);
    }

    [Fact]
    public void Reference_semantics_refuses_per_step_outputs()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            Create(Settings(LraSemantics.Reference), GlobalLossKind.MeanSquaredError, 1, washout: 2));
        Assert.Contains("no per-step outputs", e.Message);
    }

    [Fact]
    public void A_batch_of_another_layout_is_refused()
    {
        var (ws, lra) = Create(Settings(LraSemantics.Local), GlobalLossKind.MeanSquaredError, 1, washout: 2);
        var other = new SequenceBatch(ws.Layout with { Washout = 3 }, ws.Batch);
        Assert.Throws<ArgumentException>(() => lra.ComputeGradients(other));
        Assert.Throws<ArgumentException>(() => lra.ComputeGradients(new SequenceBatch(ws.Layout, ws.Batch + 1)));
    }
}
