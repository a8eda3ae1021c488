using System.Globalization;
using FastLra.Data;
using FastLra.IO;
using FastLra.Model;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary>
/// <c>fastlra train</c>: a <see cref="TrainingRun"/> of the command line's options, on a task or a
/// data file, or resumed from its checkpoint; progress on stderr, the model and the metrics to files,
/// the outcome as one line (and <c>--json</c>).
/// </summary>
internal sealed class TrainCommand : Command
{
    public override string Name => "train";

    public override string Summary => $"train an RNN on a synthetic task or on your data ({DataFiles.Formats})";

    public override string Usage => "fastlra train (--task T --length L | --data F | --resume C) [options]";

    public override OptionUse Options => OptionUse.Train;

    public override IReadOnlyList<CliFlag> Flags { get; } =
    [
        new("checkpoint", "file",
            "write the run's full state to this file (atomically) every --checkpoint-every iterations and when it stops, Ctrl+C and SIGTERM included (those exit 0 after writing it); " +
            "run the same command again and it resumes the file when its options are the command's (it never overwrites another run's)"),
        new("checkpoint-every", "int", "iterations between checkpoints; 0 = only when the run stops", @default: "1000"),
        new("resume", "file",
            "continue the run in this checkpoint bit for bit: its configuration is the run's (options that repeat it may be given; --max-iter, counted from the run's start, may change it), " +
            "metrics are appended, checkpoints go on to it unless --checkpoint says otherwise"),
        new("init-from", "file", "start from the parameters in this model file"),
        new("save", "file", "write the final parameters to this model file (safetensors, atomically); on data, the best check's, with the normalisation"),
        new("metrics", "file", MetricsHelp),
        new("json", null, JsonHelp),
        new("quiet", null, "no progress lines"),
        new("threads", "int", "threads that share each validation check (tiles of 256 sequences); the result is the same, bit for bit, for any number", @default: "one per core"),
        new("conditioning", null, ConditioningHelp),
    ];

    /// <summary>The help of train's and sweep's --conditioning.</summary>
    internal const string ConditioningHelp =
        "at each check also compute the batch's gradient at weights perturbed by a relative 1e-7 and report the cosine between the two gradients " +
        "(cos on the progress line, gradient_cosine in the metrics): near 1 this update's direction barely moves with a rounding step of the weights, " +
        "far below 1 float32 rounding sets it; it says nothing of how small differences grow over many updates (docs/algorithm.md, \"Diagnostics\"); " +
        "one more gradient computation per check, the run otherwise bit for bit the same";

    private const string MetricsHelp =
        "one JSON line per check: iteration, train_loss, valid_loss, valid_accuracy, best_valid_accuracy, elapsed_seconds, iterations_per_second, gradient_norm, lr (the rate the next iteration takes) " +
        "and the per-step arrays dWhh_step_norms, dWxh_step_norms (the Frobenius norm of each step's contribution to the recurrent and the input weights, " +
        "over every layer; LRA's after its per-step clip, BPTT's before its global clip); for LRA also local_losses and, with alpha > 0, omega_values, " +
        "output_omega; with --conditioning also gradient_cosine; for regression on data valid_rmse, valid_mae, valid_r2 (original units). " +
        "Non-finite numbers are the strings NaN, Infinity, -Infinity";

    private const string JsonHelp =
        "one JSON object on stdout at the end: every option the run records under its name with underscores, then iterations, best_valid_accuracy, " +
        "final_valid_loss, final_valid_accuracy, final_train_loss, solved, stop_reason, wall_seconds, seconds_per_iteration, saved; on data also steps, " +
        "best_iteration and valid_accuracy, or for regression valid_mse, valid_rmse, valid_mae, valid_r2, baseline_r2_mean, baseline_r2_persistence " +
        "(the best check's, original units)";

    public override int Run(CliArguments a, CancellationToken cancel)
    {
        long checkpointEvery = a.Long("checkpoint-every", 1000);
        if (checkpointEvery < 0) throw new UsageException($"--checkpoint-every must be >= 0, got {checkpointEvery}.");
        string? checkpoint = a.Output("checkpoint"), resume = a.Flag("resume"), initFrom = a.Flag("init-from");
        string? save = a.Output("save"), metrics = a.Output("metrics");
        bool quiet = a.Has("quiet");
        long threads = a.Long("threads", Environment.ProcessorCount);
        if (threads < 1) throw new UsageException($"--threads must be positive, got {threads}.");
        RunSpec spec;
        if (resume is not null)
        {
            if (initFrom is not null) throw new UsageException("--resume and --init-from cannot be combined: a checkpoint holds its own parameters.");
            // The run's options are the checkpoint's: repeating them is fine, changing them (but --max-iter) is refused.
            var recorded = Recorded("resume", resume);
            spec = a.Apply(recorded);
            if (TrainingRun.Differences(recorded, spec, a.Given, onlyGiven: true) is { } differ)
                throw new UsageException($"--resume {resume}: the checkpoint's run has other options ({differ.There}; this command: {differ.Here}); a resumed run keeps its own (only --max-iter may change).");
        }
        else
        {
            if (!a.Has("data") && (!a.Has("task") || !a.Has("length")))
                throw new UsageException("train needs --task and --length, --data F, or --resume F.");
            spec = a.Apply(RunSpec.Default);
        }
        // A checkpoint file that is already there holds this run, pre-empted: the same command
        // resumes it (a run of other options is refused), and a checkpoint is never overwritten.
        string? from = resume;
        if (checkpoint is not null && File.Exists(checkpoint) && (resume is null || Path.GetFullPath(checkpoint) != Path.GetFullPath(resume)))
        {
            if (TrainingRun.Differences(Recorded("checkpoint", checkpoint), spec, a.Given, onlyGiven: false) is { } differ)
                throw new UsageException(
                    $"--checkpoint {checkpoint} holds a run with other options ({differ.There}; this command: {differ.Here}); " +
                    "give its options to resume it, or another --checkpoint file to start afresh.");
            from = checkpoint;
        }
        checkpoint ??= from;
        var policy = checkpoint is null ? null : new CheckpointPolicy(checkpoint, checkpointEvery);
        TrainingRun run;
        if (from is not null)
        {
            run = TrainingRun.Resume(from, maxIterations: a.Has("max-iter") ? spec.Options.MaxIterations : null, checkpoint: policy);
            if (!quiet) Console.Error.WriteLine($"resumed {from} at iteration {run.Iteration}");
        }
        else
        {
            ParameterSet? initial = null;
            if (initFrom is not null)
            {
                try
                {
                    initial = ModelFile.Load(initFrom).Weights;
                }
                catch (WeightFileException e) when (!e.Message.StartsWith(initFrom, StringComparison.Ordinal))
                {
                    throw new WeightFileException($"{initFrom}: {e.Message}");
                }
            }
            run = TrainingRun.Start(spec with { Checkpoint = policy }, initial);
        }
        run.ValidationThreads = (int)Math.Min(threads, Environment.ProcessorCount);
        run.MeasureConditioning = a.Has("conditioning");
        return Finish(run, from is null ? null : run.Iteration, save, metrics, a.Has("json"), quiet, cancel);
    }

