using FastLra.Tasks;
using FastLra.Training;

namespace FastLra.Tests;

/// <summary>Runs on a synthetic task, as the tests build them, and an observer that keeps every check.</summary>
internal static class TestRuns
{
    /// <summary>The spec of a run on <paramref name="task"/> of <paramref name="length"/> steps with a validation set of <paramref name="validSize"/>.</summary>
    public static RunSpec Spec(TaskKind task, int length, TrainingOptions options, int validSize = 50, CheckpointPolicy? checkpoint = null) =>
        new(new TaskSource(task, length) { ValidSize = validSize }) { Options = options, Checkpoint = checkpoint };

    /// <summary>A started run of <see cref="Spec"/>.</summary>
    public static TrainingRun Start(TaskKind task, int length, TrainingOptions options, int validSize = 50, CheckpointPolicy? checkpoint = null) =>
        TrainingRun.Start(Spec(task, length, options, validSize, checkpoint));
}

/// <summary>Keeps every check's report.</summary>
internal sealed class CheckRecorder : ITrainingObserver
{
    public List<CheckReport> Checks { get; } = [];

    public void OnCheck(TrainingRun run, in CheckReport report) => Checks.Add(report);
}
