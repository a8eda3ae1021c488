using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;
using ConsoleAppFramework;
using FastLra.Cli.Report;
using FastLra.Cli.Sweep;
using FastLra.IO;
using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary>The commands of <c>fastlra</c>.</summary>
internal sealed class Commands
{
    /// <summary>The command names, as registered below.</summary>
    public static readonly string[] Names = ["train", "sweep", "report", "eval", "data", "infer", "import", "export", "bench", "info"];

    /// <summary>Train an RNN on a synthetic task and report how it did.</summary>
    /// <param name="task">temporal-order, temporal-order-3bit, random-permutation or adding (required unless --resume).</param>
    /// <param name="length">Sequence length T (required unless --resume).</param>
    /// <param name="hidden">Hidden width H.</param>
    /// <param name="batch">Batch size B.</param>
    /// <param name="seed">Seed of the task generator and of the orthogonal initialisation.</param>
    /// <param name="algo">Gradient algorithm: bptt or lra.</param>
    /// <param name="optimizer">sgd, nesterov, rmsprop, adam or adagrad (PyTorch semantics).</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="clip">Gradient norm bound c (0 = off): BPTT clips the global norm, LRA every step's update and target gradient.</param>
    /// <param name="clipMode">LRA: above (rescale when the norm is at least c) or always (rescale every gradient to norm c).</param>
    /// <param name="semantics">LRA: local (the intended algorithm) or reference (parity with the paper's code).</param>
    /// <param name="k">LRA: target steps per layer.</param>
    /// <param name="beta">LRA: target step size.</param>
    /// <param name="alpha">LRA: weight of the Omega regulariser (0 = unregularised).</param>
    /// <param name="localLoss">LRA: local loss, log-penalty or mse.</param>
    /// <param name="maxIter">Iteration budget, counted from the run's start (default 100000; with --resume, the checkpoint's unless given).</param>
    /// <param name="checkEvery">Iterations between validation checks.</param>
    /// <param name="patience">Checks without a new best before stopping.</param>
    /// <param name="validSize">Sequences in the fixed validation set.</param>
    /// <param name="checkpoint">Write the run's full state to this file (atomically) every --checkpoint-every iterations and when it stops, Ctrl+C and SIGTERM included.</param>
    /// <param name="checkpointEvery">Iterations between checkpoints (0 = only when the run stops).</param>
    /// <param name="resume">Continue the run saved in this checkpoint; its configuration replaces the model flags.</param>
    /// <param name="initFrom">Start from the parameters in this safetensors file.</param>
    /// <param name="save">Write the final parameters to this safetensors file.</param>
    /// <param name="metrics">Write one JSON line per validation check to this file.</param>
    /// <param name="json">Print one JSON object with the result on stdout.</param>
    /// <param name="quiet">No progress lines on stderr.</param>
    [Command("train")]
    public int Train(string? task = null, int length = 0, int hidden = 100, int batch = 20, long seed = 1234, string algo = "bptt",
        string optimizer = "sgd", float lr = 0.01f, float clip = 1.0f, string clipMode = "above", string semantics = "local",
        int k = 10, float beta = 10f, float alpha = 0f, string localLoss = "log-penalty", long? maxIter = null, int checkEvery = 100,
        int patience = 30, int validSize = 10_000, string? checkpoint = null, long checkpointEvery = 1000, string? resume = null,
        string? initFrom = null, string? save = null, string? metrics = null,
        bool json = false, bool quiet = false, CancellationToken cancellationToken = default)
    {
        if (checkpointEvery < 0) throw new UsageException($"--checkpoint-every must be >= 0, got {checkpointEvery}.");
        Trainer trainer;
        LoopState? loop = null;
        if (resume is not null)
        {
            if (initFrom is not null) throw new UsageException("--resume and --init-from cannot be combined: a checkpoint holds its own parameters.");
            (trainer, loop) = Checkpoint.Resume(resume, maxIter);
            checkpoint ??= resume;
            if (!quiet) Console.Error.WriteLine($"resumed {resume} at iteration {trainer.Iteration}");
        }
        else
        {
            if (task is null || length == 0) throw new UsageException("train needs --task and --length (or --resume F).");
            var options = Options(task, length, hidden, batch, seed, algo, optimizer, lr, clip, clipMode, semantics, k, beta, alpha, localLoss,
                maxIter ?? 100_000, checkEvery, patience, validSize);
            trainer = new Trainer(options, InitialParameters(initFrom, options));
        }
        // With a checkpoint file the loop also writes one when the run stops (Ctrl+C and SIGTERM
        // included); --checkpoint-every 0 means only then.
        long every = checkpoint is null ? 0 : checkpointEvery == 0 ? long.MaxValue : checkpointEvery;
        return Run(trainer, loop, checkpoint, every, save, metrics, json, quiet, cancellationToken);
    }

