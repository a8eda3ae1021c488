using System.Diagnostics;
using System.Globalization;
using FastLra.Data;
using FastLra.IO;
using FastLra.Interchange;
using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary>
/// The commands whose options come from <see cref="TrainingOptionTable"/>: <c>train</c>,
/// <c>bench</c>, <c>eval</c> and <c>predict</c>. Parsed here rather than by the command-line
/// framework, so an option is declared once, in the table.
/// </summary>
internal static class TrainingCommands
{
    public static readonly string[] Names = ["train", "bench", "eval", "predict"];

    private static readonly CliFlag[] TrainFlags =
    [
        new("checkpoint", "file", "write the run's full state to this file (atomically) every --checkpoint-every iterations and when it stops, Ctrl+C and SIGTERM included; if the file exists, resume it (the same options) or refuse"),
        new("checkpoint-every", "int", "iterations between checkpoints; 0 = only when the run stops (default 1000)"),
        new("resume", "file", "continue the run saved in this checkpoint, with its options (given ones must agree; --max-iter may change)"),
        new("init-from", "file", "start from the parameters in this safetensors file"),
        new("save", "file", "write the parameters to this safetensors file (on data: the best check's, with the normalisation)"),
        new("metrics", "file", "write one JSON line per validation check to this file"),
        new("json", null, "print one JSON object with the configuration and the result on stdout"),
        new("quiet", null, "no progress lines on stderr"),
        new("threads", "int", "threads that share each validation check; the result does not depend on it (default: one per core)"),
        new("conditioning", null, ConditioningHelp),
    ];

    /// <summary>The help of train's and sweep's --conditioning.</summary>
    internal const string ConditioningHelp =
        "at each check, the cosine between the batch's gradient and its gradient at weights perturbed by a relative 1e-7 " +
        "(gradient_cosine in the metrics; one more gradient computation per check; the run is otherwise unchanged)";

    private static readonly CliFlag[] BenchFlags =
    [
        new("iters", "int", $"timed iterations, at most {MaxBenchIterations} (default 200)") { Max = MaxBenchIterations },
        new("warmup", "int", $"untimed iterations first, and at least one second of them, at most {MaxBenchIterations} (default 20)") { Max = MaxBenchIterations },
        new("json", null, "print one JSON object on stdout"),
    ];

    /// <summary>The most iterations bench times (it keeps each one's time) or warms up with: enough for any percentile, few enough to finish.</summary>
    internal const int MaxBenchIterations = 1_000_000;

    private static readonly CliFlag[] EvalFlags =
    [
        new("model", "file", "the model: a safetensors file with Wxh, Whh, bh, Why, by (and its normalisation, if trained on data)", required: true),
        new("json", null, "print one JSON object on stdout"),
    ];

    private static readonly CliFlag[] PredictFlags =
    [
        new("model", "file", "the model (see eval)", required: true),
        new("out", "file", "where to write the predictions, in original units: .csv (sequence, step, one column per output) or .npy (float32, N x O or N x R x O), atomically", required: true),
    ];

    /// <summary>Runs one of <see cref="Names"/>.</summary>
    public static int Run(string command, string[] args, CancellationToken cancel) => command switch
    {
        "train" => Train(args, cancel),
        "bench" => Bench(args),
        "eval" => Eval(args),
        _ => Predict(args),
    };

    private static bool Every(TrainingOption _) => true;

