using System.Diagnostics;
using FastLra.Data;
using FastLra.IO;
using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;

namespace FastLra.Training;

/// <summary>Why a run ended.</summary>
public enum StopReason
{
    /// <summary>Validation error fell below 0.0001 (synthetic tasks).</summary>
    Solved,

    /// <summary>Patience checks passed without a new best (validation accuracy; on data, validation loss).</summary>
    Patience,

    /// <summary>The iteration budget ran out.</summary>
    MaxIterations,

    /// <summary>The training loss became NaN or infinite.</summary>
    Diverged,

    /// <summary>The caller cancelled the run.</summary>
    Cancelled,
}

/// <summary>
/// What a validation check saw: the iteration, the mean training loss since the last check, the
/// validation figures, the best validation accuracy so far, the run's wall time, and how many
/// checks in a row have passed without a new best (the run stops when it reaches Patience).
/// </summary>
public readonly record struct CheckReport(
    long Iteration,
    double TrainLoss,
    Evaluation Valid,
    double BestValidAccuracy,
    double ElapsedSeconds,
    int ChecksWithoutBest);

/// <summary>Watches a run: told of each validation check, on the training thread, between iterations. Observers only observe.</summary>
public interface ITrainingObserver
{
    /// <summary>After each validation check.</summary>
    void OnCheck(TrainingRun run, in CheckReport report);
}

/// <summary>An observer that calls a method of yours at each check: <c>run.Run(new CheckCallback((run, check) => ...))</c>.</summary>
/// <param name="onCheck">Called after each validation check, on the training thread.</param>
public sealed class CheckCallback(Action<TrainingRun, CheckReport> onCheck) : ITrainingObserver
{
    /// <inheritdoc/>
    public void OnCheck(TrainingRun run, in CheckReport report) => onCheck(run, report);
}

/// <summary>
/// One training run, from its <see cref="RunSpec"/> (validated once, here) or its checkpoint: the
/// workspace, the gradient algorithm, the optimiser, the batch source and the fixed validation set,
/// and the paper's protocol around them. Every iteration draws a batch, computes the gradient and
/// takes an optimiser step; every CheckEvery iterations (and after the last) it validates. On a
/// task it is solved when the validation error is below 0.0001; on data the best check by
/// validation loss is kept (early stopping), and nothing is solved. It stops after Patience checks
/// without a new best, at its budget, or at once when the training loss is not finite; it writes
/// its checkpoint by its <see cref="CheckpointPolicy"/>, and when it stops or is cancelled. The
/// command line's <c>train</c>, <c>bench</c> and <c>sweep</c>, <see cref="Trainer.Fit(RunSpec, ITrainingObserver?, CancellationToken)"/>
/// and the online learner's wiring all run through it. After construction an iteration, a check
/// and a checkpoint's in-memory work allocate nothing.
/// </summary>
public sealed class TrainingRun
{
    /// <summary>Validation error below which a task counts as solved.</summary>
    public const double SolvedErrorRate = 1e-4;

    private readonly LoopState _loop;
    private double _before;
    private long _started;
    private ConditioningProbe? _probe;

    private TrainingRun(RunSpec spec, IBatchSource source, Evaluator validation, DataRun? data, ParameterSet? initial)
    {
        Spec = spec;
        Source = source;
        Validation = validation;
        Data = data;
        (Workspace, Optimizer, Algorithm) = Wire(spec.Options, source.Layout, spec.Options.Batch, initial);
        if (data is not null) BestParameters = new ParameterSet(Workspace.Parameters.Shape);
        MaxIterations = spec.Epochs > 0 && data is not null
            ? spec.Epochs * ((data.Train.Count + (long)spec.Options.Batch - 1) / spec.Options.Batch)
            : spec.Options.MaxIterations;
        _loop = new LoopState();
        _loop.Plateau.Rate = spec.Options.LearningRate;
        ValidationThreads = Environment.ProcessorCount;
    }

