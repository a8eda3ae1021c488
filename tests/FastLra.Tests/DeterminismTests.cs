using FastLra.Data;
using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// Results that do not depend on the vector width: the fixed-order sums bit for bit against their
/// scalar oracles at every target, and whole runs of every trainer, forced to each width this
/// machine has (with FMA), giving the same bytes for the model and the metrics.
/// </summary>
[Collection(ForcedTargetGroup.Name)]
public class DeterminismTests
{
    private static float[] Random(int count, int seed)
    {
        var rng = new Random(seed);
        var v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return v;
    }

    public static TheoryData<Target, int, int, int> DotShapes()
    {
        var data = new TheoryData<Target, int, int, int>();
        foreach (var target in Targets.All())
            foreach (int m in new[] { 1, 3, 4, 5, 20 })
                foreach (int n in new[] { 1, 3, 4, 7, 8, 9, 15, 16, 17, 100, 104, 112, 300, 312 })
                    foreach (int k in new[] { 1, 4, 6, 100 })
                        data.Add(target, m, n, k);
        return data;
    }

    /// <summary>a·Wᵀ in the fixed order is its oracle's bits at every target, row blocking and tail included.</summary>
    [Theory]
    [MemberData(nameof(DotShapes))]
    public void Fixed_order_dot_products_are_their_oracles_bits(Target target, int m, int n, int k)
    {
        var a = Random(m * n, 1);
        var w = Random(k * n, 2);
        var expected = new float[m * k];
        var actual = new float[m * k];
        MatMulReference.MultiplyTransposedFixed(a, w, m, n, k, target.Value.Fma, expected);
        MatMul.MultiplyTransposed(target.Value, Summation.Fixed, a, w, m, n, k, k, actual);
        Assert.Equal(expected, actual);
    }

    public static TheoryData<Target, int> Lengths() =>
        Targets.Cross(Targets.Lanes(), [0, 1, 5, 15, 16, 17, 63, 64, 65, 100, 1000, 4095, 4096, 4097, 9001, 20000]);

    /// <summary>Norms and dot products (the clipping, Omega's ratios, the weight-gradient norms) are their oracle's bits, whatever the target.</summary>
    [Theory]
    [MemberData(nameof(Lengths))]
    public void Fixed_order_reductions_are_their_oracles_bits(Target target, int n)
    {
        var x = Random(n, 3);
        var y = Random(n, 4);
        using var forced = SimdWidth.Force(target.Value);
        Assert.Equal(ReductionsReference.FixedDot(x, y), Reductions.Dot(x, y));
        Assert.Equal(ReductionsReference.FixedDot(x, x), Reductions.SumOfSquares(x));
    }

    /// <summary>
    /// The widths this machine runs with FMA (or, <paramref name="fma"/> false, without it, as a
    /// machine before FMA does), one target each: where a run must give the same bits. Runs with
    /// and without FMA round differently, so each set is compared within itself.
    /// </summary>
    private static List<SimdTarget> Widths(bool fma = true) => [.. Targets.Lanes().Select(t => t.Value).Where(t => t.Fma == fma && t.Bits > 0)];

    /// <summary>The element-wise maps' results and their fused sums of squares, and the local loss's sum, alike at every width.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(100)]
    [InlineData(2080)]
    public void Element_wise_sums_are_the_same_at_every_width(int n)
    {
        var x = Random(n, 5);
        var y = Random(n, 6);
        var widths = Widths();
        var first = Sums(widths[0]);
        foreach (var target in widths.Skip(1)) Assert.Equal(first, Sums(target));

        double[] Sums(SimdTarget target)
        {
            var dest = new float[n];
            double map = Elementwise.Map<TanhBackwardOperator>(target, x, y, default, 0f, dest);
            double sum = Elementwise.Sum<LossValueOperator<LogPenaltyLoss>>(target, x, y, 0f);
            var hNext = new float[n];
            var tNext = new float[n];
            double descend = Omega.DescendTanh(target, (float[])x.Clone(), 0.3f, 0.1f, y, x, hNext, tNext);
            return [map, sum, descend, .. dest.Select(v => (double)v), .. tNext.Select(v => (double)v)];
        }
    }

    public static TheoryData<string, bool> Runs()
    {
        var data = new TheoryData<string, bool>();
        foreach (string run in new[] { "bptt tanh", "bptt gru 2 layers", "bptt lstm adam", "lra local", "lra reference", "lra reference at the paper's size", "per-step outputs", "online learner" })
        {
            data.Add(run, true);
            if (Widths(fma: false).Count > 1) data.Add(run, false);
        }
        return data;
    }