    private static int Train(string[] args, CancellationToken cancel)
    {
        if (Commands.Parse("train", "fastlra train (--task T --length L | --data F | --resume C) [options]", args, TrainFlags, Every) is not { } a) return CliExit.Ok;
        long checkpointEvery = a.Long("checkpoint-every", 1000);
        if (checkpointEvery < 0) throw new UsageException($"--checkpoint-every must be >= 0, got {checkpointEvery}.");
        string? checkpoint = a.Output("checkpoint"), resume = a.Flag("resume"), initFrom = a.Flag("init-from");
        string? save = a.Output("save"), metrics = a.Output("metrics");
        bool quiet = a.Has("quiet");
        long threads = a.Long("threads", Environment.ProcessorCount);
        if (threads < 1) throw new UsageException($"--threads must be positive, got {threads}.");
        TrainingOptions options;
        if (resume is not null)
        {
            if (initFrom is not null) throw new UsageException("--resume and --init-from cannot be combined: a checkpoint holds its own parameters.");
            // The run's options are the checkpoint's: repeating them is fine, changing them (but --max-iter) is refused.
            var recorded = Recorded("resume", resume);
            options = a.Apply(recorded);
            if (Differences(recorded, options, a, onlyGiven: true) is { } differ)
                throw new UsageException($"--resume {resume}: the checkpoint's run has other options ({differ.There}; this command: {differ.Here}); a resumed run keeps its own (only --max-iter may change).");
        }
        else
        {
            if (!a.Has("data") && (!a.Has("task") || !a.Has("length")))
                throw new UsageException("train needs --task and --length, --data F, or --resume F.");
            options = a.Apply(new TrainingOptions());
            string? problem = options.Data is null ? options.Validate() : options.ValidateTraining();
            if (problem is not null) throw new UsageException(problem);
        }
        // A checkpoint file that is already there holds this run, pre-empted: the same command
        // resumes it (a run of other options is refused), and a checkpoint is never overwritten.
        string? source = resume;
        if (checkpoint is not null && File.Exists(checkpoint) && (resume is null || Path.GetFullPath(checkpoint) != Path.GetFullPath(resume)))
        {
            if (Differences(Recorded("checkpoint", checkpoint), options, a, onlyGiven: false) is { } differ)
                throw new UsageException(
                    $"--checkpoint {checkpoint} holds a run with other options ({differ.There}; this command: {differ.Here}); " +
                    "give its options to resume it, or another --checkpoint file to start afresh.");
            source = checkpoint;
        }
        Trainer trainer;
        LoopState? loop = null;
        if (source is not null)
        {
            (trainer, loop) = Checkpoint.Resume(source, a.Has("max-iter") ? options.MaxIterations : null);
            checkpoint ??= source;
            if (!quiet) Console.Error.WriteLine($"resumed {source} at iteration {trainer.Iteration}");
        }
        else
        {
            try
            {
                trainer = TrainerFactory.Create(options, initFrom is null ? null : ModelFile.Load(initFrom).Parameters);
            }
            catch (WeightFileException e) when (initFrom is not null && !e.Message.StartsWith(initFrom, StringComparison.Ordinal))
            {
                throw new WeightFileException($"{initFrom}: {e.Message}");
            }
        }
        // With a checkpoint file the loop also writes one when the run stops (Ctrl+C and SIGTERM
        // included); --checkpoint-every 0 means only then.
        long every = checkpoint is null ? 0 : checkpointEvery == 0 ? long.MaxValue : checkpointEvery;
        trainer.ValidationThreads = (int)Math.Min(threads, Environment.ProcessorCount);
        trainer.MeasureConditioning = a.Has("conditioning");
        return RunTraining(trainer, loop, checkpoint, every, save, metrics, a.Has("json"), quiet, cancel);
    }

    /// <summary>
    /// The configuration a checkpoint records, read before its run is built. A file that is not a
    /// checkpoint (a model, say) is refused by name: neither resumed nor overwritten.
    /// </summary>
    private static TrainingOptions Recorded(string flag, string path)
    {
        var metadata = new SafeTensors.SafeTensorsFile(path).Metadata;
        if (!metadata.TryGetValue("format", out string? format) || format != Checkpoint.Format)
            throw new UsageException(flag == "checkpoint"
                ? $"--checkpoint {path} is not a FastLra checkpoint (its metadata has no format '{Checkpoint.Format}'); FastLra does not overwrite it: give another file name."
                : $"--resume {path} is not a FastLra checkpoint (its metadata has no format '{Checkpoint.Format}'); give the file --checkpoint wrote.");
        if (!metadata.ContainsKey("data") && !metadata.ContainsKey("task")) throw new WeightFileException($"{path}: metadata 'task' is missing.");
        try
        {
            return TrainingOptionTable.Read(metadata);
        }
        catch (OptionException e)
        {
            throw new WeightFileException($"{path}: the checkpoint's configuration is invalid: {e.Message}");
        }
    }

