using System.Numerics;
using FastLra.Kernels;
using FastLra.Model;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// The five optimisers against the spec's formulas evaluated in double over several steps
/// (the golden trajectories check them against PyTorch too).
/// </summary>
public class OptimizerTests
{
    /// <summary>
    /// The spec's formulas, in T arithmetic, each operation in the order the optimisers round them
    /// (Adam's first moment as torch's lerp, m + (g - m) 0.1): in double the oracle, in float the
    /// exact result every vector width must reproduce.
    /// </summary>
    private static T[] Expected<T>(OptimizerKind kind, double lr, T[] p0, T[][] grads)
        where T : IFloatingPointIeee754<T>
    {
        static T C(double v) => T.CreateChecked(v);
        var p = (T[])p0.Clone();
        var s1 = new T[p.Length];
        var s2 = new T[p.Length];
        T rate = C(lr);
        for (int t = 1; t <= grads.Length; t++)
        {
            var g = grads[t - 1];
            T stepSize = C(lr / (1 - Math.Pow(0.9, t))), correction2Sqrt = C(Math.Sqrt(1 - Math.Pow(0.999, t)));
            for (int i = 0; i < p.Length; i++)
            {
                switch (kind)
                {
                    case OptimizerKind.Sgd: p[i] -= rate * g[i]; break;
                    case OptimizerKind.Nesterov:
                        s1[i] = t == 1 ? g[i] : C(0.9) * s1[i] + g[i];
                        p[i] -= rate * (g[i] + C(0.9) * s1[i]);
                        break;
                    case OptimizerKind.RmsProp:
                        s1[i] = C(0.99) * s1[i] + C(0.01) * g[i] * g[i];
                        p[i] -= rate * g[i] / (T.Sqrt(s1[i]) + C(1e-8));
                        break;
                    case OptimizerKind.Adam:
                        s1[i] = s1[i] + (g[i] - s1[i]) * C(0.1);
                        s2[i] = C(0.999) * s2[i] + C(0.001) * g[i] * g[i];
                        p[i] -= stepSize * s1[i] / (T.Sqrt(s2[i]) / correction2Sqrt + C(1e-8));
                        break;
                    case OptimizerKind.Adagrad:
                        s1[i] += g[i] * g[i];
                        p[i] -= rate * g[i] / (T.Sqrt(s1[i]) + C(1e-10));
                        break;
                }
            }
        }
        return p;
    }

    private static float[] Run(SimdTarget target, OptimizerKind kind, RnnShape shape, float[] p0, float[][] grads)
    {
        var p = new ParameterSet(shape);
        var g = new ParameterSet(shape);
        p0.CopyTo(p.Data);
        var optimizer = Optimizer.Create(kind, 0.05f, new float[Optimizer.StateBuffers(kind) * shape.Count]);
        foreach (var grad in grads)
        {
            grad.CopyTo(g.Data);
            optimizer.Step(target, p, g);
        }
        Assert.Equal(grads.Length, optimizer.StepCount);
        return p.Data.ToArray();
    }

