using FastLra.Data;

namespace FastLra.Model;

/// <summary>
/// Per-feature standardisation a model carries, so its users work in original units: each input
/// feature i is fed to the network as (x_i - InputMean_i) / InputStd_i, and for regression each
/// network output j is read as o_j TargetStd_j + TargetMean_j (empty target arrays: outputs are
/// used as they are, as for classification). Saved beside the weights as the tensors
/// <c>input_mean</c>, <c>input_std</c>, <c>target_mean</c>, <c>target_std</c>.
/// </summary>
public sealed class Normalization
{
    /// <summary>A normalisation from its four vectors (targets may be empty); every standard deviation must be positive and finite.</summary>
    public Normalization(float[] inputMean, float[] inputStd, float[] targetMean, float[] targetStd)
    {
        if (inputMean.Length != inputStd.Length || targetMean.Length != targetStd.Length)
            throw new ArgumentException("Each mean needs a standard deviation of its length.");
        foreach (float[] deviations in (float[][])[inputStd, targetStd])
            foreach (float s in deviations)
                if (!(s > 0f) || !float.IsFinite(s)) throw new ArgumentException($"A standard deviation must be positive and finite, got {s}.");
        foreach (float[] means in (float[][])[inputMean, targetMean])
            foreach (float m in means)
                if (!float.IsFinite(m)) throw new ArgumentException($"A mean must be finite, got {m}.");
        InputMean = inputMean;
        InputStd = inputStd;
        TargetMean = targetMean;
        TargetStd = targetStd;
    }

    /// <summary>Mean of each input feature (I).</summary>
    public float[] InputMean { get; }

    /// <summary>Standard deviation of each input feature (I).</summary>
    public float[] InputStd { get; }

    /// <summary>Mean of each regression target (O), or empty.</summary>
    public float[] TargetMean { get; }

    /// <summary>Standard deviation of each regression target (O), or empty.</summary>
    public float[] TargetStd { get; }

    /// <summary>Whether outputs are scaled back (regression targets were standardised).</summary>
    public bool HasTargets => TargetMean.Length > 0;

    /// <summary>
    /// The means and (population) standard deviations of a training set's inputs over every
    /// sequence and step, and of its targets when <paramref name="targets"/> is set. A constant
    /// feature cannot be standardised: it is an <see cref="ArgumentException"/> naming it (by
    /// <paramref name="inputNames"/> or <paramref name="targetNames"/> when given).
    /// </summary>
    public static Normalization Fit(SequenceDataSet data, bool targets, IReadOnlyList<string>? inputNames = null, IReadOnlyList<string>? targetNames = null)
    {
        var (inputMean, inputStd) = Moments(data.X, data.Layout.Inputs, "input", inputNames);
        var (targetMean, targetStd) = targets ? Moments(data.Y, data.Layout.Outputs, "target", targetNames) : ([], []);
        return new Normalization(inputMean, inputStd, targetMean, targetStd);
    }

    /// <summary>Standardises a data set in place: its inputs, and its targets and persistence predictions when this has targets.</summary>
    public void Apply(SequenceDataSet data)
    {
        if (data.Layout.Inputs != InputMean.Length || (HasTargets && data.Layout.Outputs != TargetMean.Length))
            throw new ArgumentException("The data set's widths are not this normalisation's.");
        Standardise(data.X, InputMean, InputStd);
        if (!HasTargets) return;
        Standardise(data.Y, TargetMean, TargetStd);
        Standardise(data.Persistence, TargetMean, TargetStd);
    }

    /// <summary>destination (I) = (x - mean) / std; may be x.</summary>
    public void NormalizeInput(ReadOnlySpan<float> x, Span<float> destination)
    {
        for (int i = 0; i < InputMean.Length; i++) destination[i] = (x[i] - InputMean[i]) / InputStd[i];
    }

    /// <summary>Rows of O outputs in place: o std + mean (nothing without targets).</summary>
    public void DenormalizeOutputs(Span<float> outputs)
    {
        if (!HasTargets) return;
        int width = TargetMean.Length;
        for (int k = 0; k < outputs.Length; k++) outputs[k] = outputs[k] * TargetStd[k % width] + TargetMean[k % width];
    }

    private static void Standardise(Span<float> rows, float[] mean, float[] std)
    {
        int width = mean.Length;
        for (int k = 0; k < rows.Length; k++) rows[k] = (rows[k] - mean[k % width]) / std[k % width];
    }

    private static (float[] Mean, float[] Std) Moments(ReadOnlySpan<float> rows, int width, string kind, IReadOnlyList<string>? names)
    {
        var mean = new float[width];
        var std = new float[width];
        long count = rows.Length / width;
        for (int j = 0; j < width; j++)
        {
            double sum = 0;
            for (long r = 0; r < count; r++) sum += rows[(int)(r * width + j)];
            double m = sum / count, squares = 0;
            for (long r = 0; r < count; r++)
            {
                double d = rows[(int)(r * width + j)] - m;
                squares += d * d;
            }
            double s = Math.Sqrt(squares / count);
            // A spread below float resolution at this magnitude is a constant feature.
            if (!(s > 1e-6 * Math.Max(1, Math.Abs(m))))
                throw new ArgumentException(
                    $"{kind} {(names is not null && j < names.Count ? $"'{names[j]}'" : $"feature {j}")} is constant ({m:G6}) in the training data, so it cannot be standardised; drop it or use --normalize none.");
            mean[j] = (float)m;
            std[j] = (float)s;
        }
        return (mean, std);
    }
}
