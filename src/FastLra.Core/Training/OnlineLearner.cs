using System.Diagnostics;
using System.Runtime.CompilerServices;
using FastLra.IO;
using FastLra.Kernels;
using FastLra.Model;

namespace FastLra.Training;

/// <summary>Where an online learner's updates run.</summary>
public enum OnlineMode
{
    /// <summary>Inside the tick that is due: simple and deterministic; that tick costs one update.</summary>
    Inline,

    /// <summary>
    /// On a trainer thread of the learner's own, which takes the ticks from a lock-free queue and
    /// publishes new weights through a <see cref="ModelPublisher"/>: a tick never blocks, waits or
    /// allocates, and always predicts with a whole model. A trainer that falls behind skips due
    /// updates (it trains once on the newest window) and counts them.
    /// </summary>
    Background,
}

/// <summary>What one tick of an <see cref="OnlineLearner"/> did (<see cref="OnlineLearner.Step"/>).</summary>
public enum TickResult
{
    /// <summary>Predicted with the current weights; the target, when given, is recorded to learn from.</summary>
    Ok,

    /// <summary>
    /// Predicted, but the target holds a NaN or an infinity (or standardises to one): the tick is
    /// neither learnt from nor scored, and is counted in <see cref="OnlineLearner.RejectedTicks"/>.
    /// </summary>
    TargetRejected,

    /// <summary>
    /// The input holds a NaN or an infinity (or it, standardised, or the state or prediction it
    /// leads to would): nothing is predicted (the prediction holds the last one made), the
    /// streaming state is left as it was, nothing is learnt, and the tick is counted in
    /// <see cref="OnlineLearner.RejectedTicks"/>.
    /// </summary>
    InputRejected,

    /// <summary>
    /// Predicted (with the last good weights, which are finite), but the learner is
    /// <see cref="OnlineLearner.Diverged"/>: every update for <see cref="OnlineLearner.DivergedAfterWindows"/>
    /// windows was rejected. It goes on trying; the first update that is not rejected ends this.
    /// </summary>
    Diverged,
}

/// <summary>
/// Learns while a control loop runs, prequentially: each tick predicts with the current weights
/// (the streaming hidden state carried from tick to tick), then records the tick's input and
/// target, and every <see cref="UpdateEvery"/> ticks takes one optimiser step on the last
/// <see cref="Window"/> ticks as one sequence with an output at every step (BPTT, or LRA in the
/// local semantics), starting from the hidden state the stream had before the window's first
/// tick. A window of 1 is the fully local, fully online limit: one step from the state before it.
/// The update runs inline, inside the tick that is due, or on a trainer thread (<see cref="OnlineMode"/>).
/// After construction nothing allocates, on either thread.
/// </summary>
/// <remarks>
/// With a starting model that carries a normalisation, inputs and targets are standardised with it
/// before they are recorded, predictions are returned in original units, and the error statistics
/// are in original units too.
/// Nothing that is not finite is ever learnt from or kept: a tick whose input or target holds a NaN
/// or an infinity is rejected (<see cref="TickResult"/>), and an update whose loss, gradient,
/// resulting weights or optimiser state is not finite is rolled back (<see cref="RejectedUpdates"/>),
/// so the weights and the streaming state are always finite.
/// </remarks>
public sealed class OnlineLearner : IDisposable
{
    private readonly TickWindow _window;
    private readonly Workspace _workspace;
    private readonly Optimizer _optimizer;
    private readonly IGradientAlgorithm _algorithm;
    private readonly Normalization? _normalization;
    // The stream: its state, stepped by the weights being trained (inline) or the newest published;
    // the state before the tick (what the window records); the tick's standardised input and target.
    private readonly RnnState _state;
    private readonly RnnModel _live;
    private readonly float[] _before, _x, _y;
    private readonly double _decay;
    private double _squares, _weightedSquares, _weights;
    private long _scored, _sinceUpdate;