    /// <summary>
    /// The options (all but --max-iter; with <paramref name="onlyGiven"/>, only those the command
    /// gives) whose values differ between a checkpoint's run and this command, as "--hidden 16,
    /// --lr 0.1" for each side; null when they agree. An option that applies to one side only is
    /// "no --k" on the other, and named only when the command gives it or it is the task or data
    /// file (otherwise it follows from another difference, such as --algo).
    /// </summary>
    private static (string There, string Here)? Differences(TrainingOptions recorded, TrainingOptions command, CliArguments a, bool onlyGiven)
    {
        var (there, here) = (new List<string>(), new List<string>());
        foreach (var option in TrainingOptionTable.All)
        {
            if (option.Name == "max-iter" || (onlyGiven && !a.Has(option.Name))) continue;
            string? was = Shown(option, recorded), now = Shown(option, command);
            if (was == now || ((was is null || now is null) && !a.Has(option.Name) && option.Name is not ("task" or "data"))) continue;
            there.Add(was is null ? $"no --{option.Name}" : $"--{option.Name} {was}");
            here.Add(now is null ? $"no --{option.Name}" : $"--{option.Name} {now}");
        }
        return there.Count == 0 ? null : (string.Join(", ", there), string.Join(", ", here));
    }

    // An option's value as the command line gives it (floats in their shortest form), or null where it does not apply.
    private static string? Shown(TrainingOption option, TrainingOptions o)
    {
        if (!option.AppliesTo(o)) return null;
        string value = option.Format(o);
        return option.IsFloat ? ((float)double.Parse(value, CultureInfo.InvariantCulture)).ToString("R", CultureInfo.InvariantCulture) : value;
    }

    private static int RunTraining(Trainer trainer, LoopState? loop, string? checkpoint, long checkpointEvery, string? save, string? metrics,
        bool json, bool quiet, CancellationToken cancel)
    {
        var options = trainer.Options;
        if (!quiet && trainer.Data is { } data)
            Console.Error.WriteLine(
                $"data: {data.Train.Count} training and {data.Valid.Count} validation sequences of T={data.Train.Layout.Steps}, I={data.Train.Layout.Inputs}, " +
                $"O={data.Train.Layout.Outputs} ({(data.Train.Layout.Loss == GlobalLossKind.MeanSquaredError ? "regression" : "classes")}" +
                $"{(data.Train.Layout.PerStep ? $", outputs at steps {data.Train.Layout.Washout}..{data.Train.Layout.Steps - 1}" : ", one output per sequence")})" +
                $"{(data.Normalization is null ? "" : ", standardised")}; {trainer.MaxIterations} iterations at most");
        TrainingResult result;
        using (var monitor = new ProgressMonitor(options, quiet, metrics, loop is null ? null : trainer.Iteration, checkpoint))
        {
            result = TrainingLoop.Run(trainer, monitor, loop, checkpointEvery, cancel);
        }
        string? saved = null;
        if (save is not null && result.StopReason != StopReason.Diverged)
        {
            // On data the model of the best check by validation loss, as early stopping keeps it.
            var parameters = trainer.BestParameters is { } best && result.BestIteration > 0 ? best : trainer.Parameters;
            ModelFile.Save(save, parameters, trainer.Data?.Normalization, ModelMetadata(options, result));
            saved = save;
        }
        var report = TrainReport.Create(options, result, saved, trainer.Data);
        Console.Error.WriteLine(Summary(report, result) + (saved is null ? "" : $", saved {saved}"));
        if (json) Console.Out.WriteLine(CliJson.Serialize(report.Write));
        if (result.StopReason == StopReason.Diverged)
        {
            Console.Error.WriteLine($"fastlra: training diverged at iteration {result.Iterations}: the loss became {result.FinalTrainLoss}; try a smaller --lr or a --clip bound.");
            return CliExit.Failure;
        }
        return CliExit.Ok;
    }

