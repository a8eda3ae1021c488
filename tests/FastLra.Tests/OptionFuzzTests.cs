using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using FastLra.Cli;
using FastLra.Data;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// The files the option fuzz runs its commands on: a small series, models trained on it and on a
/// task, a grid and a sweep directory for report. Made once, by the fastlra under test.
/// </summary>
public sealed class OptionFuzzFiles : IDisposable
{
    public OptionFuzzFiles()
    {
        var series = new System.Text.StringBuilder("u,y\n");
        for (int t = 0; t < 40; t++) series.Append(CultureInfo.InvariantCulture, $"{MathF.Sin(0.3f * t):R},{MathF.Cos(0.3f * t):R}\n");
        File.WriteAllText(Csv, series.ToString());
        File.WriteAllText(Grid, """{"task": "adding", "length": 10, "hidden": 4, "batch": 2, "max-iter": 2, "check-every": 1, "valid-size": 10}""");
        Check(CliTests.Run("train", "--task", "adding", "--length", "10", "--hidden", "4", "--max-iter", "2", "--valid-size", "10", "--quiet", "--save", TaskModel));
        Check(CliTests.Run("train", "--data", Csv, "--input-columns", "u", "--target-columns", "y", "--window", "3", "--hidden", "4", "--max-iter", "2",
            "--quiet", "--save", DataModel));
        Check(CliTests.Run("sweep", "--grid", Grid, "--out", Sweep));
    }

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("fastlra-fuzz-").FullName;

    public string Csv => Path.Combine(Directory, "series.csv");

    public string Grid => Path.Combine(Directory, "grid.json");

    public string TaskModel => Path.Combine(Directory, "adding.safetensors");

    public string DataModel => Path.Combine(Directory, "series.safetensors");

    public string Sweep => Path.Combine(Directory, "sweep");

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    private static void Check((int Code, string Out, string Err) run) => Assert.True(run.Code == 0, run.Err);
}

/// <summary>
/// Every integer and float option of every command, as its help lists it, at 0, -1, its bound and
/// one past it, 2^31 - 1, 2^63 - 1, NaN, 1e39 and a word, the command's other options tiny: the run
/// ends with exit code 0, 1 or 2, a refusal (2) is one line, and no case ends as an "internal
/// error", an exception's name or a stack trace. The cases of a command run in parallel.
/// </summary>
[Trait("Category", "Bounds")]
[Trait("Category", "Slow")]
public sealed class OptionFuzzTests(OptionFuzzFiles files) : IClassFixture<OptionFuzzFiles>
{
    public static TheoryData<string> Commands() => [.. FastLra.Cli.Command.Registry.Select(c => c.Name)];

