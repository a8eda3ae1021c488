using FastLra.Tasks;

namespace FastLra.Training;

/// <summary>The gradient algorithm of a run.</summary>
public enum Algorithm
{
    Bptt,
    Lra,
}

/// <summary>Everything that defines a training run; defaults are the paper's setup.</summary>
public sealed record TrainingOptions
{
    public TaskKind Task { get; init; } = TaskKind.TemporalOrder;
    public int Length { get; init; } = 20;
    public int Hidden { get; init; } = 100;
    public int Batch { get; init; } = 20;
    public uint Seed { get; init; } = 1234;
    public Algorithm Algorithm { get; init; } = Algorithm.Bptt;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Sgd;
    public float LearningRate { get; init; } = 0.01f;

    /// <summary>Norm bound c; 0 turns clipping off.</summary>
    public float Clip { get; init; } = 1.0f;

    public long MaxIterations { get; init; } = 100_000;
    public int CheckEvery { get; init; } = 100;
    public int Patience { get; init; } = 30;
    public int ValidSize { get; init; } = 10_000;

    /// <summary>A one-line description of the first invalid option, or null when all are valid.</summary>
    public string? Validate()
    {
        if (Length < TaskInfo.MinLength(Task))
            return $"--length {Length} is too short for {TaskInfo.Name(Task)}: it needs T >= {TaskInfo.MinLength(Task)} (symbols go at int(0.1*T) >= 1).";
        if (Hidden <= 0) return $"--hidden must be positive, got {Hidden}.";
        if (Batch <= 0) return $"--batch must be positive, got {Batch}.";
        if (!(LearningRate > 0f) || float.IsInfinity(LearningRate)) return $"--lr must be a positive number, got {LearningRate}.";
        if (!(Clip >= 0f) || float.IsInfinity(Clip)) return $"--clip must be >= 0, got {Clip}.";
        if (MaxIterations <= 0) return $"--max-iter must be positive, got {MaxIterations}.";
        if (CheckEvery <= 0) return $"--check-every must be positive, got {CheckEvery}.";
        if (Patience <= 0) return $"--patience must be positive, got {Patience}.";
        if (ValidSize <= 0) return $"--valid-size must be positive, got {ValidSize}.";
        if ((long)Length * ValidSize * TaskInfo.Inputs(Task) > Array.MaxLength)
            return $"--valid-size {ValidSize} at --length {Length} needs more than one array can hold; use fewer sequences.";
        if (Algorithm == Algorithm.Lra) return "--algo lra is not implemented yet.";
        return null;
    }
}
