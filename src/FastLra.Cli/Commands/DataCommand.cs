using System.Text.Json;
using FastLra.Interchange;
using FastLra.IO;
using FastLra.Tasks;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary><c>fastlra data</c>: a synthetic task's batches, as JSON (the golden fixtures' layout) or as a data set (.npz).</summary>
internal sealed class DataCommand : Command
{
    public override string Name => "data";

    public override string Summary => "print a synthetic task's batches as JSON, or write them as a data set (.npz)";

    public override string Usage => "fastlra data --task T --length L --batch B [--seed S] [--count N] (--json | --out F.npz)";

    public override OptionUse Options => OptionUse.Data;

    public override IReadOnlyList<CliFlag> Flags { get; } =
    [
        new("count", "int", "consecutive batches drawn from one generator", @default: "1") { Max = int.MaxValue },
        new("json", null, "print the batches as JSON (the golden fixtures' layout)"),
        new("out", "file", "write the batches as one data set for train --data: x (N x T x I) and y (N x O), N = batch x count, in an .npz file (atomically)"),
    ];

    public override int Run(CliArguments a, CancellationToken cancel)
    {
        if (!a.Has("task") || !a.Has("length") || !a.Has("batch")) throw new UsageException("data needs --task, --length and --batch.");
        var spec = a.Apply(RunSpec.Default);
        var source = (TaskSource)spec.Source;
        var (kind, length, batch) = (source.Task, source.Length, spec.Options.Batch);
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
        var generator = new TaskGenerator(kind, length, batch, new RandomState(spec.Options.Seed));
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
        writer.WriteNumber("seed", spec.Options.Seed);
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
