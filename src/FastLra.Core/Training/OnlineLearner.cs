using System.Diagnostics;
using FastLra.IO;
using FastLra.Model;

namespace FastLra.Training;

/// <summary>
/// Learns while a control loop runs, prequentially: each tick predicts with the current weights
/// (the streaming hidden state carried from tick to tick), then records the tick's input and
/// target, and every <see cref="UpdateEvery"/> ticks takes one optimiser step on the last
/// <see cref="Window"/> ticks as one sequence with an output at every step (BPTT, or LRA in the
/// local semantics), starting from the hidden state the stream had before the window's first
/// tick. A window of 1 is the fully local, fully online limit: one step from the state before it.
/// The update runs inline, inside the tick that is due. After construction nothing allocates.
/// </summary>
/// <remarks>
/// With a starting model that carries a normalisation, inputs and targets are standardised with it
/// before they are recorded, predictions are returned in original units, and the error statistics
/// are in original units too.
/// </remarks>
public sealed class OnlineLearner
{
    private readonly TickWindow _window;
    private readonly Workspace _workspace;
    private readonly Optimizer _optimizer;
    private readonly IGradientAlgorithm _algorithm;
    private readonly Normalization? _normalization;
    private readonly float[] _h, _next, _x, _y;
    private readonly double _decay;
    private double _squares, _weightedSquares, _weights;
    private long _scored, _sinceUpdate;