    /// <summary>
    /// Starts <paramref name="spec"/>: validates it (an <see cref="OptionException"/> naming the first
    /// option out of range), reads or draws its sequences (bad data is a <see cref="DataFormatException"/>),
    /// prices it, and builds the run from an initialisation seeded by its options, or from
    /// <paramref name="initial"/> (of the network's shape).
    /// </summary>
    public static TrainingRun Start(RunSpec spec, ParameterSet? initial = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        switch (spec.Source)
        {
            case TaskSource task:
            {
                var layout = SequenceLayout.LastStep(task.Length, task.Inputs, task.Outputs, TaskInfo.Loss(task.Task));
                spec.CheckFits(layout, task.ValidSize);
                CheckInitial(initial, spec.Options.Shape(layout.Inputs, layout.Outputs));
                // The validation set is drawn first, by one generate call, as the reference does.
                var generator = new TaskGenerator(task.Task, task.Length, Math.Max(task.ValidSize, spec.Options.Batch), new RandomState(spec.Options.Seed));
                return new TrainingRun(spec, generator, new Evaluator(generator, task.ValidSize, spec.Options.Hidden), null, initial);
            }
            case DataFileSource file:
            {
                var loaded = DataFiles.Read(file.Path, file.File);
                SequenceDataSet train, valid;
                if (file.ValidPath is not null)
                {
                    train = loaded.Data;
                    valid = DataFiles.Read(file.ValidPath, file.File).Data;
                    if (valid.Layout != train.Layout)
                        throw new DataFormatException($"{file.ValidPath}: its sequences ({valid.Layout}) are not shaped as {file.Path}'s ({train.Layout}).");
                }
                else
                {
                    (train, valid) = DataFiles.Split(loaded, file.ValidFraction, spec.Options.Seed);
                    loaded.Data.Dispose(); // the split copied what it keeps; the whole file's buffer goes back to the pool
                }
                return FromDataSets(spec, train, valid, file.Normalize, loaded.InputNames, loaded.TargetNames, initial, loaded.Checksum);
            }
            case DataSetSource sets:
                return FromDataSets(spec, sets.Train, sets.Valid, sets.Normalize, null, null, initial);
            default:
                throw new ArgumentException($"Unknown source {spec.Source.GetType().Name}.", nameof(spec));
        }
    }

    /// <summary>
    /// Validates <paramref name="spec"/> as <see cref="Start"/> would before reading any data: its
    /// options, and for a task, whose sequences are known without reading anything, its price.
    /// </summary>
    internal static void Check(RunSpec spec)
    {
        spec.Validate();
        if (spec.Source is TaskSource task) spec.CheckFits(SequenceLayout.LastStep(task.Length, task.Inputs, task.Outputs, TaskInfo.Loss(task.Task)), task.ValidSize);
    }

    /// <summary>
    /// A run on data sets in memory: standardised first when <paramref name="normalize"/> is set (a
    /// constant feature is a <see cref="DataFormatException"/>), validated in order, trained on
    /// shuffled batches; the data sets are the run's from then on.
    /// </summary>
    private static TrainingRun FromDataSets(RunSpec spec, SequenceDataSet train, SequenceDataSet valid, bool normalize, string[]? inputNames,
        string[]? targetNames, ParameterSet? initial, FileChecksum? checksum = null)
    {
        var layout = train.Layout;
        spec.CheckFits(layout, valid.Count);
        CheckInitial(initial, spec.Options.Shape(layout.Inputs, layout.Outputs));
        bool regression = layout.Loss == GlobalLossKind.MeanSquaredError;
        inputNames ??= DataFiles.Numbered("input", layout.Inputs);
        targetNames ??= DataFiles.Numbered("output", layout.Outputs);
        Normalization? normalization = null;
        if (normalize)
        {
            try
            {
                normalization = Normalization.Fit(train, regression, inputNames, targetNames);
            }
            catch (ArgumentException e)
            {
                throw new DataFormatException(e.Message);
            }
            normalization.Apply(train);
            normalization.Apply(valid);
        }
        var scale = normalization is { HasTargets: true } ? normalization.TargetStd : [];
        var evaluator = new Evaluator(valid.InOrder(), valid.Count, spec.Options.Hidden, scale);
        var data = new DataRun(train, valid, normalization, inputNames, targetNames,
            regression ? MeanBaseline(train, valid, scale) : double.NaN,
            regression && !valid.Persistence.IsEmpty ? Evaluator.RSquared(valid.Persistence, valid.Y, scale, layout.Outputs) : double.NaN)
        {
            Checksum = checksum,
        };
        return new TrainingRun(spec, train.Batches(spec.Options.Seed), evaluator, data, initial);
    }

