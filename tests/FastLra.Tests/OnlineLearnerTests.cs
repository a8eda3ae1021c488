using System.Runtime.CompilerServices;
using FastLra.IO;
using FastLra.Model;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>The online learner (issue 16): predictions, the windows it trains on, allocation, and that it adapts.</summary>
[Collection(TimingGroup.Name)]
public sealed class OnlineLearnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-online-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TrainingOptions Options(string algo) => algo switch
    {
        "bptt" => new() { Hidden = 8, LearningRate = 0.05f, Seed = 3 },
        "lra" => new() { Hidden = 8, LearningRate = 0.05f, Seed = 3, Algorithm = AlgorithmKind.Lra, K = 3, Alpha = 0.1f },
        _ => new() { Hidden = 8, LearningRate = 0.01f, Seed = 3, Optimizer = OptimizerKind.Adam },
    };

    /// <summary>A deterministic tick: two inputs and the target a smooth function of their recent past.</summary>
    private static (float[] X, float[] Y) Tick(int t, float gain = 1f)
    {
        float u = MathF.Sin(0.21f * t) + 0.5f * MathF.Sin(0.037f * t + 1);
        float v = MathF.Cos(0.13f * t);
        return ([u, v], [gain * MathF.Tanh(u + 0.3f * MathF.Sin(0.21f * (t - 1))), 0.5f * v * gain]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Without_updates_it_predicts_as_the_streaming_state_does(bool normalized)
    {
        var options = Options("bptt");
        var start = new ParameterSet(new RnnShape(2, 8, 2));
        Initialization.Orthogonal(start, 5);
        var model = new RnnModel(start, normalized ? new Normalization([0.1f, -0.2f], [1.5f, 0.5f], [0.3f, 0f], [2f, 0.25f]) : null);
        var learner = new OnlineLearner(options, 2, 2, window: 4, updateEvery: int.MaxValue, model);
        var state = new RnnState(model);
        var (expected, actual) = (new float[2], new float[2]);
        for (int t = 0; t < 50; t++)
        {
            var (x, y) = Tick(t);
            state.Step(x, expected);
            learner.Step(x, t % 3 == 0 ? default : y, actual);
            Assert.Equal(expected, actual);
        }
        Assert.Equal(0, learner.Updates);
    }

    /// <summary>
    /// Each update is one optimiser step on the last W ticks, oldest first, with an output at every
    /// step, from the streaming state before the oldest: the same as stepping a separately wired
    /// workspace on those ticks, bit for bit, across the ring's wrap.
    /// </summary>
    [Theory]
    [InlineData("bptt", 3, 2)]
    [InlineData("lra", 3, 2)]
    [InlineData("adam", 5, 3)]
    [InlineData("lra", 1, 1)]
    public void Each_update_trains_on_the_last_window_of_ticks(string algo, int window, int every)
    {
        var options = Options(algo);
        var learner = new OnlineLearner(options, 2, 2, window, every);
        var layout = new SequenceLayout(window, 2, 2, 0, Kernels.GlobalLossKind.MeanSquaredError);
        var (ws, optimizer, algorithm) = Trainer.Wire(options with { Batch = 1 }, layout, 1, null);
        var ticks = new List<(float[] X, float[] Y, float[] Before)>();
        var prediction = new float[2];
        var (h, next) = (new float[options.Hidden], new float[options.Hidden]);
        int updates = 0, since = 0;
        for (int t = 0; t < 23; t++)
        {
            var (x, y) = Tick(t);
            ticks.Add((x, y, [.. h]));
            Rnn.StepForward(ws.Parameters, x, h, 1, next, next); // the streaming state, with the weights of the moment
            next.CopyTo(h, 0);
            learner.Step(x, y, prediction);
            if (++since < every || ticks.Count < window) continue;
            // Time-major with one sequence: x is W x I, y is W x O, oldest first.
            for (int s = 0; s < window; s++)
            {
                ticks[^(window - s)].X.CopyTo(ws.Sequences.X[(2 * s)..]);
                ticks[^(window - s)].Y.CopyTo(ws.Sequences.Y[(2 * s)..]);
            }
            ws.Sequences.InitialState = ticks[^window].Before;
            algorithm.ComputeGradients(ws.Sequences);
            optimizer.Step(ws.Parameters, ws.Gradients);
            updates++;
            since = 0;
        }
        Assert.True(updates > 3);
        Assert.Equal(updates, learner.Updates);
        Assert.Equal(ws.Parameters.Data.ToArray(), learner.Parameters.ToArray());
    }

    [Theory]
    [InlineData("bptt", 16)]
    [InlineData("lra", 16)]
    [InlineData("lra", 1)]
    public void Ticks_allocate_nothing_update_ticks_included(string algo, int window)
    {
        var learner = new OnlineLearner(Options(algo), 2, 2, window, updateEvery: 2);
        var prediction = new float[2];
        var (x, y) = Tick(0);
        for (int t = 0; t < 200; t++) learner.Step(x, y, prediction);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int t = 0; t < 1000; t++) learner.Step(x, t % 5 == 0 ? default : y, prediction);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(learner.Updates > 400);
    }

    /// <summary>When the plant's gain changes, learning online tracks it and the frozen model does not.</summary>
    [Theory]
    [InlineData("bptt", 8)]
    [InlineData("lra", 8)]
    [InlineData("bptt", 1)]
    [InlineData("lra", 1)]
    public void After_a_change_in_the_plant_it_adapts_and_the_frozen_model_does_not(string algo, int window)
    {
        var options = Options(algo);
        var learner = new OnlineLearner(options, 2, 2, window, updateEvery: 1, errorHalfLife: 200);
        var prediction = new float[2];
        for (int t = 0; t < 4000; t++)
        {
            var (x, y) = Tick(t);
            learner.Step(x, y, prediction);
        }
        var frozen = new RnnState(learner.ToModel());
        double frozenSquares = 0;
        for (int t = 4000; t < 8000; t++)
        {
            var (x, y) = Tick(t, gain: 2.5f); // the plant's gain changes
            learner.Step(x, y, prediction);
            frozen.Step(x, prediction);
            if (t >= 7000) frozenSquares += ((prediction[0] - y[0]) * (prediction[0] - y[0]) + (prediction[1] - y[1]) * (prediction[1] - y[1])) / 2;
        }
        double frozenRmse = Math.Sqrt(frozenSquares / 1000);
        Assert.True(learner.RecentRmse < 0.5 * frozenRmse, $"online {learner.RecentRmse:F4}, frozen {frozenRmse:F4}");
        Assert.Equal(8000, learner.Ticks);
    }

    [Fact]
    public void Bad_settings_and_ticks_are_refused()
    {
        var options = Options("bptt");
        Assert.Throws<ArgumentOutOfRangeException>(() => new OnlineLearner(options, 2, 2, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OnlineLearner(options, 2, 2, 4, 0));
        var e = Assert.Throws<ArgumentException>(() => new OnlineLearner(Options("lra") with { Semantics = LraSemantics.Reference }, 2, 2, 4, 1));
        Assert.Contains("local semantics", e.Message);
        Assert.Throws<ArgumentException>(() => new OnlineLearner(options with { LearningRate = -1 }, 2, 2, 4, 1));
        Assert.Throws<ArgumentException>(() => new OnlineLearner(options, 3, 2, 4, 1, new RnnModel(new ParameterSet(new RnnShape(2, 8, 2)))));
        var learner = new OnlineLearner(options, 2, 2, 4, 1);
        Assert.Throws<ArgumentException>(() => learner.Step(new float[3], new float[2], new float[2]));
        Assert.Throws<ArgumentException>(() => learner.Step(new float[2], new float[1], new float[2]));
    }

    [Fact]
    public void A_tick_window_saves_and_restores_its_ring()
    {
        var window = new TickWindow(3, 2, 1, 2);
        for (int t = 0; t < 5; t++) window.Add([t, -t], [10 * t], [t / 10f, -t / 10f]);
        var state = new uint[window.StateLength];
        window.SaveState(state);
        var copy = new TickWindow(3, 2, 1, 2);
        copy.RestoreState(state);
        var (a, b) = (new SequenceBatch(window.Layout, 1), new SequenceBatch(window.Layout, 1));
        window.NextBatch(a);
        copy.NextBatch(b);
        Assert.Equal(new float[] { 2, -2, 3, -3, 4, -4 }, a.X.ToArray());
        Assert.Equal(new float[] { 20, 30, 40 }, a.Y.ToArray());
        Assert.Equal(a.X.ToArray(), b.X.ToArray());
        Assert.Equal(a.Y.ToArray(), b.Y.ToArray());
        Assert.Equal(new float[] { 0.2f, -0.2f }, a.InitialState.ToArray()); // the state before tick 2, the oldest
        Assert.Equal(a.InitialState.ToArray(), b.InitialState.ToArray());
        state[^3] = 1; // a cursor that does not fit five ticks in a ring of three
        Assert.Throws<ArgumentException>(() => copy.RestoreState(state));
    }

    /// <summary>A saved learner, loaded, goes on bit for bit as the one that was saved; the file is a model file too.</summary>
    [Theory]
    [InlineData("bptt", false)]
    [InlineData("lra", true)]
    [InlineData("adam", false)]
    public void A_saved_learner_goes_on_exactly_as_the_original(string algo, bool normalized)
    {
        var options = Options(algo);
        var start = new ParameterSet(new RnnShape(2, 8, 2));
        Initialization.Orthogonal(start, 5);
        var model = new RnnModel(start, normalized ? new Normalization([0.1f, -0.2f], [1.5f, 0.5f], [0.3f, 0f], [2f, 0.25f]) : null);
        var original = new OnlineLearner(options, 2, 2, window: 6, updateEvery: 4, model, errorHalfLife: 50);
        var prediction = new float[2];
        for (int t = 0; t < 503; t++)
        {
            var (x, y) = Tick(t);
            original.Step(x, y, prediction);
        }
        string path = Path.Combine(_dir, "learner.safetensors");
        original.Save(path);
        var loaded = OnlineLearner.Load(path);
        Assert.Equal((original.Ticks, original.Updates, original.Window, original.UpdateEvery), (loaded.Ticks, loaded.Updates, loaded.Window, loaded.UpdateEvery));
        var other = new float[2];
        for (int t = 503; t < 1000; t++)
        {
            var (x, y) = Tick(t, gain: 1.5f);
            original.Step(x, y, prediction);
            loaded.Step(x, y, other);
            Assert.Equal(prediction, other);
        }
        Assert.Equal(original.Parameters.ToArray(), loaded.Parameters.ToArray());
        Assert.Equal((original.Rmse, original.RecentRmse, original.Updates), (loaded.Rmse, loaded.RecentRmse, loaded.Updates));
        Assert.Equal(start.Shape, RnnModel.Load(path).Shape);
    }

    [Theory]
    [InlineData("window", "2000000000", "configuration is invalid")]
    [InlineData("window", "0", "metadata 'window' has an invalid value")]
    [InlineData("updates", "999999", "counters are inconsistent")]
    [InlineData("format", "fastlra-checkpoint-2", "not a FastLra online learner")]
    [InlineData("squares", "lots", "metadata 'squares' has an invalid value")]
    public void A_learner_file_is_checked_before_it_is_trusted(string key, string value, string message)
    {
        string path = Path.Combine(_dir, "learner.safetensors");
        var learner = new OnlineLearner(Options("lra"), 2, 2, 4, 2);
        var prediction = new float[2];
        for (int t = 0; t < 20; t++) learner.Step(Tick(t).X, Tick(t).Y, prediction);
        learner.Save(path);
        CheckpointTests.RewriteMetadata(path, key, value);
        var e = Assert.Throws<WeightFileException>(() => OnlineLearner.Load(path));
        Assert.Contains(message, e.Message);
    }

    /// <summary>
    /// Background mode: the control thread's ticks allocate nothing, the trainer thread allocates
    /// nothing once warm, updates happen and publish, and the model adapts after a change. The
    /// trainer is held to zero over the last 2,000 ticks: the change makes the trainer take paths
    /// it had not (clipping the larger gradients), and a path's first use may allocate once (its
    /// compilation, its statics), which is warm-up, not a tick's cost.
    /// It runs alone (the timing collection), and the control loop waits while the trainer is more
    /// than 64 ticks behind: on a busy machine (CI's other processes) the trainer can be starved for
    /// longer than the ring lasts, and the ring then drops ticks by design, which is not what this
    /// tests. With that wait every update covers at most 65 new ticks, so 8,000 ticks make over 100.
    /// </summary>
    [Theory]
    [InlineData("bptt")]
    [InlineData("lra")]
    public void In_the_background_ticks_never_allocate_and_the_model_adapts(string algo)
    {
        using var learner = new OnlineLearner(Options(algo), 2, 2, window: 8, updateEvery: 1, errorHalfLife: 200, mode: OnlineMode.Background);
        var (prediction, other) = (new float[2], new float[2]);
        // Every tick made before any is counted; the warm-up runs the measured loop itself.
        var before = Enumerable.Range(0, 4000).Select(t => Tick(t)).ToArray();
        var changed = Enumerable.Range(0, 8000).Select(t => Tick(t, gain: 2.5f)).ToArray();
        RunPaced(learner, new RnnState(learner.ToModel()), before, 0, 4000, prediction, other);
        var frozen = new RnnState(learner.ToModel());
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        RunPaced(learner, frozen, changed, 4000, 6000, prediction, other);
        long trainerWarm = learner.TrainerAllocatedBytes;
        double frozenSquares = RunPaced(learner, frozen, changed, 6000, 8000, prediction, other);
        long controlBytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
        learner.Dispose();
        long trainerBytes = learner.TrainerAllocatedBytes - trainerWarm;
        double frozenRmse = Math.Sqrt(frozenSquares / 1000);
        // One assertion that reports every counter, so a rare failure says which mode it was.
        string counters = $"control {controlBytes} B, trainer {trainerBytes} B (warm {trainerWarm} B), {learner.Updates} updates, "
            + $"{learner.DroppedTicks} dropped, online RMSE {learner.RecentRmse:F4}, frozen {frozenRmse:F4}";
        Assert.True(controlBytes == 0 && trainerBytes == 0 && learner.Updates > 100 && learner.DroppedTicks == 0
            && learner.RecentRmse < 0.5 * frozenRmse, counters);
    }

    /// <summary>
    /// Ticks <paramref name="from"/> to <paramref name="to"/> at a control loop's pace, through the
    /// learner and a frozen model; returns the frozen model's squared error over the last 1,000.
    /// Compiled fully optimised at its first call, so no on-stack replacement (a compilation on
    /// this thread) can happen inside the measured loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double RunPaced(OnlineLearner learner, RnnState frozen, (float[] X, float[] Y)[] ticks, int from, int to, float[] prediction, float[] other)
    {
        double frozenSquares = 0;
        for (int t = from; t < to; t++)
        {
            var (x, y) = ticks[t];
            Paced(learner, (x, y), prediction);
            frozen.Step(x, other);
            if (t >= to - 1000) frozenSquares += ((other[0] - y[0]) * (other[0] - y[0]) + (other[1] - y[1]) * (other[1] - y[1])) / 2;
        }
        return frozenSquares;
    }

    // A control loop's pace: a tick, then a short wait (a real loop waits for its next period),
    // longer while the trainer is more than 64 ticks behind.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Paced(OnlineLearner learner, (float[] X, float[] Y) tick, float[] prediction)
    {
        learner.Step(tick.X, tick.Y, prediction);
        long until = System.Diagnostics.Stopwatch.GetTimestamp() + System.Diagnostics.Stopwatch.Frequency / 20_000;
        while (System.Diagnostics.Stopwatch.GetTimestamp() < until || learner.QueuedTicks > 64) Thread.SpinWait(10);
    }

    [Fact]
    public void A_background_learner_saves_between_ticks_and_loads_in_either_mode()
    {
        string path = Path.Combine(_dir, "background.safetensors");
        using (var learner = new OnlineLearner(Options("lra"), 2, 2, window: 4, updateEvery: 2, mode: OnlineMode.Background))
        {
            var prediction = new float[2];
            for (int t = 0; t < 500; t++) Paced(learner, Tick(t), prediction);
            learner.Save(path);
            Assert.True(learner.Updates > 0);
        }
        using var inline = OnlineLearner.Load(path);
        using var background = OnlineLearner.Load(path, OnlineMode.Background);
        Assert.Equal(500, inline.Ticks);
        Assert.Equal(OnlineMode.Background, background.Mode);
        var (a, b) = (new float[2], new float[2]);
        var (x, y) = Tick(500);
        inline.Step(x, y, a);
        background.Step(x, y, b);
        Assert.Equal(a, b); // the same weights and state: the first tick predicts alike
    }
}
