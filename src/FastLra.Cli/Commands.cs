using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using System.Runtime.Intrinsics;
using System.Text.Json;
using FastLra.Cli.Report;
using FastLra.Cli.Sweep;
using FastLra.IO;
using FastLra.Interchange;
using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary>
/// The commands of <c>fastlra</c> that are not training commands (<see cref="TrainingCommands"/>),
/// each parsed by <see cref="CliArguments"/> from its own flags.
/// </summary>
internal static class Commands
{
    /// <summary>Every command, with its one-line summary, in the order help lists them.</summary>
    public static readonly (string Name, string Summary)[] All =
    [
        ("train", "train an RNN on a synthetic task or on your data (.csv, .npz, .safetensors)"),
        ("eval", "loss and accuracy, or regression errors, of a saved model on a task or a data file"),
        ("predict", "a saved model's predictions for a data file, in original units (.csv or .npy)"),
        ("replay", "replay a recorded series tick by tick through an online learner, against the frozen model and persistence"),
        ("sweep", "train every run of a grid, in parallel and resumably"),
        ("report", "tables and figures of a sweep directory"),
        ("infer", "run a saved model step by step over raw float32 inputs"),
        ("import", "convert PyTorch or numpy weights to a FastLra model"),
        ("export", "write a model as C, C#, PyTorch safetensors or .npz"),
        ("data", "print a synthetic task's batches as JSON, or write them as a data set (.npz)"),
        ("bench", "time training iterations of one configuration in this binary"),
        ("info", "version, vector width and instruction sets"),
    ];

    /// <summary>The command names.</summary>
    public static IEnumerable<string> Names => All.Select(c => c.Name);

    /// <summary>The root help: every command and where its options are listed.</summary>
    public static string Usage()
    {
        var text = new System.Text.StringBuilder("Usage: fastlra <command> [options]   (fastlra <command> --help lists a command's options)\n\nCommands:\n");
        foreach (var (name, summary) in All) text.Append($"  {name,-8} {summary}\n");
        return text.ToString();
    }

    /// <summary>Runs a command other than the training commands.</summary>
    public static int Run(string command, string[] args, CancellationToken cancel) => command switch
    {
        "replay" => ReplayCommand.Run(args),
        "sweep" => Sweep(args, cancel),
        "report" => Report(args),
        "infer" => Infer(args),
        "import" => Import(args),
        "export" => Export(args),
        "data" => Data(args),
        _ => Info(args),
    };

    private static bool None(TrainingOption _) => false;

    /// <summary>Parses a command's flags (and the training options it accepts), or prints its help (then returns null).</summary>
    internal static CliArguments? Parse(string command, string usage, string[] args, CliFlag[] flags, Func<TrainingOption, bool>? accepts = null, string? positional = null)
    {
        var a = CliArguments.Parse(command, args, accepts ?? None, flags, positional);
        if (!a.Help) return a;
        Console.Out.Write(CliArguments.HelpText(usage, accepts ?? None, flags));
        return null;
    }

    private static readonly CliFlag[] SweepFlags =
    [
        new("grid", "json|file", "a JSON object mapping train options (as on the command line, without the dashes) to lists of values, or an array of such objects", required: true),
        new("out", "dir", "directory for runs.jsonl (a line per finished run: its result and metrics), the working files of unfinished runs, and summary.csv", required: true),
        new("workers", "int", "trainings at once (default: one per core)"),
        new("shard", "i/n", "run only share i of n (\"i/n\"), or \"n\" with i from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID; a Slurm job array needs no flag"),
        new("checkpoint-every", "int", "iterations between each run's checkpoints; 0 = only when interrupted (default 1000)"),
        new("dry-run", null, "print each run's id and train command without running anything"),
        new("conditioning", null, TrainingCommands.ConditioningHelp),
    ];