    /// <summary>
    /// Continues the run checkpoint <paramref name="path"/> holds, bit for bit, with its recorded
    /// configuration (its data re-read, its validation set redrawn); <paramref name="inMemory"/>
    /// gives the data sets of a run on data in memory again. <paramref name="maxIterations"/>, when
    /// given, replaces the budget (still counted from the run's start); <paramref name="checkpoint"/>
    /// the policy (default: on to the same file, every 1000 iterations). A file that is not a whole
    /// checkpoint of a valid run is a <see cref="WeightFileException"/> naming the problem.
    /// </summary>
    public static TrainingRun Resume(string path, DataSetSource? inMemory = null, long? maxIterations = null, CheckpointPolicy? checkpoint = null)
    {
        var file = Checkpoint.Open(path);
        var spec = Checkpoint.Spec(file, inMemory);
        if (maxIterations is long max) spec = spec with { Options = spec.Options with { MaxIterations = max } };
        spec = spec with { Checkpoint = checkpoint ?? new CheckpointPolicy(path) };
        TrainingRun run;
        try
        {
            run = Start(spec);
        }
        catch (OptionException e)
        {
            throw new WeightFileException($"{path}: the checkpoint's configuration is invalid: {e.Message}");
        }
        Checkpoint.Restore(file, run, run._loop);
        return run;
    }

