using FastLra.Data;
using FastLra.Model;
using FastLra.Tasks;

namespace FastLra.Training;

/// <summary>Where a run's sequences come from: one of the paper's tasks, a data file, or data sets in memory.</summary>
public abstract record RunSource
{
    private protected RunSource()
    {
    }

    /// <summary>The first option of this source out of its range, as the command line names it, or null.</summary>
    internal abstract string? Problem();
}

/// <summary>One of the paper's synthetic tasks: a fresh batch from its generator every iteration, and a fixed validation set drawn first.</summary>
/// <param name="Task">The task.</param>
/// <param name="Length">T, the sequence length.</param>
public sealed record TaskSource(TaskKind Task, int Length) : RunSource
{
    /// <summary>Sequences in the fixed validation set (drawn first from the generator, as the reference does).</summary>
    public int ValidSize { get; init; } = 10_000;

    /// <summary>I of the task's sequences.</summary>
    public int Inputs => TaskInfo.Inputs(Task);

    /// <summary>O of the task's sequences.</summary>
    public int Outputs => TaskInfo.Outputs(Task);

    internal override string? Problem()
    {
        if (!Enum.IsDefined(Task)) return $"unknown task {(int)Task}.";
        if (Length < TaskInfo.MinLength(Task))
            return $"--length {Length} is too short for {TaskInfo.Name(Task)}: it needs T >= {TaskInfo.MinLength(Task)} (symbols go at int(0.1*T) >= 1).";
        if (ValidSize <= 0) return $"--valid-size must be positive, got {ValidSize}.";
        long values = (long)Length * Inputs;
        if (values > Array.MaxLength)
            return $"--length {Length} makes a sequence of {values} input values, more than one array holds ({Array.MaxLength}); use a shorter --length.";
        if (values * ValidSize > Array.MaxLength)
            return $"--valid-size {ValidSize} sequences of --length {Length} make {values * ValidSize} input values, more than one array holds ({Array.MaxLength}); use fewer or shorter sequences.";
        return null;
    }
}

/// <summary>
/// The user's data in a file (.csv, .npz, .safetensors; docs/data.md): how it is read into
/// sequences (<see cref="File"/>, what <see cref="DataFiles"/> takes), where the validation set
/// comes from, whether to standardise, and how many passes the budget is.
/// </summary>
/// <param name="Path">The training data.</param>
public sealed record DataFileSource(string Path) : RunSource
{
    /// <summary>A separate validation file read the same way; null splits <see cref="ValidFraction"/> off the training data.</summary>
    public string? ValidPath { get; init; }

    /// <summary>The share of sequences held out for validation: the last windows of a series, a seeded random subset otherwise.</summary>
    public double ValidFraction { get; init; } = 0.2;

    /// <summary>How the files are read into sequences: CSV columns, window, horizon and stride, classes, outputs and washout.</summary>
    public DataFileOptions File { get; init; } = new();

    /// <summary>Standardise inputs (and regression targets) with the training data's means and deviations, which the model keeps.</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>Passes over the training data; 0 leaves the budget to <see cref="TrainingOptions.MaxIterations"/>.</summary>
    public int Epochs { get; init; }

    internal override string? Problem()
    {
        if (Path.Length == 0) return "--data names no file.";
        if (File.Validate() is { } problem) return problem;
        if (ValidPath is null && !(ValidFraction is > 0 and < 1)) return $"--valid-fraction must be in (0, 1), got {ValidFraction}.";
        return Epochs < 0 ? $"--epochs must be >= 0 (0 = --max-iter decides), got {Epochs}." : null;
    }
}

/// <summary>
/// Sequences in memory: a training and a validation set of one layout (a .NET caller's arrays).
/// They belong to the run from then on (standardised in place when <see cref="Normalize"/> is set).
/// </summary>
/// <param name="Train">The training sequences.</param>
/// <param name="Valid">The validation sequences (the best check is chosen on them).</param>
public sealed record DataSetSource(SequenceDataSet Train, SequenceDataSet Valid) : RunSource
{
    /// <summary>Standardise inputs (and regression targets) with the training set's means and deviations, which the model keeps.</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>Passes over the training set; 0 leaves the budget to <see cref="TrainingOptions.MaxIterations"/>.</summary>
    public int Epochs { get; init; }