    private static int Sweep(string[] args, CancellationToken cancel)
    {
        if (Parse("sweep", "fastlra sweep --grid G.json --out DIR [--workers N] [--shard i/n] [--checkpoint-every N] [--conditioning] [--dry-run]", args, SweepFlags) is not { } a)
            return CliExit.Ok;
        string grid = a.Required("grid"), @out = a.Required("out");
        long workers = a.Long("workers", 0), checkpointEvery = a.Long("checkpoint-every", 1000);
        if (workers < 0) throw new UsageException($"--workers must be >= 0, got {workers}.");
        if (checkpointEvery < 0) throw new UsageException($"--checkpoint-every must be >= 0, got {checkpointEvery}.");
        var share = Shard.Resolve(a.Flag("shard"), Environment.GetEnvironmentVariable);
        var runs = SweepGrid.Load(grid);
        var mine = runs.Where(r => share.Contains(r.Index)).ToList();
        if (a.Has("dry-run"))
        {
            foreach (var run in mine) Console.Out.WriteLine($"{run.Id}\t{run.Command}");
            return CliExit.Ok;
        }
        CliArguments.CheckOutput("out", @out, directory: true);
        int threads = workers == 0 ? Environment.ProcessorCount : (int)Math.Min(workers, 1024);
        var runner = new SweepRunner(@out, checkpointEvery == 0 ? long.MaxValue : checkpointEvery, Console.Error, a.Has("conditioning")).Open();
        Console.Error.WriteLine(
            $"sweep: {runs.Count} runs in the grid, {mine.Count} in shard {share.Index}/{share.Count}, {threads} workers, into {@out}");
        var outcome = runner.Run(mine, threads, cancel);
        var results = runner.Results(runs);
        SweepRunner.WriteSummary(Path.Combine(@out, "summary.csv"), runs, results);
        Console.Error.WriteLine(
            $"sweep: {outcome.Finished} finished, {outcome.Skipped} already done, {outcome.Busy} busy elsewhere, {outcome.Failed} failed, " +
            $"{outcome.Interrupted} interrupted; {results.Count} of {runs.Count} runs of the grid have results ({Path.Combine(@out, "summary.csv")})");
        if (outcome.Interrupted > 0) Console.Error.WriteLine("fastlra: sweep interrupted; run the same command again to resume it.");
        return outcome.Failed > 0 || outcome.Interrupted > 0 ? CliExit.Failure : CliExit.Ok;
    }

    private static readonly CliFlag[] ReportFlags =
    [
        new("out", "dir", "directory for report.md, report.csv and the figures", required: true),
        new("max-series", "int", "variants drawn per figure, the best ranked first; the tables list every variant (default 8)") { Max = int.MaxValue },
    ];

    private static int Report(string[] args)
    {
        if (Parse("report", "fastlra report DIR --out DIR2 [--max-series N]   (DIR: a directory fastlra sweep wrote into)", args, ReportFlags, positional: "DIR") is not { } a)
            return CliExit.Ok;
        string dir = a.Positional ?? throw new UsageException("report needs the sweep directory: fastlra report DIR --out DIR2.");
        string @out = a.Required("out");
        long maxSeries = a.Long("max-series", 8);
        if (maxSeries <= 0) throw new UsageException($"--max-series must be positive, got {maxSeries}.");
        CliArguments.CheckOutput("out", @out, directory: true);
        var report = SweepReport.Load(dir, Console.Error);
        var files = report.Write(@out, dir, (int)maxSeries);
        Console.Error.WriteLine($"report: wrote {files.Count} files into {@out} ({Path.Combine(@out, "report.md")})");
        return CliExit.Ok;
    }

    private static readonly CliFlag[] InferFlags =
    [
        new("model", "file", "a safetensors file with Wxh, Whh, bh, Why, by (and the normalisation of its data, if any)", required: true),
        new("inputs", "file", "T x I little-endian float32 values, step after step", required: true),
        new("outputs", "file", "receives T x O float32 values, the output after every step (written atomically)", required: true),
    ];

