using FastLra.Data;
using FastLra.IO;
using FastLra.Kernels;
using FastLra.Model;

namespace FastLra.Training;

/// <summary>
/// What a run on the user's data carries beside its trainer: the data sets, the normalisation and
/// the baselines. (A class, not a record: nothing compares runs, and a record's generated members
/// cost the Native AOT binary.)
/// </summary>
internal sealed class DataRun(SequenceDataSet train, SequenceDataSet valid, Normalization? normalization, string[] inputNames,
    string[] targetNames, double baselineR2Mean, double baselineR2Persistence)
{
    /// <summary>The training sequences (standardised when <see cref="Normalization"/> is set).</summary>
    public SequenceDataSet Train => train;

    /// <summary>The validation sequences, likewise.</summary>
    public SequenceDataSet Valid => valid;

    /// <summary>The standardisation the saved model applies, or null.</summary>
    public Normalization? Normalization => normalization;

    /// <summary>The input features' names.</summary>
    public IReadOnlyList<string> InputNames => inputNames;

    /// <summary>The targets' names (for classes, one per class).</summary>
    public IReadOnlyList<string> TargetNames => targetNames;

    /// <summary>Regression: R² on the validation set of predicting the training targets' mean (NaN for classification).</summary>
    public double BaselineR2Mean => baselineR2Mean;

    /// <summary>CSV regression: R² of predicting the last observed target (NaN otherwise).</summary>
    public double BaselineR2Persistence => baselineR2Persistence;
}

/// <summary>
/// The one place a run is wired, for the CLI, the tests and the examples: a synthetic task's
/// generator and validation set, or the user's data read, split, standardised and turned into a
/// shuffled training source and an in-order validation set.
/// </summary>
internal static class TrainerFactory
{
    /// <summary>
    /// A trainer for <paramref name="options"/>: on its data when <see cref="TrainingOptions.Data"/>
    /// is set (bad data is a <see cref="DataFormatException"/>), else on its synthetic task; from
    /// <paramref name="initial"/> when given (of another shape: a <see cref="WeightFileException"/>).
    /// </summary>
    public static Trainer Create(TrainingOptions options, ParameterSet? initial = null)
    {
        if (options.Data is not { } data)
        {
            var task = options.Task;
            CheckInitial(initial, new RnnShape(Tasks.TaskInfo.Inputs(task), options.Hidden, Tasks.TaskInfo.Outputs(task)));
            return new Trainer(options, initial);
        }
        string? problem = options.ValidateTraining();
        if (problem is not null) throw new ArgumentException(problem);
        var loaded = DataFiles.Read(data.Path, data.File);
        SequenceDataSet train, valid;
        if (data.ValidPath is not null)
        {
            train = loaded.Data;
            valid = DataFiles.Read(data.ValidPath, data.File).Data;
            if (valid.Layout != train.Layout)
                throw new DataFormatException($"{data.ValidPath}: its sequences ({valid.Layout}) are not shaped as {data.Path}'s ({train.Layout}).");
        }
        else
        {
            (train, valid) = DataFiles.Split(loaded, data.ValidFraction, options.Seed);
            loaded.Data.Dispose(); // the split copied what it keeps; the whole file's buffer goes back to the pool
        }
        return FromDataSets(options, train, valid, data.Normalize, loaded.InputNames, loaded.TargetNames, initial);
    }

    /// <summary>
    /// A trainer on data sets already in memory (a .NET caller's arrays): standardised first when
    /// <paramref name="normalize"/> is set (a constant feature is a <see cref="DataFormatException"/>).
    /// The data sets are the run's from then on. Per-step outputs with the reference semantics are
    /// an <see cref="OptionException"/>.
    /// </summary>
    public static Trainer FromDataSets(TrainingOptions options, SequenceDataSet train, SequenceDataSet valid, bool normalize,
        string[]? inputNames = null, string[]? targetNames = null, ParameterSet? initial = null)
    {
        if (valid.Layout != train.Layout) throw new ArgumentException("The validation set's layout is not the training set's.");
        var layout = train.Layout;
        CheckInitial(initial, new RnnShape(layout.Inputs, options.Hidden, layout.Outputs));
        if (options.Algorithm == AlgorithmKind.Lra && options.Semantics == LraSemantics.Reference && layout.PerStep)
            throw new OptionException(Lra.ReferencePerStepRefusal + ".");
        if (options.ValidateCost(layout.Inputs, layout.Outputs, layout.Steps, layout.Washout, valid.Count) is { } cost) throw new OptionException(cost);
        bool regression = layout.Loss == GlobalLossKind.MeanSquaredError;
        inputNames ??= DataFiles.Numbered("input", layout.Inputs);
        targetNames ??= DataFiles.Numbered("output", layout.Outputs);
        Normalization? normalization = null;
        if (normalize)
        {
            try
            {
                normalization = Normalization.Fit(train, regression, inputNames, targetNames);
            }
            catch (ArgumentException e)
            {
                throw new DataFormatException(e.Message);
            }
            normalization.Apply(train);
            normalization.Apply(valid);
        }
        var scale = normalization is { HasTargets: true } ? normalization.TargetStd : [];
        var evaluator = new Evaluator(valid.InOrder(), valid.Count, options.Hidden, scale);
        var run = new DataRun(train, valid, normalization, inputNames, targetNames,
            regression ? MeanBaseline(train, valid, scale) : double.NaN,
            regression && !valid.Persistence.IsEmpty ? Baseline(valid.Persistence, valid.Y, scale, layout.Outputs) : double.NaN);
        return new Trainer(options, train.Batches(options.Seed), evaluator, initial, run);
    }

    private static void CheckInitial(ParameterSet? initial, RnnShape expected)
    {
        if (initial is not null && initial.Shape != expected)
            throw new WeightFileException(
                $"the initial parameters hold a network with I={initial.Shape.Inputs}, H={initial.Shape.Hidden}, O={initial.Shape.Outputs}; " +
                $"this run needs I={expected.Inputs}, H={expected.Hidden}, O={expected.Outputs}.");
    }

    /// <summary>R² of predicting the training targets' mean for every validation target.</summary>
    private static double MeanBaseline(SequenceDataSet train, SequenceDataSet valid, float[] scale)
    {
        int width = train.Layout.Outputs;
        var mean = new double[width];
        var y = train.Y;
        for (int k = 0; k < y.Length; k++) mean[k % width] += y[k];
        var prediction = new float[valid.Y.Length];
        for (int k = 0; k < prediction.Length; k++) prediction[k] = (float)(mean[k % width] / (y.Length / width));
        return Baseline(prediction, valid.Y, scale, width);
    }

    /// <summary>R² of <paramref name="prediction"/> for targets y (rows of <paramref name="width"/>), in the units <paramref name="scale"/> (or 1) gives.</summary>
    private static double Baseline(ReadOnlySpan<float> prediction, ReadOnlySpan<float> y, float[] scale, int width) =>
        Evaluator.RSquared(prediction, y, scale, width);
}