    /// <summary>
    /// The configuration a checkpoint records, read before its run is built. A file that is not a
    /// checkpoint (a model, say) is refused by name: neither resumed nor overwritten.
    /// </summary>
    private static RunSpec Recorded(string flag, string path)
    {
        try
        {
            return Checkpoint.Spec(Checkpoint.Open(path));
        }
        catch (WeightFileException e) when (e.Message.Contains("not a FastLra checkpoint", StringComparison.Ordinal))
        {
            throw new UsageException(flag == "checkpoint"
                ? $"--checkpoint {path} is not a FastLra checkpoint; FastLra does not overwrite it: give another file name."
                : $"--resume {path} is not a FastLra checkpoint; give the file --checkpoint wrote.");
        }
    }

    private static int Finish(TrainingRun run, long? resumedAt, string? save, string? metrics, bool json, bool quiet, CancellationToken cancel)
    {
        if (!quiet && run.Data is { } data)
        {
            var layout = data.Train.Layout;
            Console.Error.WriteLine(
                $"data: {data.Train.Count} training and {data.Valid.Count} validation sequences of T={layout.Steps}, I={layout.Inputs}, " +
                $"O={layout.Outputs} ({(layout.Loss == GlobalLossKind.MeanSquaredError ? "regression" : "classes")}" +
                $"{(layout.PerStep ? $", outputs at steps {layout.Washout}..{layout.Steps - 1}" : ", one output per sequence")})" +
                $"{(data.Normalization is null ? "" : ", standardised")}; {run.MaxIterations} iterations at most");
        }
        TrainingResult result;
        using (var file = metrics is null ? null : new MetricsFile(metrics, resumedAt))
        {
            result = run.Run(new Observers(quiet ? null : new ConsoleProgress(), file), cancel);
        }
        if (result.StopReason == StopReason.Diverged)
        {
            // Nothing that looks like a fit: the figures of a run whose loss became NaN mean nothing.
            Console.Error.WriteLine($"fastlra: training diverged at iteration {result.Iterations}: the loss became {result.FinalTrainLoss}; try a smaller --lr or a --clip bound.");
            return CliExit.Failure;
        }
        string? saved = null;
        if (save is not null)
        {
            ModelFile.Save(save, run.Model, ModelMetadata(run.Spec, result, run.Data));
            saved = save;
        }
        Console.Error.WriteLine(Trainer.Summary(run, result) + (saved is null ? "" : $", saved {saved}"));
        if (json) Console.Out.WriteLine(CliJson.Serialize(TrainReport.Create(run.Spec, result, saved, run.Data).Write));
        return CliExit.Ok;
    }

    /// <summary>
    /// What a saved model records of its run: its configuration, the version that trained it, how the
    /// run ended, and on a data file that file's length and CRC-32C (with the configuration's split
    /// options they tell eval and predict which of its sequences were training data).
    /// </summary>
    private static List<KeyValuePair<string, string>> ModelMetadata(RunSpec spec, TrainingResult r, DataRun? data)
    {
        var list = TrainingOptionTable.Describe(spec);
        list.Insert(0, new("fastlra_version", Version));
        list.Add(new("iterations", r.Iterations.ToString(CultureInfo.InvariantCulture)));
        list.Add(new("best_valid_accuracy", r.BestValidAccuracy.ToString("R", CultureInfo.InvariantCulture)));
        list.Add(new("stop_reason", OptionNames.StopReasons.Name(r.StopReason)));
        if (spec.Source is not TaskSource) list.Add(new("best_iteration", r.BestIteration.ToString(CultureInfo.InvariantCulture)));
        if (data?.Checksum is { } checksum)
        {
            list.Add(new(TrainedOn.BytesKey, checksum.Bytes.ToString(CultureInfo.InvariantCulture)));
            list.Add(new(TrainedOn.Crc32CKey, checksum.Hex));
        }
        return list;
    }
}
