using FastLra.Kernels;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// A batch that starts from a given hidden state (<see cref="SequenceBatch.InitialState"/>), as the
/// online learner's windows do: the window of steps 1..T-1 started from z_0 is the tail of the whole
/// sequence. Every per-step quantity of those steps (local losses, the norms of each step's weight
/// terms, Omega) is the whole sequence's, the output layer's gradient too, and for BPTT dWhh as
/// well (z_{-1} = 0 gives step 0 no Whh term, so the two sums hold the same terms). The one term a
/// window cannot hold is Omega's path into Wxh through a_0, before it.
/// </summary>
public sealed class InitialStateTests
{
    private const int T = 7, B = 3, I = 2, O = 2;

    public static TheoryData<string> Runs() => new() { "bptt", "lra", "lra-omega", "lra-mse" };

    private static TrainingOptions Options(string run) => run switch
    {
        "bptt" => new() { Hidden = 10, Batch = B, Clip = 0f, Seed = 4 },
        "lra" => new() { Hidden = 10, Batch = B, Clip = 0f, Seed = 4, Algorithm = AlgorithmKind.Lra, K = 3 },
        "lra-omega" => new() { Hidden = 10, Batch = B, Clip = 0f, Seed = 4, Algorithm = AlgorithmKind.Lra, K = 3, Alpha = 0.5f },
        _ => new() { Hidden = 10, Batch = B, Clip = 0f, Seed = 4, Algorithm = AlgorithmKind.Lra, K = 2, LocalLoss = LocalLossKind.Mse },
    };

    [Theory]
    [MemberData(nameof(Runs))]
    public void A_window_from_the_state_before_it_is_the_tail_of_the_whole_sequence(string run)
    {
        var options = Options(run);
        var (whole, _, wholeAlgorithm) = TrainingRun.Wire(options, new SequenceLayout(T, I, O, 1, GlobalLossKind.MeanSquaredError), B, null);
        var (window, _, windowAlgorithm) = TrainingRun.Wire(options, new SequenceLayout(T - 1, I, O, 0, GlobalLossKind.MeanSquaredError), B, null);
        var random = new Random(9);
        for (int k = 0; k < whole.X.Length; k++) whole.X[k] = (float)(random.NextDouble() * 2 - 1);
        for (int k = 0; k < whole.Y.Length; k++) whole.Y[k] = (float)(random.NextDouble() * 2 - 1);
        wholeAlgorithm.Diagnostics.Detailed = windowAlgorithm.Diagnostics.Detailed = true;
        float wholeLoss = wholeAlgorithm.ComputeGradients(whole.Sequences);

        // The window: steps 1..T-1 of x, the same targets, from z_0 of the whole forward pass (B x H, unpadded).
        whole.X[(B * I)..].CopyTo(window.X);
        whole.Y.CopyTo(window.Y);
        var h0 = new float[B * options.Hidden];
        for (int b = 0; b < B; b++) whole.Z.Slice(b * whole.Stride, options.Hidden).CopyTo(h0.AsSpan(b * options.Hidden));
        window.Sequences.InitialState = h0;
        float windowLoss = windowAlgorithm.ComputeGradients(window.Sequences);

        Assert.Equal(wholeLoss, windowLoss, 6);
        var (a, w) = (wholeAlgorithm.Diagnostics, windowAlgorithm.Diagnostics);
        for (int t = 1; t < T; t++)
        {
            Near(a.DWhhNorms[t], w.DWhhNorms[t - 1]);
            // With Omega, step 1's Wxh terms include x_0ᵀ s, through a_0, which lies before the window.
            if (!(run == "lra-omega" && t == 1)) Near(a.DWxhNorms[t], w.DWxhNorms[t - 1]);
            Near(a.LocalLosses[t], w.LocalLosses[t - 1]);
            Near(a.OmegaValues[t], w.OmegaValues[t - 1]);
        }
        Assert.True(w.DWhhNorms[0] > 0, "step 0 of the window has a Whh term: its z_{-1} is the given state");
        Near(whole.Gradients.Why.ToArray(), window.Gradients.Why.ToArray());
        Near(whole.Gradients.By.ToArray(), window.Gradients.By.ToArray());
        if (run == "bptt") Near(whole.Gradients.Whh.ToArray(), window.Gradients.Whh.ToArray());
    }

    [Fact]
    public void An_initial_state_of_the_wrong_size_or_for_the_reference_semantics_is_refused()
    {
        var layout = new SequenceLayout(4, I, O, 3, GlobalLossKind.MeanSquaredError);
        var (ws, _, bptt) = TrainingRun.Wire(Options("bptt"), layout, B, null);
        ws.Sequences.InitialState = new float[B * 10 - 1];
        Assert.Throws<ArgumentException>(() => bptt.ComputeGradients(ws.Sequences));
        var (reference, _, lra) = TrainingRun.Wire(Options("lra") with { Semantics = LraSemantics.Reference }, layout, B, null);
        reference.Sequences.InitialState = new float[B * 10];
        var e = Assert.Throws<ArgumentException>(() => lra.ComputeGradients(reference.Sequences));
        Assert.Contains("takes no initial state", e.Message);
    }

    private static void Near(float expected, float actual) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-5f * Math.Max(1f, Math.Abs(expected)), $"expected {expected}, got {actual}");

    private static void Near(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int k = 0; k < expected.Length; k++) Near(expected[k], actual[k]);
    }
}