    // An update's snapshot of what it changes, restored when its result is not finite; and the
    // rejected updates in a row that make the learner diverged (written by the updating thread).
    private readonly float[] _savedParameters, _savedState;
    private readonly long _divergedAfter;
    private long _rejectedUpdates, _rejectedInARow;

    // Background mode only: the ticks' way to the trainer, the weights' way back, the thread, and
    // a lock the trainer holds while it works (Save takes it; the control thread never does).
    private readonly TickQueue? _queue;
    private readonly ModelPublisher? _publisher;
    private readonly Thread? _trainer;
    private readonly Lock _training = new();
    private volatile bool _stopping;
    private long _updates, _skipped, _trainerAllocated;

    // Background mode, control thread only: a tick advanced the stream without reaching the queue,
    // so the next queued tick restarts the trainer's window.
    private bool _restartPending;

    /// <summary>Background mode: bytes the trainer thread allocated after its first update (the tests' check that it allocates nothing).</summary>
    internal long TrainerAllocatedBytes => Volatile.Read(ref _trainerAllocated);

    /// <summary>Background mode: ticks queued for the trainer and not yet taken (0 inline).</summary>
    internal long QueuedTicks => _queue?.Count ?? 0;

    /// <summary>The optimiser's state and steps (the tests' view of a rolled-back update).</summary>
    internal ReadOnlySpan<float> OptimizerState => _optimizer.State;

    internal long OptimizerSteps => _optimizer.StepCount;

    /// <summary>A learner for ticks of I inputs and O targets.</summary>
    /// <param name="options">Hidden width, algorithm, optimiser, learning rate, clipping, LRA settings and seed (the batch is one window).</param>
    /// <param name="inputs">I per tick.</param>
    /// <param name="outputs">O per tick.</param>
    /// <param name="window">W: the ticks each update trains on (at least 1).</param>
    /// <param name="updateEvery">U: ticks between updates (at least 1).</param>
    /// <param name="start">The model to start from (its shape must be I, H, O), or null for an orthogonal initialisation.</param>
    /// <param name="errorHalfLife">Ticks over which <see cref="RecentRmse"/>'s weights halve.</param>
    /// <param name="mode">Inline updates, or a trainer thread (started here; <see cref="Dispose"/> stops it).</param>
    public OnlineLearner(TrainingOptions options, int inputs, int outputs, int window, int updateEvery, RnnModel? start = null, double errorHalfLife = 1000,
        OnlineMode mode = OnlineMode.Inline)
        : this(options, inputs, outputs, window, updateEvery, start, errorHalfLife, mode, startTrainer: true)
    {
    }

