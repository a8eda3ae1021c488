using FastLra.Kernels;
using FastLra.Tasks;

namespace FastLra.Training;

/// <summary>The gradient algorithm of a run.</summary>
public enum AlgorithmKind
{
    Bptt,
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

/// <summary>Everything that defines a training run; defaults are the paper's setup.</summary>
public sealed record TrainingOptions
{
    public TaskKind Task { get; init; } = TaskKind.TemporalOrder;
    public int Length { get; init; } = 20;
    public int Hidden { get; init; } = 100;
    public int Batch { get; init; } = 20;
    public uint Seed { get; init; } = 1234;
    public AlgorithmKind Algorithm { get; init; } = AlgorithmKind.Bptt;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Sgd;
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

    /// <summary>LRA: the local loss.</summary>
    public LocalLossKind LocalLoss { get; init; } = LocalLossKind.LogPenalty;

    public long MaxIterations { get; init; } = 100_000;
    public int CheckEvery { get; init; } = 100;
    public int Patience { get; init; } = 30;
    public int ValidSize { get; init; } = 10_000;

    /// <summary>A one-line description of the first invalid option of a synthetic-task run, or null when all are valid.</summary>
    public string? Validate()
    {
        if (Length < TaskInfo.MinLength(Task))
            return $"--length {Length} is too short for {TaskInfo.Name(Task)}: it needs T >= {TaskInfo.MinLength(Task)} (symbols go at int(0.1*T) >= 1).";
        if (ValidSize <= 0) return $"--valid-size must be positive, got {ValidSize}.";
        if ((long)Length * ValidSize * TaskInfo.Inputs(Task) > Array.MaxLength)
            return $"--valid-size {ValidSize} at --length {Length} needs more than one array can hold; use fewer sequences.";
        return ValidateTraining();
    }

    /// <summary>The first invalid option among those of every run (network, optimiser, algorithm, loop), or null.</summary>
    public string? ValidateTraining()
    {
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
            if (!(Beta > 0f) || float.IsInfinity(Beta)) return $"--beta must be a positive number, got {Beta}.";
            if (!(Alpha >= 0f) || float.IsInfinity(Alpha)) return $"--alpha must be >= 0, got {Alpha}.";
            if (Semantics == LraSemantics.Reference && Batch > Hidden)
                return $"--semantics reference needs --batch <= --hidden (its Omega reads the diagonal of a B x H matrix); got B={Batch}, H={Hidden}.";
        }
        return null;
    }
}
