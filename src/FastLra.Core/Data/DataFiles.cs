using System.Globalization;
using FastLra.Data;
using FastLra.IO;
using FastLra.Kernels;
using FastLra.Tasks;
using FastLra.Training;

namespace FastLra.Data;

/// <summary>Bad data: the message names the file and where in it (line and column, or array and index).</summary>
public sealed class DataFormatException(string message) : Exception(message);

/// <summary>Which steps of a data set carry an output.</summary>
public enum OutputSelection
{
    /// <summary>From the targets' shape: one per sequence for y of N x O or N labels, every step from the washout for per-step targets.</summary>
    Auto,

    /// <summary>One output, after the last step.</summary>
    Last,

    /// <summary>An output at every step from the washout on.</summary>
    All,
}

/// <summary>How to read a data file into sequences (the CLI's data flags).</summary>
public sealed record DataFileOptions
{
    /// <summary>CSV: the columns fed to the network, in order, comma-separated.</summary>
    public string InputColumns { get; init; } = "";

    /// <summary>CSV: the columns to predict, comma-separated.</summary>
    public string TargetColumns { get; init; } = "";

    /// <summary>Integer class labels in [0, Classes): CSV target columns hold labels when set; for arrays, 0 means the largest label + 1.</summary>
    public int Classes { get; init; }

    /// <summary>CSV: steps per sequence T.</summary>
    public int Window { get; init; }

    /// <summary>CSV: the target of input step r is the target column at row r + Horizon.</summary>
    public int Horizon { get; init; } = 1;

    /// <summary>CSV: rows from one window's start to the next's.</summary>
    public int Stride { get; init; } = 1;

    /// <summary>Which steps carry an output.</summary>
    public OutputSelection Outputs { get; init; } = OutputSelection.Auto;

    /// <summary>With outputs at every step, the first step that carries one.</summary>
    public int Washout { get; init; }

    /// <summary>CSV: the character between cells, ',', ';' or a tab; null finds it in the header row (the most frequent of the three outside quotes, ',' when it has none).</summary>
    public char? Delimiter { get; init; }

    /// <summary>CSV: numbers are written with a decimal comma (1,5); the cells must then be separated by ';' or tabs.</summary>
    public bool DecimalComma { get; init; }

    /// <summary>
    /// CSV: a cell may hold a non-finite value (nan, inf, -inf, Infinity, any case), and an empty
    /// cell reads as NaN, instead of being refused: for replaying a sensor log with gaps.
    /// </summary>
    internal bool AllowNonFinite { get; init; }

    /// <summary>CSV: a column whose cells (any text: years, dates) are kept as written, to label each row's predictions (<see cref="LoadedData.Times"/>); empty for none.</summary>
    internal string TimeColumn { get; init; } = "";

    /// <summary>CSV: keep the selected cells of every row (<see cref="LoadedData.Series"/>), for a forecast past the series' end.</summary>
    internal bool KeepSeries { get; init; }

    /// <summary>The most classes a classifier has: its output layer's width, far more than an edge controller's network needs.</summary>
    internal const int MaxClasses = 65_536;

    /// <summary>The most rows a CSV window and its horizon may span: a CSV file FastLra reads (at most 2 GB, two bytes a row or more) holds fewer.</summary>
    internal const int MaxRows = 1 << 30;

    /// <summary>
    /// The first data option out of its bounds, or null: classes, window and horizon (their
    /// least values, which depend on the file, are the reader's to check). Checked before a
    /// file is opened, so no size is computed from a value past them.
    /// </summary>
    internal string? Validate()
    {
        if (Classes < 0) return $"--classes must be >= 0 (0 = regression), got {Classes}.";
        if (Classes > MaxClasses) return $"--classes {Classes} is more than the {MaxClasses} classes a classifier may have.";
        if (Window > MaxRows) return $"--window {Window} is more than the {MaxRows} rows a CSV file can hold.";
        if ((long)Math.Max(Window, 0) + Horizon > MaxRows)
            return $"--horizon {Horizon} with --window {Window} spans more than the {MaxRows} rows a CSV file can hold.";
        return null;
    }
}

/// <summary>A data set read from a file, with the names of its input and target features.</summary>
public sealed class LoadedData(SequenceDataSet data, string[] inputNames, string[] targetNames, bool timeSeries)
{
    /// <summary>The sequences.</summary>
    public SequenceDataSet Data => data;

    /// <summary>The input features' names (CSV columns, or "input i").</summary>
    public string[] InputNames => inputNames;