    // Load builds the learner, restores its state, and only then starts its trainer.
    private OnlineLearner(TrainingOptions options, int inputs, int outputs, int window, int updateEvery, RnnModel? start, double errorHalfLife,
        OnlineMode mode, bool startTrainer)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (window is < 1 or > OnlineOptions.MaxWindow)
            throw new ArgumentOutOfRangeException(nameof(window), window, $"The window holds from 1 to {OnlineOptions.MaxWindow} ticks.");
        if (updateEvery < 1) throw new ArgumentOutOfRangeException(nameof(updateEvery), updateEvery, "Updates come every one tick or more.");
        if (!(errorHalfLife > 0)) throw new ArgumentOutOfRangeException(nameof(errorHalfLife), errorHalfLife, "The half-life must be positive.");
        if (options.Algorithm == AlgorithmKind.Lra && options.Semantics == LraSemantics.Reference)
            throw new ArgumentException("Online learning takes BPTT or LRA in the local semantics; " + Lra.ReferencePerStepRefusal);
        options = options with { Batch = 1 };
        string? problem = options.Problem();
        if (problem is not null) throw new ArgumentException(problem);
        var shape = options.Shape(inputs, outputs);
        if (start is not null && start.Shape != shape) throw new ArgumentException($"The starting model is {start.Shape}; the learner needs {shape}.");
        problem = RunSpec.Cost(options, TickWindow.LayoutOf(window, inputs, outputs), 1, 0);
        if (problem is not null) throw new ArgumentException($"A window of {window} ticks: {problem}");
        _window = new TickWindow(window, inputs, outputs, shape.StateLength);
        Options = options;
        (_workspace, _optimizer, _algorithm) = TrainingRun.Wire(options, _window.Layout, 1, start?.Weights);
        _normalization = start?.Normalization;
        _live = RnnModel.Over(_workspace.Parameters, _normalization);
        _state = new RnnState(_live);
        _before = new float[shape.StateLength];
        _x = new float[inputs];
        _y = new float[outputs];
        _savedParameters = new float[_workspace.Parameters.Data.Length];
        _savedState = new float[_optimizer.State.Length];
        _divergedAfter = DivergedAfterWindows * (((long)window + updateEvery - 1) / updateEvery);
        _decay = Math.Pow(0.5, 1 / errorHalfLife);
        ErrorHalfLife = errorHalfLife;
        UpdateEvery = updateEvery;
        Mode = mode;
        if (mode == OnlineMode.Background)
        {
            // Room for several windows' worth of ticks, so a trainer busy with one update drops none.
            _queue = new TickQueue(Math.Max(1024, 4 * (window + updateEvery)), inputs, outputs, shape.StateLength);
            _publisher = new ModelPublisher(new RnnModel(_workspace.Parameters, _normalization));
            _trainer = new Thread(Train) { IsBackground = true, Name = "FastLra online trainer" };
            if (startTrainer) _trainer.Start();
        }
    }

    /// <summary>Inline or background updates.</summary>
    public OnlineMode Mode { get; }

    /// <summary>Background mode: due updates the trainer skipped because it was still busy (0 inline).</summary>
    public long SkippedUpdates => Interlocked.Read(ref _skipped);

    /// <summary>Background mode: ticks not learnt from because the trainer's queue was full (they were still predicted).</summary>
    public long DroppedTicks { get; private set; }

    /// <summary>
    /// Ticks rejected because their input or target was not finite (<see cref="TickResult.InputRejected"/>,
    /// <see cref="TickResult.TargetRejected"/>): never learnt from, never scored.
    /// </summary>
    public long RejectedTicks { get; private set; }

    /// <summary>
    /// Updates rolled back because their loss, gradient, resulting weights or optimiser state was
    /// not finite: the weights, the optimiser state and its step count stay as before each. Not
    /// counted in <see cref="Updates"/>.
    /// </summary>
    public long RejectedUpdates => Interlocked.Read(ref _rejectedUpdates);

    /// <summary>
    /// How many windows' worth of updates in a row must all be rejected before the learner reports
    /// itself <see cref="Diverged"/>: 3, that is 3 ceil(W / U) rejected updates and no update between.
    /// A bad stretch of ticks shorter than a window makes fewer.
    /// </summary>
    public const int DivergedAfterWindows = 3;

    /// <summary>
    /// Whether the learner cannot recover for now: its last <see cref="DivergedAfterWindows"/> ceil(W / U)
    /// updates were all rejected. It still predicts, with the last good weights (finite), every tick
    /// then returns <see cref="TickResult.Diverged"/> (unless its input is rejected), and the first
    /// update that is not rejected ends it.
    /// </summary>
    public bool Diverged => Volatile.Read(ref _rejectedInARow) >= _divergedAfter;

    /// <summary>The training options (with a batch of one window).</summary>
    public TrainingOptions Options { get; }

    /// <summary>I, H, O.</summary>
    public RnnShape Shape => _workspace.Parameters.Shape;

    /// <summary>W: the ticks each update trains on.</summary>
    public int Window => _window.Layout.Steps;

    /// <summary>U: ticks between updates.</summary>
    public int UpdateEvery { get; }

    /// <summary>Ticks over which <see cref="RecentRmse"/>'s weights halve.</summary>
    public double ErrorHalfLife { get; }

    /// <summary>The current weights, in the flat layout of <see cref="RnnShape"/> (in background mode, read them after <see cref="Dispose"/>, or use <see cref="ToModel"/>).</summary>
    public ReadOnlySpan<float> Parameters => _workspace.Parameters.Data;

    /// <summary>Ticks so far.</summary>
    public long Ticks { get; private set; }

    /// <summary>Updates (optimiser steps) so far, rejected ones not included.</summary>
    public long Updates => Interlocked.Read(ref _updates);

    /// <summary>The last update's duration in seconds, rejected or not (0 before the first).</summary>
    public double LastUpdateSeconds { get; private set; }

    /// <summary>The time every update took, rejected ones included, in seconds: with <see cref="Updates"/> and <see cref="RejectedUpdates"/>, what an update costs on average.</summary>
    public double UpdateSeconds { get; private set; }

    /// <summary>The last update's training loss on its window, rejected updates aside (NaN before the first).</summary>
    public double LastUpdateLoss { get; private set; } = double.NaN;

    /// <summary>Root mean squared prediction error over every tick with a target so far (original units; NaN before one).</summary>
    public double Rmse => _scored == 0 ? double.NaN : Math.Sqrt(_squares / _scored);

    /// <summary>The same, weighted towards recent ticks (weights halve every errorHalfLife ticks): how well it tracks now.</summary>
    public double RecentRmse => _weights == 0 ? double.NaN : Math.Sqrt(_weightedSquares / _weights);

    /// <summary>
    /// One tick: writes the prediction of the current weights for input <paramref name="x"/> (I)
    /// into <paramref name="prediction"/> (O), then learns from <paramref name="target"/> (O, the
    /// true value of this tick's output). An empty target predicts only: the tick is neither
    /// recorded nor scored, and the streaming state still advances. No allocation, whatever the
    /// result.
    /// </summary>
    /// <returns>
    /// <see cref="TickResult.Ok"/>; or, for a tick that is not finite, <see cref="TickResult.InputRejected"/>
    /// (the prediction then holds the last one made, zeros before the first, and the state is
    /// unchanged) or <see cref="TickResult.TargetRejected"/> (predicted, not learnt from); or
    /// <see cref="TickResult.Diverged"/> while the learner is <see cref="Diverged"/>.
    /// </returns>
    public TickResult Step(ReadOnlySpan<float> x, ReadOnlySpan<float> target, Span<float> prediction)
    {
        var shape = Shape;
        if (x.Length != shape.Inputs || prediction.Length != shape.Outputs || (!target.IsEmpty && target.Length != shape.Outputs))
            ThrowHelper.Argument($"A tick takes {shape.Inputs} inputs, {shape.Outputs} targets (or none) and {shape.Outputs} outputs.");
        // Inline, the weights being trained; in the background, the newest whole model published.
        var model = _publisher is null ? _live : _publisher.Acquire();
        _state.Hidden.CopyTo(_before);
        Ticks++;
        // A step that is not finite (its input, or the prediction finite weights overflowed to) is
        // refused by the state, which keeps itself and holds the last prediction.
        if (!_state.TryStep(model, x, prediction))
        {
            RejectedTicks++;
            return TickResult.InputRejected;
        }
        if (target.IsEmpty) return Health(TickResult.Ok);

        ReadOnlySpan<float> y = target;
        if (_normalization is { HasTargets: true } m)
        {
            for (int j = 0; j < _y.Length; j++) _y[j] = (target[j] - m.TargetMean[j]) / m.TargetStd[j];
            y = _y;
        }
        if (!Reductions.AllFinite(y))
        {
            // The stream goes on past a tick the window does not get: the window cannot span it.
            RejectedTicks++;
            Restart();
            return Health(TickResult.TargetRejected);
        }

        double squares = MeanSquaredError(prediction, target);
        _squares += squares;
        _scored++;
        _weightedSquares = _weightedSquares * _decay + squares;
        _weights = _weights * _decay + 1;

        ReadOnlySpan<float> input = x;
        if (_normalization is { } n)
        {
            n.NormalizeInput(x, _x);
            input = _x;
        }
        if (_queue is null)
        {
            _window.Add(input, y, _before);
            if (Due()) Update();
        }
        else if (_queue.TryAdd(input, y, _before, _restartPending))
        {
            _restartPending = false;
        }
        else
        {
            DroppedTicks++;
            _restartPending = true;
        }
        return Health(TickResult.Ok);
    }

    private TickResult Health(TickResult result) => Diverged ? TickResult.Diverged : result;

    /// <summary>The window starts again before the next recorded tick (in the background, the trainer's, through the queue).</summary>
    private void Restart()
    {
        if (_queue is null) _window.Restart();
        else _restartPending = true;
    }

    /// <summary>
    /// One tick's error: the mean over the outputs of the squared differences, in double (a
    /// difference too large for a float is taken in double, so a huge finite error stays finite).
    /// </summary>
    internal static double MeanSquaredError(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target)
    {
        double sum = 0;
        for (int j = 0; j < target.Length; j++)
        {
            float d = prediction[j] - target[j];
            double e = float.IsFinite(d) ? d : (double)prediction[j] - target[j];
            sum += e * e;
        }
        return sum / target.Length;
    }

    /// <summary>Counts a recorded tick; true when it makes an update due (and starts the count again).</summary>
    private bool Due()
    {
        if (++_sinceUpdate < UpdateEvery || !_window.Full) return false;
        _sinceUpdate = 0;
        return true;
    }

    /// <summary>
    /// One optimiser step on the window: the tick's inline cost when an update is due. An update
    /// whose loss or gradient is not finite takes no step; one whose step leaves a weight or the
    /// optimiser's state not finite is undone from a snapshot (weights, optimiser state, step
    /// count). Either is counted as rejected. Returns whether the step was kept.
    /// </summary>
    private bool Update()
    {
        long start = Stopwatch.GetTimestamp();
        var ws = _workspace;
        _window.NextBatch(ws.Sequences);
        float loss = _algorithm.ComputeGradients(ws.Sequences);
        bool kept = float.IsFinite(loss) && Reductions.AllFinite(ws.Gradients.Data);
        if (kept)
        {
            ws.Parameters.Data.CopyTo(_savedParameters);
            _optimizer.State.CopyTo(_savedState);
            _optimizer.Step(ws.Parameters, ws.Gradients);
            kept = Reductions.AllFinite(ws.Parameters.Data) && Reductions.AllFinite(_optimizer.State);
            if (!kept)
            {
                _savedParameters.CopyTo(ws.Parameters.Data);
                _savedState.CopyTo(_optimizer.State);
                _optimizer.RestoreStepCount(_optimizer.StepCount - 1);
            }
        }
        if (kept)
        {
            LastUpdateLoss = loss;
            Interlocked.Increment(ref _updates);
            Volatile.Write(ref _rejectedInARow, 0);
        }
        else
        {
            Interlocked.Increment(ref _rejectedUpdates);
            Volatile.Write(ref _rejectedInARow, _rejectedInARow + 1);
        }
        LastUpdateSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        UpdateSeconds += LastUpdateSeconds;
        return kept;
    }

    /// <summary>
    /// The trainer thread: takes every queued tick into the window, then, if updates came due, one
    /// update on the newest window (the others skipped and counted) and a publication. Idle, it
    /// spins and yields for a while (a fast loop's next tick is microseconds away), then sleeps a
    /// millisecond at a time, so an idle learner costs no core. Compiled fully optimised at its
    /// first call: a loop that runs for the learner's life would otherwise be recompiled on its own
    /// thread mid-run (on-stack replacement), a pause and an allocation on the trainer thread.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Train()
    {
        long baseline = -1, published = 0;
        bool pending = false;
        var spinner = new SpinWait();
        while (!_stopping)
        {
            bool idle;
            lock (_training)
            {
                long due = Drain();
                idle = due == 0;
                if (due > 0)
                {
                    pending |= Update();
                    Interlocked.Add(ref _skipped, due - 1);
                    if (baseline < 0) baseline = GC.GetAllocatedBytesForCurrentThread();
                }
            }
            // New weights reach the control thread at most once per PublishInterval: the first tick
            // after a publication reads weights another core wrote (cache misses), so fewer
            // publications keep the ticks' tail short; the weights are at most that much late.
            if (pending && Stopwatch.GetTimestamp() - published >= PublishInterval)
            {
                _publisher!.Publish(_workspace.Parameters.Data);
                published = Stopwatch.GetTimestamp();
                pending = false;
            }
            if (baseline >= 0) Volatile.Write(ref _trainerAllocated, GC.GetAllocatedBytesForCurrentThread() - baseline);
            if (!idle) spinner.Reset();
            else if (spinner.Count < IdleSpins) spinner.SpinOnce(sleep1Threshold: -1);
            else Thread.Sleep(1);
        }
    }

    // SpinOnce calls before the trainer sleeps: spins, then yields, some hundreds of microseconds in all.
    private const int IdleSpins = 200;

    /// <summary>The least time between two publications of new weights in background mode: a millisecond.</summary>
    private static readonly long PublishInterval = Stopwatch.Frequency / 1000;

    /// <summary>Moves the queued ticks into the window; returns how many updates came due. Under the training lock.</summary>
    private long Drain()
    {
        long due = 0;
        while (_queue!.TryTake(_window))
            if (Due()) due++;
        return due;
    }

    /// <summary>Background mode: stops the trainer thread (after its update in progress). Inline, nothing to do.</summary>
    public void Dispose()
    {
        if (_trainer is null || _stopping) return;
        _stopping = true;
        _trainer.Join();
    }

    /// <summary>The streaming hidden state back to zero (a new episode); the weights and the window stay.</summary>
    public void ResetState() => _state.Reset();

    /// <summary>
    /// A model of the current weights (a copy, with the starting model's normalisation), to save or
    /// to run elsewhere. In background mode it waits for the trainer's update in progress: not for the tick path.
    /// </summary>
    public RnnModel ToModel()
    {
        lock (_training) return new(_workspace.Parameters, _normalization);
    }

    /// <summary>What a learner file's metadata says it is.</summary>
    public const string Format = "fastlra-online-1";

    /// <summary>Whether a file holds tensors only a learner's file has (a plain model or a checkpoint has none).</summary>
    internal static bool HasLearnerState(SafeTensors.SafeTensorsFile file) =>
        file.Find("window_state") is not null || file.Find("hidden_state") is not null || file.Find("last_prediction") is not null;

    /// <summary>
    /// Writes the learner's whole state atomically (temporary file, fsync, rename, directory
    /// fsync): the weights and normalisation as a model file any FastLra reader loads, and the
    /// optimiser, the window, the streaming state, the counters and the statistics, so that
    /// <see cref="Load"/> continues exactly where this learner is.
    /// </summary>
    /// <remarks>
    /// In background mode call it from the control thread, between ticks: it waits for the
    /// trainer's update in progress, takes the queued ticks into the window, and saves while the
    /// trainer waits (ticks meanwhile are never blocked: they only queue).
    /// </remarks>
    public void Save(string path)
    {
        if (_queue is null)
        {
            Write(path);
            return;
        }
        lock (_training)
        {
            // Ticks queued but not yet taken belong to the window; updates they make due wait for the trainer.
            while (_queue.TryTake(_window)) _sinceUpdate++;
            if (_restartPending)
            {
                _window.Restart();
                _restartPending = false;
            }
            Write(path);
        }
    }

    private void Write(string path)
    {
        var entries = ModelFile.Entries(_workspace.Parameters, _normalization);
        entries.Add(SafeTensors.Floats("optimizer_state", [_optimizer.State.Length], _optimizer.State));
        var window = new uint[_window.StateLength];
        _window.SaveState(window);
        entries.Add(SafeTensors.UInt32s("window_state", window));
        entries.Add(SafeTensors.Floats("hidden_state", [_state.Hidden.Length], _state.Hidden));
        entries.Add(SafeTensors.Floats("last_prediction", [_state.LastOutput.Length], _state.LastOutput));
        var m = TrainingOptionTable.Describe(Options, OptionUse.Learner);
        m.Add(new("format", Format));
        m.Add(new("window", Checkpoint.I(Window)));
        m.Add(new("update_every", Checkpoint.I(UpdateEvery)));
        m.Add(new("error_half_life", Checkpoint.D(ErrorHalfLife)));
        m.Add(new("ticks", Checkpoint.I(Ticks)));
        m.Add(new("updates", Checkpoint.I(Updates)));
        m.Add(new("since_update", Checkpoint.I(_sinceUpdate)));
        m.Add(new("optimizer_steps", Checkpoint.I(_optimizer.StepCount)));
        m.Add(new("scored", Checkpoint.I(_scored)));
        m.Add(new("squares", Checkpoint.D(_squares)));
        m.Add(new("weighted_squares", Checkpoint.D(_weightedSquares)));
        m.Add(new("weights", Checkpoint.D(_weights)));
        m.Add(new("last_update_loss", Checkpoint.D(LastUpdateLoss)));
        m.Add(new("last_update_seconds", Checkpoint.D(LastUpdateSeconds)));
        m.Add(new("rejected_ticks", Checkpoint.I(RejectedTicks)));
        m.Add(new("rejected_updates", Checkpoint.I(RejectedUpdates)));
        m.Add(new("rejected_in_a_row", Checkpoint.I(_rejectedInARow)));
        SafeTensors.Write(path, entries, ModelFile.WithShape(Shape, m));
    }

    /// <summary>
    /// A learner as <see cref="Save"/> left it, updating in <paramref name="mode"/>; inline, it goes
    /// on bit for bit as the saved one would have. Every field is checked before it is trusted; a
    /// bad file is a <see cref="WeightFileException"/> naming the problem.
    /// </summary>
    public static OnlineLearner Load(string path, OnlineMode mode = OnlineMode.Inline)
    {
        var file = new SafeTensors.SafeTensorsFile(path);
        var m = file.Metadata;
        if (!m.TryGetValue("format", out string? format) || format != Format)
            throw new WeightFileException($"{path}: not a FastLra online learner (its metadata has no format '{Format}').");
        TrainingOptions options;
        try
        {
            options = TrainingOptionTable.ReadOptions(m, OptionUse.Learner);
        }
        catch (OptionException e)
        {
            throw new WeightFileException($"{path}: the learner's configuration is invalid: {e.Message}");
        }
        var (start, _) = ModelFile.Read(file);
        var shape = start.Shape;
        long window = Checkpoint.Long(m, "window", path), every = Checkpoint.Long(m, "update_every", path);
        double halfLife = Checkpoint.Double(m, "error_half_life", path);
        options = options with { Hidden = shape.Hidden, Cell = shape.Cell, Layers = shape.Layers };
        if (window is < 1 or > int.MaxValue) throw Checkpoint.Bad(path, "window");
        if (every is < 1 or > int.MaxValue) throw Checkpoint.Bad(path, "update_every");
        OnlineLearner learner;
        try
        {
            learner = new OnlineLearner(options, shape.Inputs, shape.Outputs, (int)window, (int)every, start, halfLife, mode, startTrainer: false);
        }
        catch (ArgumentException e)
        {
            throw new WeightFileException($"{path}: the learner's configuration is invalid: {e.Message}");
        }
        var optimizer = Checkpoint.Find(file, "optimizer_state");
        var windowState = Checkpoint.Find(file, "window_state");
        var hidden = Checkpoint.Find(file, "hidden_state");
        if (optimizer.Shape is not [var o] || o != learner._optimizer.State.Length) throw new WeightFileException($"{path}: optimizer_state does not fit the learner.");
        if (windowState.Shape is not [var w] || w != learner._window.StateLength) throw new WeightFileException($"{path}: window_state does not fit the learner.");
        if (hidden.Shape is not [var h] || h != learner._before.Length) throw new WeightFileException($"{path}: hidden_state does not fit the learner.");
        file.ReadFloats(optimizer, learner._optimizer.State);
        Checkpoint.CheckOptimizerState(path, options.Optimizer, learner._optimizer.State, learner._savedParameters.Length);
        file.ReadFloats(hidden, learner._before);
        ModelFile.CheckFinite(path, "hidden_state", learner._before);
        learner._state.Restore(learner._before);
        // Files from before rejected inputs were held have none: the held prediction starts at zero.
        if (file.Find("last_prediction") is { } last)
        {
            var held = learner._state.LastOutput;
            if (last.Shape is not [var l] || l != held.Length) throw new WeightFileException($"{path}: last_prediction does not fit the learner.");
            file.ReadFloats(last, held);
            ModelFile.CheckFinite(path, "last_prediction", held);
        }
        var words = new uint[learner._window.StateLength];
        file.ReadUInt32s(windowState, words);
        try
        {
            learner._window.RestoreState(words);
        }
        catch (ArgumentException e)
        {
            throw new WeightFileException($"{path}: window_state is invalid: {e.Message}");
        }
        // Every count is bounded by the ones it is part of, so none can wrap or contradict another.
        long ticks = Checkpoint.Count(m, "ticks", path, Checkpoint.MaxCount);
        long updates = Checkpoint.Count(m, "updates", path, ticks, "the ticks");
        long since = Checkpoint.Count(m, "since_update", path, ticks, "the ticks");
        long scored = Checkpoint.Count(m, "scored", path, ticks, "the ticks");
        long rejectedTicks = Checkpoint.Count(m, "rejected_ticks", path, ticks - scored, missing: 0, "the ticks not scored");
        long rejectedUpdates = Checkpoint.Count(m, "rejected_updates", path, ticks - updates, missing: 0, "the ticks without an update");
        long inARow = Checkpoint.Count(m, "rejected_in_a_row", path, rejectedUpdates, missing: 0, "the rejected updates");
        long steps = Checkpoint.Long(m, "optimizer_steps", path);
        if (steps != updates)
            throw new WeightFileException($"{path}: metadata 'optimizer_steps' is {Checkpoint.I(steps)}; a learner takes one step per update ({Checkpoint.I(updates)}).");
        if (learner._window.Count > scored)
            throw new WeightFileException($"{path}: window_state holds {learner._window.Count} ticks, more than the {scored} scored; the learner's counters are inconsistent.");
        learner._optimizer.RestoreStepCount(steps);
        (learner.Ticks, learner._updates, learner._sinceUpdate, learner._scored) = (ticks, updates, since, scored);
        (learner.RejectedTicks, learner._rejectedUpdates, learner._rejectedInARow) = (rejectedTicks, rejectedUpdates, inARow);
        learner._squares = Checkpoint.NonNegative(m, "squares", path);
        learner._weightedSquares = Checkpoint.NonNegative(m, "weighted_squares", path);
        learner._weights = Checkpoint.NonNegative(m, "weights", path);
        double loss = Checkpoint.Double(m, "last_update_loss", path);
        if (!double.IsNaN(loss) && !(double.IsFinite(loss) && loss >= 0))
            throw new WeightFileException($"{path}: metadata 'last_update_loss' is {Checkpoint.D(loss)}; a loss is finite and not negative (NaN before the first update).");
        learner.LastUpdateLoss = loss;
        learner.LastUpdateSeconds = Checkpoint.NonNegative(m, "last_update_seconds", path);
        learner._trainer?.Start();
        return learner;
    }
}