    /// <summary>The run's closing line: how it stopped, how fast, and how good its (best) model is.</summary>
    private static string Summary(TrainReport report, TrainingResult result)
    {
        string head = string.Create(CultureInfo.InvariantCulture,
            $"{report.StopReason}: {result.Iterations} iterations in {result.WallSeconds:F1} s ({result.SecondsPerIteration * 1e3:F3} ms/it), ");
        if (report.Data is not { } d)
            return head + string.Create(CultureInfo.InvariantCulture, $"best valid accuracy {result.BestValidAccuracy:P2}, final valid loss {result.FinalValidLoss:G4}");
        head += $"best check at iteration {d.BestIteration}: ";
        if (!d.Regression) return head + string.Create(CultureInfo.InvariantCulture, $"valid accuracy {d.Valid.Accuracy:P2}, loss {d.Valid.Loss:G4}");
        return head + string.Create(CultureInfo.InvariantCulture,
            $"valid RMSE {d.Valid.Rmse:G4}, MAE {d.Valid.Mae:G4}, R² {d.Valid.R2:F4} (baselines: training mean R² {d.BaselineR2Mean:F4}" +
            $"{(double.IsNaN(d.BaselineR2Persistence) ? "" : $", persistence R² {d.BaselineR2Persistence:F4}")})");
    }

    internal static string StopReasonName(StopReason reason) => OptionNames.StopReasons.Name(reason);

    private static List<KeyValuePair<string, string>> ModelMetadata(TrainingOptions o, TrainingResult r)
    {
        var list = Checkpoint.Metadata(o);
        list.Insert(0, new("format", "fastlra-srnn"));
        list.Insert(1, new("fastlra_version", typeof(Trainer).Assembly.GetName().Version?.ToString(3) ?? "?"));
        list.Add(new("iterations", r.Iterations.ToString(CultureInfo.InvariantCulture)));
        list.Add(new("best_valid_accuracy", r.BestValidAccuracy.ToString("R", CultureInfo.InvariantCulture)));
        list.Add(new("stop_reason", StopReasonName(r.StopReason)));
        if (o.Data is not null) list.Add(new("best_iteration", r.BestIteration.ToString(CultureInfo.InvariantCulture)));
        return list;
    }

