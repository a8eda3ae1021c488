using FastLra.Kernels;
using FastLra.Tasks;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// The conditioning probe: at each check, the cosine between the batch's gradient and
/// its gradient at weights perturbed by a relative 1e-7. It measures the run without changing it.
/// </summary>
public class ConditioningTests
{
    public static TheoryData<AlgorithmKind, LraSemantics, float> Runs() => new()
    {
        { AlgorithmKind.Bptt, LraSemantics.Local, 0f },
        { AlgorithmKind.Lra, LraSemantics.Local, 0f },
        { AlgorithmKind.Lra, LraSemantics.Local, 1f },
        { AlgorithmKind.Lra, LraSemantics.Reference, 1f },
    };

    private static TrainingRun Start(AlgorithmKind algo, LraSemantics semantics, float alpha, bool probed)
    {
        var run = TestRuns.Start(TaskKind.RandomPermutation, 8, new TrainingOptions
        {
            Hidden = 16, Batch = 5, Algorithm = algo, Semantics = semantics, Alpha = alpha, K = 3, LearningRate = 0.1f, MaxIterations = 30, CheckEvery = 10, Patience = 100,
        }, validSize: 40);
        run.MeasureConditioning = probed;
        return run;
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void A_probed_run_is_bit_for_bit_the_run_without(AlgorithmKind algo, LraSemantics semantics, float alpha)
    {
        var (plain, probed) = (Start(algo, semantics, alpha, probed: false), Start(algo, semantics, alpha, probed: true));
        var (plainChecks, probedChecks) = (new Recorder(), new Recorder());
        var a = plain.Run(plainChecks);
        var b = probed.Run(probedChecks);
        Assert.Equal(plain.Parameters.Data.ToArray(), probed.Parameters.Data.ToArray());
        Assert.Equal((a.FinalTrainLoss, a.FinalValidLoss, a.Iterations), (b.FinalTrainLoss, b.FinalValidLoss, b.Iterations));
        Assert.Equal(plainChecks.Diagnostics, probedChecks.Diagnostics);
        Assert.All(plainChecks.Cosines, c => Assert.True(double.IsNaN(c)));
        Assert.Equal(3, probedChecks.Cosines.Count);
        Assert.All(probedChecks.Cosines, c => Assert.InRange(c, -1.0 - 1e-12, 1.0 + 1e-12));
    }

    /// <summary>An early BPTT gradient is a smooth function of the weights: one ulp moves its direction by nothing measurable.</summary>
    [Fact]
    public void A_well_conditioned_gradient_keeps_its_direction()
    {
        var checks = new Recorder();
        Start(AlgorithmKind.Bptt, LraSemantics.Local, 0f, probed: true).Run(checks);
        Assert.All(checks.Cosines, c => Assert.True(c > 0.99999, $"cosine {c}"));
    }

    [Fact]
    public void A_probed_check_allocates_nothing_once_warm()
    {
        var trainer = Start(AlgorithmKind.Lra, LraSemantics.Local, 1f, probed: true);
        trainer.Iterate(probe: true);
        trainer.Iterate(probe: true);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++) trainer.Iterate(probe: true);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.False(double.IsNaN(trainer.Algorithm.Diagnostics.GradientCosine));
        trainer.MeasureConditioning = false;
        trainer.Iterate(probe: true);
        Assert.True(double.IsNaN(trainer.Algorithm.Diagnostics.GradientCosine));
    }

    [Fact]
    public void Cosine_is_the_plain_formula()
    {
        float[] x = [1, 2, -3, 0.5f], y = [-2, 0.25f, 1, 4];
        double dot = 0, xx = 0, yy = 0;
        for (int i = 0; i < x.Length; i++) (dot, xx, yy) = (dot + x[i] * y[i], xx + x[i] * x[i], yy + y[i] * y[i]);
        Assert.Equal(dot / Math.Sqrt(xx * yy), Reductions.Cosine(x, y), 15);
        Assert.Equal(1.0, Reductions.Cosine(x, x), 15);
        Assert.Equal(-1.0, Reductions.Cosine(x, [.. x.Select(v => -v)]), 15);
        Assert.True(double.IsNaN(Reductions.Cosine(x, new float[4])));
        Assert.Throws<ArgumentException>(() => Reductions.Cosine(x, new float[3]));
    }

    /// <summary>Each check's diagnostics (as the metrics lines record them) and cosine.</summary>
    private sealed class Recorder : ITrainingObserver
    {
        public List<string> Diagnostics { get; } = [];

        public List<double> Cosines { get; } = [];

        public void OnCheck(TrainingRun run, in CheckReport report)
        {
            var d = run.Algorithm.Diagnostics;
            Diagnostics.Add(string.Join(",", [d.GradientNorm, d.OutputOmega, .. d.LocalLosses, .. d.DWhhNorms, .. d.DWxhNorms, .. d.OmegaValues]));
            Cosines.Add(d.GradientCosine);
        }
    }
}
