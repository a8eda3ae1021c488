using FastLra.Kernels;
using FastLra.Model;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

public class BpttTests
{
    /// <summary>Random weights, inputs and targets; outputs at steps w .. T-1 (w = T-1 unless <paramref name="washout"/> is given).</summary>
    internal static Workspace TinyWorkspace(int inputs, int hidden, int outputs, int steps, int batch, int seed, GlobalLossKind loss, int? washout = null)
    {
        var shape = new RnnShape(inputs, hidden, outputs);
        var layout = new SequenceLayout(steps, inputs, outputs, washout ?? steps - 1, loss);
        var ws = new Workspace(shape, layout, batch, 2, Bptt.ScratchLength(shape, steps, batch));
        var rng = new Random(seed);
        foreach (ref float v in ws.Parameters.Data) v = (float)(rng.NextDouble() - 0.5);
        foreach (ref float v in ws.X) v = (float)(rng.NextDouble() * 2 - 1);
        var y = ws.Y;
        for (int row = 0; row < layout.OutputSteps * batch; row++)
            if (loss == GlobalLossKind.SoftmaxCrossEntropy) y[row * outputs + rng.Next(outputs)] = 1f;
            else for (int j = 0; j < outputs; j++) y[row * outputs + j] = (float)rng.NextDouble();
        return ws;
    }

    /// <summary>E of the workspace's batch at its parameters, by the plain forward pass.</summary>
    internal static double Loss(Workspace ws)
    {
        var layout = ws.Layout;
        Rnn.Forward(ws.Parameters, ws.X, default, ws.Steps, ws.Batch, layout.Washout, ws.Z, ws.Z, ws.O);
        return GlobalLoss.Forward(layout.Loss, ws.O, ws.Y, layout.OutputSteps * ws.Batch, ws.Shape.Outputs);
    }

    [Theory]
    [InlineData(GlobalLossKind.SoftmaxCrossEntropy, 5)]
    [InlineData(GlobalLossKind.MeanSquaredError, 5)]
    [InlineData(GlobalLossKind.SoftmaxCrossEntropy, 0)]
    [InlineData(GlobalLossKind.MeanSquaredError, 2)]
    public void Gradient_matches_central_differences(GlobalLossKind loss, int washout)
    {
        var ws = TinyWorkspace(3, 5, 2, 6, 4, 42, loss, washout);
        var bptt = Bptt.Create(ws, clip: 0f);
        bptt.ComputeGradients(ws.Sequences);
        var analytic = ws.Gradients.Data.ToArray();
        var p = ws.Parameters.Data;
        const float eps = 1e-2f;
        double scale = analytic.Max(Math.Abs);
        for (int i = 0; i < p.Length; i++)
        {
            float keep = p[i];
            p[i] = keep + eps;
            double up = Loss(ws);
            p[i] = keep - eps;
            double down = Loss(ws);
            p[i] = keep;
            double numeric = (up - down) / (2 * eps);
            Assert.True(Math.Abs(numeric - analytic[i]) <= 2e-3 * scale + 1e-4, $"parameter {i}: analytic {analytic[i]}, numeric {numeric}");
        }
    }

    [Fact]
    public void Clipping_scales_the_global_norm_to_c()
    {
        var ws = TinyWorkspace(3, 5, 2, 6, 4, 7, GlobalLossKind.SoftmaxCrossEntropy);
        Bptt.Create(ws, 0f).ComputeGradients(ws.Sequences);
        var unclipped = ws.Gradients.Data.ToArray();
        double norm = Math.Sqrt(unclipped.Sum(v => (double)v * v));
        float c = (float)(norm / 4);
        var bptt = Bptt.Create(ws, c);
        bptt.ComputeGradients(ws.Sequences);
        Assert.Equal(norm, bptt.Diagnostics.GradientNorm, 1e-4 * norm);
        Assert.Equal(c, Reductions.Norm(ws.Gradients.Data), 1e-4 * c);
        for (int i = 0; i < unclipped.Length; i++) Assert.Equal(unclipped[i] * c / norm, ws.Gradients.Data[i], 1e-5 * norm);

        // A bound above the norm leaves the gradient alone.
        Bptt.Create(ws, (float)(norm * 2)).ComputeGradients(ws.Sequences);
        Assert.Equal(unclipped, ws.Gradients.Data.ToArray());
    }

