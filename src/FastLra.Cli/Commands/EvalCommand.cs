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
    /// line win), standardised as the model was trained, and priced before it is evaluated.
    /// </summary>
    internal static (RnnModel Model, LoadedData Data, RunSpec Spec) ModelAndData(CliArguments a, string modelPath)
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
        var data = DataFiles.Read(source.Path, source.File);
        var layout = data.Data.Layout;
        if (layout.Inputs != model.Shape.Inputs || layout.Outputs != model.Shape.Outputs)
            throw new DataFormatException($"{source.Path}: its sequences have I={layout.Inputs}, O={layout.Outputs}; the model {modelPath} has I={model.Shape.Inputs}, O={model.Shape.Outputs}.");
        Priced(model.Shape, layout, data.Data.Count);
        model.Normalization?.Apply(data.Data);
        return (model, data, spec);
    }

    private static int EvalData(CliArguments a, string modelPath)
    {
        var (model, data, spec) = ModelAndData(a, modelPath);
        var source = (DataFileSource)spec.Source;
        var set = data.Data;
        var normalization = model.Normalization;
        var scale = normalization is { HasTargets: true } ? normalization.TargetStd : [];
        var result = new Evaluator(set.InOrder(), set.Count, model.Shape.Hidden, scale) { Threads = Environment.ProcessorCount }.Evaluate(model);
        bool regression = set.Layout.Loss == GlobalLossKind.MeanSquaredError;
        // Baselines: the training mean the model was standardised with (0 in its units), and persistence.
        double meanBaseline = double.NaN, persistence = double.NaN;
        if (regression)
        {
            if (normalization is { HasTargets: true }) meanBaseline = Evaluator.RSquared(new float[set.Y.Length], set.Y, scale, set.Layout.Outputs);
            if (!set.Persistence.IsEmpty) persistence = Evaluator.RSquared(set.Persistence, set.Y, scale, set.Layout.Outputs);
        }
        if (a.Has("json"))
        {
            var report = new EvalReport(modelPath, Path.GetFileName(source.Path), set.Layout.Steps, model.Shape.Hidden, spec.Options.Seed, set.Count,
                result, false, meanBaseline, persistence, regression);
            Console.Out.WriteLine(CliJson.Serialize(report.Write));
            return CliExit.Ok;
        }
        string what = $"{source.Path} ({set.Count} sequences, T={set.Layout.Steps})";
        Console.Out.WriteLine(regression
            ? string.Create(CultureInfo.InvariantCulture,
                $"{what}: loss {result.Loss:G6}, RMSE {result.Rmse:G6}, MAE {result.Mae:G6}, R² {result.R2:F4}" +
                $"{(double.IsNaN(meanBaseline) ? "" : $"; training-mean R² {meanBaseline:F4}")}{(double.IsNaN(persistence) ? "" : $", persistence R² {persistence:F4}")}")
            : string.Create(CultureInfo.InvariantCulture, $"{what}: loss {result.Loss:G6}, accuracy {result.Accuracy:P2} ({result.Errors} of {result.Count} wrong)"));
        return CliExit.Ok;
    }
}
