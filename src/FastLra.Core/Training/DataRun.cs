using FastLra.Data;
using FastLra.IO;
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

    /// <summary>The training file's length and CRC-32C as it was read (null for data in memory): a saved model records them, so eval and predict know the file again.</summary>
    public FileChecksum? Checksum { get; init; }
}
