using System.Globalization;
using FastLra.Data;
using FastLra.IO;
using FastLra.Model;
using FastLra.Tasks;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary><c>fastlra eval</c>: loss and accuracy, or regression errors, of a saved model on a task's validation set or a data file.</summary>
internal sealed class EvalCommand : Command
{
    public override string Name => "eval";

    public override string Summary => "loss and accuracy, or regression errors, of a saved model on a task or a data file";

    public override string Usage => "fastlra eval --model M (--task T --length L [--valid-size N] [--seed S] | --data F [data options]) [--json]";

    public override OptionUse Options => OptionUse.Eval;

    public override IReadOnlyList<CliFlag> Flags { get; } =
    [
        new("model", "file", "the model file (its network, and the normalisation of its data if it was trained on data)", required: true),
        new("json", null, "print one JSON object on stdout"),
    ];

    public override int Run(CliArguments a, CancellationToken cancel)
    {
        string model = a.Required("model");
        if (a.Has("data")) return EvalData(a, model);
        if (!a.Has("task") || !a.Has("length")) throw new UsageException("eval needs --task and --length, or --data F.");
        var spec = a.Apply(RunSpec.Default);
        var task = (TaskSource)spec.Source;
        if (task.Problem() is { } problem) throw new UsageException(problem);
        var (rnn, metadata) = ModelFile.Read(new SafeTensors.SafeTensorsFile(model));
        var shape = rnn.Shape;
        string name = TaskInfo.Name(task.Task);
        if (shape.Inputs != task.Inputs || shape.Outputs != task.Outputs)
            throw new WeightFileException($"{model}: the network has I={shape.Inputs}, O={shape.Outputs}, but {name} needs I={task.Inputs}, O={task.Outputs}.");
        var layout = SequenceLayout.LastStep(task.Length, task.Inputs, task.Outputs, TaskInfo.Loss(task.Task));
        Priced(shape, layout, task.ValidSize);
        var generator = new TaskGenerator(task.Task, task.Length, task.ValidSize, new RandomState(spec.Options.Seed));
        var evaluator = new Evaluator(generator, task.ValidSize, shape.Hidden) { Threads = Environment.ProcessorCount };
        // A model trained with the reference semantics is validated as the published code does.
        bool referenceStart = metadata.TryGetValue("semantics", out string? semantics) && semantics == "reference";
        var result = evaluator.Evaluate(rnn.Weights, referenceStart);
        bool solved = result.ErrorRate < TrainingRun.SolvedErrorRate;
        if (a.Has("json"))
        {
            var report = new EvalReport(model, name, task.Length, shape.Hidden, spec.Options.Seed, task.ValidSize, result, solved, double.NaN, double.NaN);
            Console.Out.WriteLine(CliJson.Serialize(report.Write));
        }
        else
        {
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name} T={task.Length}: loss {result.Loss:G6}, accuracy {result.Accuracy:P2} ({result.Errors} of {result.Count} wrong){(solved ? ", solved" : "")}"));
        }
        return CliExit.Ok;
    }

    /// <summary>Refuses an evaluation of <paramref name="count"/> sequences whose buffers would not fit half of what this process may use, with what it would need.</summary>
    internal static void Priced(RnnShape shape, SequenceLayout layout, long count)
    {
        double bytes = 4 * Evaluator.Floats(shape, layout, count, Environment.ProcessorCount);
        if (bytes > MemoryBudget.Bytes)
            throw new UsageException(MemoryBudget.TooMuch($"evaluating {count} sequences of {layout.Steps} steps with a network of {shape}", bytes, "use fewer or shorter sequences"));
    }

    /// <summary>
    /// A model and a data file read with the model's own data options (those given on the command
    /// line win), standardised as the model was trained, and priced before it is evaluated; with
    /// which of its sequences were training data when it is the file the model was trained on.
    /// </summary>
    internal static (RnnModel Model, LoadedData Data, RunSpec Spec, TrainedOn? Trained) ModelAndData(CliArguments a, string modelPath, bool keepSeries = false)
    {
        var (model, metadata) = ModelFile.Read(new SafeTensors.SafeTensorsFile(modelPath));
        RunSpec recorded;
        try
        {
            recorded = metadata.ContainsKey("data") ? TrainingOptionTable.Read(metadata) : TrainingOptionTable.DataDefaults;
        }
        catch (OptionException e)
        {
            throw new WeightFileException($"{modelPath}: its metadata is invalid: {e.Message}");
        }
        var spec = a.Apply(recorded);
        var source = (DataFileSource)spec.Source;
        var data = DataFiles.Read(source.Path, source.File with { KeepSeries = keepSeries });
        var layout = data.Data.Layout;
        if (layout.Inputs != model.Shape.Inputs || layout.Outputs != model.Shape.Outputs)
            throw new DataFormatException($"{source.Path}: its sequences have I={layout.Inputs}, O={layout.Outputs}; the model {modelPath} has I={model.Shape.Inputs}, O={model.Shape.Outputs}.");
        Priced(model.Shape, layout, data.Data.Count);
        model.Normalization?.Apply(data.Data);
        return (model, data, spec, TrainedOn.Find(metadata, recorded, source, data));
    }

    private static int EvalData(CliArguments a, string modelPath)
    {
        // On data the model's recorded seed is its run's, which its split followed: another would only mislead.
        if (a.Has("seed")) throw new UsageException("eval --data takes no --seed: the model records its run's seed (--seed sets a task's validation set).");
        var (model, data, spec, trained) = ModelAndData(a, modelPath);
        var source = (DataFileSource)spec.Source;
        var set = data.Data;
        bool regression = set.Layout.Loss == GlobalLossKind.MeanSquaredError;
        // The file the model was trained on: its validation part is the figure to trust, the rest is in-sample.
        Part? valid = null, train = null;
        if (trained is null) valid = Figures(model, set);
        else
        {
            if (trained.ValidCount > 0)
            {
                using var held = set.Subset(trained.Indices(heldOut: true));
                valid = Figures(model, held);
            }
            if (trained.TrainCount > 0)
            {
                using var fitted = set.Subset(trained.Indices(heldOut: false));
                train = Figures(model, fitted);
            }
        }
        if (a.Has("json"))
        {
            var main = valid ?? train!;
            var report = new EvalReport(modelPath, Path.GetFileName(source.Path), set.Layout.Steps, model.Shape.Hidden, spec.Options.Seed, main.Count,
                main.Result, false, main.MeanBaseline, main.Persistence, regression)
            {
                TrainingFile = trained is not null,
                InSample = valid is null,
                Train = valid is null ? null : train?.Result,
                TrainCount = train?.Count ?? 0,
            };
            Console.Out.WriteLine(CliJson.Serialize(report.Write));
            return CliExit.Ok;
        }
        string what = $"{source.Path} ({set.Count} sequences, T={set.Layout.Steps})";
        if (trained is null)
        {
            Console.Out.WriteLine($"{what}: {Line(valid!, regression)}");
            return CliExit.Ok;
        }
        Console.Out.WriteLine(trained.Describe(what));
        if (valid is not null) Console.Out.WriteLine($"  validation, {valid.Count} sequences: {Line(valid, regression)}");
        if (train is not null) Console.Out.WriteLine($"  training, {train.Count} sequences (in-sample, not a measure of the model): {Line(train, regression)}");
        return CliExit.Ok;
    }

    /// <summary>The figures of one part of a data file: the evaluation and, for regression, the baselines' R².</summary>
    private sealed class Part(int count, Evaluation result, double meanBaseline, double persistence)
    {
        public int Count => count;
        public Evaluation Result => result;
        public double MeanBaseline => meanBaseline;
        public double Persistence => persistence;
    }

    private static Part Figures(RnnModel model, SequenceDataSet set)
    {
        var normalization = model.Normalization;
        var scale = normalization is { HasTargets: true } ? normalization.TargetStd : [];
        var result = new Evaluator(set.InOrder(), set.Count, model.Shape.Hidden, scale) { Threads = Environment.ProcessorCount }.Evaluate(model);
        // Baselines: the training mean the model was standardised with (0 in its units), and persistence.
        double meanBaseline = double.NaN, persistence = double.NaN;
        if (set.Layout.Loss == GlobalLossKind.MeanSquaredError)
        {
            if (normalization is { HasTargets: true }) meanBaseline = Evaluator.RSquared(new float[set.Y.Length], set.Y, scale, set.Layout.Outputs);
            if (!set.Persistence.IsEmpty) persistence = Evaluator.RSquared(set.Persistence, set.Y, scale, set.Layout.Outputs);
        }
        return new Part(set.Count, result, meanBaseline, persistence);
    }

    private static string Line(Part part, bool regression)
    {
        var r = part.Result;
        return regression
            ? string.Create(CultureInfo.InvariantCulture,
                $"loss {r.Loss:G6}, RMSE {r.Rmse:G6}, MAE {r.Mae:G6}, R² {r.R2:F4}" +
                $"{(double.IsNaN(part.MeanBaseline) ? "" : $"; training-mean R² {part.MeanBaseline:F4}")}{(double.IsNaN(part.Persistence) ? "" : $", persistence R² {part.Persistence:F4}")}")
            : string.Create(CultureInfo.InvariantCulture, $"loss {r.Loss:G6}, accuracy {r.Accuracy:P2} ({r.Errors} of {r.Count} wrong)");
    }
}