    private static int Infer(string[] args)
    {
        if (Parse("infer", "fastlra infer --model F --inputs X.bin --outputs Y.bin", args, InferFlags) is not { } a) return CliExit.Ok;
        string model = a.Required("model"), inputs = a.Required("inputs"), outputs = a.RequiredOutput("outputs");
        var rnn = RnnModel.Load(model);
        var shape = rnn.Shape;
        using var input = OpenInputs(inputs);
        var head = new byte[(int)Math.Min(input.Length, 256)];
        input.ReadExactly(head);
        TrainingCommands.RefuseNonRaw(inputs, head);
        input.Position = 0;
        int stepBytes = 4 * shape.Inputs;
        if (input.Length % stepBytes != 0)
            throw new InvalidDataException($"{inputs}: {input.Length} bytes is not a whole number of steps of {shape.Inputs} float32 inputs.");
        // Streamed in blocks of steps: memory stays bounded however long the input is.
        long steps = input.Length / stepBytes;
        int block = Math.Max(1, (1 << 16) / stepBytes);
        var raw = new byte[block * stepBytes];
        var result = new byte[block * 4 * shape.Outputs];
        var x = new float[shape.Inputs];
        var y = new float[shape.Outputs];
        var state = new RnnState(rnn);
        AtomicFile.Write(outputs, stream =>
        {
            for (long done = 0; done < steps;)
            {
                int count = (int)Math.Min(block, steps - done);
                input.ReadExactly(raw.AsSpan(0, count * stepBytes));
                for (int t = 0; t < count; t++)
                {
                    for (int i = 0; i < x.Length; i++) x[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(4 * (t * shape.Inputs + i)));
                    state.Step(x, y);
                    for (int j = 0; j < y.Length; j++) BinaryPrimitives.WriteSingleLittleEndian(result.AsSpan(4 * (t * shape.Outputs + j)), y[j]);
                }
                stream.Write(result, 0, count * 4 * shape.Outputs);
                done += count;
            }
        });
        return CliExit.Ok;
    }

    /// <summary>A raw input file for reading: a regular file (not a directory, pipe or device), or one line saying why not.</summary>
    private static FileStream OpenInputs(string path)
    {
        try
        {
            return BoundedFile.Open(path, long.MaxValue);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{path}: cannot read ({e.Message}).", e);
        }
    }

    private static readonly CliFlag[] ImportFlags =
    [
        new("from", "file", "the file to read (.safetensors or .npz)", required: true),
        new("out", "file", "the FastLra safetensors file to write (atomically)", required: true),
        new("rnn-prefix", "prefix", "key prefix of the nn.RNN tensors (default rnn.)"),
        new("fc-prefix", "prefix", "key prefix of the nn.Linear tensors (default fc.)"),
    ];

    private static int Import(string[] args)
    {
        if (Parse("import", "fastlra import --from F --out G [--rnn-prefix rnn.] [--fc-prefix fc.]", args, ImportFlags) is not { } a) return CliExit.Ok;
        string from = a.Required("from"), @out = a.RequiredOutput("out");
        var p = WeightFormats.ToParameters(WeightFormats.ReadTensors(from), from, a.Flag("rnn-prefix") ?? "rnn.", a.Flag("fc-prefix") ?? "fc.");
        ModelFile.Save(@out, p, null, [new("format", "fastlra-srnn"), new("imported_from", Path.GetFileName(from))]);
        Console.Error.WriteLine($"{@out}: I={p.Shape.Inputs}, H={p.Shape.Hidden}, O={p.Shape.Outputs}");
        return CliExit.Ok;
    }

    private static readonly CliFlag[] ExportFlags =
    [
        new("model", "file", "a FastLra weight file (or any file import reads)", required: true),
        new("format", "c|csharp|torch|npz", "c, csharp, torch (safetensors) or npz (PyTorch key names)", required: true),
        new("out", "file", "the file to write (atomically)", required: true),
        new("name", "identifier", "identifier for the C header's arrays, state and functions, or the C# class (default fastlra_model)"),
        new("namespace", "name", "csharp: the namespace of the class (default FastLra.Models)"),
        new("rnn-prefix", "prefix", "key prefix of the nn.RNN tensors, torch and npz (default rnn.)"),
        new("fc-prefix", "prefix", "key prefix of the nn.Linear tensors, torch and npz (default fc.)"),
    ];

