using System.Diagnostics;

namespace FastLra.Training;

/// <summary>Why a run ended.</summary>
public enum StopReason
{
    /// <summary>Validation error fell below 0.0001.</summary>
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
/// checks in a row have passed without a new best (the patience rule stops the run when it
/// reaches the options' Patience).
/// </summary>
public readonly record struct CheckReport(
    long Iteration,
    double TrainLoss,
    Evaluation Valid,
    double BestValidAccuracy,
    double ElapsedSeconds,
    int ChecksWithoutBest);

/// <summary>Receives each validation check (progress lines, metrics files) and checkpoint points.</summary>
public interface ITrainingMonitor
{
    /// <summary>After each validation check, on the training thread; the trainer is between iterations.</summary>
    void OnCheck(Trainer trainer, in CheckReport report);

    /// <summary>Every checkpointEvery iterations and when the run stops (unless it diverged): a moment to write a checkpoint.</summary>
    internal void OnCheckpoint(Trainer trainer, LoopState state)
    {
    }
}

/// <summary>The training loop's own state beyond the trainer's, restorable from a checkpoint.</summary>
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

    /// <summary>
    /// Why the run stopped (solved, patience, or its budget), or null while it may go on; with the
    /// last check's evaluation and training loss, what a resumed stopped run reports again.
    /// </summary>
    public StopReason? Stopped { get; set; }

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
}

/// <summary>
/// The outcome of a run. On data, the final validation figures (and <see cref="Valid"/>) are those
/// of the best check by validation loss, at <see cref="BestIteration"/>, whose parameters the run keeps.
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

/// <summary>
/// The paper's training protocol: validate every CheckEvery iterations (and after the last);
/// solved when the validation error is below 0.0001; stop after Patience checks without a new
/// best; stop at once if the training loss is not finite. On the user's data (a trainer with
/// <see cref="Trainer.Data"/>) the best is the lowest validation loss, its parameters are kept in
/// <see cref="Trainer.BestParameters"/>, and nothing is "solved": early stopping as users expect.
/// </summary>
internal static class TrainingLoop
{
    /// <summary>Validation error below which a task counts as solved.</summary>
    public const double SolvedErrorRate = 1e-4;

    /// <summary>
    /// Runs until solved, out of patience, out of iterations (counted from the run's start, so a
    /// resumed trainer continues its budget), cancelled, or diverged. <paramref name="state"/>
    /// carries the loop's state in from a checkpoint and out to one. A run that had stopped (solved,
    /// out of patience, or at a budget that was not raised) reports the same result again without
    /// another iteration.
    /// </summary>
    public static TrainingResult Run(Trainer trainer, ITrainingMonitor? monitor, LoopState? state = null, long checkpointEvery = 0,
        CancellationToken cancel = default)
    {
        var options = trainer.Options;
        state ??= new LoopState();
        long start = Stopwatch.GetTimestamp();
        double before = state.ElapsedSeconds, lastLoss = state.LastTrainLoss;
        Evaluation last = state.Last;
        var reason = StopReason.MaxIterations;
        bool stopped = state.Stopped is { } was && (was != StopReason.MaxIterations || trainer.Iteration >= trainer.MaxIterations);
        if (stopped) reason = state.Stopped!.Value;
        while (!stopped && trainer.Iteration < trainer.MaxIterations)
        {
            if (cancel.IsCancellationRequested)
            {
                reason = StopReason.Cancelled;
                break;
            }
            long next = trainer.Iteration + 1;
            bool detailed = next % options.CheckEvery == 0 || next == trainer.MaxIterations;
            trainer.Algorithm.Diagnostics.Detailed = detailed;
            float loss = trainer.Step(probe: detailed);
            lastLoss = loss;
            if (!float.IsFinite(loss))
            {
                reason = StopReason.Diverged;
                break;
            }
            state.WindowLoss += loss;
            state.WindowCount++;
            long it = trainer.Iteration;
            state.ElapsedSeconds = before + Stopwatch.GetElapsedTime(start).TotalSeconds;
            bool check = it % options.CheckEvery == 0 || it == trainer.MaxIterations;
            if (check)
            {
                last = trainer.Evaluate();
                bool better = trainer.BestParameters is not null ? last.Loss < state.BestValidLoss : last.Accuracy > state.BestValidAccuracy;
                state.BestValidAccuracy = Math.Max(state.BestValidAccuracy, last.Accuracy);
                if (better)
                {
                    state.ChecksWithoutBest = 0;
                    if (trainer.BestParameters is { } keep)
                    {
                        state.BestValidLoss = last.Loss;
                        state.BestIteration = it;
                        state.Best = last;
                        trainer.Parameters.Data.CopyTo(keep.Data);
                    }
                }
                else
                {
                    state.ChecksWithoutBest++;
                }
                state.ElapsedSeconds = before + Stopwatch.GetElapsedTime(start).TotalSeconds;
                monitor?.OnCheck(trainer, new CheckReport(it, state.WindowLoss / state.WindowCount, last, state.BestValidAccuracy, state.ElapsedSeconds, state.ChecksWithoutBest));
                state.WindowLoss = 0;
                state.WindowCount = 0;
            }
            if (checkpointEvery > 0 && it % checkpointEvery == 0) monitor?.OnCheckpoint(trainer, state);
            if (!check) continue;
            if (trainer.Data is null && last.ErrorRate < SolvedErrorRate)
            {
                reason = StopReason.Solved;
                break;
            }
            if (state.ChecksWithoutBest >= options.Patience)
            {
                reason = StopReason.Patience;
                break;
            }
        }
        state.ElapsedSeconds = before + Stopwatch.GetElapsedTime(start).TotalSeconds;
        state.Stopped = reason is StopReason.Solved or StopReason.Patience or StopReason.MaxIterations ? reason : null;
        state.Last = last;
        state.LastTrainLoss = lastLoss;
        if (!stopped && checkpointEvery > 0 && reason != StopReason.Diverged) monitor?.OnCheckpoint(trainer, state);
        double bestAccuracy = state.BestValidAccuracy;
        if (trainer.Data is not null && state.BestIteration > 0) last = state.Best;
        return new TrainingResult(trainer.Iteration, Math.Max(bestAccuracy, 0), last.Count == 0 ? double.NaN : last.Loss,
            last.Accuracy, reason == StopReason.Solved, reason, state.ElapsedSeconds, lastLoss, state.BestIteration, last);
    }
}
