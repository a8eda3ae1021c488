using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

public class TrainingTests
{
    /// <summary>Every carved buffer starts on a 64-byte cache line, so 512-bit accesses never straddle two.</summary>
    [Fact]
    public unsafe void Workspace_buffers_start_on_cache_lines()
    {
        var shape = new FastLra.Model.RnnShape(6, 100, 4);
        for (int attempt = 0; attempt < 8; attempt++)
        {
            var ws = new Workspace(shape, SequenceLayout.LastStep(7, 6, 4, GlobalLossKind.SoftmaxCrossEntropy), 3, 2, 1000);
            static long Address(Span<float> s) => (long)System.Runtime.CompilerServices.Unsafe.AsPointer(ref s[0]);
            foreach (long address in new[] { Address(ws.Parameters.Data), Address(ws.Gradients.Data), Address(ws.X), Address(ws.Z), Address(ws.Scratch.Span) })
                Assert.Equal(0, address % 64);
        }
    }

    /// <summary>
    /// The padded copy of the hidden layer: rows of whole vectors of the width in use, Load copies
    /// Wxh, Whh and bh in with zero padding, Store copies them back, Clear also clears the set's
    /// Why and by (a gradient), and Why and by are the set's own memory.
    /// </summary>
    [Fact]
    public void Padded_parameters_load_store_and_clear()
    {
        var shape = new RnnShape(3, 5, 2);
        int width = Math.Max(SimdWidth.Bits, 128) / 32, s = PaddedParameters.StrideOf(5);
        Assert.Equal(0, s % width);
        Assert.InRange(s, 5, 5 + width - 1);
        Assert.Equal(width switch { 16 => 112, 8 => 104, _ => 100 }, PaddedParameters.StrideOf(100));
        var set = new ParameterSet(shape);
        for (int i = 0; i < shape.Count; i++) set.Data[i] = i + 1;
        var padded = new PaddedParameters(set, new float[PaddedParameters.Length(shape)]);
        padded.Load();
        for (int r = 0; r < 5; r++)
        {
            Assert.Equal(set.Whh.Slice(r * 5, 5).ToArray(), padded.Whh.Slice(r * s, 5).ToArray());
            Assert.All(padded.Whh.Slice(r * s + 5, s - 5).ToArray(), v => Assert.Equal(0f, v));
        }
        Assert.Equal(set.Wxh.Slice(2 * 5, 5).ToArray(), padded.Wxh.Slice(2 * s, 5).ToArray());
        Assert.Equal(set.Bh.ToArray(), padded.Bh[..5].ToArray());
        Assert.True(padded.Why.Overlaps(set.Why) && padded.By.Overlaps(set.By));

        var copy = new ParameterSet(shape);
        var into = new PaddedParameters(copy, new float[PaddedParameters.Length(shape)]);
        padded.Whh.CopyTo(into.Whh);
        padded.Wxh.CopyTo(into.Wxh);
        padded.Bh.CopyTo(into.Bh);
        set.Why.CopyTo(copy.Why);
        set.By.CopyTo(copy.By);
        into.Store();
        Assert.Equal(set.Data.ToArray(), copy.Data.ToArray());

        into.Clear();
        Assert.All(copy.Why.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(copy.By.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(into.Whh.ToArray(), v => Assert.Equal(0f, v));
        Assert.Throws<ArgumentException>(() => new PaddedParameters(set, new float[3]));
    }

    [Fact]
    public void Bptt_learns_the_adding_task()
    {
        var trainer = TestRuns.Start(TaskKind.Adding, 10, new TrainingOptions { Hidden = 32, Batch = 20, LearningRate = 0.1f, Seed = 5 }, validSize: 500);
        var before = trainer.Evaluate();
        double firstLosses = 0, lastLosses = 0;
        for (int i = 0; i < 800; i++)
        {
            float loss = trainer.Iterate();
            if (i < 50) firstLosses += loss;
            if (i >= 750) lastLosses += loss;
        }
        var after = trainer.Evaluate();
        // A constant prediction of 0.5 scores about 0.04 (the target's variance); learning beats it clearly.
        Assert.True(before.Loss > 0.05, $"initial validation loss {before.Loss}");
        Assert.True(after.Loss < 0.01, $"validation loss after training {after.Loss}");
        Assert.True(lastLosses < firstLosses / 5, $"train loss {firstLosses / 50} -> {lastLosses / 50}");
        Assert.True(after.Accuracy > 0.85, $"accuracy {after.Accuracy}");
    }

    [Fact]
    public void Run_stops_when_solved_and_reports_it()
    {
        var trainer = TestRuns.Start(TaskKind.TemporalOrder, 20, new TrainingOptions { Hidden = 50, CheckEvery = 100, MaxIterations = 5000, Seed = 1234 }, validSize: 1000);
        var monitor = new CheckRecorder();
        var result = trainer.Run(monitor);
        Assert.Equal(StopReason.Solved, result.StopReason);
        Assert.True(result.Solved);
        Assert.Equal(1.0, result.BestValidAccuracy);
        Assert.Equal(result.Iterations, monitor.Checks[^1].Iteration);
        Assert.All(monitor.Checks, c => Assert.Equal(0, c.Iteration % 100));
        Assert.True(monitor.Checks.Count >= 2);
    }

    [Fact]
    public void Run_stops_after_patience_checks_without_a_new_best()
    {
        // A learning rate too small to move: accuracy never improves after the first check.
        var trainer = TestRuns.Start(TaskKind.TemporalOrder, 20, new TrainingOptions { Hidden = 8, CheckEvery = 5, Patience = 3, LearningRate = 1e-30f }, validSize: 200);
        var monitor = new CheckRecorder();
        var result = trainer.Run(monitor);
        Assert.Equal(StopReason.Patience, result.StopReason);
        Assert.Equal(4, monitor.Checks.Count);
        Assert.Equal(20, result.Iterations);
    }

    [Fact]
    public void Run_stops_at_once_when_the_loss_is_not_finite()
    {
        var result = TestRuns.Start(TaskKind.Adding, 10, new TrainingOptions { Hidden = 8, Clip = 0, LearningRate = 1e30f, CheckEvery = 1000 }, validSize: 10).Run();
        Assert.Equal(StopReason.Diverged, result.StopReason);
        Assert.False(float.IsFinite((float)result.FinalTrainLoss));
        Assert.True(result.Iterations < 100);
    }

    [Fact]
    public void Run_honours_the_iteration_budget_and_checks_at_the_end()
    {
        var monitor = new CheckRecorder();
        var result = TestRuns.Start(TaskKind.TemporalOrder, 20, new TrainingOptions { Hidden = 8, MaxIterations = 7, CheckEvery = 5 }).Run(monitor);
        Assert.Equal(StopReason.MaxIterations, result.StopReason);
        Assert.Equal(7, result.Iterations);
        Assert.Equal([5L, 7L], monitor.Checks.Select(c => c.Iteration));
    }

    [Fact]
    public void Same_seed_same_run()
    {
        var options = new TrainingOptions { Hidden = 12, Optimizer = OptimizerKind.Adam };
        var a = TestRuns.Start(TaskKind.TemporalOrder3Bit, 15, options, validSize: 20);
        var b = TestRuns.Start(TaskKind.TemporalOrder3Bit, 15, options, validSize: 20);
        for (int i = 0; i < 10; i++) Assert.Equal(a.Iterate(), b.Iterate());
        Assert.Equal(a.Parameters.Data.ToArray(), b.Parameters.Data.ToArray());
    }

    [Theory]
    [InlineData(0, 20, "--hidden")]
    [InlineData(10, 0, "--batch")]
    public void Invalid_options_are_refused(int hidden, int batch, string flag)
    {
        var e = Assert.Throws<OptionException>(() => TrainingRun.Start(RunSpec.Default with { Options = new TrainingOptions { Hidden = hidden, Batch = batch } }));
        Assert.Contains(flag, e.Message);
    }
}