    private static int Bench(string[] args)
    {
        if (Commands.Parse("bench", "fastlra bench [--algo bptt|lra] [--data F ...] [model options] [--iters N] [--warmup W] [--json]", args, BenchFlags, Every) is not { } a) return CliExit.Ok;
        long iters = a.Long("iters", 200), warmup = a.Long("warmup", 20);
        if (iters <= 0) throw new UsageException($"--iters must be positive, got {iters}.");
        if (warmup < 0) throw new UsageException($"--warmup must be >= 0, got {warmup}.");
        // The paper's temporal-order setting by default; no validation to speak of.
        var options = a.Apply(new TrainingOptions { MaxIterations = 1, CheckEvery = 1, Patience = 1, ValidSize = 1 });
        string? problem = options.Data is null ? options.Validate() : options.ValidateTraining();
        if (problem is not null) throw new UsageException(problem);
        var trainer = TrainerFactory.Create(options);
        // At least a second too: the JIT re-compiles hot methods at full optimisation after ~100 ms.
        long warmStart = Stopwatch.GetTimestamp();
        for (long i = 0; i < warmup || (warmup > 0 && Stopwatch.GetElapsedTime(warmStart).TotalSeconds < 1); i++) trainer.Step();
        var seconds = new double[iters];
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        int collections = GC.CollectionCount(0);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < iters; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            trainer.Step();
            seconds[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        double total = Stopwatch.GetElapsedTime(start).TotalSeconds;
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        collections = GC.CollectionCount(0) - collections;
        // The peak right after the timed iterations, at the kernels' width: the machine's speed drifts.
        double peak = SimdWidth.Bits == 0 ? double.NaN : FmaPeak.Gflops(SimdWidth.Bits);
        Array.Sort(seconds);
        bool lra = options.Algorithm == AlgorithmKind.Lra;
        var layout = trainer.Source.Layout;
        string task = options.Data is { } d ? Path.GetFileName(d.Path) : TaskInfo.Name(options.Task);
        var report = new BenchReport(OptionNames.Algorithms.Name(options.Algorithm), lra ? OptionNames.Semantics.Name(options.Semantics) : null, task,
            layout.Steps, options.Hidden, options.Batch, lra ? options.K : null, lra ? options.Alpha : null,
            (int)iters, seconds[iters / 2], total / iters, iters / total, seconds[Math.Min(iters - 1, (int)(iters * 0.99))],
            (double)allocated / iters, collections, SimdWidth.Bits, Commands.InstructionSets(), System.Runtime.JitInfo.GetCompiledILBytes() == 0,
            FlopModel.Iteration(options, layout) / seconds[iters / 2] / 1e9, peak);
        if (a.Has("json"))
        {
            Console.Out.WriteLine(CliJson.Serialize(report.Write));
            return CliExit.Ok;
        }
        Console.Out.WriteLine(report.Text(layout.PerStep ? $" (outputs at steps {layout.Washout}..{layout.Steps - 1})" : ""));
        return CliExit.Ok;
    }

    /// <summary>The options eval and predict take: a synthetic task's (eval), the data options and the seed.</summary>
    private static bool EvalOptions(TrainingOption o) => o.Scope is OptionScope.Synthetic or OptionScope.Data || o.Name == "seed";

    private static bool PredictOptions(TrainingOption o) => o.Scope == OptionScope.Data;

    private static int Eval(string[] args)
    {
        if (Commands.Parse("eval", "fastlra eval --model M (--task T --length L [--valid-size N] [--seed S] | --data F [data options]) [--json]", args, EvalFlags, EvalOptions) is not { } a) return CliExit.Ok;
        string model = a.Flag("model") ?? throw new UsageException("eval needs --model M.");
        if (a.Has("data")) return EvalData(a, model);
        if (!a.Has("task") || !a.Has("length")) throw new UsageException("eval needs --task and --length, or --data F.");
        var options = a.Apply(new TrainingOptions());
        if (options.ValidateTask() is { } problem) throw new UsageException(problem);
        var (p, metadata) = ModelFile.Load(model);
        var kind = options.Task;
        string task = TaskInfo.Name(kind);
        if (p.Shape.Inputs != TaskInfo.Inputs(kind) || p.Shape.Outputs != TaskInfo.Outputs(kind))
            throw new WeightFileException(
                $"{model}: the network has I={p.Shape.Inputs}, O={p.Shape.Outputs}, but {task} needs I={TaskInfo.Inputs(kind)}, O={TaskInfo.Outputs(kind)}.");
        // Priced as train prices its validation set, at the model's width.
        if ((options with { Hidden = p.Shape.Hidden }).ValidateCost(p.Shape.Inputs, p.Shape.Outputs, options.Length, options.Length - 1, options.ValidSize) is { } cost)
            throw new UsageException(cost);
        var generator = new TaskGenerator(kind, options.Length, options.ValidSize, new RandomState(options.Seed));
        var evaluator = new Evaluator(generator, options.ValidSize, p.Shape.Hidden);
        // A model trained with the reference semantics is validated as the published code does.
        bool referenceStart = metadata.TryGetValue("semantics", out string? semantics) && semantics == "reference";
        var result = evaluator.Evaluate(p, referenceStart);
        bool solved = result.ErrorRate < TrainingLoop.SolvedErrorRate;
        if (a.Has("json"))
        {
            var report = new EvalReport(model, task, options.Length, p.Shape.Hidden, options.Seed, options.ValidSize, result, solved, double.NaN, double.NaN);
            Console.Out.WriteLine(CliJson.Serialize(report.Write));
        }
        else
        {
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{task} T={options.Length}: loss {result.Loss:G6}, accuracy {result.Accuracy:P2} ({result.Errors} of {result.Count} wrong){(solved ? ", solved" : "")}"));
        }
        return CliExit.Ok;
    }

    /// <summary>A model and a data file read with the model's own data options (those given on the command line win), standardised as the model was trained.</summary>
    private static (RnnModel Model, LoadedData Data, TrainingOptions Options) ModelAndData(CliArguments a, string modelPath)
    {
        var file = new SafeTensors.SafeTensorsFile(modelPath);
        var (p, metadata) = ModelFile.Load(file);
        var normalization = ModelFile.LoadNormalization(file, p.Shape);
        TrainingOptions recorded;
        try
        {
            recorded = metadata.ContainsKey("data") ? TrainingOptionTable.Read(metadata) : new TrainingOptions { Data = new DataOptions() };
        }
        catch (OptionException e)
        {
            throw new WeightFileException($"{modelPath}: its metadata is invalid: {e.Message}");
        }
        var options = a.Apply(recorded);
        var data = DataFiles.Read(options.Data!.Path, options.Data.File);
        var layout = data.Data.Layout;
        if (layout.Inputs != p.Shape.Inputs || layout.Outputs != p.Shape.Outputs)
            throw new DataFormatException($"{options.Data.Path}: its sequences have I={layout.Inputs}, O={layout.Outputs}; the model {modelPath} has I={p.Shape.Inputs}, O={p.Shape.Outputs}.");
        // Evaluated as train evaluates its validation set, at the model's width: priced the same way.
        if ((options with { Hidden = p.Shape.Hidden }).ValidateCost(layout.Inputs, layout.Outputs, layout.Steps, layout.Washout, data.Data.Count) is { } cost)
            throw new UsageException(cost);
        normalization?.Apply(data.Data);
        return (new RnnModel(p, normalization), data, options);
    }

    private static int EvalData(CliArguments a, string modelPath)
    {
        var (model, data, options) = ModelAndData(a, modelPath);
        var set = data.Data;
        var normalization = model.Normalization;
        var scale = normalization is { HasTargets: true } ? normalization.TargetStd : [];
        var result = new Evaluator(set.InOrder(), set.Count, model.Shape.Hidden, scale).Evaluate(model);
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
            var report = new EvalReport(modelPath, Path.GetFileName(options.Data!.Path), set.Layout.Steps, model.Shape.Hidden, options.Seed, set.Count,
                result, false, meanBaseline, persistence, regression);
            Console.Out.WriteLine(CliJson.Serialize(report.Write));
            return CliExit.Ok;
        }
        string what = $"{options.Data!.Path} ({set.Count} sequences, T={set.Layout.Steps})";
        Console.Out.WriteLine(regression
            ? string.Create(CultureInfo.InvariantCulture,
                $"{what}: loss {result.Loss:G6}, RMSE {result.Rmse:G6}, MAE {result.Mae:G6}, R² {result.R2:F4}" +
                $"{(double.IsNaN(meanBaseline) ? "" : $"; training-mean R² {meanBaseline:F4}")}{(double.IsNaN(persistence) ? "" : $", persistence R² {persistence:F4}")}")
            : string.Create(CultureInfo.InvariantCulture, $"{what}: loss {result.Loss:G6}, accuracy {result.Accuracy:P2} ({result.Errors} of {result.Count} wrong)"));
        return CliExit.Ok;
    }

