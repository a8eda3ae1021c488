using FastLra.Kernels;
using FastLra.Model;

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
/// How a run trains, whatever its data: the network, the algorithm, the optimiser and the loop's
/// budget and checks. Defaults are the paper's setup. Where the batches come from is the
/// <see cref="RunSpec"/>'s <see cref="RunSource"/>.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>Hidden width H (of every layer).</summary>
    public int Hidden { get; init; } = 100;

    /// <summary>The cell of every layer (tanh, the paper's; GRU; LSTM).</summary>
    public CellKind Cell { get; init; } = CellKind.Tanh;

    /// <summary>L, the layers stacked.</summary>
    public int Layers { get; init; } = 1;

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

    /// <summary>How the learning rate changes over the run (constant, the default).</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Constant;

    /// <summary>Cosine: the rate the schedule ends at (PyTorch's CosineAnnealingLR eta_min); plateau: the floor of its reductions (ReduceLROnPlateau's min_lr).</summary>
    public float MinLearningRate { get; init; }

    /// <summary>Step: iterations between reductions of the rate by <see cref="LearningRateFactor"/> (PyTorch's StepLR step_size).</summary>
    public int LearningRateStepEvery { get; init; } = 1000;

    /// <summary>Step and plateau: what each reduction multiplies the rate by (StepLR's gamma, ReduceLROnPlateau's factor).</summary>
    public float LearningRateFactor { get; init; } = 0.1f;

    /// <summary>
    /// Plateau: checks (not iterations) in a row without a new best validation loss that the rate
    /// waits through; the next such check reduces it (ReduceLROnPlateau's patience).
    /// </summary>
    public int LearningRatePatience { get; init; } = 10;

    /// <summary>
    /// Plateau: a check's validation loss is a new best when below the best so far times (1 - this)
    /// (ReduceLROnPlateau's threshold, relative mode, and its default). Relative, so one value suits
    /// every loss's scale; <see cref="MinDelta"/>, absolute and on accuracy for a task, is early stopping's.
    /// </summary>
    public double LearningRateThreshold { get; init; } = 1e-4;

    /// <summary>Iterations over which the rate rises linearly from lr/N to lr before the schedule takes over (0: none).</summary>
    public int Warmup { get; init; }

    /// <summary>
    /// Decoupled weight decay: before each optimiser step every parameter is multiplied by
    /// 1 - lr·wd, as AdamW does (not added to the gradient, as PyTorch's SGD and Adam weight_decay do).
    /// </summary>
    public float WeightDecay { get; init; }

    /// <summary>
    /// The least improvement that counts as a new best for patience (validation accuracy on a task,
    /// validation loss on data): Keras's min_delta. 0, the default: any improvement.
    /// </summary>
    public double MinDelta { get; init; }

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

    /// <summary>
    /// Whether every sum runs in one order at every vector width (true, the default): the same
    /// model and metrics, bit for bit, at 512, 256 and 128 bits and on ARM64 (machines with FMA; a
    /// machine without it rounds differently, but alike at each of its widths). False lets the dot
    /// products sum in the width's own lanes, faster at 512 and 128 bits (docs/performance.md,
    /// "Deterministic sums"), and the bits then depend on the width.
    /// </summary>
    public bool Deterministic { get; init; } = true;

    /// <summary>The iteration budget, counted from the run's start.</summary>
    public long MaxIterations { get; init; } = 100_000;

    /// <summary>Iterations between validation checks.</summary>
    public int CheckEvery { get; init; } = 100;

    /// <summary>Checks without a new best (accuracy; on data, validation loss) before stopping.</summary>
    public int Patience { get; init; } = 30;

    /// <summary>The most target steps per layer an LRA run takes.</summary>
    public const int MaxK = 100_000;

    /// <summary>The network these options train on sequences of <paramref name="inputs"/> and <paramref name="outputs"/>.</summary>
    public RnnShape Shape(int inputs, int outputs) => new(inputs, Hidden, outputs, Cell, Layers);

    /// <summary>
    /// The first option out of its range, as the command line names it, or null: the network, the
    /// optimiser, the algorithm and the loop. Which data the run takes is checked by its source.
    /// </summary>
    internal string? Problem()
    {
        if (Hidden <= 0) return $"--hidden must be positive, got {Hidden}.";
        if (!Enum.IsDefined(Cell)) return $"unknown --cell {(int)Cell}.";
        if (Layers is < 1 or > RnnShape.MaxLayers) return $"--layers must be in [1, {RnnShape.MaxLayers}], got {Layers}.";
        if (Batch <= 0) return $"--batch must be positive, got {Batch}.";
        if (!(LearningRate > 0f) || float.IsInfinity(LearningRate)) return $"--lr must be a positive number, got {LearningRate}.";
        if (!(Clip >= 0f) || float.IsInfinity(Clip)) return $"--clip must be >= 0, got {Clip}.";
        if (!Enum.IsDefined(Schedule)) return $"unknown --lr-schedule {(int)Schedule}.";
        if (!(MinLearningRate >= 0f) || !(MinLearningRate <= LearningRate)) return $"--lr-min must be in [0, --lr {LearningRate}], got {MinLearningRate}.";
        if (LearningRateStepEvery <= 0) return $"--lr-step-every must be positive, got {LearningRateStepEvery}.";
        if (!(LearningRateFactor > 0f && LearningRateFactor <= 1f)) return $"--lr-factor must be in (0, 1], got {LearningRateFactor}.";
        if (Schedule == LearningRateSchedule.Plateau && LearningRateFactor == 1f) return "--lr-factor must be below 1 with --lr-schedule plateau (its reductions must reduce), got 1.";
        if (LearningRatePatience < 0) return $"--lr-patience must be >= 0 (checks), got {LearningRatePatience}.";
        if (!(LearningRateThreshold >= 0 && LearningRateThreshold < 1)) return $"--lr-threshold must be in [0, 1), got {LearningRateThreshold}.";
        if (Warmup < 0) return $"--warmup must be >= 0, got {Warmup}.";
        if (!(WeightDecay >= 0f) || !(LearningRate * WeightDecay < 1f)) return $"--weight-decay must be >= 0 with --lr times it below 1, got {WeightDecay}.";
        if (!(MinDelta >= 0) || double.IsInfinity(MinDelta)) return $"--min-delta must be >= 0, got {MinDelta}.";
        if (MaxIterations <= 0) return $"--max-iter must be positive, got {MaxIterations}.";
        if (CheckEvery <= 0) return $"--check-every must be positive, got {CheckEvery}.";
        if (Patience <= 0) return $"--patience must be positive, got {Patience}.";
        if (Algorithm != AlgorithmKind.Lra) return null;
        if (Cell != CellKind.Tanh || Layers != 1)
            return $"--algo lra is stated for the paper's one tanh layer; --cell {CellNames.Name(Cell)} with --layers {Layers} trains with --algo bptt.";
        if (K <= 0) return $"--k must be positive, got {K}.";
        // Every iteration takes K steps for each of T targets; past this an iteration takes minutes.
        if (K > MaxK) return $"--k {K} is more than {MaxK} target steps per layer (each iteration takes K steps for every step's target).";
        if (!(Beta > 0f) || float.IsInfinity(Beta)) return $"--beta must be a positive number, got {Beta}.";
        if (!(Alpha >= 0f) || float.IsInfinity(Alpha)) return $"--alpha must be >= 0, got {Alpha}.";
        if (!(OmegaGuard >= 0f) || float.IsInfinity(OmegaGuard)) return $"--omega-guard must be >= 0, got {OmegaGuard}.";
        if (Semantics == LraSemantics.Reference && Batch > Hidden)
            return $"--semantics reference needs --batch <= --hidden (its Omega reads the diagonal of a B x H matrix); got B={Batch}, H={Hidden}.";
        return null;
    }
}