    /// <summary>The documented bound of an option, where it has one beside the range of its type.</summary>
    private static long? Bound(string command, string name) => (command, name) switch
    {
        (_, "k") => TrainingOptions.MaxK,
        (_, "classes") => DataFileOptions.MaxClasses,
        ("replay", "window") => 1_000_000,
        (_, "window" or "horizon") => DataFileOptions.MaxRows,
        (_, "seed") => uint.MaxValue,
        ("bench", "iters" or "warmup") => FastLra.Cli.BenchCommand.MaxIterations,
        (_, "count" or "max-series") => int.MaxValue,
        (_, "valid-fraction") => 1,
        // replay's pace is bounded at 10 s a tick, a valid value the replay would spend every tick
        // waiting out: its bound is left to ReplayTests, its extremes are fuzzed here.
        _ => null,
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_number_option_at_its_extremes_ends_in_a_message_never_an_internal_error(string command)
    {
        var options = NumberOptions(command);
        var cases = new List<string[]>();
        foreach (string option in options)
        {
            var values = new List<string> { "0", "-1", "2147483647", "9223372036854775807", "NaN", "1e39", "abc" };
            if (Bound(command, option) is long bound)
            {
                values.Add(bound.ToString(CultureInfo.InvariantCulture));
                values.Add((bound + 1).ToString(CultureInfo.InvariantCulture));
            }
            foreach (string value in values.Distinct()) cases.Add(Arguments(command, option, value, cases.Count));
        }
        var failures = new ConcurrentBag<string>();
        Parallel.ForEach(cases, new ParallelOptions { MaxDegreeOfParallelism = 4 }, args =>
        {
            var (code, _, err) = CliTests.Run(args);
            string shown = string.Join(' ', args);
            var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (code is not (0 or 1 or 2)) failures.Add($"{shown}: exit {code}: {err}");
            else if (err.Contains("internal error", StringComparison.Ordinal) || Regex.IsMatch(err, @"\w+Exception\b|\n\s+at ")) failures.Add($"{shown}: {err}");
            else if (code == 2 && (lines.Length != 1 || !lines[0].StartsWith("fastlra: ", StringComparison.Ordinal))) failures.Add($"{shown}: refused in {lines.Length} lines: {err}");
        });
        Assert.True(failures.IsEmpty, $"{failures.Count} of {cases.Count} cases:\n{string.Join('\n', failures.Order(StringComparer.Ordinal))}");
    }

    /// <summary>The options of a command that take a number, from its help (which the command's own flags and the option table make).</summary>
    private static List<string> NumberOptions(string command)
    {
        var (code, help, err) = CliTests.Run("help", command);
        Assert.True(code == 0, err);
        var names = new List<string>();
        foreach (string line in help.Split('\n'))
            if (Regex.Match(line, @"^  --([a-z0-9-]+) <(int|float)> ") is { Success: true } m) names.Add(m.Groups[1].Value);
        return names;
    }

    /// <summary>The command with <c>--option value</c> and tiny settings for the rest; a case's outputs go to names of its own.</summary>
    private string[] Arguments(string command, string option, string value, int index)
    {
        string dir = files.Directory;
        var scope = TrainingOptionTable.Find(option)?.Scope;
        bool data = scope == OptionScope.Data || command is "predict" or "replay";
        bool lra = scope == OptionScope.Lra;
        string[] small = ["--hidden", "4", "--batch", "2"];
        string[] series = ["--data", files.Csv, "--input-columns", "u", "--target-columns", "y", "--window", "3"];
        string[] task = ["--task", "adding", "--length", "10"];
        string[] loop = ["--max-iter", "2", "--check-every", "1", "--patience", "1"];
        string[] algo = lra ? ["--algo", "lra", "--k", "1"] : [];
        string[] baseline = command switch
        {
            "train" => [.. data ? series : [.. task, "--valid-size", "10"], .. small, .. loop, .. algo, "--quiet"],
            "bench" => [.. data ? series : task, .. small, .. algo, "--iters", "1", "--warmup", "0"],
            "eval" => data ? ["--model", files.DataModel, "--data", files.Csv] : ["--model", files.TaskModel, .. task, "--valid-size", "10"],
            "predict" => ["--model", files.DataModel, "--data", files.Csv, "--out", Path.Combine(dir, $"p{index}.csv")],
            "replay" => ["--data", files.Csv, "--input-columns", "u", "--target-columns", "y", "--hidden", "4", "--window", "2", .. algo, "--quiet"],
            "sweep" => ["--grid", files.Grid, "--out", Path.Combine(dir, $"s{index}")],
            "report" => [files.Sweep, "--out", Path.Combine(dir, $"r{index}")],
            "data" => [.. task, "--batch", "2", "--out", Path.Combine(dir, $"d{index}.npz")],
            _ => [],
        };
        var args = new List<string> { command };
        for (int i = 0; i < baseline.Length; i++)
        {
            // The fuzzed option replaces the baseline's value of it.
            if (baseline[i] == "--" + option) i++;
            else args.Add(baseline[i]);
        }
        args.AddRange(["--" + option, value]);
        return [.. args];
    }
}