    /// <summary>
    /// One run of each trainer at every width this machine has, the target forced in-process (so the
    /// padded rows are that width's too): the same bytes for the weights and the same metrics at
    /// every check; with FMA, and without it (the path of a machine before FMA) among themselves.
    /// ARM64 is compared with x64 under qemu in CI (.ci/run).
    /// </summary>
    [Theory]
    [MemberData(nameof(Runs))]
    public void A_run_gives_the_same_bytes_at_every_width(string name, bool fma)
    {
        var widths = Widths(fma);
        Assert.NotEmpty(widths);
        double[]? first = null;
        foreach (var target in widths)
        {
            using var forced = SimdWidth.Force(target);
            double[] outcome = Outcome(name);
            if (first is null) first = outcome;
            else Assert.True(first.SequenceEqual(outcome), $"{name}: {target} differs from {widths[0]}");
        }
    }

    // The run's weights and every check's metrics, as doubles compared exactly.
    private static double[] Outcome(string name)
    {
        if (name == "online learner") return Online();
        var options = new TrainingOptions { Hidden = 20, Batch = 8, MaxIterations = 60, CheckEvery = 20, Seed = 5, LearningRate = 0.05f };
        RunSpec spec = name switch
        {
            "bptt tanh" => TestRuns.Spec(TaskKind.TemporalOrder, 20, options),
            "bptt gru 2 layers" => TestRuns.Spec(TaskKind.TemporalOrder, 20, options with { Cell = CellKind.Gru, Layers = 2 }),
            "bptt lstm adam" => TestRuns.Spec(TaskKind.Adding, 20, options with { Cell = CellKind.Lstm, Optimizer = OptimizerKind.Adam, LearningRate = 0.01f }),
            "lra local" => TestRuns.Spec(TaskKind.TemporalOrder, 20, options with { Algorithm = AlgorithmKind.Lra, K = 5, Alpha = 0.1f, Beta = 1f }),
            "lra reference" => TestRuns.Spec(TaskKind.TemporalOrder, 20,
                options with { Algorithm = AlgorithmKind.Lra, Semantics = LraSemantics.Reference, K = 5, Alpha = 0.1f, Beta = 1f }),
            // H = 100: norms over padded matrices of more than 4,096 floats, whose float blocks had split differently at each width.
            "lra reference at the paper's size" => TestRuns.Spec(TaskKind.RandomPermutation, 20,
                options with { Hidden = 100, Batch = 20, MaxIterations = 30, CheckEvery = 15, Seed = 1, LearningRate = 0.1f,
                    Algorithm = AlgorithmKind.Lra, Semantics = LraSemantics.Reference, K = 10, Alpha = 1f, Beta = 10f }),
            _ => new RunSpec(new DataFileSource(Path.Combine(Golden.RepositoryRoot, "docs", "data", "sunspots.csv"))
            {
                File = new DataFileOptions { InputColumns = "SUNACTIVITY", TargetColumns = "SUNACTIVITY", Window = 20, Washout = 10 },
            })
            { Options = options with { Optimizer = OptimizerKind.Adam, LearningRate = 0.003f } },
        };
        var recorder = new CheckRecorder();
        var run = TrainingRun.Start(spec);
        run.Run(recorder);
        Assert.True(Reductions.AllFinite(run.Parameters.Data), $"{name}: the weights are not finite");
        var metrics = recorder.Checks.SelectMany(c => new[] { c.TrainLoss, c.Valid.Loss, c.Valid.Accuracy, c.Valid.Mse, c.Valid.R2 });
        return [.. run.Parameters.Data.ToArray().Select(v => (double)v), .. metrics];
    }

    // Inline BPTT updates of a small learner over a deterministic series; its weights and predictions.
    private static double[] Online()
    {
        var options = new TrainingOptions { Hidden = 12, LearningRate = 0.05f, Seed = 3 };
        using var learner = new OnlineLearner(options, 2, 1, window: 8, updateEvery: 4);
        var predictions = new List<double>();
        var prediction = new float[1];
        for (int t = 0; t < 200; t++)
        {
            float u = MathF.Sin(0.21f * t), v = MathF.Cos(0.13f * t);
            learner.Step([u, v], [MathF.Tanh(u + 0.5f * v)], prediction);
            predictions.Add(prediction[0]);
        }
        return [.. learner.Parameters.ToArray().Select(v => (double)v), .. predictions];
    }
}