    /// <summary>Train every combination of a grid of train options, in parallel and resumably, into one directory; then write its summary.csv.</summary>
    /// <param name="grid">A JSON object mapping train option names (as on the command line, without the dashes) to lists of values, or an array of such objects.</param>
    /// <param name="out">Directory for each run's result (ID.json), metrics (ID.metrics.jsonl) and checkpoint, and summary.csv.</param>
    /// <param name="workers">Trainings at once (default: one per core).</param>
    /// <param name="shard">Run only share i of n ("i/n"), or "n" with i from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID; a Slurm job array needs no flag.</param>
    /// <param name="checkpointEvery">Iterations between each run's checkpoints (0 = only when interrupted).</param>
    /// <param name="dryRun">Print each run's id and train command without running anything.</param>
    [Command("sweep")]
    public int Sweep(string grid, string @out, int workers = 0, string? shard = null, long checkpointEvery = 1000, bool dryRun = false,
        CancellationToken cancellationToken = default)
    {
        if (workers < 0) throw new UsageException($"--workers must be >= 0, got {workers}.");
        if (checkpointEvery < 0) throw new UsageException($"--checkpoint-every must be >= 0, got {checkpointEvery}.");
        var runs = SweepGrid.Load(grid);
        var share = Shard.Resolve(shard, Environment.GetEnvironmentVariable);
        var mine = runs.Where(r => share.Contains(r.Index)).ToList();
        if (dryRun)
        {
            foreach (var run in mine) Console.Out.WriteLine($"{run.Id}\t{run.Command}");
            return CliExit.Ok;
        }
        int threads = workers == 0 ? Environment.ProcessorCount : workers;
        Console.Error.WriteLine(
            $"sweep: {runs.Count} runs in the grid, {mine.Count} in shard {share.Index}/{share.Count}, {threads} workers, into {@out}");
        var outcome = new SweepRunner(@out, checkpointEvery == 0 ? long.MaxValue : checkpointEvery, Console.Error).Run(mine, threads, cancellationToken);
        var results = SweepRunner.ReadResults(@out, runs);
        SweepRunner.WriteSummary(Path.Combine(@out, "summary.csv"), runs, results);
        Console.Error.WriteLine(
            $"sweep: {outcome.Finished} finished, {outcome.Skipped} already done, {outcome.Busy} busy elsewhere, {outcome.Failed} failed, " +
            $"{outcome.Interrupted} interrupted; {results.Count} of {runs.Count} runs of the grid have results ({Path.Combine(@out, "summary.csv")})");
        if (outcome.Interrupted > 0) Console.Error.WriteLine("fastlra: sweep interrupted; run the same command again to resume it.");
        return outcome.Failed > 0 || outcome.Interrupted > 0 ? CliExit.Failure : CliExit.Ok;
    }

    /// <summary>Summarise a sweep directory: report.md and report.csv (success rate, best accuracy over seeds, iterations and time to solve) and SVG figures.</summary>
    /// <param name="dir">A directory fastlra sweep wrote into.</param>
    /// <param name="out">Directory for report.md, report.csv and the figures.</param>
    /// <param name="maxSeries">Variants drawn per figure, the best ranked first (the tables list every variant).</param>
    [Command("report")]
    public int Report([Argument] string dir, string @out, int maxSeries = 8)
    {
        if (maxSeries <= 0) throw new UsageException($"--max-series must be positive, got {maxSeries}.");
        var report = SweepReport.Load(dir, Console.Error);
        var files = report.Write(@out, dir, maxSeries);
        Console.Error.WriteLine($"report: wrote {files.Count} files into {@out} ({Path.Combine(@out, "report.md")})");
        return CliExit.Ok;
    }