    private static float[][] Draw(int steps, int count, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, steps).Select(_ => Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray()).ToArray();
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.Nesterov)]
    [InlineData(OptimizerKind.RmsProp)]
    [InlineData(OptimizerKind.Adam)]
    [InlineData(OptimizerKind.Adagrad)]
    public void Steps_follow_the_pytorch_formulas(OptimizerKind kind)
    {
        var shape = new RnnShape(2, 3, 2);
        var p0 = Draw(1, shape.Count, 5)[0];
        var grads = Draw(5, shape.Count, 6);
        var actual = Run(SimdWidth.Machine, kind, shape, p0, grads);
        var expected = Expected(kind, 0.05, p0.Select(v => (double)v).ToArray(), grads.Select(a => a.Select(v => (double)v).ToArray()).ToArray());
        for (int i = 0; i < shape.Count; i++) Assert.Equal(expected[i], actual[i], 2e-6);
    }

    /// <summary>
    /// The vectorised updates give exactly the scalar float formulas at every width, for parameter
    /// counts of 5, 23, 26, 74 and 143 (below a vector and with every kind of tail) and 11,104 (the
    /// paper's shape). (The rules never multiply-add: a target's FMA setting changes nothing.)
    /// </summary>
    public static TheoryData<Target, int, int, int> Shapes()
    {
        var data = new TheoryData<Target, int, int, int>();
        foreach (var target in Targets.Lanes())
            foreach (var (inputs, hidden, outputs) in new[] { (1, 1, 1), (1, 2, 5), (2, 3, 2), (3, 6, 2), (1, 8, 7), (6, 100, 4) })
                data.Add(target, inputs, hidden, outputs);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Vector_updates_equal_the_scalar_formulas(Target target, int inputs, int hidden, int outputs)
    {
        var shape = new RnnShape(inputs, hidden, outputs);
        var p0 = Draw(1, shape.Count, 7)[0];
        var grads = Draw(4, shape.Count, 8);
        foreach (var kind in Enum.GetValues<OptimizerKind>())
            Assert.Equal(Expected(kind, 0.05f, p0, grads), Run(target.Value, kind, shape, p0, grads));
    }

    [Fact]
    public void Too_little_state_is_refused()
    {
        var shape = new RnnShape(2, 3, 2);
        var optimizer = Optimizer.Create(OptimizerKind.Adam, 0.1f, new float[shape.Count]);
        Assert.Throws<ArgumentException>(() => optimizer.Step(new ParameterSet(shape), new ParameterSet(shape)));
    }

    /// <summary>The schedules as PyTorch states them: cosine from lr to lr-min over the budget, step by its factor, and the warm-up's linear rise.</summary>
    [Fact]
    public void Learning_rates_follow_their_schedules()
    {
        var o = new TrainingOptions { LearningRate = 0.1f, MaxIterations = 1000 };
        Assert.Equal(0.1f, LearningRates.At(o, 0));
        Assert.Equal(0.1f, LearningRates.At(o, 999));
        var cosine = o with { Schedule = LearningRateSchedule.Cosine, MinLearningRate = 0.02f };
        Assert.Equal(0.1f, LearningRates.At(cosine, 0));
        Assert.Equal((float)(0.02f + (0.1f - 0.02f) * 0.5), LearningRates.At(cosine, 500), 6);
        Assert.Equal(0.02f, LearningRates.At(cosine, 1000), 7);
        Assert.Equal(0.02f, LearningRates.At(cosine, 5000), 7); // past the budget (a resumed run whose --max-iter grew): the floor
        var step = o with { Schedule = LearningRateSchedule.Step, LearningRateStepEvery = 100, LearningRateFactor = 0.5f };
        Assert.Equal([0.1f, 0.1f, 0.05f, 0.025f], new[] { LearningRates.At(step, 0), LearningRates.At(step, 99), LearningRates.At(step, 100), LearningRates.At(step, 250) });
        var warm = step with { Warmup = 4 };
        Assert.Equal([0.025f, 0.05f, 0.075f, 0.1f, 0.1f], new[] { 0L, 1, 2, 3, 4 }.Select(t => LearningRates.At(warm, t)).ToArray());
    }

    /// <summary>Decoupled weight decay: with a zero gradient each step multiplies every weight by 1 - lr·wd, whatever the optimiser's moments.</summary>
    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.Adam)]
    public void Weight_decay_shrinks_each_weight_before_the_step(OptimizerKind kind)
    {
        var shape = new RnnShape(2, 3, 1);
        var p = new ParameterSet(shape);
        var g = new ParameterSet(shape);
        for (int i = 0; i < p.Data.Length; i++) p.Data[i] = i - 5f;
        var expected = p.Data.ToArray();
        var optimizer = Optimizer.Create(kind, 0.1f, new float[Optimizer.StateBuffers(kind) * p.Data.Length]);
        optimizer.WeightDecay = 0.5f;
        for (int step = 0; step < 3; step++)
        {
            optimizer.Step(p, g);
            for (int i = 0; i < expected.Length; i++) expected[i] *= 1f - 0.1f * 0.5f;
        }
        Assert.Equal(expected, p.Data.ToArray());
    }

    /// <summary>A run's schedule, warm-up and weight decay are what its optimiser steps with: the rate of each iteration is the schedule's.</summary>
    [Fact]
    public void A_run_steps_at_its_schedules_rate()
    {
        var o = new TrainingOptions { Hidden = 8, Batch = 4, LearningRate = 0.1f, Schedule = LearningRateSchedule.Cosine, Warmup = 3, WeightDecay = 0.01f, MaxIterations = 10 };
        var run = TestRuns.Start(FastLra.Tasks.TaskKind.Adding, 10, o);
        for (long t = 0; t < 10; t++)
        {
            run.Iterate();
            Assert.Equal(LearningRates.At(o, t), run.Optimizer.LearningRate);
        }
        Assert.Equal(0.01f, run.Optimizer.WeightDecay);
    }

    /// <summary>--min-delta: improvements no larger than it do not reset patience, so a run stops after --patience checks of small gains.</summary>
    [Fact]
    public void Min_delta_stops_a_run_whose_gains_are_small()
    {
        var o = new TrainingOptions { Hidden = 8, Batch = 4, CheckEvery = 5, Patience = 3, MaxIterations = 10_000, MinDelta = 0.5 };
        var result = TestRuns.Start(FastLra.Tasks.TaskKind.Adding, 10, o).Run();
        Assert.Equal(StopReason.Patience, result.StopReason);
        Assert.Equal(20, result.Iterations); // the first check sets the best; three more without a gain of 0.5
    }

    /// <summary>
    /// The plateau schedule gives the rates PyTorch's ReduceLROnPlateau gives for the same losses:
    /// <c>ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2, threshold=0.1, threshold_mode="rel", min_lr=0.125)</c>
    /// on an optimiser of lr 1, stepped with each loss below. A loss is a new best when below
    /// best × (1 - 0.1); the third bad check in a row (patience 2, reduced when the count exceeds it)
    /// halves the rate and starts the count again; the rate stops at min_lr, and a NaN is a bad check.
    /// </summary>
    [Fact]
    public void The_plateau_schedule_reduces_as_ReduceLROnPlateau()
    {
        var o = new TrainingOptions { LearningRate = 1f, Schedule = LearningRateSchedule.Plateau, LearningRateFactor = 0.5f, LearningRatePatience = 2, LearningRateThreshold = 0.1, MinLearningRate = 0.125f };
        (double Loss, double Rate, double Best, int Bad)[] script =
        [
            (10, 1, 10, 0),        // the first loss is the best (below +inf)
            (9.5, 1, 10, 1),       // not below 10 x 0.9 = 9: bad
            (8.9, 1, 8.9, 0),      // below 9: the new best
            (8.9, 1, 8.9, 1),      // equal is not better
            (8.5, 1, 8.9, 2),      // below 8.9 but not below 8.01: bad
            (8.2, 0.5, 8.9, 0),    // the third bad check: halved, the count starts again
            (8.0, 0.5, 8.0, 0),    // below 8.01: the new best
            (double.NaN, 0.5, 8.0, 1),
            (7.5, 0.5, 8.0, 2),    // not below 7.2
            (7.3, 0.25, 8.0, 0),
            (7.3, 0.25, 8.0, 1),
            (7.3, 0.25, 8.0, 2),
            (7.3, 0.125, 8.0, 0),  // 0.25 x 0.5 = 0.125, the floor
            (7.3, 0.125, 8.0, 1),
            (7.3, 0.125, 8.0, 2),
            (7.3, 0.125, 8.0, 0),  // max(0.0625, min_lr) = 0.125: no change, the count starts again
            (1.0, 0.125, 1.0, 0),
        ];
        var plateau = new Plateau { Rate = o.LearningRate };
        foreach (var (loss, rate, best, bad) in script)
        {
            plateau.Check(o, loss);
            Assert.Equal((rate, best, bad), (plateau.Rate, plateau.Best, plateau.BadChecks));
            Assert.Equal((float)rate, LearningRates.At(o, 100, plateau.Rate));
        }

        // Patience 0: every bad check reduces; a reduction smaller than PyTorch's eps (1e-8) is not made.
        var eager = o with { LearningRatePatience = 0, MinLearningRate = 0f, LearningRateThreshold = 0 };
        var small = new Plateau { Rate = 5e-8 };
        double[] rates = [5e-8, 2.5e-8, 1.25e-8, 1.25e-8, 1.25e-8]; // cuts of 2.5e-8 and 1.25e-8 are made, one of 6.25e-9 is not
        small.Check(eager, 1);
        foreach (double rate in rates[1..])
        {
            small.Check(eager, 2);
            Assert.Equal(rate, small.Rate);
            Assert.Equal(0, small.BadChecks);
        }
        // Warm-up multiplies the plateau's rate as it does the other schedules'.
        Assert.Equal(0.25f, LearningRates.At(o with { Warmup = 4 }, 1, 0.5));
    }

    /// <summary>A plateau run's optimiser takes, after each check, the rate that check's validation loss decides (the state a checkpoint keeps).</summary>
    [Fact]
    public void A_plateau_run_steps_at_the_rate_its_checks_decide()
    {
        var o = new TrainingOptions
        {
            Hidden = 8, Batch = 4, LearningRate = 0.1f, Schedule = LearningRateSchedule.Plateau, LearningRateFactor = 0.5f, LearningRatePatience = 1,
            LearningRateThreshold = 0.2, MinLearningRate = 0.02f, Warmup = 3, CheckEvery = 5, Patience = 100, MaxIterations = 60,
        };
        var run = TestRuns.Start(FastLra.Tasks.TaskKind.Adding, 10, o);
        var replica = new Plateau { Rate = o.LearningRate };
        var rates = new List<double>();
        while (!run.IsFinished)
        {
            long t = run.Optimizer.StepCount;
            var report = run.Step();
            Assert.Equal(LearningRates.At(o, t, replica.Rate), run.Optimizer.LearningRate);
            if (report is not { } check) continue;
            replica.Check(o, check.Valid.Loss);
            rates.Add(replica.Rate);
            Assert.Equal((replica.Rate, replica.Best, replica.BadChecks), (run.Loop.Plateau.Rate, run.Loop.Plateau.Best, run.Loop.Plateau.BadChecks));
            Assert.Equal((float)replica.Rate, run.LearningRate);
        }
        Assert.Equal(12, rates.Count);
        Assert.Equal([0.1f, 0.05f, 0.025f, 0.02f], rates.Select(r => (float)r).Distinct().ToArray()); // the losses of this run reduce it to its floor
    }
}
