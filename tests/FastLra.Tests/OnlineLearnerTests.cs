using System.Runtime.CompilerServices;
using FastLra.IO;
using FastLra.Model;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>The online learner: predictions, the windows it trains on, allocation, and that it adapts.</summary>
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
        var layout = new SequenceLayout(window, 2, 2, 0, GlobalLossKind.MeanSquaredError);
        var (ws, optimizer, algorithm) = TrainingRun.Wire(options with { Batch = 1 }, layout, 1, null);
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
    [InlineData("updates", "999999", "metadata 'updates' is 999999, outside [0, 20] (the ticks)")]
    [InlineData("ticks", "9223372036854775807", "metadata 'ticks' is 9223372036854775807, outside [0, 9007199254740992]")]
    [InlineData("ticks", "-1", "metadata 'ticks' is -1, outside [0, 9007199254740992]")]
    [InlineData("optimizer_steps", "3", "metadata 'optimizer_steps' is 3; a learner takes one step per update (9)")]
    [InlineData("optimizer_steps", "-9223372036854775808", "metadata 'optimizer_steps' is -9223372036854775808")]
    [InlineData("since_update", "21", "metadata 'since_update' is 21, outside [0, 20] (the ticks)")]
    [InlineData("scored", "21", "metadata 'scored' is 21, outside [0, 20] (the ticks)")]
    [InlineData("rejected_ticks", "1", "metadata 'rejected_ticks' is 1, outside [0, 0] (the ticks not scored)")]
    [InlineData("rejected_updates", "12", "metadata 'rejected_updates' is 12, outside [0, 11] (the ticks without an update)")]
    [InlineData("rejected_in_a_row", "1", "metadata 'rejected_in_a_row' is 1, outside [0, 0] (the rejected updates)")]
    [InlineData("squares", "NaN", "metadata 'squares' is NaN; it must be finite and not negative")]
    [InlineData("weights", "-1", "metadata 'weights' is -1; it must be finite and not negative")]
    [InlineData("last_update_loss", "Infinity", "metadata 'last_update_loss' is Infinity; a loss is finite and not negative")]
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

    // ---- Ticks and updates that are not finite ----

    private static readonly float[] BadValues = [float.NaN, float.PositiveInfinity, 3e38f];

    /// <summary>Ticks of <see cref="Tick"/> where, at seeded random ticks (a share of <paramref name="rate"/>), one input or target value is NaN, +Inf or 3e38.</summary>
    private static (float[] X, float[] Y)[] BadTicks(int count, int seed, double rate = 1 / 12.0)
    {
        var rng = new Random(seed);
        var ticks = new (float[] X, float[] Y)[count];
        for (int t = 0; t < count; t++)
        {
            var (x, y) = Tick(t);
            if (rng.NextDouble() < rate)
            {
                var into = rng.Next(2) == 0 ? x : y;
                into[rng.Next(into.Length)] = BadValues[rng.Next(BadValues.Length)];
            }
            ticks[t] = (x, y);
        }
        return ticks;
    }

    private static bool Finite(ReadOnlySpan<float> values)
    {
        foreach (float v in values)
            if (!float.IsFinite(v)) return false;
        return true;
    }

    /// <summary>What a tick's values are after the model's standardisation (the learner's view of them), or the values themselves.</summary>
    private static float[] Standardised(float[] values, float[] mean, float[] std)
    {
        var result = new float[values.Length];
        for (int k = 0; k < values.Length; k++) result[k] = mean.Length == 0 ? values[k] : (values[k] - mean[k]) / std[k];
        return result;
    }

    private static readonly Normalization Standard = new([0.1f, -0.2f], [1.5f, 0.5f], [0.3f, 0f], [2f, 0.25f]);

    private static RnnModel StartModel(bool normalized)
    {
        var start = new ParameterSet(new RnnShape(2, 8, 2));
        Initialization.Orthogonal(start, 5);
        return new RnnModel(start, normalized ? Standard : null);
    }

    /// <summary>
    /// The learner's rules written out plainly over a workspace wired apart: a tick whose input
    /// (standardised) is not finite, or that leads to a state or prediction that is not, changes
    /// nothing and holds the last prediction; one whose target is not finite advances the stream,
    /// is not recorded, and starts the window again; an update whose loss or gradient is not finite
    /// takes no step, and one whose step leaves a weight or the optimiser state not finite is undone.
    /// Without bad ticks it is the reference of <see cref="Each_update_trains_on_the_last_window_of_ticks"/>.
    /// </summary>
    private sealed class ReferenceLearner
    {
        private readonly Workspace _ws;
        private readonly Optimizer _optimizer;
        private readonly IGradientAlgorithm _algorithm;
        private readonly Normalization? _normalization;
        private readonly int _window, _every;
        private readonly List<(float[] X, float[] Y, float[] Before)> _ticks = [];
        private readonly float[] _h, _next, _last = new float[2];
        private int _since;

        public ReferenceLearner(TrainingOptions options, int window, int every, RnnModel start)
        {
            (_ws, _optimizer, _algorithm) = TrainingRun.Wire(options with { Batch = 1 }, new SequenceLayout(window, 2, 2, 0, GlobalLossKind.MeanSquaredError), 1,
                start.Weights);
            (_normalization, _window, _every) = (start.Normalization, window, every);
            (_h, _next) = (new float[options.Hidden], new float[options.Hidden]);
        }

        public long Updates { get; private set; }

        public long RejectedUpdates { get; private set; }

        public long RejectedTicks { get; private set; }

        public float[] Parameters => _ws.Parameters.Data.ToArray();

        public void Step(float[] x, float[] y, float[] prediction)
        {
            var n = _normalization;
            float[] input = n is null ? [.. x] : Standardised(x, n.InputMean, n.InputStd);
            bool predicted = Finite(input);
            if (predicted)
            {
                Rnn.StepForward(_ws.Parameters, input, _h, 1, _next, _next);
                Rnn.OutputForward(_ws.Parameters, _next, 1, prediction);
                n?.DenormalizeOutputs(prediction);
                predicted = Finite(_next) && Finite(prediction);
            }
            if (!predicted)
            {
                _last.CopyTo(prediction, 0);
                RejectedTicks++;
                return;
            }
            prediction.CopyTo(_last, 0);
            float[] target = n is { HasTargets: true } ? Standardised(y, n.TargetMean, n.TargetStd) : [.. y];
            if (!Finite(target))
            {
                RejectedTicks++;
                _ticks.Clear();
                _next.CopyTo(_h, 0);
                return;
            }
            _ticks.Add((input, target, [.. _h]));
            _next.CopyTo(_h, 0);
            if (++_since < _every || _ticks.Count < _window) return;
            _since = 0;
            for (int s = 0; s < _window; s++)
            {
                _ticks[^(_window - s)].X.CopyTo(_ws.Sequences.X[(2 * s)..]);
                _ticks[^(_window - s)].Y.CopyTo(_ws.Sequences.Y[(2 * s)..]);
            }
            _ws.Sequences.InitialState = _ticks[^_window].Before;
            float loss = _algorithm.ComputeGradients(_ws.Sequences);
            if (!float.IsFinite(loss) || !Finite(_ws.Gradients.Data))
            {
                RejectedUpdates++;
                return;
            }
            var (weights, state, steps) = (_ws.Parameters.Data.ToArray(), _optimizer.State.ToArray(), _optimizer.StepCount);
            _optimizer.Step(_ws.Parameters, _ws.Gradients);
            if (Finite(_ws.Parameters.Data) && Finite(_optimizer.State))
            {
                Updates++;
                return;
            }
            weights.CopyTo(_ws.Parameters.Data);
            state.CopyTo(_optimizer.State);
            _optimizer.RestoreStepCount(steps);
            RejectedUpdates++;
        }
    }

    /// <summary>
    /// NaN, +Inf and 3e38 in inputs and targets at seeded random ticks: every prediction is finite
    /// and the same, bit for bit, as the plain reference's (which also learns exactly what the
    /// learner learns: the same weights at the end); a tick is rejected exactly when its input or
    /// target is not finite once standardised (3e38 becomes infinite over a deviation below 1),
    /// and the tick's result says which; the updates 3e38 targets make infinite are rolled back
    /// and counted, the reference's count. Without bad ticks (rate 0) it is the plain learner.
    /// </summary>
    [Theory]
    [InlineData("bptt", false, 4, 1, 1f, 1 / 12.0)]
    [InlineData("bptt", true, 4, 2, 0f, 1 / 12.0)]
    [InlineData("lra", false, 3, 1, 1f, 1 / 12.0)]
    [InlineData("lra", true, 1, 1, 0f, 1 / 12.0)]
    [InlineData("adam", false, 5, 3, 0f, 1 / 12.0)]
    [InlineData("adam", true, 4, 1, 1f, 1 / 12.0)]
    [InlineData("adam", true, 4, 1, 1f, 0.0)]
    public void Ticks_that_are_not_finite_are_rejected_counted_and_never_learnt_from(string algo, bool normalized, int window, int every, float clip, double rate)
    {
        var options = Options(algo) with { Clip = clip };
        var model = StartModel(normalized);
        var learner = new OnlineLearner(options, 2, 2, window, every, model);
        var reference = new ReferenceLearner(options, window, every, model);
        var ticks = BadTicks(600, seed: 31 * window + every + (normalized ? 7 : 0), rate);
        var (prediction, expected) = (new float[2], new float[2]);
        long rejected = 0;
        foreach (var (x, y) in ticks)
        {
            var result = learner.Step(x, y, prediction);
            reference.Step(x, y, expected);
            Assert.Equal(expected, prediction);
            Assert.True(Finite(prediction));
            bool badInput = !Finite(normalized ? Standardised(x, Standard.InputMean, Standard.InputStd) : x);
            bool badTarget = !Finite(normalized ? Standardised(y, Standard.TargetMean, Standard.TargetStd) : y);
            var outcome = badInput ? TickResult.InputRejected : learner.Diverged ? TickResult.Diverged : badTarget ? TickResult.TargetRejected : TickResult.Ok;
            Assert.Equal(outcome, result);
            if (badInput || badTarget) rejected++;
        }
        Assert.Equal(reference.Parameters, learner.Parameters.ToArray());
        Assert.Equal((rejected, reference.Updates, reference.RejectedUpdates), (learner.RejectedTicks, learner.Updates, learner.RejectedUpdates));
        Assert.True(Finite(learner.Parameters));
        Assert.False(learner.Diverged);
        Assert.True(learner.Updates > 100, $"{learner.Updates} updates");
        if (rate > 0) Assert.True(rejected > 20 && learner.RejectedUpdates > 0, $"{rejected} rejected ticks, {learner.RejectedUpdates} rejected updates");
        else Assert.Equal(0, learner.RejectedTicks + learner.RejectedUpdates);
    }

    [Fact]
    public void A_target_that_is_not_finite_restarts_the_window_and_an_input_that_is_not_changes_nothing()
    {
        var learner = new OnlineLearner(Options("bptt"), 2, 2, window: 4, updateEvery: 1);
        var prediction = new float[2];
        for (int t = 0; t < 10; t++) learner.Step(Tick(t).X, Tick(t).Y, prediction);
        Assert.Equal(7, learner.Updates); // one a tick from the fourth on
        Assert.Equal(TickResult.TargetRejected, learner.Step(Tick(10).X, [float.NaN, 0f], prediction));
        for (int t = 11; t < 14; t++) learner.Step(Tick(t).X, Tick(t).Y, prediction);
        Assert.Equal(7, learner.Updates); // three ticks recorded since the gap: no window spans it
        learner.Step(Tick(14).X, Tick(14).Y, prediction);
        Assert.Equal(8, learner.Updates);
        // The stream does not advance over a rejected input, so it leaves no gap: learning goes on at once.
        var held = prediction.ToArray();
        var weights = learner.Parameters.ToArray();
        Assert.Equal(TickResult.InputRejected, learner.Step([float.PositiveInfinity, 0f], Tick(15).Y, prediction));
        Assert.Equal(held, prediction);
        Assert.Equal(weights, learner.Parameters.ToArray());
        learner.Step(Tick(16).X, Tick(16).Y, prediction);
        Assert.Equal(9, learner.Updates);
        Assert.Equal((2L, 17L, 0L), (learner.RejectedTicks, learner.Ticks, learner.RejectedUpdates));
        // Before any prediction, a rejected input holds zeros.
        var fresh = new OnlineLearner(Options("bptt"), 2, 2, window: 4, updateEvery: 1);
        prediction.AsSpan().Fill(7f);
        Assert.Equal(TickResult.InputRejected, fresh.Step([float.NaN, float.NaN], Tick(0).Y, prediction));
        Assert.Equal(new float[2], prediction);
    }

    /// <summary>
    /// A target of 1.5e19 gives a finite loss (2.25e38) and gradient (3e19), whose square overflows
    /// Adagrad's sum: the step is undone, the weights, optimiser state and step count exactly as
    /// before it; the next good window learns again.
    /// </summary>
    [Fact]
    public void An_update_that_overflows_the_optimiser_state_is_rolled_back()
    {
        var options = new TrainingOptions { Hidden = 4, LearningRate = 0.01f, Seed = 3, Optimizer = OptimizerKind.Adagrad, Clip = 0 };
        var learner = new OnlineLearner(options, 1, 1, window: 1, updateEvery: 1);
        var prediction = new float[1];
        for (int t = 0; t < 20; t++) learner.Step([MathF.Sin(t)], [MathF.Cos(t)], prediction);
        var (weights, state, steps) = (learner.Parameters.ToArray(), learner.OptimizerState.ToArray(), learner.OptimizerSteps);
        Assert.Equal(TickResult.Ok, learner.Step([0.5f], [1.5e19f], prediction));
        Assert.Equal((20L, 1L), (learner.Updates, learner.RejectedUpdates));
        Assert.Equal(weights, learner.Parameters.ToArray());
        Assert.Equal(state, learner.OptimizerState.ToArray());
        Assert.Equal(steps, learner.OptimizerSteps);
        Assert.True(double.IsFinite(learner.LastUpdateLoss)); // the last kept update's
        learner.Step([0.3f], [0.2f], prediction);
        Assert.Equal((21L, 1L, 21L), (learner.Updates, learner.RejectedUpdates, learner.OptimizerSteps));
    }

    /// <summary>
    /// Targets of 3e38 (finite, so the ticks are not rejected) make every window's loss infinite:
    /// each update is rejected, so the learner predicts as its frozen start, bit for bit; after
    /// 3 ceil(W / U) rejected updates in a row it reports itself diverged, every tick saying so,
    /// and a file it saves holds its last good (finite) weights and loads as diverged as it was.
    /// </summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(4, 2)]
    public void A_learner_whose_every_update_is_rejected_reports_itself_diverged(int window, int every)
    {
        var learner = new OnlineLearner(Options("adam"), 2, 2, window, every);
        var frozen = new RnnState(learner.ToModel());
        var (prediction, expected) = (new float[2], new float[2]);
        long divergedAfter = OnlineLearner.DivergedAfterWindows * ((window + every - 1) / every);
        for (int t = 0; t < 60; t++)
        {
            var x = Tick(t).X;
            var result = learner.Step(x, [3e38f, -3e38f], prediction);
            frozen.Step(x, expected);
            Assert.Equal(expected, prediction);
            Assert.Equal(learner.RejectedUpdates >= divergedAfter ? TickResult.Diverged : TickResult.Ok, result);
        }
        Assert.Equal(0, learner.Updates);
        Assert.True(learner.RejectedUpdates > divergedAfter && learner.Diverged);
        string path = Path.Combine(_dir, "diverged.safetensors");
        learner.Save(path);
        var loaded = OnlineLearner.Load(path);
        Assert.True(loaded.Diverged);
        Assert.Equal(learner.RejectedUpdates, loaded.RejectedUpdates);
        Assert.Equal(frozen.Model.Parameters.ToArray(), RnnModel.Load(path).Parameters.ToArray());
    }

    [Fact]
    public void A_diverged_learner_recovers_with_its_first_update_that_is_not_rejected()
    {
        // Adagrad as above: three spiked windows of one tick are three rejected updates in a row.
        var options = new TrainingOptions { Hidden = 4, LearningRate = 0.01f, Seed = 3, Optimizer = OptimizerKind.Adagrad, Clip = 0 };
        var learner = new OnlineLearner(options, 1, 1, window: 1, updateEvery: 1);
        var prediction = new float[1];
        for (int t = 0; t < 5; t++) Assert.Equal(TickResult.Ok, learner.Step([MathF.Sin(t)], [MathF.Cos(t)], prediction));
        Assert.Equal(TickResult.Ok, learner.Step([0.5f], [1.5e19f], prediction));
        Assert.Equal(TickResult.Ok, learner.Step([0.5f], [1.5e19f], prediction));
        Assert.Equal(TickResult.Diverged, learner.Step([0.5f], [1.5e19f], prediction));
        Assert.True(learner.Diverged);
        Assert.Equal(TickResult.Diverged, learner.Step([0.5f], [], prediction)); // the prediction before the update says so
        Assert.Equal(TickResult.Ok, learner.Step([0.5f], [0.4f], prediction)); // its update is kept
        Assert.False(learner.Diverged);
        Assert.Equal((6L, 3L), (learner.Updates, learner.RejectedUpdates));
    }

    /// <summary>Rejected inputs, rejected targets and rolled-back updates allocate nothing either.</summary>
    [Theory]
    [InlineData("bptt")]
    [InlineData("lra")]
    [InlineData("adam")]
    public void Rejected_ticks_and_rolled_back_updates_allocate_nothing(string algo)
    {
        var learner = new OnlineLearner(Options(algo) with { Clip = 0 }, 2, 2, window: 3, updateEvery: 1);
        var ticks = BadTicks(3000, seed: 11, rate: 0.25);
        var prediction = new float[2];
        for (int t = 0; t < 1000; t++) learner.Step(ticks[t].X, ticks[t].Y, prediction);
        var (rejectedTicks, rejectedUpdates) = (learner.RejectedTicks, learner.RejectedUpdates);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int t = 1000; t < 3000; t++) learner.Step(ticks[t].X, ticks[t].Y, prediction);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(learner.RejectedTicks - rejectedTicks > 200 && learner.RejectedUpdates - rejectedUpdates > 10,
            $"{learner.RejectedTicks - rejectedTicks} ticks, {learner.RejectedUpdates - rejectedUpdates} updates rejected");
    }

    /// <summary>
    /// Background mode, fed the same kind of ticks: the control thread rejects exactly the ticks that
    /// are not finite, every prediction is finite, neither thread allocates, and the learner goes on
    /// learning (how many updates 3e38 targets make infinite depends on which windows the trainer
    /// trains on, which depends on its timing).
    /// </summary>
    [Theory]
    [InlineData("bptt")]
    [InlineData("lra")]
    public void In_the_background_ticks_that_are_not_finite_are_rejected_and_predictions_stay_finite(string algo)
    {
        using var learner = new OnlineLearner(Options(algo) with { Clip = 0 }, 2, 2, window: 4, updateEvery: 1, mode: OnlineMode.Background);
        var ticks = BadTicks(4000, seed: 5);
        var prediction = new float[2];
        long rejected = 0, control = 0, trainer = 0, allFinite = 1, updates = 0;
        for (int t = 0; t < ticks.Length; t++)
        {
            if (t == 2000) (control, trainer, updates) = (GC.GetAllocatedBytesForCurrentThread(), learner.TrainerAllocatedBytes, learner.Updates);
            var (x, y) = ticks[t];
            var result = PacedStep(learner, x, y, prediction);
            bool badInput = !Finite(x), badTarget = !Finite(y);
            if (badInput || badTarget) rejected++;
            if (badInput != (result == TickResult.InputRejected) || !Finite(prediction)) allFinite = 0;
        }
        control = GC.GetAllocatedBytesForCurrentThread() - control;
        learner.Dispose();
        trainer = learner.TrainerAllocatedBytes - trainer;
        // How many updates the trainer fits in depends on the machine: some, and some in the second half.
        string counters = $"control {control} B, trainer {trainer} B, {learner.RejectedTicks} of {rejected} rejected ticks, {learner.Updates} updates "
            + $"({learner.Updates - updates} in the second half), {learner.RejectedUpdates} rejected, {learner.DroppedTicks} dropped, finite {allFinite}";
        Assert.True(allFinite == 1 && control == 0 && trainer == 0 && learner.RejectedTicks == rejected && learner.Updates - updates > 10
            && Finite(learner.Parameters) && learner.DroppedTicks == 0, counters);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static TickResult PacedStep(OnlineLearner learner, float[] x, float[] y, float[] prediction)
    {
        var result = learner.Step(x, y, prediction);
        long until = System.Diagnostics.Stopwatch.GetTimestamp() + System.Diagnostics.Stopwatch.Frequency / 20_000;
        while (System.Diagnostics.Stopwatch.GetTimestamp() < until || learner.QueuedTicks > 64) Thread.SpinWait(10);
        return result;
    }

    /// <summary>A learner saved among bad ticks keeps its counters, its held prediction and its window, and goes on bit for bit.</summary>
    [Fact]
    public void A_saved_learner_keeps_what_it_rejected_and_goes_on_exactly()
    {
        var options = Options("adam") with { Clip = 0 };
        var original = new OnlineLearner(options, 2, 2, window: 4, updateEvery: 2, StartModel(true));
        var ticks = BadTicks(700, seed: 23, rate: 0.15);
        var (prediction, other) = (new float[2], new float[2]);
        int t = 0;
        for (; t < 350; t++) original.Step(ticks[t].X, ticks[t].Y, prediction);
        // End on a rejected target (the window has just restarted) before saving.
        original.Step(Tick(t).X, [float.NaN, 1f], prediction);
        string path = Path.Combine(_dir, "rejecting.safetensors");
        original.Save(path);
        var loaded = OnlineLearner.Load(path);
        Assert.Equal((original.RejectedTicks, original.RejectedUpdates, original.Updates), (loaded.RejectedTicks, loaded.RejectedUpdates, loaded.Updates));
        Assert.True(original.RejectedTicks > 20 && original.RejectedUpdates > 0);
        // The held prediction: a rejected input gives the same on both.
        Assert.Equal(original.Step([float.NaN, 0f], Tick(0).Y, prediction), loaded.Step([float.NaN, 0f], Tick(0).Y, other));
        Assert.Equal(prediction, other);
        for (; t < 700; t++)
        {
            Assert.Equal(original.Step(ticks[t].X, ticks[t].Y, prediction), loaded.Step(ticks[t].X, ticks[t].Y, other));
            Assert.Equal(prediction, other);
        }
        Assert.Equal(original.Parameters.ToArray(), loaded.Parameters.ToArray());
        Assert.Equal((original.RejectedTicks, original.RejectedUpdates, original.Updates), (loaded.RejectedTicks, loaded.RejectedUpdates, loaded.Updates));
    }

    /// <summary>Rewrites one value of a tensor in a safetensors file (a float, or a U32 word's bits).</summary>
    internal static void RewriteTensor(string path, string name, int index, float value)
    {
        var file = new SafeTensors.SafeTensorsFile(path);
        var entries = file.Tensors.Select(t =>
        {
            byte[] data = file.Raw(t).ToArray();
            if (t.Name == name) BitConverter.TryWriteBytes(data.AsSpan(4 * index, 4), value);
            return new SafeTensors.Entry(t.Name, t.DType, t.Shape, data);
        }).ToList();
        SafeTensors.Write(path, entries, [.. file.Metadata]);
    }

    /// <summary>
    /// A learner file holding a NaN or an infinity anywhere (weights, normalisation, optimiser
    /// state, hidden state, window, held prediction), a deviation that is not positive or a negative
    /// sum of squares is refused in one line naming the file, the tensor and the index; the weights
    /// and normalisation are the model file's, which RnnModel.Load refuses alike.
    /// </summary>
    [Theory]
    [InlineData("Whh", 5, float.NaN, "tensor 'Whh' holds NaN at index 5; every value must be finite.", true)]
    [InlineData("by", 1, float.PositiveInfinity, "tensor 'by' holds Infinity at index 1; every value must be finite.", true)]
    [InlineData("input_std", 1, 0f, "tensor 'input_std' holds 0 at index 1; a standard deviation must be positive.", true)]
    [InlineData("target_std", 0, -2f, "tensor 'target_std' holds -2 at index 0; a standard deviation must be positive.", true)]
    [InlineData("target_mean", 0, float.NaN, "tensor 'target_mean' holds NaN at index 0; every value must be finite.", true)]
    [InlineData("hidden_state", 2, float.NaN, "tensor 'hidden_state' holds NaN at index 2; every value must be finite.", false)]
    [InlineData("optimizer_state", 3, float.NegativeInfinity, "tensor 'optimizer_state' holds -Infinity at index 3; every value must be finite.", false)]
    [InlineData("optimizer_state", 106 + 3, -1f, "tensor 'optimizer_state' holds -1 at index 109; a sum of squared gradients cannot be negative.", false)]
    [InlineData("last_prediction", 1, float.NaN, "tensor 'last_prediction' holds NaN at index 1; every value must be finite.", false)]
    [InlineData("window_state", 3, float.NaN, "window_state is invalid: it holds an input that is not finite (word 3).", false)]
    [InlineData("window_state", 8 + 1, float.PositiveInfinity, "window_state is invalid: it holds a target that is not finite (word 9).", false)]
    [InlineData("window_state", 16 + 5, float.NaN, "window_state is invalid: it holds a recorded hidden state that is not finite (word 21).", false)]
    public void A_learner_file_holding_a_value_that_is_not_finite_is_refused(string tensor, int index, float value, string message, bool model)
    {
        string path = Path.Combine(_dir, "learner.safetensors");
        var learner = new OnlineLearner(Options("adam"), 2, 2, window: 4, updateEvery: 2, StartModel(true));
        var prediction = new float[2];
        for (int t = 0; t < 20; t++) learner.Step(Tick(t).X, Tick(t).Y, prediction);
        learner.Save(path);
        Assert.Equal(106, learner.Parameters.Length); // Adam's second moments start at index 106
        RewriteTensor(path, tensor, index, value);
        var e = Assert.Throws<WeightFileException>(() => OnlineLearner.Load(path));
        Assert.Equal($"{path}: {message}", e.Message);
        if (model) Assert.Equal(e.Message, Assert.Throws<WeightFileException>(() => RnnModel.Load(path)).Message);
        else Assert.Equal(learner.Parameters.ToArray(), RnnModel.Load(path).Parameters.ToArray());
    }
}