    private static ParameterSet? InitialParameters(string? initFrom, TrainingOptions options)
    {
        ParameterSet? initial = null;
        if (initFrom is not null)
        {
            (initial, _) = ModelFile.Load(initFrom);
            var expected = new RnnShape(TaskInfo.Inputs(options.Task), options.Hidden, TaskInfo.Outputs(options.Task));
            if (initial.Shape != expected)
                throw new WeightFileException(
                    $"{initFrom}: the file holds a network with I={initial.Shape.Inputs}, H={initial.Shape.Hidden}, O={initial.Shape.Outputs}; " +
                    $"this run needs I={expected.Inputs}, H={expected.Hidden}, O={expected.Outputs}.");
        }
        return initial;
    }

    private static int Run(Trainer trainer, LoopState? loop, string? checkpoint, long checkpointEvery, string? save, string? metrics,
        bool json, bool quiet, CancellationToken cancellationToken)
    {
        var options = trainer.Options;
        using var monitor = new ProgressMonitor(options, quiet, metrics, loop is null ? null : trainer.Iteration, checkpoint);
        var result = TrainingLoop.Run(trainer, monitor, loop, checkpointEvery, cancellationToken);

        string? saved = null;
        if (save is not null && result.StopReason != StopReason.Diverged)
        {
            SafeTensors.Write(save, trainer.Parameters, Metadata(options, result));
            saved = save;
        }
        string reason = StopReasonName(result.StopReason);
        Console.Error.WriteLine(
            $"{reason}: {result.Iterations} iterations in {result.WallSeconds:F1} s ({result.SecondsPerIteration * 1e3:F3} ms/it), " +
            $"best valid accuracy {result.BestValidAccuracy:P2}, final valid loss {result.FinalValidLoss:G4}" +
            (saved is null ? "" : $", saved {saved}"));
        if (json)
        {
            var report = TrainReport.Create(options, result, saved);
            Console.Out.WriteLine(CliJson.Serialize(report.Write));
        }
        if (result.StopReason == StopReason.Diverged)
        {
            Console.Error.WriteLine($"fastlra: training diverged at iteration {result.Iterations}: the loss became {result.FinalTrainLoss}; try a smaller --lr or a --clip bound.");
            return CliExit.Failure;
        }
        return CliExit.Ok;
    }

    /// <summary>Evaluate a saved model on a task's validation set (from z_{-1} = x_0 Wxh + bh for reference-semantics models, as the published code validates).</summary>
    /// <param name="model">A safetensors file with Wxh, Whh, bh, Why, by.</param>
    /// <param name="task">temporal-order, temporal-order-3bit, random-permutation or adding.</param>
    /// <param name="length">Sequence length T.</param>
    /// <param name="validSize">Sequences in the validation set.</param>
    /// <param name="seed">Seed of the task generator (the training seed gives the training run's validation set).</param>
    /// <param name="json">Print the result as one JSON object on stdout.</param>
    [Command("eval")]
    public int Eval(string model, string task, int length, int validSize = 10_000, long seed = 1234, bool json = false)
    {
        var kind = ParseTask(task, length);
        if (validSize <= 0) throw new UsageException($"--valid-size must be positive, got {validSize}.");
        var (p, metadata) = ModelFile.Load(model);
        if (p.Shape.Inputs != TaskInfo.Inputs(kind) || p.Shape.Outputs != TaskInfo.Outputs(kind))
            throw new WeightFileException(
                $"{model}: the network has I={p.Shape.Inputs}, O={p.Shape.Outputs}, but {task} needs I={TaskInfo.Inputs(kind)}, O={TaskInfo.Outputs(kind)}.");
        var generator = new TaskGenerator(kind, length, validSize, new RandomState(ParseSeed(seed)));
        var evaluator = new Evaluator(generator, validSize, p.Shape.Hidden);
        // A model trained with the reference semantics is validated as the published code does.
        bool referenceStart = metadata.TryGetValue("semantics", out string? semantics) && semantics == "reference";
        var result = evaluator.Evaluate(p, referenceStart);
        bool solved = result.ErrorRate < TrainingLoop.SolvedErrorRate;
        if (json)
        {
            var report = new EvalReport(model, task, length, p.Shape.Hidden, seed, validSize, result.Loss, result.Accuracy, result.Errors, solved);
            Console.Out.WriteLine(CliJson.Serialize(report.Write));
        }
        else
        {
            Console.Out.WriteLine($"{task} T={length}: loss {result.Loss:G6}, accuracy {result.Accuracy:P2} ({result.Errors} of {result.Count} wrong){(solved ? ", solved" : "")}");
        }
        return CliExit.Ok;
    }