    private static int Predict(string[] args)
    {
        if (Commands.Parse("predict", "fastlra predict --model M --data F --out P.csv|P.npy [data options]", args, PredictFlags, PredictOptions) is not { } a) return CliExit.Ok;
        string modelPath = a.Flag("model") ?? throw new UsageException("predict needs --model M.");
        string output = a.Output("out") ?? throw new UsageException("predict needs --out P.csv or P.npy.");
        string extension = Path.GetExtension(output).ToLowerInvariant();
        if (extension is not (".csv" or ".npy")) throw new UsageException($"--out {output}: predictions are written as .csv or .npy.");
        if (!a.Has("data")) throw new UsageException("predict needs --data F.");
        var (model, data, _) = ModelAndData(a, modelPath);
        var set = data.Data;
        var layout = set.Layout;
        int n = set.Count, r = layout.OutputSteps, o = layout.Outputs;
        // Every sequence through the model as one batch; outputs R x N x O, back in original units.
        var evaluator = new Evaluator(set.InOrder(), n, model.Shape.Hidden);
        evaluator.Evaluate(model);
        var predictions = new float[(long)n * r * o];
        var outputs = evaluator.Outputs;
        for (int t = 0; t < r; t++)
            for (int s = 0; s < n; s++)
                outputs.Slice((t * n + s) * o, o).CopyTo(predictions.AsSpan((s * r + t) * o, o));
        model.Normalization?.DenormalizeOutputs(predictions);
        if (layout.Loss == GlobalLossKind.SoftmaxCrossEntropy) Softmax(predictions, o);
        if (extension == ".npy") WeightFormats.WriteNpy(output, r == 1 ? [n, o] : [n, r, o], predictions);
        else AtomicFile.Write(output, stream => Csv(stream, predictions, n, r, o, layout.Washout, data.TargetNames));
        Console.Error.WriteLine($"{output}: predictions of {n} sequences x {r} step{(r == 1 ? "" : "s")} x {o} output{(o == 1 ? "" : "s")}");
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
    private static void Csv(Stream stream, float[] predictions, int n, int r, int o, int washout, string[] names)
    {
        using var text = new StreamWriter(stream, leaveOpen: true);
        text.Write("sequence,step");
        foreach (string name in names) text.Write(name.Contains(',', StringComparison.Ordinal) ? $",\"{name}\"" : "," + name);
        text.Write('\n');
        for (int s = 0; s < n; s++)
            for (int t = 0; t < r; t++)
            {
                text.Write(string.Create(CultureInfo.InvariantCulture, $"{s},{washout + t}"));
                for (int j = 0; j < o; j++)
                {
                    text.Write(',');
                    text.Write(predictions[((long)s * r + t) * o + j].ToString("R", CultureInfo.InvariantCulture));
                }
                text.Write('\n');
            }
    }

    /// <summary>Refuses an inputs file that is plainly not raw float32: an .npy array or text.</summary>
    internal static void RefuseNonRaw(string path, ReadOnlySpan<byte> raw)
    {
        if (raw.Length >= 6 && raw[0] == 0x93 && raw.Slice(1, 5).SequenceEqual("NUMPY"u8))
            throw new UsageException($"{path} is an .npy array, not raw float32; write it with arr.astype('<f4').tofile(path) (or use fastlra predict --data).");
        // Raw float32 of real data holds bytes outside printable ASCII (1.0f is 00 00 80 3F); a CSV does not.
        int sample = Math.Min(raw.Length, 256);
        if (sample > 0 && AllText(raw[..sample]))
            throw new UsageException($"{path} looks like text (CSV?), not raw float32; use fastlra predict --data for CSV files.");
    }

    private static bool AllText(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
            if (b is not ((>= 0x20 and <= 0x7e) or (byte)'\n' or (byte)'\r' or (byte)'\t')) return false;
        return true;
    }
}
