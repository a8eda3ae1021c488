using FastLra.Data;
using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;

namespace FastLra.Training;

/// <summary>
/// One training run's state: the workspace, the gradient algorithm, the optimiser, the batch
/// source and the fixed validation set. Every iteration draws a batch from the source into the
/// workspace and passes it to the gradient algorithm. For a synthetic task, as the reference
/// does, the validation set is drawn first (one generate call of ValidSize sequences) and every
/// batch after it from the same generator. After construction, <see cref="Step()"/> and
/// <see cref="Evaluate"/> allocate nothing.
/// </summary>
public sealed class Trainer
{
    /// <summary>A run on the synthetic task of <paramref name="options"/>, from an orthogonal initialisation or <paramref name="initial"/>.</summary>
    public Trainer(TrainingOptions options, ParameterSet? initial = null)
        : this(options, SyntheticSources(options), initial)
    {
    }

    /// <summary>
    /// A run on the batches of <paramref name="source"/>, validated on <paramref name="validation"/>
    /// (whose layout must be the source's), from an orthogonal initialisation or <paramref name="initial"/>.
    /// The options' task, length and validation size are the synthetic task's and are not used here.
    /// </summary>
    internal Trainer(TrainingOptions options, IBatchSource source, Evaluator validation, ParameterSet? initial = null, DataRun? data = null)
    {
        string? problem = options.ValidateTraining();
        if (problem is not null) throw new ArgumentException(problem);
        var layout = source.Layout;
        if (validation.Layout != layout) throw new ArgumentException("The validation set's layout is not the training source's.");
        if (options.Algorithm == AlgorithmKind.Lra && options.Semantics == LraSemantics.Reference && layout.PerStep)
            throw new ArgumentException(Lra.ReferencePerStepRefusal);
        Options = options;
        Source = source;
        Validation = validation;
        Data = data;
        (Workspace, Optimizer, Algorithm) = Wire(options, layout, options.Batch, initial);
        if (data is not null) BestParameters = new ParameterSet(Workspace.Parameters.Shape);
        MaxIterations = options.Data is { Epochs: > 0 } epochs && data is not null
            ? epochs.Epochs * ((data.Train.Count + (long)options.Batch - 1) / options.Batch)
            : options.MaxIterations;
    }

    /// <summary>
    /// The one wiring of a run's parts, for the trainer and the online learner: a workspace sized
    /// for <paramref name="batch"/> sequences of <paramref name="layout"/>, its parameters from an
    /// orthogonal initialisation (seeded) or <paramref name="initial"/>, the optimiser and the algorithm.
    /// </summary>
    internal static (Workspace, Optimizer, IGradientAlgorithm) Wire(TrainingOptions options, SequenceLayout layout, int batch, ParameterSet? initial)
    {
        var shape = new RnnShape(layout.Inputs, options.Hidden, layout.Outputs);
        bool lra = options.Algorithm == AlgorithmKind.Lra;
        var workspace = new Workspace(shape, layout, batch, Optimizer.StateBuffers(options.Optimizer),
            lra ? Lra.ScratchLength(shape, layout.Steps, batch, options.Semantics) : Bptt.ScratchLength(shape, layout.Steps, batch));
        if (initial is null) Initialization.Default(workspace.Parameters, options.Seed);
        else workspace.Parameters.CopyFrom(initial);
        var optimizer = Optimizer.Create(options.Optimizer, options.LearningRate, workspace.OptimizerState);
        var algorithm = lra ? Lra.Create(workspace, LraSettings.From(options)) : Bptt.Create(workspace, options.Clip);
        return (workspace, optimizer, algorithm);
    }

    private Trainer(TrainingOptions options, (TaskGenerator Generator, Evaluator Validation) synthetic, ParameterSet? initial)
        : this(options, synthetic.Generator, synthetic.Validation, initial)
    {
    }

    /// <summary>The task's generator, and its validation set drawn from it first (as the reference does).</summary>
    private static (TaskGenerator, Evaluator) SyntheticSources(TrainingOptions options)
    {
        string? problem = options.Validate();
        if (problem is not null) throw new ArgumentException(problem);
        var generator = new TaskGenerator(options.Task, options.Length, Math.Max(options.ValidSize, options.Batch), new RandomState(options.Seed));
        return (generator, new Evaluator(generator, options.ValidSize, options.Hidden));
    }

    /// <summary>The run's options.</summary>
    public TrainingOptions Options { get; }

    /// <summary>Every buffer of the run, sized once.</summary>
    internal Workspace Workspace { get; }

    /// <summary>The parameters being trained (in the workspace).</summary>
    public ParameterSet Parameters => Workspace.Parameters;

    /// <summary>The optimiser and its state.</summary>
    internal Optimizer Optimizer { get; }

    /// <summary>BPTT or LRA, over the workspace.</summary>
    internal IGradientAlgorithm Algorithm { get; }

    /// <summary>Where the training batches come from.</summary>
    internal IBatchSource Source { get; }

    /// <summary>The fixed validation set and its evaluation.</summary>
    internal Evaluator Validation { get; }

    /// <summary>A run on the user's data: its data sets, normalisation and baselines; null for a synthetic task.</summary>
    internal DataRun? Data { get; }

    /// <summary>
    /// A run on data: the parameters of the best check by validation loss (what the run saves and
    /// reports, as early stopping does); null for a synthetic task.
    /// </summary>
    public ParameterSet? BestParameters { get; }