    /// <summary>Run a saved model over a sequence of inputs, one step at a time (raw little-endian float32 files).</summary>
    /// <param name="model">A safetensors file with Wxh, Whh, bh, Why, by.</param>
    /// <param name="inputs">T x I float32 values, step after step.</param>
    /// <param name="outputs">Receives T x O float32 values, the output after every step (written atomically).</param>
    [Command("infer")]
    public int Infer(string model, string inputs, string outputs)
    {
        var rnn = RnnModel.Load(model);
        var shape = rnn.Shape;
        byte[] raw = File.ReadAllBytes(inputs);
        if (raw.Length % (4 * shape.Inputs) != 0)
            throw new InvalidDataException($"{inputs}: {raw.Length} bytes is not a whole number of steps of {shape.Inputs} float32 inputs.");
        int steps = raw.Length / (4 * shape.Inputs);
        var x = new float[shape.Inputs];
        var y = new float[shape.Outputs];
        var result = new byte[4 * steps * shape.Outputs];
        var state = new RnnState(rnn);
        for (int t = 0; t < steps; t++)
        {
            for (int i = 0; i < x.Length; i++) x[i] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(4 * (t * shape.Inputs + i)));
            state.Step(x, y);
            for (int j = 0; j < y.Length; j++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(result.AsSpan(4 * (t * shape.Outputs + j)), y[j]);
        }
        AtomicFile.Write(outputs, stream => stream.Write(result));
        return CliExit.Ok;
    }

    /// <summary>Convert weights from PyTorch (nn.RNN + nn.Linear state dict) or this project's layout, in .safetensors or .npz, to a FastLra weight file.</summary>
    /// <param name="from">The file to read (.safetensors or .npz).</param>
    /// <param name="out">The FastLra safetensors file to write (atomically).</param>
    /// <param name="rnnPrefix">Key prefix of the nn.RNN tensors.</param>
    /// <param name="fcPrefix">Key prefix of the nn.Linear tensors.</param>
    [Command("import")]
    public int Import(string from, string @out, string rnnPrefix = "rnn.", string fcPrefix = "fc.")
    {
        var p = WeightFormats.ToParameters(WeightFormats.ReadTensors(from), from, rnnPrefix, fcPrefix);
        SafeTensors.Write(@out, p, [new("format", "fastlra-srnn"), new("imported_from", Path.GetFileName(from))]);
        Console.Error.WriteLine($"{@out}: I={p.Shape.Inputs}, H={p.Shape.Hidden}, O={p.Shape.Outputs}");
        return CliExit.Ok;
    }