    internal override string? Problem()
    {
        if (Valid.Layout != Train.Layout) return $"the validation set's sequences ({Valid.Layout}) are not shaped as the training set's ({Train.Layout}).";
        return Epochs < 0 ? $"--epochs must be >= 0 (0 = --max-iter decides), got {Epochs}." : null;
    }
}

/// <summary>When a run writes its checkpoint: to <paramref name="Path"/>, every <paramref name="Every"/> iterations (0: only when it stops), and when it stops.</summary>
/// <param name="Path">The checkpoint file, written atomically.</param>
/// <param name="Every">Iterations between checkpoints; 0 writes one only when the run stops (Ctrl+C and SIGTERM included).</param>
public sealed record CheckpointPolicy(string Path, long Every = 1000);

/// <summary>
/// Everything a training run is: its source of sequences, how it trains (<see cref="TrainingOptions"/>)
/// and its checkpoints. Built from the option table (the command line, sweep grids, checkpoints) or
/// from code, validated once by <see cref="TrainingRun"/> (every error an <see cref="OptionException"/>
/// naming the option as the command line spells it).
/// </summary>
/// <param name="Source">Where the sequences come from.</param>
public sealed record RunSpec(RunSource Source)
{
    /// <summary>How the run trains.</summary>
    public TrainingOptions Options { get; init; } = new();

    /// <summary>Where and how often it writes its checkpoint; null for none.</summary>
    public CheckpointPolicy? Checkpoint { get; init; }

    /// <summary>The paper's setting: temporal order, T = 20, the default options.</summary>
    internal static RunSpec Default { get; } = new(new TaskSource(TaskKind.TemporalOrder, 20));

    /// <summary>Epochs of a data source (0 for a task).</summary>
    internal int Epochs => Source switch
    {
        DataFileSource f => f.Epochs,
        DataSetSource s => s.Epochs,
        _ => 0,
    };

    /// <summary>Throws an <see cref="OptionException"/> naming the first option out of its range; the run's sizes are priced once its sequences are known.</summary>
    internal void Validate()
    {
        string? problem = Source.Problem() ?? Options.Problem();
        if (problem is null && Checkpoint is { Every: < 0 } c) problem = $"--checkpoint-every must be >= 0, got {c.Every}.";
        if (problem is not null) throw new OptionException(problem);
    }

    /// <summary>
    /// Throws an <see cref="OptionException"/> when this run cannot train on sequences of
    /// <paramref name="layout"/> with <paramref name="validCount"/> validation sequences: the
    /// reference semantics on outputs at every step, or a run whose buffers would not fit this
    /// process (priced by the code that carves them, <see cref="Workspace.Floats"/> and
    /// <see cref="Evaluator.Floats"/>), with what it would need.
    /// </summary>
    internal void CheckFits(SequenceLayout layout, long validCount)
    {
        var o = Options;
        if (o.Algorithm == AlgorithmKind.Lra && o.Semantics == LraSemantics.Reference && layout.PerStep)
            throw new OptionException(Lra.ReferencePerStepRefusal + ".");
        if (Cost(o, layout, o.Batch, validCount) is { } cost) throw new OptionException(cost);
    }

    /// <summary>
    /// Whether training <paramref name="o"/> on <paramref name="batch"/> sequences of
    /// <paramref name="layout"/> at a time, validated on <paramref name="validCount"/>, fits: the
    /// workspace in one array, and it with the validation set in half of what the process may use.
    /// Null when it fits, else the message saying what it would need.
    /// </summary>
    internal static string? Cost(TrainingOptions o, SequenceLayout layout, int batch, long validCount)
    {
        var shape = o.Shape(layout.Inputs, layout.Outputs);
        string run = $"--hidden {o.Hidden} with --batch {batch} on sequences of {layout.Steps} steps and {validCount} validation sequences";
        if (shape.LongCount > Array.MaxLength)
            return $"{run}: the network has {shape.LongCount} parameters, more than one array holds; use a smaller network.";
        double workspace = Workspace.Floats(o, shape, layout, batch);
        double bytes = 4 * (workspace + Evaluator.Floats(shape, layout, validCount, Environment.ProcessorCount));
        if (workspace > Array.MaxLength)
            return $"{run} would need a workspace of {MemoryBudget.Megabytes(workspace * 4)} MB, more than one array holds ({((long)Array.MaxLength * 4) >> 20} MB); use a smaller network or batch.";
        return bytes > MemoryBudget.Bytes ? MemoryBudget.TooMuch(run, bytes, "use a smaller network, batch or validation set") : null;
    }
}