    /// <summary>The targets' names (CSV columns, "label = c" per class, or "output j").</summary>
    public string[] TargetNames => targetNames;

    /// <summary>Whether the sequences are windows of one series (a validation split then takes the last ones).</summary>
    public bool TimeSeries => timeSeries;

    /// <summary>The length and CRC-32C of the file as it was read (null for data that came from no file).</summary>
    internal FileChecksum? Checksum { get; set; }

    /// <summary>A CSV series' data rows (the header not counted); window k starts at row k x stride. 0 for arrays.</summary>
    internal long Rows { get; init; }

    /// <summary>With <see cref="DataFileOptions.TimeColumn"/>: that column's cell of every data row, as written; else null.</summary>
    internal RowTexts? Times { get; init; }

    /// <summary>With <see cref="DataFileOptions.KeepSeries"/>: the series' input values row by row; else null.</summary>
    internal CsvSeries? Series { get; init; }
}

/// <summary>
/// Reads sequence data sets: numpy <c>.npz</c> archives (numpy.savez) and <c>.safetensors</c> files
/// holding <c>x</c> (N x T x I, float32 or float64) and <c>y</c> (N x O regression values or
/// one-hot rows, N integer labels, N x T x O, or N x T integer labels), and CSV time series cut into
/// windows. Everything is checked before use; bad data is a <see cref="DataFormatException"/> naming
/// the file and the place.
/// </summary>
public static class DataFiles
{
    /// <summary>Most values one array may hold (1 GiB of floats).</summary>
    public const long MaxValues = 1L << 28;

    /// <summary>The formats <see cref="Read"/> takes, by extension, as help and messages list them.</summary>
    internal const string Formats = ".csv, .npz or .safetensors";