    /// <summary>Write a model's weights for another tool: C or C# static arrays (firmware with no file system), or a PyTorch state dict (.safetensors or .npz).</summary>
    /// <param name="model">A FastLra weight file (or any file import reads).</param>
    /// <param name="format">c, csharp, torch (safetensors) or npz (PyTorch key names).</param>
    /// <param name="out">The file to write (atomically).</param>
    /// <param name="name">Identifier for the C arrays or C# class.</param>
    /// <param name="rnnPrefix">Key prefix of the nn.RNN tensors (torch, npz).</param>
    /// <param name="fcPrefix">Key prefix of the nn.Linear tensors (torch, npz).</param>
    [Command("export")]
    public int Export(string model, string format, string @out, string name = "fastlra_model", string rnnPrefix = "rnn.", string fcPrefix = "fc.")
    {
        if (format is not ("c" or "csharp" or "torch" or "npz")) throw new UsageException($"unknown --format '{format}' (choose c, csharp, torch or npz).");
        if (name.Length == 0 || !(char.IsLetter(name[0]) || name[0] == '_') || !name.All(ch => char.IsLetterOrDigit(ch) || ch == '_'))
            throw new UsageException($"--name '{name}' is not a C or C# identifier.");
        var p = WeightFormats.ToParameters(WeightFormats.ReadTensors(model), model);
        switch (format)
        {
            case "torch": SafeTensors.Write(@out, WeightFormats.ToTorch(p, rnnPrefix, fcPrefix), null); break;
            case "npz": WeightFormats.WriteNpz(@out, WeightFormats.ToTorch(p, rnnPrefix, fcPrefix)); break;
            default: AtomicFile.WriteAllText(@out, WeightFormats.ToSource(p, format == "csharp", name)); break;
        }
        return CliExit.Ok;
    }

    /// <summary>Print generated task batches (the golden fixtures' layout) for inspection and cross-checks.</summary>
    /// <param name="task">temporal-order, temporal-order-3bit, random-permutation or adding.</param>
    /// <param name="length">Sequence length T.</param>
    /// <param name="batch">Sequences per batch.</param>
    /// <param name="seed">Seed of the generator.</param>
    /// <param name="count">Consecutive batches drawn from one generator.</param>
    /// <param name="json">Print JSON (the only format).</param>
    [Command("data")]
    public int Data(string task, int length, int batch, long seed = 1234, int count = 1, bool json = false)
    {
        var kind = ParseTask(task, length);
        if (batch <= 0) throw new UsageException($"--batch must be positive, got {batch}.");
        if (count <= 0) throw new UsageException($"--count must be positive, got {count}.");
        if (!json) throw new UsageException("data prints JSON only: add --json.");
        var generator = new TaskGenerator(kind, length, batch, new RandomState(ParseSeed(seed)));
        var x = new float[(long)length * batch * generator.Inputs];
        var y = new float[batch * generator.Outputs];
        using var stdout = Console.OpenStandardOutput();
        using var writer = new Utf8JsonWriter(stdout);
        writer.WriteStartObject();
        writer.WriteString("task", task);
        writer.WriteNumber("seed", seed);
        writer.WriteNumber("length", length);
        writer.WriteNumber("batch", batch);
        writer.WriteStartArray("batches");
        for (int i = 0; i < count; i++)
        {
            generator.Generate(batch, x, y);
            writer.WriteStartObject();
            WriteArray(writer, "x", [length, batch, generator.Inputs], x);
            WriteArray(writer, "y", [batch, generator.Outputs], y);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
        stdout.WriteByte((byte)'\n');
        return CliExit.Ok;
    }

    /// <summary>Time training iterations of one configuration in this binary (JIT or Native AOT).</summary>
    /// <param name="algo">Gradient algorithm: bptt or lra.</param>
    /// <param name="iters">Timed iterations (after warm-up).</param>
    /// <param name="warmup">Untimed iterations first (and at least one second of them), so the code is compiled and caches are warm.</param>
    /// <param name="task">temporal-order, temporal-order-3bit, random-permutation or adding.</param>
    /// <param name="length">Sequence length T.</param>
    /// <param name="hidden">Hidden width H.</param>
    /// <param name="batch">Batch size B.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="optimizer">sgd, nesterov, rmsprop, adam or adagrad.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="clip">Gradient norm bound c (0 = off).</param>
    /// <param name="clipMode">LRA: above or always.</param>
    /// <param name="semantics">LRA: local or reference.</param>
    /// <param name="k">LRA: target steps per layer.</param>
    /// <param name="beta">LRA: target step size.</param>
    /// <param name="alpha">LRA: weight of the Omega regulariser.</param>
    /// <param name="localLoss">LRA: log-penalty or mse.</param>
    /// <param name="json">Print one JSON object on stdout.</param>
    [Command("bench")]
    public int Bench(string algo = "bptt", int iters = 200, int warmup = 20, string task = "temporal-order", int length = 20,
        int hidden = 100, int batch = 20, long seed = 1234, string optimizer = "sgd", float lr = 0.01f, float clip = 1.0f,
        string clipMode = "above", string semantics = "local", int k = 10, float beta = 10f, float alpha = 0f,
        string localLoss = "log-penalty", bool json = false)
    {
        if (iters <= 0) throw new UsageException($"--iters must be positive, got {iters}.");
        if (warmup < 0) throw new UsageException($"--warmup must be >= 0, got {warmup}.");
        var options = Options(task, length, hidden, batch, seed, algo, optimizer, lr, clip, clipMode, semantics, k, beta, alpha, localLoss,
            maxIter: 1, checkEvery: 1, patience: 1, validSize: 1);
        var trainer = new Trainer(options);
        // At least a second too: the JIT re-compiles hot methods at full optimisation after ~100 ms.
        long warmStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < warmup || (warmup > 0 && Stopwatch.GetElapsedTime(warmStart).TotalSeconds < 1); i++) trainer.Step();
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
        Array.Sort(seconds);
        var report = new BenchReport(algo, options.Algorithm == AlgorithmKind.Lra ? semantics : null, TaskInfo.Name(options.Task),
            length, hidden, batch, options.Algorithm == AlgorithmKind.Lra ? k : null, options.Algorithm == AlgorithmKind.Lra ? alpha : null,
            iters, seconds[iters / 2], total / iters, iters / total, seconds[Math.Min(iters - 1, (int)(iters * 0.99))],
            (double)allocated / iters, collections, SimdWidth.Bits, InstructionSets(), System.Runtime.JitInfo.GetCompiledILBytes() == 0);
        if (json)
        {
            Console.Out.WriteLine(CliJson.Serialize(report.Write));
            return CliExit.Ok;
        }
        Console.Out.WriteLine(
            $"{algo}{(report.Semantics is null ? "" : $" ({report.Semantics}, K={k}, alpha={alpha})")} {report.Task} T={length} B={batch} H={hidden}: " +
            $"median {report.MedianSecondsPerIteration * 1e3:F3} ms/it, mean {report.SecondsPerIteration * 1e3:F3} ms/it, " +
            $"{report.IterationsPerSecond:F0} it/s, p99 {report.P99SecondsPerIteration * 1e3:F3} ms, " +
            $"{report.AllocatedBytesPerIteration:F0} B/it allocated, {collections} GCs; " +
            $"{report.VectorBits}-bit vectors ({string.Join(' ', report.InstructionSets)}), {(report.NativeAot ? "Native AOT" : "JIT")}");
        return CliExit.Ok;
    }

