using FastLra.Data;
using FastLra.IO;
using FastLra.Kernels;
using FastLra.Tasks;

namespace FastLra.Training;

/// <summary>The gradient algorithm of a run.</summary>
public enum AlgorithmKind
{
    /// <summary>Backpropagation through time.</summary>
    Bptt,

    /// <summary>Local representation alignment (the paper's method).</summary>
    Lra,
}

/// <summary>Which statement of LRA to run (see docs/algorithm.md).</summary>
public enum LraSemantics
{
    /// <summary>Every derivative local to its step: the intended algorithm, O(T K B H²).</summary>
    Local,

    /// <summary>Exact parity with the paper's published code, quirks included, O(T² B H² + T K B H²).</summary>
    Reference,
}

/// <summary>
/// A run on the user's data instead of a synthetic task: the file, how to read it into sequences
/// (<see cref="File"/>, what <see cref="DataFiles"/> takes), where the validation set comes from,
/// and whether to standardise.
/// </summary>
public sealed record DataOptions
{
    /// <summary>The training data (.csv, .npz or .safetensors).</summary>
    public string Path { get; init; } = "";

    /// <summary>A separate validation file read the same way; null splits <see cref="ValidFraction"/> off the training data.</summary>
    public string? ValidPath { get; init; }

    /// <summary>The share of sequences held out for validation: the last windows of a series, a seeded random subset otherwise.</summary>
    public double ValidFraction { get; init; } = 0.2;

    /// <summary>How the files are read into sequences: CSV columns, window, horizon and stride, classes, outputs and washout.</summary>
    public DataFileOptions File { get; init; } = new();

    /// <summary>Standardise inputs (and regression targets) with the training data's means and deviations.</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>Passes over the training data; 0 leaves the budget to MaxIterations.</summary>
    public int Epochs { get; init; }
}

/// <summary>Everything that defines a training run; defaults are the paper's setup.</summary>
public sealed record TrainingOptions
{
    /// <summary>The user's data; null trains on the synthetic <see cref="Task"/>.</summary>
    public DataOptions? Data { get; init; }

    /// <summary>The synthetic task (when <see cref="Data"/> is null).</summary>
    public TaskKind Task { get; init; } = TaskKind.TemporalOrder;

    /// <summary>T of the synthetic task.</summary>
    public int Length { get; init; } = 20;

    /// <summary>Hidden width H.</summary>
    public int Hidden { get; init; } = 100;

    /// <summary>Batch size B.</summary>
    public int Batch { get; init; } = 20;

    /// <summary>Seed of the task generator (on data: of the validation split and the shuffling) and of the initialisation.</summary>
    public uint Seed { get; init; } = 1234;

    /// <summary>BPTT or LRA.</summary>
    public AlgorithmKind Algorithm { get; init; } = AlgorithmKind.Bptt;

    /// <summary>The optimiser (PyTorch semantics and defaults).</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Sgd;

    /// <summary>The learning rate.</summary>
    public float LearningRate { get; init; } = 0.01f;

    /// <summary>Norm bound c; 0 turns clipping off.</summary>
    public float Clip { get; init; } = 1.0f;

    /// <summary>When clip_c rescales (LRA's per-step clipping; BPTT always clips the global norm above c).</summary>
    public ClipMode ClipMode { get; init; } = ClipMode.Above;

    /// <summary>LRA: which semantics.</summary>
    public LraSemantics Semantics { get; init; } = LraSemantics.Local;

    /// <summary>LRA: target steps per layer.</summary>
    public int K { get; init; } = 10;

    /// <summary>LRA: target step size.</summary>
    public float Beta { get; init; } = 10f;

    /// <summary>LRA: weight of the Omega regulariser (0 = unregularised).</summary>
    public float Alpha { get; init; }

    /// <summary>
    /// LRA: the guard e of the guarded Omega, r = ||N|| / (||G|| + e) instead of ||N|| / ||G||
    /// (0, the default, is the paper's Omega). Omega's gradient does not shrink with the signal G,
    /// so a G at rounding level (the target search's, late in training) drives full-size steps; the
    /// guard makes the term vanish for signals well below e (docs/algorithm.md, "Guarded Omega").
    /// </summary>
    public float OmegaGuard { get; init; }

    /// <summary>LRA: the local loss.</summary>
    public LocalLossKind LocalLoss { get; init; } = LocalLossKind.LogPenalty;

    /// <summary>The iteration budget, counted from the run's start.</summary>
    public long MaxIterations { get; init; } = 100_000;

    /// <summary>Iterations between validation checks.</summary>
    public int CheckEvery { get; init; } = 100;

    /// <summary>Checks without a new best (accuracy; on data, validation loss) before stopping.</summary>
    public int Patience { get; init; } = 30;

    /// <summary>Sequences in the synthetic task's fixed validation set.</summary>
    public int ValidSize { get; init; } = 10_000;

    /// <summary>A one-line description of the first invalid option of a synthetic-task run, or null when all are valid.</summary>
    public string? Validate() =>
        ValidateTask() ?? ValidateTraining() ?? ValidateCost(TaskInfo.Inputs(Task), TaskInfo.Outputs(Task), Length, Length - 1, ValidSize);

