using System.Globalization;
using FastLra.Interchange;
using FastLra.IO;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary><c>fastlra predict</c>: a saved model's predictions for every sequence of a data file, in original units.</summary>
internal sealed class PredictCommand : Command
{
    public override string Name => "predict";

    public override string Summary => "a saved model's predictions for a data file, in original units (.csv or .npy)";

    public override string Usage => "fastlra predict --model M --data F --out P.csv|P.npy [data options]";

    public override OptionUse Options => OptionUse.Predict;

    public override IReadOnlyList<CliFlag> Flags { get; } =
    [
        new("model", "file", "the model (see eval)", required: true),
        new("out", "file", "where to write the predictions, in original units: .csv (sequence, step, one column per output) or .npy (float32, N x O or N x R x O), atomically", required: true),
    ];

    public override int Run(CliArguments a, CancellationToken cancel)
    {
        string modelPath = a.Required("model");
        string output = a.RequiredOutput("out");
        string extension = Path.GetExtension(output).ToLowerInvariant();
        if (extension is not (".csv" or ".npy")) throw new UsageException($"--out {output}: predictions are written as .csv or .npy.");
        if (!a.Has("data")) throw new UsageException("predict needs --data F.");
        var (model, data, spec, trained) = EvalCommand.ModelAndData(a, modelPath);
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
        else AtomicFile.Write(output, stream => Csv(stream, predictions, n, r, o, layout.Washout, data.TargetNames, trained?.HeldOut));
        Console.Error.WriteLine($"{output}: predictions of {n} sequences x {r} step{(r == 1 ? "" : "s")} x {o} output{(o == 1 ? "" : "s")}");
        // The model's own training data: its predictions there are in-sample, which the file says row by row.
        if (trained is not null)
            Console.Error.WriteLine(trained.Describe(((DataFileSource)spec.Source).Path) + (extension == ".csv" ? " The column 'part' says which each row is." : ""));
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
    private static void Csv(Stream stream, float[] predictions, int n, int r, int o, int washout, string[] names, bool[]? heldOut)
    {
        using var text = new StreamWriter(stream, leaveOpen: true);
        text.Write(heldOut is null ? "sequence,step" : "sequence,step,part");
        foreach (string name in names) text.Write(name.Contains(',', StringComparison.Ordinal) ? $",\"{name}\"" : "," + name);
        text.Write('\n');
        for (int s = 0; s < n; s++)
            for (int t = 0; t < r; t++)
            {
                text.Write(string.Create(CultureInfo.InvariantCulture, $"{s},{washout + t}"));
                if (heldOut is not null) text.Write(heldOut[s] ? ",valid" : ",train");
                for (int j = 0; j < o; j++)
                {
                    text.Write(',');
                    text.Write(predictions[((long)s * r + t) * o + j].ToString("R", CultureInfo.InvariantCulture));
                }
                text.Write('\n');
            }
    }
}
