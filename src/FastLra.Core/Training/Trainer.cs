using System.Globalization;
using FastLra.Data;
using FastLra.Model;

namespace FastLra.Training;

/// <summary>The shortest way to train: a <see cref="TrainingRun"/> started (or resumed from its checkpoint), run to its end, and its model.</summary>
public static class Trainer
{
    /// <summary>
    /// Trains the run of <paramref name="spec"/>: resumes its checkpoint when the file is there
    /// (<see cref="TrainingRun.StartOrResume"/>), tells <paramref name="observer"/> of each check
    /// (<see cref="ConsoleProgress"/> prints them as the command line does), and returns the model.
    /// </summary>
    public static FitResult Fit(RunSpec spec, ITrainingObserver? observer = null, CancellationToken cancel = default)
    {
        var run = TrainingRun.StartOrResume(spec);
        var result = run.Run(observer, cancel);
        return new FitResult(run, result);
    }

    /// <summary>
    /// Trains on sequences in memory and returns the model to stream with: the best check's by
    /// validation loss, standardised inputs and outputs handled inside it (with
    /// <paramref name="normalize"/>), so its user works in original units. The data sets are
    /// standardised in place and belong to the run.
    /// </summary>
    public static FitResult Fit(TrainingOptions options, SequenceDataSet train, SequenceDataSet valid, bool normalize = true,
        ITrainingObserver? observer = null, CancellationToken cancel = default) =>
        Fit(new RunSpec(new DataSetSource(train, valid) { Normalize = normalize }) { Options = options }, observer, cancel);

    /// <summary>
    /// The closing line of a run, as the command line prints it: how it stopped, how fast, and how
    /// good its model is (on data the best check's, with the baselines a forecast must beat).
    /// </summary>
    internal static string Summary(TrainingRun run, TrainingResult result)
    {
        string head = string.Create(CultureInfo.InvariantCulture,
            $"{OptionNames.StopReasons.Name(result.StopReason)}: {result.Iterations} iterations in {result.WallSeconds:F1} s ({result.SecondsPerIteration * 1e3:F3} ms/it), ");
        var valid = result.Valid;
        if (valid.Count == 0) return head + "no validation check ran";
        if (run.Data is not { } data)
            return head + string.Create(CultureInfo.InvariantCulture, $"best valid accuracy {result.BestValidAccuracy:P2}, final valid loss {result.FinalValidLoss:G4}");
        head += $"best check at iteration {result.BestIteration}: ";
        if (data.Train.Layout.Loss != GlobalLossKind.MeanSquaredError)
            return head + string.Create(CultureInfo.InvariantCulture, $"valid accuracy {valid.Accuracy:P2}, loss {valid.Loss:G4}");
        return head + string.Create(CultureInfo.InvariantCulture,
            $"valid RMSE {valid.Rmse:G4}, MAE {valid.Mae:G4}, R² {valid.R2:F4} (baselines: training mean R² {data.BaselineR2Mean:F4}" +
            $"{(double.IsNaN(data.BaselineR2Persistence) ? "" : $", persistence R² {data.BaselineR2Persistence:F4}")})");
    }
}

/// <summary>What <see cref="Trainer.Fit(RunSpec, ITrainingObserver?, CancellationToken)"/> returns: the model, how the run went, and the run.</summary>
public sealed class FitResult(TrainingRun run, TrainingResult result)
{
    /// <summary>The trained model (on data, the best check's, with its normalisation): give it to an <see cref="RnnState"/> to stream, or save it.</summary>
    public RnnModel Model { get; } = run.Model;

    /// <summary>How the run went: iterations, stop reason, the validation figures.</summary>
    public TrainingResult Result => result;

    /// <summary>The run, for its data, parameters and checkpoints.</summary>
    public TrainingRun Run => run;

    /// <summary>The run's closing line, as <c>fastlra train</c> prints it.</summary>
    public override string ToString() => Trainer.Summary(run, result);
}