    /// <summary>
    /// Starts <paramref name="spec"/>, or, when its checkpoint file is there already (the same run,
    /// pre-empted, run again), resumes it: as Keras's BackupAndRestore does. A checkpoint of another
    /// configuration (any option but the budget) is an <see cref="OptionException"/> naming each
    /// difference; a checkpoint is never overwritten by another run.
    /// </summary>
    public static TrainingRun StartOrResume(RunSpec spec, ParameterSet? initial = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Checkpoint is not { } policy || !System.IO.File.Exists(policy.Path)) return Start(spec, initial);
        var recorded = Checkpoint.Spec(Checkpoint.Open(policy.Path), spec.Source as DataSetSource);
        if (Differences(recorded, spec, new HashSet<string>(), onlyGiven: false) is { } differ)
            throw new OptionException(
                $"--checkpoint {policy.Path} holds a run with other options ({differ.There}; this run: {differ.Here}); " +
                "give its options to resume it, or another checkpoint file to start afresh.");
        return Resume(policy.Path, spec.Source as DataSetSource, spec.Options.MaxIterations, policy);
    }

    /// <summary>
    /// The options (all but --max-iter; with <paramref name="onlyGiven"/>, only those named in
    /// <paramref name="given"/>) whose values differ between a recorded run and another, as
    /// "--hidden 16, --lr 0.1" for each side; null when they agree. An option that applies to one
    /// side only is "no --k" on the other, and named only when given or when it is the task or data
    /// file (otherwise it follows from another difference, such as --algo).
    /// </summary>
    internal static (string There, string Here)? Differences(RunSpec recorded, RunSpec run, IReadOnlySet<string> given, bool onlyGiven)
    {
        var (there, here) = (new List<string>(), new List<string>());
        foreach (var option in TrainingOptionTable.All)
        {
            if (option.Name == "max-iter" || (onlyGiven && !given.Contains(option.Name))) continue;
            string? was = option.AppliesTo(recorded) ? option.Show(recorded) : null, now = option.AppliesTo(run) ? option.Show(run) : null;
            if (was == now || ((was is null || now is null) && !given.Contains(option.Name) && option.Name is not ("task" or "data"))) continue;
            there.Add(was is null ? $"no --{option.Name}" : $"--{option.Name} {was}");
            here.Add(now is null ? $"no --{option.Name}" : $"--{option.Name} {now}");
        }
        return there.Count == 0 ? null : (string.Join(", ", there), string.Join(", ", here));
    }

    /// <summary>
    /// The one wiring of a run's parts, for the run and the online learner: a workspace sized for
    /// <paramref name="batch"/> sequences of <paramref name="layout"/>, its parameters from the
    /// seeded initialisation of the network's kind (<see cref="Initialization.Default"/>) or
    /// <paramref name="initial"/>, the optimiser and the algorithm.
    /// </summary>
    internal static (Workspace, Optimizer, IGradientAlgorithm) Wire(TrainingOptions options, SequenceLayout layout, int batch, ParameterSet? initial)
    {
        var shape = options.Shape(layout.Inputs, layout.Outputs);
        var workspace = new Workspace(shape, layout, batch, Optimizer.StateBuffers(options.Optimizer), Workspace.ScratchLength(options, shape, layout, batch),
            options.Deterministic ? Summation.Fixed : Summation.Native);
        if (initial is null) Initialization.Default(workspace.Parameters, options.Seed);
        else workspace.Parameters.CopyFrom(initial);
        var optimizer = Optimizer.Create(options.Optimizer, options.LearningRate, workspace.OptimizerState);
        optimizer.WeightDecay = options.WeightDecay;
        var algorithm = options.Algorithm == AlgorithmKind.Lra ? Lra.Create(workspace, LraSettings.From(options)) : Bptt.Create(workspace, options.Clip);
        return (workspace, optimizer, algorithm);
    }

    private static void CheckInitial(ParameterSet? initial, RnnShape expected)
    {
        if (initial is not null && initial.Shape != expected)
            throw new WeightFileException($"the initial parameters hold a network of {initial.Shape}; this run needs {expected}.");
    }

    /// <summary>R² of predicting the training targets' mean for every validation target.</summary>
    private static double MeanBaseline(SequenceDataSet train, SequenceDataSet valid, float[] scale)
    {
        int width = train.Layout.Outputs;
        var mean = new double[width];
        var y = train.Y;
        for (int k = 0; k < y.Length; k++) mean[k % width] += y[k];
        var prediction = new float[valid.Y.Length];
        for (int k = 0; k < prediction.Length; k++) prediction[k] = (float)(mean[k % width] / (y.Length / width));
        return Evaluator.RSquared(prediction, valid.Y, scale, width);
    }

    /// <summary>The run's specification.</summary>
    public RunSpec Spec { get; }

    /// <summary>Every buffer of the run, sized once.</summary>
    internal Workspace Workspace { get; }

    /// <summary>The parameters being trained.</summary>
    public ParameterSet Parameters => Workspace.Parameters;

    /// <summary>The optimiser and its state.</summary>
    internal Optimizer Optimizer { get; }

    /// <summary>BPTT or LRA, over the workspace.</summary>
    internal IGradientAlgorithm Algorithm { get; }

    /// <summary>Where the training batches come from.</summary>
    internal IBatchSource Source { get; }

    /// <summary>The fixed validation set and its evaluation.</summary>
    internal Evaluator Validation { get; }

    /// <summary>A run on data: its data sets, normalisation and baselines; null for a synthetic task.</summary>
    internal DataRun? Data { get; }

    /// <summary>The learning rate the next iteration takes: its schedule's (after the last check's plateau decision) and warm-up's.</summary>
    internal float LearningRate => LearningRates.At(Spec.Options, Optimizer.StepCount, _loop.Plateau.Rate);

    /// <summary>The loop's own state (best results, patience, the training losses since the last check), which a checkpoint carries.</summary>
    internal LoopState Loop => _loop;

    /// <summary>A run on data: the parameters of the best check by validation loss (what the run keeps, as early stopping does); null for a task.</summary>
    public ParameterSet? BestParameters { get; }

    /// <summary>The iteration budget: MaxIterations, or on data with Epochs, enough batches for that many passes.</summary>
    public long MaxIterations { get; }

    /// <summary>Iterations taken so far.</summary>
    public long Iteration { get; private set; }

    /// <summary>Whether the run has stopped (solved, out of patience, at its budget, or diverged); a cancelled run may go on.</summary>
    public bool IsFinished => _loop.Stopped is not null;

    /// <summary>Why it stopped, or null while it may go on.</summary>
    public StopReason? StopReason => _loop.Stopped;

    /// <summary>
    /// Threads that share each validation check (one per core unless set); the results do not
    /// depend on it, bit for bit.
    /// </summary>
    public int ValidationThreads
    {
        get => Validation.Threads;
        set => Validation.Threads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "At least one thread.");
    }

    /// <summary>
    /// Whether the checks measure the gradient's conditioning: at each check iteration, one more
    /// gradient computation on the same batch at weights w (1 + 1e-7 r), r uniform in [-1, 1] and
    /// fixed by the iteration, which in float32 moves most weights by at most one unit in the last
    /// place. A cosine near 1 says this update's direction barely moves with a rounding step of the
    /// weights; far below 1, that rounding sets it. It says nothing of how small differences grow
    /// over many updates, nor of how another vector width sums (docs/algorithm.md, "Diagnostics").
    /// Costs one gradient computation per check.
    /// </summary>
    internal bool MeasureConditioning
    {
        get => _probe is not null;
        set => _probe = value ? _probe ?? new ConditioningProbe(Parameters.Data.Length) : null;
    }

    /// <summary>The trained model to stream with: on data the best check's parameters (after one), with the data's normalisation.</summary>
    public RnnModel Model => new(BestParameters is { } best && _loop.BestIteration > 0 ? best : Parameters, Data?.Normalization);

    /// <summary>Loss and accuracy (and regression errors) of the current parameters on the fixed validation set.</summary>
    public Evaluation Evaluate() => Validation.Evaluate(Parameters, Algorithm.ReferenceValidationStart);

    /// <summary>What the run has come to so far (after <see cref="Run"/>, its outcome).</summary>
    public TrainingResult Result
    {
        get
        {
            var last = Data is not null && _loop.BestIteration > 0 ? _loop.Best : _loop.Last;
            var reason = _loop.Stopped ?? _loop.Ended;
            // Before any check there are no validation figures: NaN, never the zeros of a perfect fit.
            var valid = last.Count == 0 ? new Evaluation(double.NaN, double.NaN, 0, 0, double.NaN, double.NaN, double.NaN) : last;
            return new TrainingResult(Iteration, Math.Max(_loop.BestValidAccuracy, 0), valid.Loss, last.Accuracy,
                reason == Training.StopReason.Solved, reason, _loop.ElapsedSeconds, _loop.LastTrainLoss, _loop.BestIteration, valid);
        }
    }

    /// <summary>
    /// Runs until it stops (solved, out of patience, at its budget, diverged) or is cancelled,
    /// telling <paramref name="observer"/> of each check, and writing its checkpoint by its policy
    /// and when it stops or is cancelled (not when it diverged). A run that had stopped reports the
    /// same result again without another iteration, unless its budget was raised.
    /// </summary>
    public TrainingResult Run(ITrainingObserver? observer = null, CancellationToken cancel = default)
    {
        if (_loop.Stopped == Training.StopReason.MaxIterations && Iteration < MaxIterations) _loop.Stopped = null;
        bool wasStopped = _loop.Stopped is not null;
        _loop.Ended = _loop.Stopped ?? Training.StopReason.MaxIterations;
        BeginTiming();
        while (!IsFinished)
        {
            if (cancel.IsCancellationRequested)
            {
                _loop.Ended = Training.StopReason.Cancelled;
                break;
            }
            if (Step() is { } report) observer?.OnCheck(this, report);
        }
        Elapse();
        if (!wasStopped && _loop.Ended != Training.StopReason.Diverged && Spec.Checkpoint is { } policy) WriteCheckpoint(policy.Path);
        return Result;
    }

    /// <summary>
    /// One iteration, and the validation check when one is due: returns its report then, else null.
    /// Writes the checkpoint when its policy says this iteration is one. Stops the run (see
    /// <see cref="IsFinished"/>) when solved, out of patience, at its budget or diverged.
    /// </summary>
    public CheckReport? Step()
    {
        if (IsFinished) return null;
        if (_started == 0) BeginTiming();
        var o = Spec.Options;
        long next = Iteration + 1;
        bool check = next % o.CheckEvery == 0 || next == MaxIterations;
        Algorithm.Diagnostics.Detailed = check;
        float loss = Iterate(probe: check);
        _loop.LastTrainLoss = loss;
        if (!float.IsFinite(loss))
        {
            _loop.Stopped = _loop.Ended = Training.StopReason.Diverged;
            Elapse();
            return null;
        }
        _loop.WindowLoss += loss;
        _loop.WindowCount++;
        Elapse();
        CheckReport? report = null;
        if (check) report = Check();
        if (Spec.Checkpoint is { Every: > 0 } policy && Iteration % policy.Every == 0) WriteCheckpoint(policy.Path);
        if (check)
        {
            if (Data is null && _loop.Last.ErrorRate < SolvedErrorRate) _loop.Stopped = Training.StopReason.Solved;
            else if (_loop.ChecksWithoutBest >= o.Patience) _loop.Stopped = Training.StopReason.Patience;
        }
        if (_loop.Stopped is null && Iteration >= MaxIterations) _loop.Stopped = Training.StopReason.MaxIterations;
        if (_loop.Stopped is { } stopped) _loop.Ended = stopped;
        return report;
    }

    // A check: the validation set, the best so far (on data its parameters kept), patience.
    private CheckReport Check()
    {
        var last = Evaluate();
        _loop.Last = last;
        double delta = Spec.Options.MinDelta;
        bool better = BestParameters is not null ? last.Loss < _loop.BestValidLoss - delta : last.Accuracy > _loop.BestValidAccuracy + delta;
        _loop.BestValidAccuracy = Math.Max(_loop.BestValidAccuracy, last.Accuracy);
        if (better)
        {
            _loop.ChecksWithoutBest = 0;
            if (BestParameters is { } keep)
            {
                _loop.BestValidLoss = last.Loss;
                _loop.BestIteration = Iteration;
                _loop.Best = last;
                Parameters.Data.CopyTo(keep.Data);
            }
        }
        else
        {
            _loop.ChecksWithoutBest++;
        }
        if (Spec.Options.Schedule == LearningRateSchedule.Plateau) _loop.Plateau.Check(Spec.Options, last.Loss);
        Elapse();
        var report = new CheckReport(Iteration, _loop.WindowLoss / _loop.WindowCount, last, _loop.BestValidAccuracy, _loop.ElapsedSeconds, _loop.ChecksWithoutBest);
        _loop.WindowLoss = 0;
        _loop.WindowCount = 0;
        return report;
    }

    // The wall time of a segment of the run adds to the earlier segments' (before a resume).
    private void BeginTiming()
    {
        _before = _loop.ElapsedSeconds;
        _started = Stopwatch.GetTimestamp();
    }

    private void Elapse() => _loop.ElapsedSeconds = _before + Stopwatch.GetElapsedTime(_started).TotalSeconds;

    /// <summary>Writes the run's whole state to <paramref name="path"/>, atomically (<see cref="Checkpoint"/>).</summary>
    public void WriteCheckpoint(string path) => Checkpoint.Write(path, this);

    /// <summary>
    /// One iteration, nothing else: the next batch, gradients, an optimiser step; returns the
    /// training loss. With <paramref name="probe"/> (and <see cref="MeasureConditioning"/>) the
    /// batch's gradient is first also computed at weights perturbed by a relative 1e-7, and the
    /// cosine between that gradient and the iteration's own goes to <see cref="Diagnostics.GradientCosine"/>.
    /// The probe comes first and the weights are restored before the iteration's own gradient, so
    /// the run (its diagnostics included) is bit for bit the one without it.
    /// </summary>
    internal float Iterate(bool probe = false)
    {
        var ws = Workspace;
        Source.NextBatch(ws.Sequences);
        probe &= _probe is not null;
        if (probe) ProbePerturbed(ws);
        float loss = Algorithm.ComputeGradients(ws.Sequences);
        Algorithm.Diagnostics.GradientCosine = probe ? Reductions.Cosine(_probe!.Gradient, ws.Gradients.Data) : double.NaN;
        Optimizer.LearningRate = LearningRate;
        Optimizer.Step(ws.Parameters, ws.Gradients);
        Iteration++;
        return loss;
    }

    /// <summary>The probe's buffers: the weights to restore and the perturbed weights' gradient.</summary>
    private sealed class ConditioningProbe(int count)
    {
        public readonly float[] Weights = new float[count];
        public readonly float[] Gradient = new float[count];
    }

    private void ProbePerturbed(Workspace ws)
    {
        var probe = _probe!;
        Span<float> w = ws.Parameters.Data;
        w.CopyTo(probe.Weights);
        ulong state = 0x9E3779B97F4A7C15UL * (ulong)(Iteration + 1);
        for (int i = 0; i < w.Length; i++)
        {
            // splitmix64: a fixed, well-mixed r in [-1, 1) per weight and iteration.
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            float r = (float)((z ^ (z >> 31)) >> 40) * (2f / (1 << 24)) - 1f;
            w[i] += 1e-7f * r * w[i];
        }
        Algorithm.ComputeGradients(ws.Sequences);
        ws.Gradients.Data.CopyTo(probe.Gradient);
        probe.Weights.CopyTo(w);
    }

    /// <summary>
    /// Puts the run back where a checkpoint left it: parameters (layout order), optimiser state and
    /// step count, the source's position and the iteration count.
    /// </summary>
    internal void Restore(ReadOnlySpan<float> parameters, ReadOnlySpan<float> optimizerState, long optimizerSteps, ReadOnlySpan<uint> sourceState, long iteration)
    {
        if (parameters.Length != Parameters.Data.Length || optimizerState.Length != Optimizer.State.Length)
            throw new ArgumentException("The checkpoint's parameters or optimiser state do not fit this run.");
        if (iteration < 0) throw new ArgumentException($"The iteration count must be >= 0, got {iteration}.");
        Source.RestoreState(sourceState);
        parameters.CopyTo(Parameters.Data);
        optimizerState.CopyTo(Optimizer.State);
        Optimizer.RestoreStepCount(optimizerSteps);
        Iteration = iteration;
    }
}

