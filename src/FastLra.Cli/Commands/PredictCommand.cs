using System.Globalization;
using FastLra.Data;
using FastLra.Interchange;
using FastLra.IO;
using FastLra.Model;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary>
/// <c>fastlra predict</c>: a saved model's predictions for every sequence of a data file, in original
/// units, each row of a CSV series labelled with the data row (or time) it predicts; or, with
/// <c>--forecast N</c>, the N steps past the end of a CSV series.
/// </summary>
internal sealed class PredictCommand : Command
{
    public override string Name => "predict";

    public override string Summary => "a saved model's predictions for a data file, or a forecast past a series' end, in original units (.csv or .npy)";

    public override string Usage => "fastlra predict --model M --data F --out P.csv|P.npy [--forecast N] [--time-column C] [data options]";

    public override OptionUse Options => OptionUse.Predict;

    public override IReadOnlyList<CliFlag> Flags { get; } =
    [
        new("model", "file", "the model (see eval)", required: true),
        new("out", "file",
            "where to write the predictions, in original units, atomically: .csv (sequence, step, for a CSV series the data row each predicts " +
            "(or its --time-column cell), part on the model's training file, one column per output) or .npy (float32, N x O or N x R x O)",
            required: true),
        new("forecast", "int",
            "write instead the N rows past the end of a CSV series (.csv: ahead, row or time, one column per output; .npy: N x O), each from the window " +
            "that ends --horizon rows before it, a target that is also an input fed back as that input")
        { Max = MaxForecast },
    ];

    /// <summary>The most steps a forecast may go past its series (each one runs a whole window).</summary>
    private const long MaxForecast = 1_000_000;

    public override int Run(CliArguments a, CancellationToken cancel)
    {
        string modelPath = a.Required("model");
        string output = a.RequiredOutput("out");
        string extension = Path.GetExtension(output).ToLowerInvariant();
        if (extension is not (".csv" or ".npy")) throw new UsageException($"--out {output}: predictions are written as .csv or .npy.");
        if (!a.Has("data")) throw new UsageException("predict needs --data F.");
        long forecast = a.Long("forecast", 0);
        if (a.Has("forecast") && forecast < 1) throw new UsageException($"--forecast must be at least 1, got {forecast}.");
        if (a.Has("time-column") && extension == ".npy") throw new UsageException("--time-column labels the rows of a .csv; an .npy holds the predictions only.");
        var (model, data, spec, trained) = EvalCommand.ModelAndData(a, modelPath, keepSeries: forecast > 0);
        string path = ((DataFileSource)spec.Source).Path;
        if (forecast > 0) return Forecast(model, data, ((DataFileSource)spec.Source).File, (int)forecast, output, extension, path);
        var set = data.Data;
        var layout = set.Layout;
        int n = set.Count, r = layout.OutputSteps, o = layout.Outputs;
        // Every sequence through the model as one batch; outputs R x N x O, back in original units.
        var evaluator = new Evaluator(set.InOrder(), n, model.Shape.Hidden) { Threads = Environment.ProcessorCount };
        evaluator.Evaluate(model);
        var predictions = new float[(long)n * r * o];
        var outputs = evaluator.Outputs;
        for (int t = 0; t < r; t++)
            for (int s = 0; s < n; s++)
                outputs.Slice((t * n + s) * o, o).CopyTo(predictions.AsSpan((s * r + t) * o, o));
        model.Normalization?.DenormalizeOutputs(predictions);
        if (layout.Loss == GlobalLossKind.SoftmaxCrossEntropy) Softmax(predictions, o);
        if (extension == ".npy") WeightFormats.WriteNpy(output, r == 1 ? [n, o] : [n, r, o], predictions);
        else
        {
            // A CSV series' step t of window s predicts the target columns at data row s x stride + t + horizon.
            var file = ((DataFileSource)spec.Source).File;
            var rows = data.TimeSeries ? new RowLabels(data, file.Stride, file.Horizon, file.TimeColumn) : null;
            AtomicFile.Write(output, stream => Csv(stream, predictions, n, r, o, layout.Washout, data.TargetNames, rows, trained?.HeldOut));
        }
        Console.Error.WriteLine($"{output}: predictions of {n} sequences x {r} step{(r == 1 ? "" : "s")} x {o} output{(o == 1 ? "" : "s")}");
        // The model's own training data: its predictions there are in-sample, which the file says row by row.
        if (trained is not null)
            Console.Error.WriteLine(trained.Describe(path) + (extension == ".csv" ? " The column 'part' says which each row is." : ""));
        return CliExit.Ok;
    }