    private static int Export(string[] args)
    {
        if (Parse("export", "fastlra export --model F --format c|csharp|torch|npz --out G [--name N] [--namespace NS]", args, ExportFlags) is not { } a) return CliExit.Ok;
        string model = a.Required("model"), format = a.Required("format"), @out = a.RequiredOutput("out"), name = a.Flag("name") ?? "fastlra_model";
        string ns = a.Flag("namespace") ?? "FastLra.Models";
        string rnnPrefix = a.Flag("rnn-prefix") ?? "rnn.", fcPrefix = a.Flag("fc-prefix") ?? "fc.";
        if (format is not ("c" or "csharp" or "torch" or "npz")) throw new UsageException($"unknown --format '{format}' (choose c, csharp, torch or npz).");
        if (name.Length == 0 || !(char.IsLetter(name[0]) || name[0] == '_') || !name.All(ch => char.IsLetterOrDigit(ch) || ch == '_'))
            throw new UsageException($"--name '{name}' is not a C or C# identifier.");
        if (ns.Split('.').Any(part => part.Length == 0 || !(char.IsLetter(part[0]) || part[0] == '_') || !part.All(ch => char.IsLetterOrDigit(ch) || ch == '_')))
            throw new UsageException($"--namespace '{ns}' is not a C# namespace.");
        var p = WeightFormats.ToParameters(WeightFormats.ReadTensors(model), model);
        // A FastLra model file may carry the normalisation of its data: the sources apply it too.
        var normalization = model.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
            ? ModelFile.LoadNormalization(new SafeTensors.SafeTensorsFile(model), p.Shape)
            : null;
        switch (format)
        {
            case "torch": SafeTensors.Write(@out, WeightFormats.ToTorch(p, rnnPrefix, fcPrefix), null); break;
            case "npz": WeightFormats.WriteNpz(@out, WeightFormats.ToTorch(p, rnnPrefix, fcPrefix)); break;
            case "c": AtomicFile.WriteAllText(@out, WeightFormats.ToC(p, normalization, name)); break;
            default: AtomicFile.WriteAllText(@out, WeightFormats.ToCSharp(p, normalization, name, ns)); break;
        }
        return CliExit.Ok;
    }

    private static readonly CliFlag[] DataFlags =
    [
        new("count", "int", "consecutive batches drawn from one generator (default 1)") { Max = int.MaxValue },
        new("json", null, "print the batches as JSON (the golden fixtures' layout)"),
        new("out", "file", "write the batches as one data set for train --data: x (N x T x I) and y (N x O), N = batch x count, in an .npz file (atomically)"),
    ];

    private static bool DataOptions(TrainingOption o) => o.Name is "task" or "length" or "batch" or "seed";