    /// <summary>The first invalid option of the synthetic task and its validation set (length, size), or null: what <c>eval</c> checks before it reads the model.</summary>
    internal string? ValidateTask()
    {
        if (Length < TaskInfo.MinLength(Task))
            return $"--length {Length} is too short for {TaskInfo.Name(Task)}: it needs T >= {TaskInfo.MinLength(Task)} (symbols go at int(0.1*T) >= 1).";
        if (ValidSize <= 0) return $"--valid-size must be positive, got {ValidSize}.";
        long values = (long)Length * TaskInfo.Inputs(Task);
        if (values > Array.MaxLength)
            return $"--length {Length} makes a sequence of {values} input values, more than one array holds ({Array.MaxLength}); use a shorter --length.";
        if (values * ValidSize > Array.MaxLength)
            return $"--valid-size {ValidSize} sequences of --length {Length} make {values * ValidSize} input values, more than one array holds ({Array.MaxLength}); use fewer or shorter sequences.";
        return null;
    }

    /// <summary>
    /// Whether a run of these options on sequences of T steps (I inputs, O outputs read from step
    /// w on) and a validation set of V sequences fits this process, checked before anything is
    /// allocated: the workspace must fit one array and, with the validation set, half the memory
    /// the process may use. The message says what the run would need. Null when it fits.
    /// </summary>
    internal string? ValidateCost(int inputs, int outputs, int steps, int washout, long validCount)
    {
        // In doubles: at the widths and lengths an option may name (up to 2^31 - 1 each) the products
        // overflow 64 bits, and a wrapped count could pass; a double is exact far past any size that fits.
        double s = (Hidden + 15L) / 16 * 16, r = steps - washout, h = Hidden, b = Batch, t = steps;
        double parameters = (double)inputs * h + h * h + h + h * outputs + outputs;
        // Parameters, gradients, two optimiser buffers and their padded copies; the batch, states and
        // outputs; the trainers' scratch (LRA's reference semantics keeps four T x B x S buffers).
        double workspace = 4 * parameters + 2 * (inputs + h + 1) * s + t * b * (inputs + 5 * s) + 3 * r * b * outputs
            + 24 * b * s + h * s + inputs * s;
        double validation = validCount * (t * inputs + 2 * h + 2 * r * outputs);
        double bytes = 4 * (workspace + validation);
        string run = $"--hidden {Hidden} with --batch {Batch} on sequences of {steps} steps and {validCount} validation sequences";
        if (workspace > Array.MaxLength)
            return $"{run} would need a workspace of {MemoryBudget.Megabytes(workspace * 4)} MB, more than one array holds ({((long)Array.MaxLength * 4) >> 20} MB); use a smaller network or batch.";
        if (bytes > MemoryBudget.Bytes) return MemoryBudget.TooMuch(run, bytes, "use a smaller network, batch or validation set");
        return null;
    }

    /// <summary>The most target steps per layer an LRA run takes.</summary>
    public const int MaxK = 100_000;

    /// <summary>The first invalid option among those of every run (network, optimiser, algorithm, loop, and the data options of a run on data), or null.</summary>
    public string? ValidateTraining()
    {
        if (Data is { } data)
        {
            if (data.File.Validate() is { } problem) return problem;
            if (data.Epochs < 0) return $"--epochs must be >= 0 (0 = --max-iter decides), got {data.Epochs}.";
        }
        if (Hidden <= 0) return $"--hidden must be positive, got {Hidden}.";
        if (Batch <= 0) return $"--batch must be positive, got {Batch}.";
        if (!(LearningRate > 0f) || float.IsInfinity(LearningRate)) return $"--lr must be a positive number, got {LearningRate}.";
        if (!(Clip >= 0f) || float.IsInfinity(Clip)) return $"--clip must be >= 0, got {Clip}.";
        if (MaxIterations <= 0) return $"--max-iter must be positive, got {MaxIterations}.";
        if (CheckEvery <= 0) return $"--check-every must be positive, got {CheckEvery}.";
        if (Patience <= 0) return $"--patience must be positive, got {Patience}.";
        if (Algorithm == AlgorithmKind.Lra)
        {
            if (K <= 0) return $"--k must be positive, got {K}.";
            // Every iteration takes K steps for each of T targets; past this an iteration takes minutes.
            if (K > MaxK) return $"--k {K} is more than {MaxK} target steps per layer (each iteration takes K steps for every step's target).";
            if (!(Beta > 0f) || float.IsInfinity(Beta)) return $"--beta must be a positive number, got {Beta}.";
            if (!(Alpha >= 0f) || float.IsInfinity(Alpha)) return $"--alpha must be >= 0, got {Alpha}.";
            if (!(OmegaGuard >= 0f) || float.IsInfinity(OmegaGuard)) return $"--omega-guard must be >= 0, got {OmegaGuard}.";
            if (Semantics == LraSemantics.Reference && Batch > Hidden)
                return $"--semantics reference needs --batch <= --hidden (its Omega reads the diagonal of a B x H matrix); got B={Batch}, H={Hidden}.";
        }
        return null;
    }
}
