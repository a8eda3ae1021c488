using System.Diagnostics;

namespace FastLra.Training;

/// <summary>Why a run ended.</summary>
public enum StopReason
{
    /// <summary>Validation error fell below 0.0001.</summary>
    Solved,

    /// <summary>Patience checks passed without a new best validation accuracy.</summary>
    Patience,

    /// <summary>The iteration budget ran out.</summary>
    MaxIterations,

    /// <summary>The training loss became NaN or infinite.</summary>
    Diverged,

    /// <summary>The caller cancelled the run.</summary>
    Cancelled,
}

/// <summary>What a validation check saw.</summary>
public readonly record struct CheckReport(
    long Iteration,
    double TrainLoss,
    Evaluation Valid,
    double BestValidAccuracy,
    double ElapsedSeconds);

/// <summary>Receives each validation check (progress lines, metrics files).</summary>
public interface ITrainingMonitor
{
    void OnCheck(Trainer trainer, in CheckReport report);
}

/// <summary>The outcome of a run.</summary>
public sealed record TrainingResult(
    long Iterations,
    double BestValidAccuracy,
    double FinalValidLoss,
    double FinalValidAccuracy,
    bool Solved,
    StopReason StopReason,
    double WallSeconds,
    double FinalTrainLoss)
{
    public double SecondsPerIteration => Iterations == 0 ? 0 : WallSeconds / Iterations;
}

/// <summary>
/// The paper's training protocol: validate every CheckEvery iterations (and after the last);
/// solved when the validation error is below 0.0001; stop after Patience checks without a new
/// best; stop at once if the training loss is not finite.
/// </summary>
public static class TrainingLoop
{
    /// <summary>Validation error below which a task counts as solved.</summary>
    public const double SolvedErrorRate = 1e-4;

    public static TrainingResult Run(Trainer trainer, ITrainingMonitor? monitor, CancellationToken cancel = default)
    {
        var options = trainer.Options;
        long start = Stopwatch.GetTimestamp();
        double best = double.NegativeInfinity, windowLoss = 0, lastLoss = double.NaN;
        int windowCount = 0, checksWithoutBest = 0;
        Evaluation last = default;
        var reason = StopReason.MaxIterations;
        while (trainer.Iteration < options.MaxIterations)
        {
            if (cancel.IsCancellationRequested)
            {
                reason = StopReason.Cancelled;
                break;
            }
            float loss = trainer.Step();
            lastLoss = loss;
            if (!float.IsFinite(loss))
            {
                reason = StopReason.Diverged;
                break;
            }
            windowLoss += loss;
            windowCount++;
            long it = trainer.Iteration;
            if (it % options.CheckEvery != 0 && it != options.MaxIterations) continue;

            last = trainer.Evaluate();
            if (last.Accuracy > best)
            {
                best = last.Accuracy;
                checksWithoutBest = 0;
            }
            else
            {
                checksWithoutBest++;
            }
            monitor?.OnCheck(trainer, new CheckReport(it, windowLoss / windowCount, last, best,
                Stopwatch.GetElapsedTime(start).TotalSeconds));
            windowLoss = 0;
            windowCount = 0;
            if (last.ErrorRate < SolvedErrorRate)
            {
                reason = StopReason.Solved;
                break;
            }
            if (checksWithoutBest >= options.Patience)
            {
                reason = StopReason.Patience;
                break;
            }
        }
        double wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return new TrainingResult(trainer.Iteration, Math.Max(best, 0), last.Count == 0 ? double.NaN : last.Loss,
            last.Accuracy, reason == StopReason.Solved, reason, wall, lastLoss);
    }
}