    private static int Data(string[] args)
    {
        if (Parse("data", "fastlra data --task T --length L --batch B [--seed S] [--count N] (--json | --out F.npz)", args, DataFlags, DataOptions) is not { } a)
            return CliExit.Ok;
        if (!a.Has("task") || !a.Has("length") || !a.Has("batch")) throw new UsageException("data needs --task, --length and --batch.");
        var options = a.Apply(new TrainingOptions());
        var (kind, length, batch) = (options.Task, options.Length, options.Batch);
        string task = TaskInfo.Name(kind);
        if (length < TaskInfo.MinLength(kind))
            throw new UsageException($"--length {length} is too short for {task}: it needs T >= {TaskInfo.MinLength(kind)}.");
        if (batch <= 0) throw new UsageException($"--batch must be positive, got {batch}.");
        long count = a.Long("count", 1);
        if (count <= 0) throw new UsageException($"--count must be positive, got {count}.");
        string? @out = a.Output("out");
        if (a.Has("json") == (@out is not null)) throw new UsageException("data prints JSON (--json) or writes a data set (--out F.npz): give one.");
        int inputs = TaskInfo.Inputs(kind), outputs = TaskInfo.Outputs(kind);
        // Sizes in doubles: products of options up to 2^31 - 1 overflow 64 bits.
        double batchBytes = 4.0 * batch * ((double)length * inputs + outputs);
        if (batchBytes > MemoryBudget.Bytes) throw new UsageException(MemoryBudget.TooMuch($"a batch of {batch} sequences of {task}, T={length},", batchBytes, "use a smaller --batch"));
        if ((double)length * batch * inputs > Array.MaxLength)
            throw new UsageException($"a batch of {batch} sequences of {task}, T={length}, is more values than one array holds ({Array.MaxLength}); use a smaller --batch or --length.");
        var generator = new TaskGenerator(kind, length, batch, new RandomState(options.Seed));
        var x = new float[(long)length * batch * inputs];
        var y = new float[batch * outputs];
        if (@out is not null)
        {
            if (!@out.EndsWith(".npz", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--out {@out}: the data set is written as .npz.");
            long n = batch * count;
            // The floats, their bytes and the .npy copy of those: three copies, the largest one array of bytes.
            if (4.0 * n * length * inputs > Array.MaxLength - 4096)
                throw new UsageException($"{n} sequences of {task}, T={length}, are more than one .npy array holds (2 GB); draw fewer (--count, --batch).");
            if (3 * count * batchBytes > MemoryBudget.Bytes)
                throw new UsageException(MemoryBudget.TooMuch($"writing {n} sequences of {task}, T={length},", 3 * count * batchBytes, "draw fewer (--count, --batch)"));
            var xs = new float[n * length * inputs];
            var ys = new float[n * generator.Outputs];
            for (int i = 0; i < count; i++)
            {
                generator.Generate(batch, x, y);
                // Time-major batches (T x B x I) into sequence-major rows (N x T x I), as numpy keeps data sets.
                for (int b = 0; b < batch; b++)
                    for (int t = 0; t < length; t++)
                        x.AsSpan((t * batch + b) * inputs, inputs).CopyTo(xs.AsSpan(((i * batch + b) * length + t) * inputs, inputs));
                y.CopyTo(ys.AsSpan(i * y.Length));
            }
            WeightFormats.WriteNpz(@out, [SafeTensors.Floats("x", [(int)n, length, inputs], xs), SafeTensors.Floats("y", [(int)n, generator.Outputs], ys)]);
            Console.Error.WriteLine($"{@out}: {n} sequences of {task}, T={length}");
            return CliExit.Ok;
        }
        using var stdout = Console.OpenStandardOutput();
        using var writer = new Utf8JsonWriter(stdout);
        writer.WriteStartObject();
        writer.WriteString("task", task);
        writer.WriteNumber("seed", options.Seed);
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
            writer.Flush(); // batch by batch: memory stays one batch however many are asked for
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
        stdout.WriteByte((byte)'\n');
        return CliExit.Ok;
    }

    private static readonly CliFlag[] InfoFlags = [new("json", null, "print one JSON object on stdout")];

    private static int Info(string[] args)
    {
        if (Parse("info", "fastlra info [--json]", args, InfoFlags) is not { } a) return CliExit.Ok;
        var report = new InfoReport(
            typeof(Trainer).Assembly.GetName().Version?.ToString(3) ?? "?",
            System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
            System.Runtime.JitInfo.GetCompiledILBytes() == 0,
            Vector<float>.Count,
            Vector.IsHardwareAccelerated,
            SimdWidth.Bits,
            InstructionSets(),
            Environment.ProcessorCount,
            MemoryBudget.Available);
        if (a.Has("json"))
        {
            Console.Out.WriteLine(CliJson.Serialize(report.Write));
            return CliExit.Ok;
        }
        Console.Out.WriteLine(report.Text());
        return CliExit.Ok;
    }

    internal static string[] InstructionSets()
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
}