    /// <summary>Version, vector width and the instruction sets in use.</summary>
    /// <param name="json">Print one JSON object on stdout.</param>
    [Command("info")]
    public int Info(bool json = false)
    {
        var report = new InfoReport(
            typeof(Trainer).Assembly.GetName().Version?.ToString(3) ?? "?",
            System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
            System.Runtime.JitInfo.GetCompiledILBytes() == 0,
            Vector<float>.Count,
            Vector.IsHardwareAccelerated,
            SimdWidth.Bits,
            InstructionSets(),
            Environment.ProcessorCount);
        if (json)
        {
            Console.Out.WriteLine(CliJson.Serialize(report.Write));
            return CliExit.Ok;
        }
        Console.Out.WriteLine($"fastlra {report.Version} on {report.Runtime}{(report.NativeAot ? " (Native AOT)" : " (JIT)")}");
        Console.Out.WriteLine($"Vector<float>: {report.VectorFloatCount} lanes, hardware accelerated: {report.VectorHardwareAccelerated}");
        Console.Out.WriteLine($"kernels: {report.VectorBits}-bit vectors");
        Console.Out.WriteLine($"instruction sets: {string.Join(' ', report.InstructionSets)}");
        Console.Out.WriteLine($"processors: {report.ProcessorCount}");
        return CliExit.Ok;
    }

    private static string[] InstructionSets()
    {
        var sets = new List<string>();
        if (Sse42.IsSupported) sets.Add("SSE4.2");
        if (Avx.IsSupported) sets.Add("AVX");
        if (Avx2.IsSupported) sets.Add("AVX2");
        if (Fma.IsSupported) sets.Add("FMA");
        if (Avx512F.IsSupported) sets.Add("AVX-512F");
        if (Vector512.IsHardwareAccelerated) sets.Add("Vector512");
        if (AdvSimd.IsSupported) sets.Add("AdvSIMD");
        return [.. sets];
    }