    /// <summary>Reads <paramref name="path"/> by its extension.</summary>
    public static LoadedData Read(string path, DataFileOptions options)
    {
        if (options.Validate() is { } problem) throw new DataFormatException(problem);
        if (Directory.Exists(path)) throw IsDirectory(path);
        string extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension is not (".csv" or ".npz" or ".safetensors"))
            throw new DataFormatException($"{path}: unknown data format '{extension}' (FastLra reads {Formats}).");
        if (extension == ".csv") CsvData.CheckOptions(path, options);
        else if (options.TimeColumn.Length > 0) throw new DataFormatException($"{path}: --time-column names a column of a CSV series; this is an array file.");
        try
        {
            using var stream = BoundedFile.Open(path, Array.MaxLength);
            if (extension == ".csv") return CsvData.Read(path, stream, options);
            long length = stream.Length;
            // The file, its values as floats and the data set's copy of them: about three times the file.
            long need = length * 3;
            if (need > MemoryBudget.Bytes)
                throw new DataFormatException(MemoryBudget.TooMuch($"{path}: reading it", need, "use a smaller file"));
            var bytes = new byte[length];
            stream.ReadExactly(bytes);
            var arrays = Arrays(path, bytes, extension, options);
            arrays.Checksum = FileChecksum.Of(bytes);
            return arrays;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new DataFormatException($"{path}: cannot read ({e.Message}).");
        }
        catch (Exception e) when (e is InvalidDataException or WeightFileException)
        {
            throw new DataFormatException(e.Message.StartsWith(path, StringComparison.Ordinal) ? e.Message : $"{path}: {e.Message}");
        }
    }

    /// <summary>
    /// Refuses, as <see cref="Read"/> would, a path that names no regular file to read (missing, a
    /// directory, a device, unreadable), without reading it: a sweep checks its grid's files so.
    /// </summary>
    internal static void CheckReadable(string path)
    {
        if (Directory.Exists(path)) throw IsDirectory(path);
        try
        {
            using var stream = BoundedFile.Open(path, long.MaxValue);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"{path}: cannot read ({e.Message}).");
        }
    }

    private static DataFormatException IsDirectory(string path) => new($"{path}: cannot read (it is a directory, not a file).");

    private static LoadedData Arrays(string path, byte[] bytes, string extension, DataFileOptions o)
    {
        NumericArray? x = null, y = null;
        if (extension == ".npz")
        {
            foreach (var (name, entry) in Zip.Read(bytes, 16L + 8L * MaxValues + 65536, path))
            {
                if (name == "x.npy") x = NumericArray.ParseNpy(entry, $"{path}: x", MaxValues);
                else if (name == "y.npy") y = NumericArray.ParseNpy(entry, $"{path}: y", MaxValues);
            }
        }
        else
        {
            var file = new SafeTensors.SafeTensorsFile(path, bytes);
            if (file.Find("x") is { } xt) x = NumericArray.FromSafeTensors(file, xt, MaxValues);
            if (file.Find("y") is { } yt) y = NumericArray.FromSafeTensors(file, yt, MaxValues);
        }
        if (x is null || y is null) throw new DataFormatException($"{path}: needs arrays named x (N x T x I) and y; it has {(x is null ? "no x" : "no y")}.");
        return FromArrays(x, y, path, o);
    }

    /// <summary>A data set from arrays x (N x T x I) and y (see <see cref="DataFiles"/>).</summary>
    internal static LoadedData FromArrays(NumericArray x, NumericArray y, string path, DataFileOptions o)
    {
        if (x.Shape.Length != 3 || x.Shape[0] == 0 || x.Shape[1] == 0 || x.Shape[2] == 0)
            throw new DataFormatException($"{path}: x must be N x T x I with no empty dimension, got [{string.Join(", ", x.Shape)}].");
        if (x.IsInteger) throw new DataFormatException($"{path}: x has dtype {x.DType}; inputs must be float32 or float64.");
        int n = x.Shape[0], steps = x.Shape[1], inputs = x.Shape[2];
        if (y.Shape.Length == 0 || y.Shape[0] != n)
            throw new DataFormatException($"{path}: x has {n} sequences but y has shape [{string.Join(", ", y.Shape)}]; y's first dimension must be N = {n}.");
        CheckFinite(x.Data, x.Shape, path, "x");
        CheckFinite(y.Data, y.Shape, path, "y");
        // Labels: y of N or N x T integers. Values: N x O or N x T x O floats (rows all one-hot read as classes).
        bool labels = y.IsInteger && y.Shape.Length is 1 or 2;
        bool perStep = labels ? y.Shape.Length == 2 : y.Shape.Length == 3;
        if (!labels && y.Shape.Length is not (2 or 3))
            throw new DataFormatException($"{path}: y must be N x O, N labels, N x T x O or N x T labels; got [{string.Join(", ", y.Shape)}] of {y.DType}.");
        if (perStep && y.Shape[1] != steps)
            throw new DataFormatException($"{path}: y has {y.Shape[1]} steps per sequence, x has T = {steps}.");
        int washout = Washout(o, perStep, steps, path);
        float[] targets;
        int outputs;
        GlobalLossKind loss;
        if (labels)
        {
            (targets, outputs) = OneHot(y.Data, o.Classes, path);
            loss = GlobalLossKind.SoftmaxCrossEntropy;
        }
        else
        {
            targets = y.Data;
            outputs = y.Shape[^1];
            if (outputs == 0) throw new DataFormatException($"{path}: y has no outputs.");
            loss = OneHotRows(targets, outputs) ? GlobalLossKind.SoftmaxCrossEntropy : GlobalLossKind.MeanSquaredError;
        }
        var layout = new SequenceLayout(steps, inputs, outputs, washout, loss);
        if (perStep) targets = KeepSteps(targets, n, steps, outputs, washout);
        return new LoadedData(new SequenceDataSet(layout, x.Data, targets), Numbered("input", inputs),
            Numbered("output", outputs), timeSeries: false);
    }

    /// <summary>
    /// Splits off a validation set of round(fraction N) sequences (at least one, and at least one
    /// left to train on): the last windows of a time series (never a random split of one), a
    /// seeded random subset of independent sequences.
    /// </summary>
    public static (SequenceDataSet Train, SequenceDataSet Valid) Split(LoadedData data, double fraction, uint seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        var (order, valid) = SplitOrder(data.Data.Count, data.TimeSeries, fraction, seed);
        int n = order.Length;
        return (data.Data.Subset(order.AsSpan(0, n - valid)), data.Data.Subset(order.AsSpan(n - valid)));
    }

    /// <summary>Which of <paramref name="n"/> sequences <see cref="Split"/> holds out for validation (true) with the same fraction and seed.</summary>
    internal static bool[] HeldOut(int n, bool timeSeries, double fraction, uint seed)
    {
        var (order, valid) = SplitOrder(n, timeSeries, fraction, seed);
        var held = new bool[n];
        foreach (int k in order.AsSpan(n - valid)) held[k] = true;
        return held;
    }

    /// <summary>The sequences' indices, those to train on first (in order), then the <c>Valid</c> held out (in order).</summary>
    private static (int[] Order, int Valid) SplitOrder(int n, bool timeSeries, double fraction, uint seed)
    {
        if (!(fraction > 0 && fraction < 1)) throw new DataFormatException($"--valid-fraction must be in (0, 1), got {fraction}.");
        int valid = (int)Math.Round(fraction * n);
        if (valid < 1 || valid > n - 1)
            throw new DataFormatException(
                $"--valid-fraction {fraction} of {n} sequences leaves {(valid < 1 ? "no validation sequence" : "no training sequence")}; use more data or another fraction.");
        var order = new int[n];
        for (int k = 0; k < n; k++) order[k] = k;
        if (!timeSeries)
        {
            var rng = new RandomState(seed);
            for (int i = n - 1; i > 0; i--)
            {
                int j = rng.RandInt(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            Array.Sort(order, 0, n - valid);
            Array.Sort(order, n - valid, valid);
        }
        return (order, valid);
    }

    /// <summary>The washout of sequences of T = <paramref name="steps"/>, from the options and whether the targets are per step.</summary>
    internal static int Washout(DataFileOptions o, bool perStep, int steps, string path)
    {
        var outputs = o.Outputs == OutputSelection.Auto ? (perStep ? OutputSelection.All : OutputSelection.Last) : o.Outputs;
        if (outputs == OutputSelection.All && !perStep)
            throw new DataFormatException($"{path}: y has one target per sequence; --outputs all needs a target at every step (y of N x T x O or N x T labels).");
        if (outputs == OutputSelection.Last)
        {
            if (o.Washout != 0) throw new DataFormatException($"{path}: --washout applies to --outputs all only.");
            return steps - 1;
        }
        if (o.Washout < 0 || o.Washout > steps - 1)
            throw new DataFormatException($"{path}: --washout must be in [0, T-1] = [0, {steps - 1}] for its sequences of T = {steps}, got {o.Washout}.");
        return o.Washout;
    }

    /// <summary>Per-step targets (N x T x O) without the steps before the washout (N x R x O).</summary>
    private static float[] KeepSteps(float[] targets, int n, int steps, int outputs, int washout)
    {
        if (washout == 0) return targets;
        int r = steps - washout;
        var kept = new float[(long)n * r * outputs];
        for (int s = 0; s < n; s++)
            targets.AsSpan((s * steps + washout) * outputs, r * outputs).CopyTo(kept.AsSpan(s * r * outputs, r * outputs));
        return kept;
    }

    private static (float[] OneHot, int Classes) OneHot(float[] labels, int classes, string path)
    {
        float max = 0;
        foreach (float label in labels) max = MathF.Max(max, label);
        if (classes <= 0) classes = (int)Math.Min(max + 1, int.MaxValue);
        if (classes < 2) throw new DataFormatException($"{path}: y holds labels of {classes} class; classification needs at least 2 (or pass --classes).");
        if (classes > DataFileOptions.MaxClasses)
            throw new DataFormatException($"{path}: y holds labels up to {classes - 1}, more than the {DataFileOptions.MaxClasses} classes a classifier may have.");
        if ((long)labels.Length * classes > MaxValues) throw new DataFormatException($"{path}: {labels.Length} labels of {classes} classes are too many one-hot values.");
        var oneHot = new float[labels.Length * classes];
        for (int k = 0; k < labels.Length; k++)
        {
            float label = labels[k];
            if (label < 0 || label >= classes)
                throw new DataFormatException($"{path}: y[{k}] = {label} is outside [0, {classes}) classes.");
            oneHot[k * classes + (int)label] = 1f;
        }
        return (oneHot, classes);
    }

    private static bool OneHotRows(float[] values, int width)
    {
        if (width < 2) return false;
        for (int row = 0; row < values.Length / width; row++)
        {
            int ones = 0;
            for (int j = 0; j < width; j++)
            {
                float v = values[row * width + j];
                if (v == 1f) ones++;
                else if (v != 0f) return false;
            }
            if (ones != 1) return false;
        }
        return true;
    }

    private static void CheckFinite(float[] values, int[] shape, string path, string name)
    {
        for (int k = 0; k < values.Length; k++)
        {
            if (float.IsFinite(values[k])) continue;
            var index = new int[shape.Length];
            long rest = k;
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                index[d] = (int)(rest % shape[d]);
                rest /= shape[d];
            }
            throw new DataFormatException($"{path}: {name}[{string.Join(", ", index)}] is {values[k]}; every value must be finite.");
        }
    }

    /// <summary>"kind 0", "kind 1", ...: names for features that have none.</summary>
    internal static string[] Numbered(string kind, int count)
    {
        var names = new string[count];
        for (int k = 0; k < count; k++) names[k] = $"{kind} {k}";
        return names;
    }
}