    /// <summary>A learner for ticks of I inputs and O targets.</summary>
    /// <param name="options">Hidden width, algorithm, optimiser, learning rate, clipping, LRA settings and seed (the batch is one window).</param>
    /// <param name="inputs">I per tick.</param>
    /// <param name="outputs">O per tick.</param>
    /// <param name="window">W: the ticks each update trains on (at least 1).</param>
    /// <param name="updateEvery">U: ticks between updates (at least 1).</param>
    /// <param name="start">The model to start from (its shape must be I, H, O), or null for an orthogonal initialisation.</param>
    /// <param name="errorHalfLife">Ticks over which <see cref="RecentRmse"/>'s weights halve.</param>
    public OnlineLearner(TrainingOptions options, int inputs, int outputs, int window, int updateEvery, RnnModel? start = null, double errorHalfLife = 1000)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (window < 1) throw new ArgumentOutOfRangeException(nameof(window), window, "The window must hold at least one tick.");
        if (updateEvery < 1) throw new ArgumentOutOfRangeException(nameof(updateEvery), updateEvery, "Updates come every one tick or more.");
        if (!(errorHalfLife > 0)) throw new ArgumentOutOfRangeException(nameof(errorHalfLife), errorHalfLife, "The half-life must be positive.");
        if (options.Algorithm == AlgorithmKind.Lra && options.Semantics == LraSemantics.Reference)
            throw new ArgumentException("Online learning takes BPTT or LRA in the local semantics; " + Lra.ReferencePerStepRefusal);
        options = options with { Batch = 1 };
        string? problem = options.ValidateTraining();
        if (problem is not null) throw new ArgumentException(problem);
        if (start is not null && start.Shape != new RnnShape(inputs, options.Hidden, outputs))
            throw new ArgumentException($"The starting model is {start.Shape}; the learner needs I={inputs}, H={options.Hidden}, O={outputs}.");
        problem = options.ValidateCost(inputs, outputs, window, 0, 0);
        if (problem is not null) throw new ArgumentException($"A window of {window} ticks: {problem}");
        Options = options;
        _window = new TickWindow(window, inputs, outputs, options.Hidden);
        (_workspace, _optimizer, _algorithm) = Trainer.Wire(options, _window.Layout, 1, start?.Weights);
        _normalization = start?.Normalization;
        _h = new float[options.Hidden];
        _next = new float[options.Hidden];
        _x = new float[inputs];
        _y = new float[outputs];
        _decay = Math.Pow(0.5, 1 / errorHalfLife);
        ErrorHalfLife = errorHalfLife;
        UpdateEvery = updateEvery;
    }

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

    /// <summary>The current weights, in the flat layout of <see cref="RnnShape"/>.</summary>
    public ReadOnlySpan<float> Parameters => _workspace.Parameters.Data;

    /// <summary>Ticks so far.</summary>
    public long Ticks { get; private set; }

    /// <summary>Updates (optimiser steps) so far.</summary>
    public long Updates { get; private set; }

    /// <summary>The last update's duration in seconds (0 before the first).</summary>
    public double LastUpdateSeconds { get; private set; }

    /// <summary>The last update's training loss on its window (NaN before the first).</summary>
    public double LastUpdateLoss { get; private set; } = double.NaN;

    /// <summary>Root mean squared prediction error over every tick with a target so far (original units; NaN before one).</summary>
    public double Rmse => _scored == 0 ? double.NaN : Math.Sqrt(_squares / _scored);

    /// <summary>The same, weighted towards recent ticks (weights halve every errorHalfLife ticks): how well it tracks now.</summary>
    public double RecentRmse => _weights == 0 ? double.NaN : Math.Sqrt(_weightedSquares / _weights);

    /// <summary>
    /// One tick: writes the prediction of the current weights for input <paramref name="x"/> (I)
    /// into <paramref name="prediction"/> (O), then learns from <paramref name="target"/> (O, the
    /// true value of this tick's output). An empty target predicts only: the tick is neither
    /// recorded nor scored, and the streaming state still advances. No allocation.
    /// </summary>
    public void Step(ReadOnlySpan<float> x, ReadOnlySpan<float> target, Span<float> prediction)
    {
        var shape = Shape;
        if (x.Length != shape.Inputs || prediction.Length != shape.Outputs || (!target.IsEmpty && target.Length != shape.Outputs))
            ThrowHelper.Argument($"A tick takes {shape.Inputs} inputs, {shape.Outputs} targets (or none) and {shape.Outputs} outputs.");
        var p = _workspace.Parameters;
        ReadOnlySpan<float> input = x;
        if (_normalization is { } n)
        {
            n.NormalizeInput(x, _x);
            input = _x;
        }
        // _h is the state before this tick until the tick is recorded; _next the state after it.
        Rnn.StepForward(p, input, _h, 1, _next, _next);
        Rnn.OutputForward(p, _next, 1, prediction);
        _normalization?.DenormalizeOutputs(prediction);
        Ticks++;
        if (target.IsEmpty)
        {
            _next.CopyTo(_h, 0);
            return;
        }

        double squares = 0;
        for (int j = 0; j < target.Length; j++) squares += (double)(prediction[j] - target[j]) * (prediction[j] - target[j]);
        squares /= target.Length;
        _squares += squares;
        _scored++;
        _weightedSquares = _weightedSquares * _decay + squares;
        _weights = _weights * _decay + 1;

        if (_normalization is { HasTargets: true } m)
        {
            for (int j = 0; j < _y.Length; j++) _y[j] = (target[j] - m.TargetMean[j]) / m.TargetStd[j];
            _window.Add(input, _y, _h);
        }
        else
        {
            _window.Add(input, target, _h);
        }
        _next.CopyTo(_h, 0);
        if (++_sinceUpdate >= UpdateEvery && _window.Full) Update();
    }

    /// <summary>One optimiser step on the window: the tick's inline cost when an update is due.</summary>
    private void Update()
    {
        long start = Stopwatch.GetTimestamp();
        var ws = _workspace;
        _window.NextBatch(ws.Sequences);
        LastUpdateLoss = _algorithm.ComputeGradients(ws.Sequences);
        _optimizer.Step(ws.Parameters, ws.Gradients);
        Updates++;
        _sinceUpdate = 0;
        LastUpdateSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>The streaming hidden state back to zero (a new episode); the weights and the window stay.</summary>
    public void ResetState() => Array.Clear(_h);

    /// <summary>A model of the current weights (a copy, with the starting model's normalisation), to save or to run elsewhere.</summary>
    public RnnModel ToModel() => new(_workspace.Parameters, _normalization);

    /// <summary>What a learner file's metadata says it is.</summary>
    public const string Format = "fastlra-online-1";

    /// <summary>
    /// Writes the learner's whole state atomically (temporary file, fsync, rename, directory
    /// fsync): the weights and normalisation as a model file any FastLra reader loads, and the
    /// optimiser, the window, the streaming state, the counters and the statistics, so that
    /// <see cref="Load"/> continues exactly where this learner is.
    /// </summary>
    public void Save(string path)
    {
        var entries = ModelFile.Entries(_workspace.Parameters, _normalization);
        entries.Add(SafeTensors.Floats("optimizer_state", [_optimizer.State.Length], _optimizer.State));
        var window = new uint[_window.StateLength];
        _window.SaveState(window);
        entries.Add(SafeTensors.UInt32s("window_state", window));
        entries.Add(SafeTensors.Floats("hidden_state", [_h.Length], _h));
        var m = Checkpoint.Metadata(Options);
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
        SafeTensors.Write(path, entries, m);
    }

    /// <summary>
    /// A learner as <see cref="Save"/> left it; it goes on bit for bit as the saved one would have.
    /// Every field is checked before it is trusted; a bad file is a <see cref="WeightFileException"/> naming the problem.
    /// </summary>
    public static OnlineLearner Load(string path)
    {
        var file = new SafeTensors.SafeTensorsFile(path);
        var m = file.Metadata;
        if (!m.TryGetValue("format", out string? format) || format != Format)
            throw new WeightFileException($"{path}: not a FastLra online learner (its metadata has no format '{Format}').");
        TrainingOptions options;
        try
        {
            options = TrainingOptionTable.Read(m);
        }
        catch (OptionException e)
        {
            throw new WeightFileException($"{path}: the learner's configuration is invalid: {e.Message}");
        }
        var (parameters, _) = ModelFile.Load(file);
        var shape = parameters.Shape;
        long window = Checkpoint.Long(m, "window", path), every = Checkpoint.Long(m, "update_every", path);
        double halfLife = Checkpoint.Double(m, "error_half_life", path);
        if (shape.Hidden != options.Hidden) throw Checkpoint.Bad(path, "hidden");
        if (window is < 1 or > int.MaxValue) throw Checkpoint.Bad(path, "window");
        if (every is < 1 or > int.MaxValue) throw Checkpoint.Bad(path, "update_every");
        OnlineLearner learner;
        try
        {
            learner = new OnlineLearner(options, shape.Inputs, shape.Outputs, (int)window, (int)every,
                new RnnModel(parameters, ModelFile.LoadNormalization(file, shape)), halfLife);
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
        if (hidden.Shape is not [var h] || h != learner._h.Length) throw new WeightFileException($"{path}: hidden_state does not fit the learner.");
        file.ReadFloats(optimizer, learner._optimizer.State);
        file.ReadFloats(hidden, learner._h);
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
        long steps = Checkpoint.Long(m, "optimizer_steps", path), ticks = Checkpoint.Long(m, "ticks", path);
        long updates = Checkpoint.Long(m, "updates", path), since = Checkpoint.Long(m, "since_update", path), scored = Checkpoint.Long(m, "scored", path);
        if (steps < 0 || ticks < 0 || updates is < 0 || updates > ticks || since < 0 || since > ticks || scored < 0 || scored > ticks || learner._window.Count > ticks)
            throw new WeightFileException($"{path}: the learner's counters are inconsistent.");
        learner._optimizer.RestoreStepCount(steps);
        (learner.Ticks, learner.Updates, learner._sinceUpdate, learner._scored) = (ticks, updates, since, scored);
        learner._squares = Checkpoint.Double(m, "squares", path);
        learner._weightedSquares = Checkpoint.Double(m, "weighted_squares", path);
        learner._weights = Checkpoint.Double(m, "weights", path);
        learner.LastUpdateLoss = Checkpoint.Double(m, "last_update_loss", path);
        learner.LastUpdateSeconds = Checkpoint.Double(m, "last_update_seconds", path);
        return learner;
    }
}