    /// <summary>The iteration budget: the options' MaxIterations, or on data with Epochs, enough batches for that many passes.</summary>
    public long MaxIterations { get; }

    /// <summary>Iterations taken so far.</summary>
    public long Iteration { get; private set; }

    /// <summary>One iteration: the next batch, gradients, an optimiser step. Returns the training loss.</summary>
    public float Step() => Step(probe: false);

    /// <summary>
    /// One iteration; with <paramref name="probe"/> (and <see cref="MeasureConditioning"/>) the batch's
    /// gradient is first also computed at weights perturbed by a relative 1e-7, and the cosine
    /// between that gradient and the iteration's own goes to <see cref="Diagnostics.GradientCosine"/>.
    /// The probe comes first and the weights are restored before the iteration's own gradient, so
    /// the run (its diagnostics included) is bit for bit the one without it.
    /// </summary>
    internal float Step(bool probe)
    {
        var ws = Workspace;
        Source.NextBatch(ws.Sequences);
        probe &= _probe is not null;
        if (probe) ProbePerturbed(ws);
        float loss = Algorithm.ComputeGradients(ws.Sequences);
        Algorithm.Diagnostics.GradientCosine = probe ? Reductions.Cosine(_probe!.Gradient, ws.Gradients.Data) : double.NaN;
        Optimizer.Step(ws.Parameters, ws.Gradients);
        Iteration++;
        return loss;
    }

    /// <summary>
    /// Whether the checks measure the gradient's conditioning (issue 19): at each check iteration,
    /// one more gradient computation on the same batch at weights w (1 + 1e-7 r), r uniform in
    /// [-1, 1] and fixed by the iteration, which in float32 moves most weights by at most one unit in
    /// the last place. A cosine near 1 means the update's direction is a property of the weights; far
    /// below 1, it is set by rounding, and no other implementation can follow the trajectory. Costs one
    /// gradient computation per check (1% of a run at one check per 100 iterations).
    /// </summary>
    internal bool MeasureConditioning
    {
        get => _probe is not null;
        set => _probe = value ? _probe ?? new ConditioningProbe(Parameters.Data.Length) : null;
    }

    private ConditioningProbe? _probe;

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
    /// Puts the trainer back where a checkpoint left it: parameters (layout order), optimiser state
    /// and step count, the source's position and the iteration count.
    /// </summary>
    internal void Restore(ReadOnlySpan<float> parameters, ReadOnlySpan<float> optimizerState, long optimizerSteps,
        ReadOnlySpan<uint> sourceState, long iteration)
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

    /// <summary>
    /// Threads that share each validation check (1 unless set; <see cref="Fit(TrainingOptions, ITrainingMonitor?, CancellationToken)"/>
    /// and the CLI's train use one per core). The results do not depend on it, bit for bit.
    /// </summary>
    public int ValidationThreads
    {
        get => Validation.Threads;
        set => Validation.Threads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "At least one thread.");
    }

    /// <summary>Loss and accuracy (and regression errors) on the fixed validation set.</summary>
    public Evaluation Evaluate() => Validation.Evaluate(Parameters, Algorithm.ReferenceValidationStart);

    /// <summary>
    /// Trains on sequences in memory and returns the model to stream with: the best check's by
    /// validation loss, standardised inputs and outputs handled inside it (with
    /// <paramref name="normalize"/>), so its user works in original units. The data sets are
    /// standardised in place and belong to the run.
    /// </summary>
    public static FitResult Fit(TrainingOptions options, SequenceDataSet train, SequenceDataSet valid, bool normalize = true,
        ITrainingMonitor? monitor = null, CancellationToken cancel = default) =>
        Finish(TrainerFactory.FromDataSets(options with { Data = options.Data ?? new DataOptions() }, train, valid, normalize), monitor, cancel);

    /// <summary>Trains the run of <paramref name="options"/> (its data file, or its synthetic task) and returns its model.</summary>
    public static FitResult Fit(TrainingOptions options, ITrainingMonitor? monitor = null, CancellationToken cancel = default) =>
        Finish(TrainerFactory.Create(options), monitor, cancel);

    private static FitResult Finish(Trainer trainer, ITrainingMonitor? monitor, CancellationToken cancel)
    {
        trainer.ValidationThreads = Environment.ProcessorCount;
        var result = TrainingLoop.Run(trainer, monitor, cancel: cancel);
        var parameters = trainer.BestParameters is { } best && result.BestIteration > 0 ? best : trainer.Parameters;
        return new FitResult(new RnnModel(parameters, trainer.Data?.Normalization), result, trainer);
    }
}

/// <summary>What <see cref="Trainer.Fit(TrainingOptions, SequenceDataSet, SequenceDataSet, bool, ITrainingMonitor?, CancellationToken)"/> returns.</summary>
public sealed class FitResult(RnnModel model, TrainingResult result, Trainer trainer)
{
    /// <summary>The trained model (on data, the best check's, with its normalisation): give it to an <see cref="RnnState"/> to stream.</summary>
    public RnnModel Model => model;

    /// <summary>How the run went: iterations, stop reason, the validation figures.</summary>
    public TrainingResult Result => result;

    /// <summary>The trainer, for its data, parameters and checkpoints.</summary>
    public Trainer Trainer => trainer;
}