    [Fact]
    public void Detailed_diagnostics_record_each_steps_contribution_and_leave_the_gradient_alone()
    {
        var ws = TinyWorkspace(3, 5, 2, 6, 4, 11, GlobalLossKind.SoftmaxCrossEntropy);
        var bptt = Bptt.Create(ws, clip: 0f);
        bptt.ComputeGradients(ws.Sequences);
        var plain = ws.Gradients.Data.ToArray();
        Assert.All(bptt.Diagnostics.DWhhNorms, v => Assert.Equal(0f, v));

        bptt.Diagnostics.Detailed = true;
        bptt.ComputeGradients(ws.Sequences);
        Assert.Equal(plain, ws.Gradients.Data.ToArray());

        // Each step's contribution z_{t-1}ᵀ da_t: none at step 0, the parts bound the whole, and
        // the last step's is the one-step product rebuilt here from compact copies of its states.
        int t = ws.Steps, b = ws.Batch, h = ws.Shape.Hidden, s = ws.Stride;
        var z = ws.Z.ToArray();
        float total = Reductions.Norm(ws.Gradients.Whh);
        Assert.Equal(0f, bptt.Diagnostics.DWhhNorms[0]);
        Assert.All(bptt.Diagnostics.DWhhNorms.Skip(1), v => Assert.True(v > 0f));
        Assert.All(bptt.Diagnostics.DWxhNorms, v => Assert.True(v > 0f));
        Assert.True(total <= bptt.Diagnostics.DWhhNorms.Sum() * (1 + 1e-5f));
        var compact = Compact(z, t * b, h, s);
        var dz = new float[b * h];
        MatMul.MultiplyTransposed(ws.GradO, ws.Parameters.Why, b, ws.Shape.Outputs, h, dz);
        var da = new float[b * h];
        Activations.TanhBackward(compact.AsSpan((t - 1) * b * h, b * h), dz, da);
        Assert.Equal(ReductionsReference.TransposedProductNorm(compact.AsSpan((t - 2) * b * h, b * h), da, b, h, h),
            bptt.Diagnostics.DWhhNorms[t - 1], 1e-5f);
    }

    /// <summary>The rows of H values of padded rows of stride S, one after another.</summary>
    internal static float[] Compact(ReadOnlySpan<float> padded, int rows, int h, int s)
    {
        var compact = new float[rows * h];
        for (int r = 0; r < rows; r++) padded.Slice(r * s, h).CopyTo(compact.AsSpan(r * h, h));
        return compact;
    }

    /// <summary>However many steps' gate gradients a group holds (one, some, a remainder group, all), the gradient is the same, for every cell and depth.</summary>
    [Theory]
    [InlineData(CellKind.Tanh, 1)]
    [InlineData(CellKind.Tanh, 2)]
    [InlineData(CellKind.Gru, 2)]
    [InlineData(CellKind.Lstm, 2)]
    public void Grouping_steps_for_the_weight_products_does_not_change_the_gradient(CellKind cell, int layers)
    {
        const int steps = 7, batch = 4;
        var shape = new RnnShape(3, 5, 2, cell, layers);
        var layout = new SequenceLayout(steps, 3, 2, steps - 1, GlobalLossKind.SoftmaxCrossEntropy);
        float[] Run(int group)
        {
            var ws = new Workspace(shape, layout, batch, 2, Bptt.ScratchLength(shape, steps, batch, group));
            var rng = new Random(12);
            foreach (ref float v in ws.Parameters.Data) v = (float)(rng.NextDouble() - 0.5);
            foreach (ref float v in ws.X) v = (float)(rng.NextDouble() * 2 - 1);
            for (int row = 0; row < batch; row++) ws.Y[row * 2 + rng.Next(2)] = 1f;
            var bptt = cell switch
            {
                CellKind.Gru => (IGradientAlgorithm)new Bptt<GruCell>(ws, 0f, group),
                CellKind.Lstm => new Bptt<LstmCell>(ws, 0f, group),
                _ => new Bptt<TanhCell>(ws, 0f, group),
            };
            bptt.ComputeGradients(ws.Sequences);
            return ws.Gradients.Data.ToArray();
        }
        var all = Run(steps);
        foreach (int group in new[] { 1, 2, 3, steps + 2 })
        {
            var grouped = Run(group);
            for (int i = 0; i < all.Length; i++) Assert.Equal(all[i], grouped[i], 1e-6f * (1 + Math.Abs(all[i])));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => Run(0));
    }
}
