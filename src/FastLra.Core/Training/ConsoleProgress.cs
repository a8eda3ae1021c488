using System.Globalization;

namespace FastLra.Training;

/// <summary>
/// Prints a line per validation check, as <c>fastlra train</c> does: the iteration, the speed, the
/// training and validation losses, the accuracy (or RMSE, MAE and R² on regression data), and from
/// the second check on the time left to the budget (an upper bound: patience, and on a task solving
/// it, end a run sooner). The time left is the iterations left at the pace measured since the first
/// check (over every interval since, so one slow interval on a busy machine does not multiply it),
/// and never more than the whole budget at the run's pace so far. The first check shows none: the
/// interval before it holds the compilation of the code and the first validation, not a pace.
/// </summary>
/// <param name="writer">Where the lines go (default: the console's error stream, leaving standard output to results).</param>
public sealed class ConsoleProgress(TextWriter? writer = null) : ITrainingObserver
{
    private long _lastIteration = -1;
    private double _lastSeconds;
    private long _firstIteration = -1;
    private double _firstSeconds;

    /// <inheritdoc/>
    public void OnCheck(TrainingRun run, in CheckReport report)
    {
        ArgumentNullException.ThrowIfNull(run);
        var spec = run.Spec;
        bool first = _lastIteration < 0;
        double rate = (report.Iteration - Math.Max(_lastIteration, 0)) / Math.Max(report.ElapsedSeconds - _lastSeconds, 1e-9);
        (_lastIteration, _lastSeconds) = (report.Iteration, report.ElapsedSeconds);
        if (first) (_firstIteration, _firstSeconds) = (report.Iteration, report.ElapsedSeconds);
        bool regression = run.Data is not null && !double.IsNaN(report.Valid.Mse);
        string quality = regression
            ? string.Create(CultureInfo.InvariantCulture, $"rmse {report.Valid.Rmse,9:G5} mae {report.Valid.Mae,9:G5} R² {report.Valid.R2,7:F4}")
            : string.Create(CultureInfo.InvariantCulture, $"acc {report.Valid.Accuracy,7:P2}  best {report.BestValidAccuracy,7:P2}");
        double cosine = run.Algorithm.Diagnostics.GradientCosine;
        string conditioning = double.IsNaN(cosine) ? "" : string.Create(CultureInfo.InvariantCulture, $"cos {cosine:F6}  ");
        string eta = "";
        // From the second check on (the first includes the warm-up), while any budget is left.
        if (report.Iteration > _firstIteration && report.Iteration < run.MaxIterations)
        {
            string budget = spec.Epochs > 0 ? $"{spec.Epochs} epochs" : "--max-iter";
            string sooner = run.Data is null ? "if solved or " : "";
            double seconds = Eta(run.MaxIterations, report.Iteration, report.ElapsedSeconds);
            eta = $"ETA {(seconds < 1 ? "< 1s" : "≤ " + Time(seconds))} ({budget}; sooner {sooner}after " +
                $"{spec.Options.Patience - report.ChecksWithoutBest} checks without a new best)";
        }
        // On data, the epochs done so far, as Keras counts them (of the --epochs budget when there is one).
        string epoch = run.Data is not { } data ? ""
            : string.Create(CultureInfo.InvariantCulture, $" epoch {(double)report.Iteration * spec.Options.Batch / data.Train.Count:F1}{(spec.Epochs > 0 ? $"/{spec.Epochs}" : "")}");
        (writer ?? Console.Error).WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"it {report.Iteration,7}/{run.MaxIterations}{epoch}  {rate,8:F0} it/s  train {report.TrainLoss,9:G5}  valid {report.Valid.Loss,9:G5} {quality}  {conditioning}{eta}").TrimEnd());
    }

    // Seconds to the budget at the pace since the first check, at most the whole budget at the pace since the start.
    private double Eta(long budget, long iteration, double elapsed)
    {
        double steady = (elapsed - _firstSeconds) / (iteration - _firstIteration);
        return Math.Max(0, Math.Min((budget - iteration) * steady, budget * elapsed / iteration));
    }

    /// <summary>A duration as people read it: 42s, 17m, 3.5h.</summary>
    public static string Time(double seconds) =>
        seconds switch
        {
            < 120 => string.Create(CultureInfo.InvariantCulture, $"{seconds:F0}s"),
            < 7200 => string.Create(CultureInfo.InvariantCulture, $"{seconds / 60:F0}m"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600:F1}h"),
        };
}
