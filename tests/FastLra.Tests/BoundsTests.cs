using System.Buffers.Binary;
using FastLra.Cli;
using FastLra.Cli.Sweep;
using FastLra.Model;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// Sizes and files without bounds (issue 15, items 6 and 9): each is refused in one line, naming the
/// value or file and why, before its cost is paid; long inputs and outputs are streamed.
/// </summary>
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
            (["infer", "--model", model, "--inputs", "/dev/zero", "--outputs", output], 1, "/dev/zero: cannot read (it is a device or special file, not a regular file)"),
            (["infer", "--model", model, "--inputs", _dir, "--outputs", output], 1, $"{_dir}: cannot read (it is a directory, not a file)"),
            (["infer", "--model", _dir, "--inputs", model, "--outputs", output], 1, $"{_dir}: cannot read (it is a directory, not a file)"),
            (["train", "--data", folder, "--input-columns", "a", "--target-columns", "b", "--window", "3"], 2, $"{folder}: cannot read (it is a directory, not a file)"),
            (["train", "--resume", _dir], 1, "it is a directory, not a file"),
            (["sweep", "--grid", "/dev/zero", "--out", Path.Combine(_dir, "s")], 2, "cannot read the grid /dev/zero: it is a device or special file"),
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
        var (code, stdout, err) = CliTests.RunWith(new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x1000000" },
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
}
