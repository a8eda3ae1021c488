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
    /// <summary>The command names: those registered below and the training commands (<see cref="TrainingCommands"/>).</summary>
    public static readonly string[] Names = ["train", "sweep", "report", "eval", "predict", "data", "infer", "import", "export", "bench", "info"];

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
        TrainingCommands.RefuseNonRaw(inputs, raw);
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

    private static TaskKind ParseTask(string task) =>
        TaskInfo.TryParse(task, out var kind)
            ? kind
            : throw new UsageException($"unknown task '{task}' (choose {string.Join(", ", TaskInfo.Names)}).");

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
}