/// <summary>The run's loop state beyond its parts, which a checkpoint carries.</summary>
internal sealed class LoopState
{
    public double BestValidAccuracy { get; set; } = double.NegativeInfinity;
    public int ChecksWithoutBest { get; set; }

    /// <summary>On data: the lowest validation loss so far.</summary>
    public double BestValidLoss { get; set; } = double.PositiveInfinity;

    /// <summary>On data: the iteration of the best check (0 before the first).</summary>
    public long BestIteration { get; set; }

    /// <summary>On data: the evaluation of the best check.</summary>
    public Evaluation Best { get; set; }

    /// <summary>Wall time of the run so far, earlier segments (before a resume) included.</summary>
    public double ElapsedSeconds { get; set; }

    /// <summary>Why the run stopped (solved, patience, its budget, diverged), or null while it may go on.</summary>
    public StopReason? Stopped { get; set; }

    /// <summary>How the last segment ended, a cancellation included: what a result reports.</summary>
    public StopReason Ended { get; set; } = StopReason.MaxIterations;

    /// <summary>The last check's evaluation.</summary>
    public Evaluation Last { get; set; }

    /// <summary>The last iteration's training loss.</summary>
    public double LastTrainLoss { get; set; } = double.NaN;

    /// <summary>
    /// The sum of the training losses since the last check, which the next check averages with
    /// <see cref="WindowCount"/>; a checkpoint carries both, so a resumed run reports the same
    /// training loss at its next check as an uninterrupted one.
    /// </summary>
    public double WindowLoss { get; set; }

    /// <summary>How many iterations <see cref="WindowLoss"/> sums.</summary>
    public int WindowCount { get; set; }

    /// <summary>The plateau schedule's rate, best loss and bad checks (its rate is --lr under the other schedules, and unused).</summary>
    public Plateau Plateau { get; } = new();
}

/// <summary>
/// The outcome of a run. On data, the final validation figures (and <see cref="Valid"/>) are those
/// of the best check by validation loss, at <see cref="BestIteration"/>, whose parameters the run keeps.
/// A run that stopped before its first check (diverged, say) has none: <see cref="Valid"/> is NaN
/// throughout, with a <see cref="Evaluation.Count"/> of 0.
/// </summary>
public sealed record TrainingResult(
    long Iterations,
    double BestValidAccuracy,
    double FinalValidLoss,
    double FinalValidAccuracy,
    bool Solved,
    StopReason StopReason,
    double WallSeconds,
    double FinalTrainLoss,
    long BestIteration = 0,
    Evaluation Valid = default)
{
    /// <summary>Mean wall time of one iteration, checks included.</summary>
    public double SecondsPerIteration => Iterations == 0 ? 0 : WallSeconds / Iterations;
}