    private static void WriteArray(Utf8JsonWriter writer, string name, int[] shape, float[] data)
    {
        writer.WriteStartObject(name);
        writer.WriteStartArray("shape");
        foreach (int d in shape) writer.WriteNumberValue(d);
        writer.WriteEndArray();
        writer.WriteStartArray("data");
        foreach (float v in data) writer.WriteNumberValue(v);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>The run's options from the command line, validated (a usage error names the first bad one).</summary>
    private static TrainingOptions Options(string task, int length, int hidden, int batch, long seed, string algo, string optimizer,
        float lr, float clip, string clipMode, string semantics, int k, float beta, float alpha, string localLoss,
        long maxIter, int checkEvery, int patience, int validSize)
    {
        var options = new TrainingOptions
        {
            Task = ParseTask(task),
            Length = length,
            Hidden = hidden,
            Batch = batch,
            Seed = ParseSeed(seed),
            Algorithm = Parse(OptionNames.Algorithms, algo, "--algo"),
            Optimizer = Optimizer.TryParse(optimizer, out var kind)
                ? kind
                : throw new UsageException($"unknown --optimizer '{optimizer}' (choose {string.Join(", ", Optimizer.Names)})."),
            LearningRate = lr,
            Clip = clip,
            ClipMode = Parse(OptionNames.ClipModes, clipMode, "--clip-mode"),
            Semantics = Parse(OptionNames.Semantics, semantics, "--semantics"),
            K = k,
            Beta = beta,
            Alpha = alpha,
            LocalLoss = Parse(OptionNames.LocalLosses, localLoss, "--local-loss"),
            MaxIterations = maxIter,
            CheckEvery = checkEvery,
            Patience = patience,
            ValidSize = validSize,
        };
        string? problem = options.Validate();
        if (problem is not null) throw new UsageException(problem);
        return options;
    }

    private static TaskKind ParseTask(string task) =>
        TaskInfo.TryParse(task, out var kind)
            ? kind
            : throw new UsageException($"unknown task '{task}' (choose {string.Join(", ", TaskInfo.Names)}).");

    private static T Parse<T>(EnumNames<T> names, string value, string option)
        where T : struct, Enum =>
        names.TryParse(value, out T parsed)
            ? parsed
            : throw new UsageException($"unknown {option} '{value}' (choose {string.Join(" or ", names.Names)}).");

    /// <summary>The task, checking that its generator can place its symbols in T steps.</summary>
    private static TaskKind ParseTask(string task, int length)
    {
        var kind = ParseTask(task);
        if (length < TaskInfo.MinLength(kind))
            throw new UsageException($"--length {length} is too short for {task}: it needs T >= {TaskInfo.MinLength(kind)}.");
        return kind;
    }

    private static uint ParseSeed(long seed) =>
        seed is >= 0 and <= uint.MaxValue ? (uint)seed : throw new UsageException($"--seed must be in [0, 2^32), got {seed}.");

    internal static string StopReasonName(StopReason reason) => reason switch
    {
        StopReason.Solved => "solved",
        StopReason.Patience => "patience",
        StopReason.MaxIterations => "max-iter",
        StopReason.Diverged => "diverged",
        _ => "cancelled",
    };

    private static List<KeyValuePair<string, string>> Metadata(TrainingOptions o, TrainingResult r)
    {
        var list = Checkpoint.Metadata(o);
        list.Insert(0, new("format", "fastlra-srnn"));
        list.Insert(1, new("fastlra_version", typeof(Trainer).Assembly.GetName().Version?.ToString(3) ?? "?"));
        list.Add(new("iterations", r.Iterations.ToString(CultureInfo.InvariantCulture)));
        list.Add(new("best_valid_accuracy", r.BestValidAccuracy.ToString("R", CultureInfo.InvariantCulture)));
        list.Add(new("stop_reason", StopReasonName(r.StopReason)));
        return list;
    }
}