    /// <summary>
    /// The <paramref name="steps"/> target rows past the end of the series: row q is predicted by
    /// the window of input rows q - h - T + 1 .. q - h run from a zero state, as training ran its
    /// windows, its last output taken. Rows past the data are inputs too once the windows reach
    /// them: an input column that is also a target column takes its forecast there; any other input
    /// is unknown there, and a forecast that would need it is refused.
    /// </summary>
    private static int Forecast(RnnModel model, LoadedData data, DataFileOptions file, int steps, string output, string extension, string path)
    {
        if (data.Series is not { } series) throw new UsageException($"--forecast continues a CSV series; {path} is an array file.");
        var layout = data.Data.Layout;
        int inputs = layout.Inputs, outputs = layout.Outputs, window = layout.Steps, horizon = file.Horizon;
        long last = data.Rows - 1;
        // The target each input takes past the data (-1: none; a classifier's labels are never fed back).
        var fedBack = new int[inputs];
        for (int i = 0; i < inputs; i++)
            fedBack[i] = layout.Loss == GlobalLossKind.MeanSquaredError ? Array.IndexOf(data.TargetNames, data.InputNames[i]) : -1;
        if (steps > horizon)
        {
            if (horizon == 0)
                throw new UsageException($"--forecast needs --horizon >= 1: with --horizon 0 each row's prediction needs that row's own inputs, which past the end of {path} are unknown.");
            for (int i = 0; i < inputs; i++)
                if (fedBack[i] < 0)
                    throw new UsageException(
                        $"--forecast {steps} needs input '{data.InputNames[i]}' past the end of {path} (from data row {last + 1} on), and the model does not predict it " +
                        $"({(layout.Loss == GlobalLossKind.MeanSquaredError ? "it is not a target column" : "a classifier's labels are not fed back")}); " +
                        $"with this model --forecast goes at most --horizon {horizon} step{(horizon == 1 ? "" : "s")} past the data.");
        }
        // Input rows from the first forecast's window on (the reader saw to it that the series holds a window and its horizon): the data's, then the forecasts fed back.
        long start = last + 1 - horizon - window + 1;
        var rows = new float[(long)(window - 1 + horizon + steps) * inputs];
        for (long row = start; row <= last; row++)
            for (int i = 0; i < inputs; i++) rows[(row - start) * inputs + i] = series.Input(row, i);
        var forecasts = new float[(long)steps * outputs];
        var state = new RnnState(model);
        var y = new float[outputs];
        for (int k = 0; k < steps; k++)
        {
            long target = last + 1 + k, end = target - horizon;
            state.Reset();
            for (long row = end - window + 1; row <= end; row++) state.Step(rows.AsSpan((int)((row - start) * inputs), inputs), y);
            if (layout.Loss == GlobalLossKind.SoftmaxCrossEntropy) Softmax(y, outputs);
            y.CopyTo(forecasts.AsSpan(k * outputs, outputs));
            for (int i = 0; i < inputs; i++)
                if (fedBack[i] >= 0) rows[(target - start) * inputs + i] = y[fedBack[i]];
        }
        if (extension == ".npy") WeightFormats.WriteNpy(output, [steps, outputs], forecasts);
        else
        {
            var labels = new RowLabels(data, stride: 1, horizon: 0, file.TimeColumn);
            AtomicFile.Write(output, stream =>
            {
                using var text = new StreamWriter(stream, leaveOpen: true);
                text.Write("ahead," + Quoted(labels.Header));
                foreach (string name in data.TargetNames) text.Write("," + Quoted(name));
                text.Write('\n');
                for (int k = 0; k < steps; k++)
                {
                    text.Write(string.Create(CultureInfo.InvariantCulture, $"{k + 1},{Quoted(labels.Label(last + 1 + k))}"));
                    Values(text, forecasts.AsSpan(k * outputs, outputs));
                    text.Write('\n');
                }
            });
        }
        Console.Error.WriteLine($"{output}: a forecast of {steps} step{(steps == 1 ? "" : "s")} past the end of {path} (data rows {last + 1}-{last + steps}) x {outputs} output{(outputs == 1 ? "" : "s")}");
        return CliExit.Ok;
    }

