using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using FastLra.Cli;
using FastLra.Cli.Sweep;
using FastLra.IO;
using FastLra.Model;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// Sizes and files without bounds: each is refused in one line, naming the value or file and why,
/// before its cost is paid; long inputs and outputs are streamed. With FASTLRA_CLI set they run
/// against that binary (the Native AOT one in CI).
/// </summary>
[Trait("Category", "Bounds")]
public sealed class BoundsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-bounds-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    private string Model()
    {
        string model = Path.Combine(_dir, "m.safetensors");
        Assert.Equal(0, Run("train", "--task", "adding", "--length", "10", "--hidden", "5", "--max-iter", "20", "--valid-size", "5", "--save", model, "--quiet").Code);
        return model;
    }

    /// <summary>A directory, a device or a pipe where a file belongs is one line and never read without end.</summary>
    [Trait("Category", "Slow")]
    [Fact]
    public void Things_that_are_not_regular_files_are_refused_by_name()
    {
        string model = Model(), output = Path.Combine(_dir, "y.bin"), folder = Path.Combine(_dir, "x.csv");
        Directory.CreateDirectory(folder);
        var cases = new (string[] Args, int Code, string Message)[]
        {
            (["infer", "--model", model, "--inputs", "/dev/zero", "--outputs", output], 2, "/dev/zero: cannot read (it is a character device, not a regular file)"),
            (["infer", "--model", model, "--inputs", _dir, "--outputs", output], 2, $"{_dir}: cannot read (it is a directory, not a file)"),
            (["infer", "--model", _dir, "--inputs", model, "--outputs", output], 2, $"{_dir}: cannot read (it is a directory, not a file)"),
            (["train", "--data", folder, "--input-columns", "a", "--target-columns", "b", "--window", "3"], 2, $"{folder}: cannot read (it is a directory, not a file)"),
            (["train", "--data", _dir, "--input-columns", "a", "--target-columns", "b", "--window", "3"], 2, $"{_dir}: cannot read (it is a directory, not a file)"),
            (["train", "--resume", _dir], 2, "it is a directory, not a file"),
            (["sweep", "--grid", "/dev/zero", "--out", Path.Combine(_dir, "s")], 2, "cannot read the grid /dev/zero: it is a character device, not a regular file"),
        };
        foreach (var (args, code, message) in cases)
        {
            var (actual, stdout, stderr) = Run(args);
            Assert.True(code == actual, $"{string.Join(' ', args)}: exit {actual}, {stderr}");
            Assert.Contains(message, stderr);
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Empty(stdout);
        }
        Assert.False(File.Exists(output));
    }

    /// <summary>
    /// A FIFO where a file belongs, to read or to write, is refused at once by name: its plain open
    /// would wait for the other end forever. Every path of every command: one line, the command's
    /// exit code, nothing written. (A blocked command fails the test after a minute.)
    /// </summary>
    [Fact]
    public void A_fifo_where_a_file_belongs_is_refused_at_once_by_name()
    {
        string model = Model(), csv = Path.Combine(_dir, "series.csv");
        File.WriteAllText(csv, "u,y\n" + string.Concat(Enumerable.Range(0, 60).Select(i => $"{i % 7},{i % 5}\n")));
        string F(string name)
        {
            string path = Path.Combine(_dir, "fifo", name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            if (!Path.Exists(path)) MakeFifo(path);
            return path;
        }
        string Out(string name) => Path.Combine(_dir, "out", name);
        Directory.CreateDirectory(Path.Combine(_dir, "out"));
        string sweepDir = Path.Combine(_dir, "sweep"), grid = Path.Combine(_dir, "grid.json");
        Directory.CreateDirectory(sweepDir);
        MakeFifo(Path.Combine(sweepDir, "runs.jsonl"));
        File.WriteAllText(grid, """{"task": ["adding"], "length": [10], "hidden": [4], "max-iter": [5], "valid-size": [5]}""");
        string[] task = ["--task", "adding", "--length", "10", "--hidden", "5", "--max-iter", "5", "--valid-size", "5"];
        string[] series = ["--data", csv, "--input-columns", "u", "--target-columns", "y"];
        const string Fifo = "it is a FIFO (named pipe), not a regular file";
        var cases = new (string[] Args, int Code, string Message)[]
        {
            // Files read.
            (["train", "--data", F("d.csv"), "--input-columns", "a", "--target-columns", "b", "--window", "3"], 2, $"{F("d.csv")}: cannot read ({Fifo})"),
            (["train", .. series, "--window", "3", "--valid-data", F("v.csv")], 2, $"{F("v.csv")}: cannot read ({Fifo})"),
            (["train", "--resume", F("c.safetensors")], 2, $"{F("c.safetensors")}: cannot read ({Fifo})"),
            (["train", .. task, "--init-from", F("m.safetensors")], 2, $"{F("m.safetensors")}: cannot read ({Fifo})"),
            (["eval", "--model", F("m.safetensors"), "--task", "adding", "--length", "10"], 2, $"{F("m.safetensors")}: cannot read ({Fifo})"),
            (["predict", "--model", F("m.safetensors"), .. series, "--out", Out("p.csv")], 2, $"{F("m.safetensors")}: cannot read ({Fifo})"),
            (["infer", "--model", F("m.safetensors"), "--inputs", model, "--outputs", Out("y.bin")], 2, $"{F("m.safetensors")}: cannot read ({Fifo})"),
            (["infer", "--model", model, "--inputs", F("x.bin"), "--outputs", Out("y.bin")], 2, $"{F("x.bin")}: cannot read ({Fifo})"),
            (["replay", .. series[..1], F("d.csv"), .. series[2..], "--hidden", "4"], 2, $"{F("d.csv")}: cannot read ({Fifo})"),
            (["replay", .. series, "--model", F("m.safetensors")], 2, $"{F("m.safetensors")}: cannot read ({Fifo})"),
            (["import", "--from", F("w.npz"), "--out", Out("m.safetensors")], 2, $"{F("w.npz")}"),
            (["export", "--model", F("m.safetensors"), "--format", "c", "--out", Out("m.h")], 2, $"{F("m.safetensors")}: cannot read ({Fifo})"),
            (["sweep", "--grid", F("g.json"), "--out", Out("s")], 2, $"cannot read the grid {F("g.json")}: {Fifo}"),
            (["sweep", "--grid", grid, "--out", sweepDir], 2, $"{Path.Combine(sweepDir, "runs.jsonl")}: {Fifo}"),
            (["report", sweepDir, "--out", Out("r")], 2, $"{Path.Combine(sweepDir, "runs.jsonl")}: {Fifo}"),
            // Files written.
            (["train", .. task, "--save", F("m.safetensors")], 2, $"--save {F("m.safetensors")}: {Fifo}."),
            (["train", .. task, "--metrics", F("m.jsonl")], 2, $"--metrics {F("m.jsonl")}: {Fifo}."),
            (["train", .. task, "--checkpoint", F("c.safetensors")], 2, $"--checkpoint {F("c.safetensors")}: {Fifo}."),
            (["replay", .. series, "--hidden", "4", "--save", F("m.safetensors")], 2, $"--save {F("m.safetensors")}: {Fifo}."),
            (["replay", .. series, "--hidden", "4", "--metrics", F("m.jsonl")], 2, $"--metrics {F("m.jsonl")}: {Fifo}."),
            (["predict", "--model", model, .. series, "--out", F("p.csv")], 2, $"--out {F("p.csv")}: {Fifo}."),
            (["infer", "--model", model, "--inputs", model, "--outputs", F("y.bin")], 2, $"--outputs {F("y.bin")}: {Fifo}."),
            (["import", "--from", model, "--out", F("m.safetensors")], 2, $"--out {F("m.safetensors")}: {Fifo}."),
            (["export", "--model", model, "--format", "c", "--out", F("m.h")], 2, $"--out {F("m.h")}: {Fifo}."),
            (["data", "--task", "adding", "--length", "10", "--batch", "2", "--out", F("d.npz")], 2, $"--out {F("d.npz")}: {Fifo}."),
            (["sweep", "--grid", grid, "--out", F("s")], 2, $"--out {F("s")}: it is not a directory."),
            (["report", sweepDir, "--out", F("r")], 2, $"--out {F("r")}: it is not a directory."),
        };
        var before = Entries();
        foreach (var (args, code, message) in cases)
        {
            var (actual, stdout, stderr) = RunUnblocked(args);
            Assert.True(code == actual, $"{string.Join(' ', args)}: exit {actual}, {stderr}");
            Assert.Contains(message, stderr);
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Empty(stdout);
            Assert.Equal(before, Entries());
        }
    }

    /// <summary>The C ABI's fastlra_model_load reads through <see cref="RnnModel.Load"/>: a FIFO is refused at once, by name.</summary>
    [Fact]
    public void Loading_a_model_from_a_fifo_fails_at_once_with_a_message()
    {
        string fifo = Path.Combine(_dir, "m.safetensors");
        MakeFifo(fifo);
        var e = Assert.Throws<WeightFileException>(() => Unblocked(() => RnnModel.Load(fifo)));
        Assert.Equal($"{fifo}: cannot read (it is a FIFO (named pipe), not a regular file).", e.Message);
    }

    // Every file and directory under the test's directory.
    private string[] Entries() => [.. Directory.GetFileSystemEntries(_dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];

    internal static void MakeFifo(string path)
    {
        using var mkfifo = System.Diagnostics.Process.Start("mkfifo", [path]);
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }

    /// <summary>Runs <paramref name="call"/> on another thread: one that blocks (a FIFO's open waits for its other end) fails the test after a minute instead of hanging it.</summary>
    internal static T Unblocked<T>(Func<T> call)
    {
        var task = Task.Run(call);
        Assert.True(((IAsyncResult)task).AsyncWaitHandle.WaitOne(TimeSpan.FromMinutes(1)), "the call blocked");
        return task.GetAwaiter().GetResult();
    }

    /// <summary>Runs fastlra; one that blocks is killed and fails the test after a minute.</summary>
    internal static (int Code, string Out, string Err) RunUnblocked(params string[] args)
    {
        using var process = CliTests.Start(null, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill();
            process.WaitForExit();
            Assert.Fail($"fastlra {string.Join(' ', args)} blocked: {stderr.Result}");
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>infer streams its input in blocks; across block boundaries it matches a step-by-step <see cref="RnnState"/>.</summary>
    [Trait("Category", "Slow")]
    [Fact]
    public void Infer_streams_long_inputs_and_matches_the_state_step_by_step()
    {
        string model = Model(), inputs = Path.Combine(_dir, "x.bin"), outputs = Path.Combine(_dir, "y.bin");
        const int steps = 20_001; // 2.4 blocks of 8192 two-input steps
        var raw = new byte[steps * 2 * 4];
        for (int k = 0; k < steps * 2; k++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(4 * k), MathF.Sin(0.37f * k) * 3f);
        File.WriteAllBytes(inputs, raw);
        var (code, _, err) = Run("infer", "--model", model, "--inputs", inputs, "--outputs", outputs);
        Assert.True(code == 0, err);
        byte[] result = File.ReadAllBytes(outputs);
        Assert.Equal(steps * 4, result.Length);
        var state = new RnnState(RnnModel.Load(model));
        var x = new float[2];
        var y = new float[1];
        for (int t = 0; t < steps; t++)
        {
            x[0] = BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(8 * t));
            x[1] = BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(8 * t + 4));
            state.Step(x, y);
            Assert.Equal(y[0], BinaryPrimitives.ReadSingleLittleEndian(result.AsSpan(4 * t)));
        }
    }

    /// <summary>data --json writes batch by batch: 100,000 batches (32 MB of JSON) pass through a 16 MB heap.</summary>
    [Trait("Category", "Slow")]
    [Fact]
    public void Data_streams_its_batches_in_a_small_heap()
    {
        var (code, stdout, err) = CliTests.RunWith(CliTests.Heap(16),
            "data", "--task", "adding", "--length", "20", "--batch", "1", "--count", "100000", "--json");
        Assert.True(code == 0, err);
        Assert.True(stdout.Length > 30_000_000, $"{stdout.Length} characters");
        Assert.EndsWith("]}\n", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_sizes_are_priced_before_they_are_paid()
    {
        var (code, _, err) = Run("data", "--task", "adding", "--length", "100000", "--batch", "1000000", "--json");
        Assert.Equal(2, code);
        Assert.Matches(@"a batch of 1000000 sequences of adding, T=100000, would need \d+ MB, more than half", err);
        (code, _, err) = Run("data", "--task", "adding", "--length", "1000", "--batch", "1000", "--count", "100000", "--out", Path.Combine(_dir, "d.npz"));
        Assert.Equal(2, code);
        Assert.Contains("100000000 sequences of adding, T=1000, are more than one .npy array holds", err);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    /// <summary>A grid is priced by the product of its lists before one run is expanded.</summary>
    [Fact]
    public void A_grid_of_a_hundred_million_runs_is_refused_unexpanded()
    {
        string values = string.Join(", ", Enumerable.Range(1, 100));
        string grid = Path.Combine(_dir, "huge.json");
        File.WriteAllText(grid, $$"""{"task": ["adding"], "length": [{{values}}], "hidden": [{{values}}], "seed": [{{values}}], "batch": [{{values}}]}""");
        var e = Assert.Throws<UsageException>(() => SweepGrid.Load(grid));
        Assert.Contains("the grid expands to 100000000 runs, more than the 100000 a sweep may hold", e.Message);
        var (code, stdout, err) = Run("sweep", "--grid", grid, "--out", Path.Combine(_dir, "s"), "--dry-run");
        Assert.Equal(2, code);
        Assert.Empty(stdout);
        Assert.Contains("expands to 100000000 runs", err);
    }

    [Fact]
    public void The_shard_is_checked_before_the_grid_is_read()
    {
        var (code, _, err) = Run("sweep", "--grid", "/dev/zero", "--out", Path.Combine(_dir, "s"), "--shard", "5/2");
        Assert.Equal(2, code);
        Assert.Contains("shard index 5 (from --shard) is outside 0..1", err);
    }

    private static string Sunspots => Path.Combine(Golden.RepositoryRoot, "docs", "data", "sunspots.csv");

    private static string Pendulum => Path.Combine(Golden.RepositoryRoot, "docs", "data", "pendulum.csv");

    /// <summary>
    /// Sizes that ended as "internal error": each is a usage error naming the option and its bound
    /// (the last two under a 1 GiB heap, where memory is the bound). {model} is a model of the
    /// sunspot series, {task} one of the adding task, {dir} the test's folder.
    /// </summary>
    public static TheoryData<int, string, string> Sizes() => new()
    {
        { 0, "train --data {sun} --horizon 2147483647", "--horizon 2147483647 with --window 20 spans more than the 1073741824 rows a CSV file can hold" },
        { 0, "replay --data {pendulum} --input-columns u,theta --target-columns theta --horizon 2147483647", "--horizon 2147483647 with --window 1 spans more than the 1073741824 rows" },
        { 0, "predict --model {model} --data {sun} --out {dir}/p.csv --horizon 2147483647", "--horizon 2147483647 with --window 20 spans more than the 1073741824 rows" },
        { 0, "train --data {sun} --classes 2147483647", "--classes 2147483647 is more than the 65536 classes a classifier may have" },
        { 0, "train --data {sun} --classes 2000000", "--classes 2000000 is more than the 65536 classes a classifier may have" },
        { 0, "predict --model {model} --data {sun} --out {dir}/p.csv --classes 1000000", "--classes 1000000 is more than the 65536 classes" },
        { 0, "eval --model {task} --task adding --length 2147483647", "--length 2147483647 makes a sequence of 4294967294 input values, more than one array holds (2147483591)" },
        { 0, "eval --model {task} --task adding --length 10 --valid-size 2147483647", "--valid-size 2147483647 sequences of --length 10 make 42949672940 input values, more than one array holds" },
        { 0, "bench --iters 2147483647", "--iters must be at most 1000000, got 2147483647" },
        { 1024, "train --data {sun} --classes 1000000", "--classes 1000000 is more than the 65536 classes" },
        { 1024, "predict --model {model} --data {sun} --out {dir}/p.csv --classes 65536", "sunspots.csv: reading it with --classes 65536 would need 2048 MB, more than half of the 1024 MB this process may use; use fewer --classes" },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Sizes_past_their_bounds_are_usage_errors_naming_the_option_and_the_bound(int heap, string command, string message)
    {
        string sun = $"--data {Sunspots} --input-columns SUNACTIVITY --target-columns SUNACTIVITY --window 20";
        string model = Path.Combine(_dir, "sun.safetensors"), task = Path.Combine(_dir, "task.safetensors");
        if (command.Contains("{model}", StringComparison.Ordinal))
            Assert.Equal(0, Run(["train", .. sun.Split(' '), "--hidden", "4", "--max-iter", "2", "--quiet", "--save", model]).Code);
        if (command.Contains("{task}", StringComparison.Ordinal)) Assert.Equal(0, Run("train", "--task", "adding", "--length", "10", "--hidden", "4", "--max-iter", "2", "--valid-size", "10", "--quiet", "--save", task).Code);
        string[] args = command.Replace("--data {sun}", sun, StringComparison.Ordinal).Replace("{sun}", Sunspots, StringComparison.Ordinal)
            .Replace("{pendulum}", Pendulum, StringComparison.Ordinal).Replace("{model}", model, StringComparison.Ordinal)
            .Replace("{task}", task, StringComparison.Ordinal).Replace("{dir}", _dir, StringComparison.Ordinal).Split(' ');
        var (code, stdout, err) = CliTests.RunWith(heap == 0 ? null : CliTests.Heap(heap), args);
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.StartsWith("fastlra: ", err, StringComparison.Ordinal);
        Assert.Contains(message, err, StringComparison.Ordinal);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(stdout);
        Assert.False(File.Exists(Path.Combine(_dir, "p.csv")));
    }

    /// <summary>
    /// A model file is priced before it is read: the bytes and the floats made of them, twice its
    /// size, must fit the budget; a 17 MB model in a 64 MB heap (32 MB of budget) is refused saying so.
    /// </summary>
    [Fact]
    public void A_model_file_is_priced_before_it_is_read()
    {
        string model = Path.Combine(_dir, "wide.safetensors");
        var p = new ParameterSet(new RnnShape(2, 2100, 1));
        ModelFile.Save(model, p, null, [new("format", "fastlra-srnn")]);
        long size = new FileInfo(model).Length;
        var (code, stdout, err) = CliTests.RunWith(CliTests.Heap(64), "eval", "--model", model, "--task", "adding", "--length", "10", "--valid-size", "10");
        Assert.Equal(2, code);
        Assert.Equal($"fastlra: {model}: reading it would need {2 * size >> 20} MB, more than half of the 64 MB this process may use; give the process more memory (docs/deployment.md).\n", err);
        Assert.Empty(stdout);
    }

    /// <summary>A shape whose size overflows 64 bits is named as too large, never as a negative number of bytes.</summary>
    [Fact]
    public void A_safetensors_shape_that_overflows_is_named_never_a_negative_size()
    {
        string header = """{"w":{"dtype":"F32","shape":[2147483647,2147483647,2147483647,2147483647],"data_offsets":[0,4]}}""";
        var bytes = new byte[8 + header.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        Encoding.ASCII.GetBytes(header).CopyTo(bytes, 8);
        var e = Assert.Throws<WeightFileException>(() => new SafeTensors.SafeTensorsFile("o.safetensors", bytes));
        Assert.Equal("o.safetensors: tensor 'w' has shape [2147483647, 2147483647, 2147483647, 2147483647], more than 2^60 values; it spans 4 bytes.", e.Message);
        // A large shape that does not overflow still reports its size exactly, and a zero dimension makes it empty.
        header = """{"w":{"dtype":"F32","shape":[65536,65536,65536],"data_offsets":[0,4]}}""";
        bytes = new byte[8 + header.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        Encoding.ASCII.GetBytes(header).CopyTo(bytes, 8);
        e = Assert.Throws<WeightFileException>(() => new SafeTensors.SafeTensorsFile("o.safetensors", bytes));
        Assert.Equal("o.safetensors: tensor 'w' spans 4 bytes but its shape and dtype need 1125899906842624.", e.Message);
        header = """{"w":{"dtype":"F32","shape":[2147483647,2147483647,2147483647,0,2147483647],"data_offsets":[0,0]}}""";
        bytes = new byte[8 + header.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        Encoding.ASCII.GetBytes(header).CopyTo(bytes, 8);
        Assert.Equal(0, new SafeTensors.SafeTensorsFile("o.safetensors", bytes).Tensors[0].End);
    }

    /// <summary>
    /// A resumed run's metrics are read line by line, each at most 16 MiB: a 40 MB line (the audit's
    /// took 1.96 GB) is dropped as damage without being read into memory, and the lines around it stay.
    /// </summary>
    [Fact]
    public void A_metrics_line_past_its_bound_is_dropped_unread_on_resume()
    {
        string metrics = Path.Combine(_dir, "m.jsonl");
        using (var writer = new StreamWriter(metrics))
        {
            writer.Write("{\"iteration\":1}\n{\"iteration\":2,\"pad\":\"");
            writer.Write(new string('x', 40 << 20));
            writer.Write("\"}\n{\"iteration\":3}\n{\"iteration\":9}\n{\"iter");
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        MetricsFile.KeepThrough(metrics, 5);
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.Equal("{\"iteration\":1}\n{\"iteration\":3}\n", File.ReadAllText(metrics));
        // Two passes (count, then copy), each growing one line's buffer up to the bound: never the line.
        Assert.True(allocated < 4L * MetricsFile.MaxLineBytes + (8 << 20), $"{allocated >> 20} MB allocated");

        // A sweep records the metrics lines a resume keeps (it dropped those over 1 MiB).
        string line = "{\"iteration\":4,\"pad\":\"" + new string('x', 2 << 20) + "\"}";
        File.WriteAllText(metrics, "{\"iteration\":1}\n" + line + "\n");
        Assert.Equal(["{\"iteration\":1}", line], SweepRunner.MetricsLines(metrics));
    }

    /// <summary>
    /// runs.jsonl is read within the budget: a line longer than an eighth of it is skipped and named
    /// (a 64 MB heap: 32 MB of budget, lines of 4 MiB), and a report, which keeps every run's
    /// metrics, is priced at three times the file before a line is read.
    /// </summary>
    [Fact]
    public void A_sweeps_lines_and_its_report_are_read_within_the_memory_budget()
    {
        string grid = Path.Combine(_dir, "g.json"), sweep = Path.Combine(_dir, "s"), report = Path.Combine(_dir, "r");
        File.WriteAllText(grid, """{"task": "adding", "length": 10, "hidden": 4, "batch": 2, "max-iter": 2, "check-every": 1, "valid-size": 10}""");
        Assert.Equal(0, Run("sweep", "--grid", grid, "--out", sweep).Code);
        string runs = Path.Combine(sweep, SweepStore.FileName);
        File.AppendAllText(runs, "{\"id\":\"" + new string('x', 6 << 20) + "\"}\n");
        var (code, _, err) = CliTests.RunWith(CliTests.Heap(64), "report", sweep, "--out", report);
        Assert.True(code == 0, err);
        Assert.Contains($"fastlra: {runs}: skipped 1 line(s) longer than 4 MiB", err);
        Assert.Contains("| adding | 10 |", File.ReadAllText(Path.Combine(report, "report.md")));

        File.AppendAllText(runs, "{\"id\":\"" + new string('x', 6 << 20) + "\"}\n");
        long need = 3 * new FileInfo(runs).Length;
        (code, _, err) = CliTests.RunWith(CliTests.Heap(64), "report", sweep, "--out", report);
        Assert.Equal(2, code);
        Assert.Equal($"fastlra: {runs}: reading its runs and their metrics would need {need >> 20} MB, more than half of the 64 MB this process may use; report on a copy with fewer runs.\n", err);
    }

    /// <summary>
    /// A grid is priced from the lengths of its lists before a run is expanded: about a kilobyte a
    /// run (its expansion and, later, its result); 40,000 runs are refused in a 64 MB heap, 20,000 expand in it.
    /// </summary>
    [Fact]
    public void A_grid_is_priced_before_it_is_expanded()
    {
        string grid = Path.Combine(_dir, "g.json");
        File.WriteAllText(grid, $$"""{"task": "adding", "length": 10, "hidden": [4, 5, 6, 7], "seed": [{{string.Join(", ", Enumerable.Range(0, 10_000))}}]}""");
        var (code, stdout, err) = CliTests.RunWith(CliTests.Heap(64), "sweep", "--grid", grid, "--out", Path.Combine(_dir, "s"), "--dry-run");
        Assert.Equal(2, code);
        Assert.Empty(stdout);
        Assert.Equal($"fastlra: {grid}: its 40000 runs would need {40_000L * SweepGrid.RunBytes >> 20} MB, more than half of the 64 MB this process may use; split it into smaller grids.\n", err);
        File.WriteAllText(grid, $$"""{"task": "adding", "length": 10, "hidden": [4, 5], "seed": [{{string.Join(", ", Enumerable.Range(0, 10_000))}}]}""");
        (code, stdout, err) = CliTests.RunWith(CliTests.Heap(64), "sweep", "--grid", grid, "--out", Path.Combine(_dir, "s"), "--dry-run");
        Assert.True(code == 0, err);
        Assert.Equal(20_000, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    /// <summary>
    /// The budget is what the runtime applies: a heap limit in bare hex digits (the form the Native
    /// AOT runtime takes; it ignores 0x) is what info reports and what every price is half of.
    /// </summary>
    [Fact]
    public void The_budget_is_the_heap_limit_the_runtime_applies()
    {
        var (code, stdout, err) = CliTests.RunWith(CliTests.Heap(64), "info", "--json");
        Assert.True(code == 0, err);
        using var info = JsonDocument.Parse(stdout);
        Assert.Equal(64L << 20, info.RootElement.GetProperty("memory_bytes").GetInt64());
        (code, stdout, _) = CliTests.RunWith(CliTests.Heap(64), "info");
        Assert.Equal(0, code);
        Assert.Contains("memory: 64 MB this process may use", stdout);
    }
}