    /// <summary>Class outputs as probabilities, row by row.</summary>
    private static void Softmax(Span<float> rows, int width)
    {
        for (int k = 0; k < rows.Length; k += width)
        {
            var row = rows.Slice(k, width);
            float max = float.NegativeInfinity;
            foreach (float v in row) max = MathF.Max(max, v);
            float sum = 0;
            foreach (ref float v in row) sum += v = MathF.Exp(v - max);
            foreach (ref float v in row) v /= sum;
        }
    }

    /// <summary>The predictions as CSV, written row by row: the text is never all in memory (ten times the floats, or more).</summary>
    private static void Csv(Stream stream, float[] predictions, int n, int r, int o, int washout, string[] names, RowLabels? rows, bool[]? heldOut)
    {
        using var text = new StreamWriter(stream, leaveOpen: true);
        text.Write("sequence,step");
        if (rows is not null) text.Write("," + Quoted(rows.Header));
        if (heldOut is not null) text.Write(",part");
        foreach (string name in names) text.Write("," + Quoted(name));
        text.Write('\n');
        for (int s = 0; s < n; s++)
            for (int t = 0; t < r; t++)
            {
                text.Write(string.Create(CultureInfo.InvariantCulture, $"{s},{washout + t}"));
                if (rows is not null) text.Write("," + Quoted(rows.Label(rows.Of(s, washout + t))));
                if (heldOut is not null) text.Write(heldOut[s] ? ",valid" : ",train");
                Values(text, predictions.AsSpan((int)((long)s * r + t) * o, o));
                text.Write('\n');
            }
    }

    private static void Values(StreamWriter text, ReadOnlySpan<float> values)
    {
        foreach (float v in values)
        {
            text.Write(',');
            text.Write(v.ToString("R", CultureInfo.InvariantCulture));
        }
    }

    /// <summary>A CSV cell: quoted (its quotes doubled) when it holds a comma, a quote or a line end.</summary>
    private static string Quoted(string cell) =>
        cell.AsSpan().IndexOfAny(",\"\r\n") < 0 ? cell : $"\"{cell.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    /// <summary>
    /// What labels a predicted row of a CSV series: its data row (0 = the first row after the
    /// header), or with --time-column that column's cell there; past the series' end a time column
    /// of numbers goes on by its last step (1700, 1701, ... 2008, then 2009), any other is left empty.
    /// </summary>
    private sealed class RowLabels(LoadedData data, int stride, int horizon, string timeColumn)
    {
        private readonly RowTexts? _times = data.Times;

        /// <summary>The column's name.</summary>
        public string Header => _times is null ? "row" : timeColumn;

        /// <summary>The data row that step <paramref name="step"/> of window <paramref name="sequence"/> predicts.</summary>
        public long Of(int sequence, int step) => (long)sequence * stride + step + horizon;

        /// <summary>Row <paramref name="row"/>'s label.</summary>
        public string Label(long row)
        {
            if (_times is null) return row.ToString(CultureInfo.InvariantCulture);
            long last = data.Rows - 1;
            if (row <= last) return _times[row];
            return last >= 1 && decimal.TryParse(_times[last], NumberStyles.Float, CultureInfo.InvariantCulture, out decimal end)
                && decimal.TryParse(_times[last - 1], NumberStyles.Float, CultureInfo.InvariantCulture, out decimal before)
                ? (end + (row - last) * (end - before)).ToString(CultureInfo.InvariantCulture)
                : "";
        }
    }
}
