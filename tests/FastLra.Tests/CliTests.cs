using System.Diagnostics;
using System.Text.Json;
using FastLra.Cli.Sweep;
using Xunit;

namespace FastLra.Tests;

/// <summary>The real <c>fastlra</c> executable, run as a process: exit codes, messages, outputs.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static (int Code, string Out, string Err) Run(params string[] args) => RunWith(null, args);

    /// <summary>Runs fastlra with extra environment variables (for example a heap limit).</summary>
    internal static (int Code, string Out, string Err) RunWith(IDictionary<string, string>? environment, params string[] args)
    {
        using var process = Start(environment, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(300_000), "fastlra did not finish in 5 minutes");
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// The fastlra executable the CLI tests run: the one FASTLRA_CLI names, a relative path taken
    /// from the repository's root (the Native AOT binary in CI:
    /// <c>FASTLRA_CLI=artifacts/aot/fastlra dotnet test --filter Category=Bounds</c>), or else the
    /// build's fastlra.dll under dotnet.
    /// </summary>
    internal static string? Executable =>
        Environment.GetEnvironmentVariable("FASTLRA_CLI") is { Length: > 0 } cli ? Path.GetFullPath(cli, Golden.RepositoryRoot) : null;

    /// <summary>
    /// The environment of a heap of <paramref name="megabytes"/> MB: DOTNET_GCHeapHardLimit in bare
    /// hex digits, the form both builds take (the Native AOT runtime ignores a 0x prefix).
    /// </summary>
    internal static Dictionary<string, string> Heap(int megabytes) =>
        new() { ["DOTNET_GCHeapHardLimit"] = ((long)megabytes << 20).ToString("x", System.Globalization.CultureInfo.InvariantCulture) };

    /// <summary>Starts fastlra with its output redirected (the caller reads it, waits, or kills it).</summary>
    internal static Process Start(IDictionary<string, string>? environment, string[] args, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(Executable ?? Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? "",
        };
        if (Executable is null) start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "fastlra.dll"));
        foreach (string a in args) start.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        return Process.Start(start)!;
    }

    public static TheoryData<string> CommandNames() => [.. FastLra.Cli.Command.Registry.Select(c => c.Name)];

    /// <summary>
    /// Help as .NET CLIs give it: `fastlra help X` and `fastlra X --help` print the same text,
    /// exit 0, name the program, and list every option with the kind of value it takes.
    /// </summary>
    [Theory]
    [MemberData(nameof(CommandNames))]
    public void Help_names_the_program_and_each_option_with_its_value(string command)
    {
        var (code, help, err) = Run("help", command);
        Assert.True(code == 0, err);
        Assert.Equal(help, Run(command, "--help").Out);
        Assert.StartsWith($"Usage: fastlra {command}", help, StringComparison.Ordinal);
        var options = help.Split('\n').Where(l => l.StartsWith("  --", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(options);
        Assert.All(options, l => Assert.Matches(@"^  --[a-z0-9-]+( <[^>]+>)? +\S", l));
        foreach (string root in new[] { "help", "--help" })
        {
            var (rootCode, rootHelp, _) = Run(root);
            Assert.Equal(0, rootCode);
            Assert.StartsWith("Usage: fastlra <command>", rootHelp, StringComparison.Ordinal);
            Assert.Contains($"\n  {command} ", rootHelp, StringComparison.Ordinal);
        }
    }

    /// <summary>Each option help marks required is required: without it the command stops with a usage error naming it.</summary>
    [Theory]
    [MemberData(nameof(CommandNames))]
    public void Options_marked_required_are_required(string command)
    {
        var required = Run("help", command).Out.Split('\n')
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^  --([a-z-]+) <[^>]+> +required: "))
            .Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        foreach (string missing in required)
        {
            var args = new List<string> { command };
            foreach (string other in required.Where(r => r != missing)) args.AddRange([$"--{other}", Path.Combine(_dir, other)]);
            var (code, _, err) = Run([.. args]);
            Assert.True(code == 2 && err.Contains($"--{missing}", StringComparison.Ordinal), $"{string.Join(' ', args)}: exit {code}, {err}");
        }
    }

    public static TheoryData<string, int, string> UsageErrors() => new()
    {
        { "train --task bogus --length 20", 2, "unknown task 'bogus'" },
        { "train --task temporal-order --length 9", 2, "too short" },
        { "train --task adding --length 20 --hidden 0", 2, "--hidden must be positive" },
        { "train --task adding --length 20 --batch -3", 2, "--batch must be positive" },
        { "train --task adding --length 20 --optimizer lbfgs", 2, "unknown --optimizer" },
        { "train --task adding --length 20 --algo magic", 2, "unknown --algo" },
        { "train --task adding --length 20 --lr -1", 2, "--lr" },
        { "train --task adding --length 20 --seed -1", 2, "--seed" },
        { "train --task adding --length abc", 2, "length" },
        { "train --task adding --length 20 --frobnicate 1", 2, "--frobnicate" },
        { "train --task adding", 2, "--length" },
        { "train --resume /nonexistent/c.safetensors", 2, "cannot read" },
        { "train --task adding --length 20 --checkpoint-every -1", 2, "--checkpoint-every" },
        { "train --task adding --length 20 --threads 0", 2, "--threads must be positive" },
        { "train --task adding --length 20 --lr-schedule plateaux", 2, "unknown --lr-schedule 'plateaux' (choose constant, cosine, step or plateau)" },
        { "train --task adding --length 20 --lr-schedule plateau --lr-factor 1", 2, "--lr-factor must be below 1 with --lr-schedule plateau (its reductions must reduce), got 1." },
        { "train --task adding --length 20 --lr-schedule plateau --lr-patience -1", 2, "--lr-patience must be >= 0 (checks), got -1." },
        { "train --task adding --length 20 --lr-schedule plateau --lr-patience 2.5", 2, "--lr-patience takes an integer, got '2.5'." },
        { "train --task adding --length 20 --lr-schedule plateau --lr-threshold 1", 2, "--lr-threshold must be in [0, 1), got 1." },
        { "train --task adding --length 20 --lr-schedule plateau --lr-threshold NaN", 2, "--lr-threshold must be in [0, 1), got NaN." },
        { "eval --model x --task adding --length 3", 2, "too short" },
        { "data --task adding --length 20 --batch 0 --json", 2, "--batch" },
        { "frobnicate", 2, "unknown command" },
        { "export --model x.safetensors --format rust --out y", 2, "unknown --format" },
        { "export --model /nonexistent/x.safetensors --format c --out y --name 9lives", 2, "not a C or C# identifier" },
        { "import --from /nonexistent/x.npz --out y", 2, "not a readable .npz" },
        { "infer --model /nonexistent/x.safetensors --inputs a --outputs b", 2, "cannot read" },
        { "train --task adding --length 20 --algo lra --semantics global", 2, "unknown --semantics" },
        { "train --task adding --length 20 --algo lra --k 0", 2, "--k must be positive" },
        { "train --task adding --length 20 --algo lra --beta 0", 2, "--beta" },
        { "train --task adding --length 20 --algo lra --alpha -1", 2, "--alpha" },
        { "train --task adding --length 20 --algo lra --omega-guard -1", 2, "--omega-guard must be >= 0, got -1" },
        { "train --task adding --length 20 --algo lra --omega-guard abc", 2, "--omega-guard takes a number, got 'abc'" },
        { "train --task adding --length 20 --conditioning yes", 2, "unexpected argument 'yes'" },
        { "train --task adding --length 20 --algo lra --local-loss l1", 2, "unknown --local-loss" },
        { "train --task adding --length 20 --algo lra --clip-mode sometimes", 2, "unknown --clip-mode" },
        { "train --task adding --length 20 --algo lra --semantics reference --hidden 10", 2, "--batch <= --hidden" },
        { "train --task adding --length 20 --init-from /nonexistent/w.safetensors", 2, "cannot read" },
        { "eval --model /nonexistent/w.safetensors --task adding --length 20", 2, "cannot read" },
        { "sweep --grid /nonexistent/g.json --out d", 2, "cannot read the grid" },
        { "sweep --grid /nonexistent/g.json --out d --workers -1", 2, "--workers must be >= 0" },
        { "sweep --grid /nonexistent/g.json --out d --checkpoint-every -5", 2, "--checkpoint-every must be >= 0" },
        { "report /nonexistent/dir --out d", 2, "no sweep results" },
        { "predict --model m.safetensors --data d.csv --out p.txt", 2, "predictions are written as .csv or .npy" },
        { "predict --model m.safetensors --out p.csv", 2, "predict needs --data F" },
        { "predict --data d.csv --out p.csv", 2, "predict needs --model file; see fastlra predict --help." },
        { "eval --model m.safetensors", 2, "eval needs --task and --length, or --data F" },
        { "eval --data /nonexistent/d.csv --model /nonexistent/m.safetensors", 2, "cannot read" },
        { "train --data /nonexistent/d.csv --input-columns a --target-columns b --window 3", 2, "cannot read" },
        { "data --task adding --length 20 --batch 2 --out x.txt", 2, "the data set is written as .npz" },
        { "data --task adding --length 20 --batch 2", 2, "give one" },
        { "help frobnicate", 2, "unknown command 'frobnicate'" },
        { "sweep --out d", 2, "sweep needs --grid json|file; see fastlra sweep --help." },
        { "report --out d", 2, "report needs the sweep directory" },
        { "report --metrics /nonexistent/m.jsonl --out d", 2, "--metrics /nonexistent/m.jsonl: no such file; give the file train --metrics wrote." },
        { "report --metrics /dev/null --out d", 2, "--metrics /dev/null: cannot read (it is a character device, not a regular file)." },
        { "report d --metrics m.jsonl --out r", 2, "report takes a sweep directory or --metrics FILE, not both (got d and --metrics m.jsonl)." },
        { "report --metrics m.jsonl --out r --max-series 3", 2, "--max-series is a sweep report's" },
        { "train --task adding --length 20 --save /nonexistent-dir/m.safetensors", 2, "the directory /nonexistent-dir does not exist" },
        { "train --task adding --length 20 --metrics /nonexistent-dir/m.jsonl", 2, "--metrics /nonexistent-dir/m.jsonl: the directory" },
        { "train --task adding --length 20 --checkpoint /tmp", 2, "--checkpoint /tmp: it is a directory; give a file name." },
        { "infer --model m --inputs x --outputs /nonexistent-dir/y.bin", 2, "the directory /nonexistent-dir does not exist" },
        { "export --model m --format c --out /nonexistent-dir/m.h", 2, "the directory /nonexistent-dir does not exist" },
        { "data --task adding --length 20 --batch 2 --out /nonexistent-dir/d.npz", 2, "the directory /nonexistent-dir does not exist" },
        { "train --task adding --length 20 --save /dev/null", 2, "--save /dev/null: it is a character device, not a regular file." },
        { "export --model m --format c --out /dev/null", 2, "--out /dev/null: it is a character device, not a regular file." },
        { "report /nonexistent/dir --out /dev/null/r", 2, "--out /dev/null/r: /dev/null is not a directory." },
        { "train --task adding --length 20 --hidden 46341", 2, "--hidden 46341 with --batch 20 on sequences of 20 steps and 10000 validation sequences: the network has 2147673646 parameters, more than one array holds" },
        { "train --task adding --length 20 --hidden 30000", 2, "would need a workspace of 13848 MB, more than one array holds" },
        { "train --task adding --length 20 --algo lra --k 2147483647", 2, "--k 2147483647 is more than 100000 target steps" },
        { "train --task adding --length 20 --hidden 1073741824", 2, "--hidden 1073741824 with --batch 20 on sequences of 20 steps and 10000 validation sequences: the network has 1152921508901814273 parameters" },
        { "train --task adding --length 20 --lr 1e39", 2, "--lr 1e39 is beyond the range of a float" },
        { "train --task adding --length 20 --hidden 9223372036854775807", 2, "--hidden 9223372036854775807 is out of range (-2147483648 to 2147483647)" },
        { "bench --warmup 1000001", 2, "--warmup must be at most 1000000, got 1000001" },
        { "data --task adding --length 20 --batch 2 --count 2147483648 --json", 2, "--count must be at most 2147483647, got 2147483648" },
        { "report d --out r --max-series 2147483648", 2, "--max-series must be at most 2147483647, got 2147483648" },
        { "train --data d.csv --input-columns a --target-columns b --window 3 --classes -1", 2, "--classes must be >= 0 (0 = regression), got -1" },
        { "train --data d.csv --input-columns a --target-columns b --window 3 --epochs -1", 2, "--epochs must be >= 0 (0 = --max-iter decides), got -1" },
        { "train --data d.csv --input-columns a --target-columns b --window 2147483647", 2, "--window 2147483647 is more than the 1073741824 rows a CSV file can hold" },
    };

    [Fact]
    public void Sweep_runs_a_grid_resumably_and_report_draws_it()
    {
        string grid = Path.Combine(_dir, "g.json"), outDir = Path.Combine(_dir, "runs"), reportDir = Path.Combine(_dir, "report");
        File.WriteAllText(grid, """
            {"task": ["adding"], "length": [10], "hidden": [8], "batch": [4], "valid-size": [50], "check-every": [20],
             "max-iter": [60], "algo": ["bptt", "lra"], "k": [2], "alpha": [0, 0.5], "seed": [1, 2]}
            """);
        var (listCode, list, _) = Run("sweep", "--grid", grid, "--out", outDir, "--dry-run", "--shard", "1/2");
        Assert.Equal(0, listCode);
        var listed = list.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, listed.Length);
        Assert.All(listed, l => Assert.Contains("\tfastlra train --task adding", l));
        Assert.False(Directory.Exists(outDir), "a dry run writes nothing");

        var (code, _, err) = Run("sweep", "--grid", grid, "--out", outDir, "--workers", "2");
        Assert.True(code == 0, err);
        Assert.Contains("6 finished", err);
        var summary = File.ReadAllLines(Path.Combine(outDir, "summary.csv"));
        Assert.Equal(7, summary.Length);
        Assert.All(summary.Skip(1), l => Assert.Contains(",done,", l));
        Assert.Equal(6, File.ReadAllLines(Path.Combine(outDir, SweepStore.FileName)).Length);
        Assert.Empty(Directory.GetFiles(outDir, "*.metrics.jsonl"));

        var (again, _, againErr) = Run("sweep", "--grid", grid, "--out", outDir);
        Assert.True(again == 0, againErr);
        Assert.Contains("0 finished, 6 already done", againErr);

        var (reportCode, _, reportErr) = Run("report", outDir, "--out", reportDir);
        Assert.True(reportCode == 0, reportErr);
        string markdown = File.ReadAllText(Path.Combine(reportDir, "report.md"));
        Assert.Contains("| adding | 10 |", markdown);
        foreach (string svg in Directory.GetFiles(reportDir, "*.svg"))
        {
            // Every figure is well-formed XML with an svg root.
            var document = System.Xml.Linq.XDocument.Load(svg);
            Assert.Equal("svg", document.Root!.Name.LocalName);
        }
        Assert.Contains(Directory.GetFiles(reportDir, "*.svg"), f => Path.GetFileName(f).StartsWith("accuracy-", StringComparison.Ordinal));
        Assert.Contains(Directory.GetFiles(reportDir, "*.svg"), f => Path.GetFileName(f) == "success.svg");
        Assert.Contains(Directory.GetFiles(reportDir, "*.svg"), f => Path.GetFileName(f).StartsWith("gradient-norm-", StringComparison.Ordinal));
        Assert.Contains(Directory.GetFiles(reportDir, "*.svg"), f => Path.GetFileName(f).StartsWith("local-loss-", StringComparison.Ordinal));
    }

    [Fact]
    public void A_bad_grid_is_refused_before_anything_runs()
    {
        string grid = Path.Combine(_dir, "g.json"), outDir = Path.Combine(_dir, "runs");
        File.WriteAllText(grid, """{"task": ["adding"], "length": [20, 2]}""");
        var (code, _, err) = Run("sweep", "--grid", grid, "--out", outDir);
        Assert.Equal(2, code);
        Assert.Contains("--length 2 is too short", err);
        Assert.False(Directory.Exists(outDir));
        File.WriteAllText(grid, "{\"task\": [");
        (code, _, err) = Run("sweep", "--grid", grid, "--out", outDir);
        Assert.Equal(2, code);
        Assert.Contains("is not valid JSON", err);
    }

    [Theory]
    [MemberData(nameof(UsageErrors))]
    [Trait("Category", "Bounds")]
    public void Errors_are_one_line_with_the_right_exit_code(string args, int code, string message)
    {
        var (exit, _, err) = Run(args.Split(' '));
        Assert.Equal(code, exit);
        Assert.Contains(message, err);
        Assert.DoesNotContain("   at ", err); // never a stack trace
    }

    /// <summary>A run is costed before anything is allocated: beyond half the memory the process may use, it says what it would need.</summary>
    [Fact]
    [Trait("Category", "Bounds")]
    public void A_run_beyond_the_memory_budget_is_refused_saying_what_it_would_need()
    {
        var (code, _, err) = RunWith(Heap(256),
            "train", "--task", "adding", "--length", "20", "--valid-size", "1000000", "--max-iter", "1");
        Assert.Equal(2, code);
        Assert.Matches(@"1000000 validation sequences would need \d+ MB, more than half of the \d+ MB this process may use", err);
    }

    [Fact]
    public void Train_saves_reports_json_and_metrics_and_eval_reads_the_model()
    {
        string model = Path.Combine(_dir, "m.safetensors"), metrics = Path.Combine(_dir, "m.jsonl");
        var (code, stdout, stderr) = Run("train", "--task", "adding", "--length", "10", "--hidden", "16", "--max-iter", "300",
            "--check-every", "100", "--valid-size", "200", "--lr", "0.1", "--save", model, "--metrics", metrics, "--json");
        Assert.True(code == 0, stderr);
        using var report = JsonDocument.Parse(stdout);
        var r = report.RootElement;
        foreach (string key in new[] { "task", "length", "hidden", "batch", "seed", "algo", "optimizer", "lr", "iterations",
                     "best_valid_accuracy", "final_valid_loss", "solved", "stop_reason", "wall_seconds", "seconds_per_iteration" })
            Assert.True(r.TryGetProperty(key, out _), $"missing {key}");
        Assert.Equal("adding", r.GetProperty("task").GetString());
        Assert.Equal(300, r.GetProperty("iterations").GetInt64());
        Assert.Contains("it/s", stderr);
        // The ETA is to the budget, and says that patience or solving the task can end the run sooner;
        // the first check's interval holds the compilation and the first validation, no pace to project.
        var progress = stderr.Split('\n');
        Assert.DoesNotContain("ETA", progress[0], StringComparison.Ordinal);
        Assert.Matches(@"ETA (≤ \d+s|< 1s) \(--max-iter; sooner if solved or after (29|30) checks without a new best\)", progress[1]);

        var lines = File.ReadAllLines(metrics);
        Assert.Equal(3, lines.Length);
        using (var line = JsonDocument.Parse(lines[^1]))
        {
            foreach (string key in new[] { "iteration", "train_loss", "valid_loss", "valid_accuracy", "best_valid_accuracy", "elapsed_seconds" })
                Assert.True(line.RootElement.TryGetProperty(key, out _), $"metrics line misses {key}");
            Assert.Equal(300, line.RootElement.GetProperty("iteration").GetInt64());
        }

        var (evalCode, evalOut, evalErr) = Run("eval", "--model", model, "--task", "adding", "--length", "10", "--valid-size", "200", "--json");
        Assert.True(evalCode == 0, evalErr);
        using var eval = JsonDocument.Parse(evalOut);
        // Same seed, same validation set: eval reproduces the run's final validation loss.
        Assert.Equal(r.GetProperty("final_valid_loss").GetDouble(), eval.RootElement.GetProperty("loss").GetDouble(), 1e-6);

        // The saved file seeds a new run; a mismatched width is refused by name.
        var (again, _, againErr) = Run("train", "--task", "adding", "--length", "10", "--hidden", "16", "--max-iter", "1",
            "--valid-size", "10", "--init-from", model, "--quiet");
        Assert.True(again == 0, againErr);
        var (wrong, _, wrongErr) = Run("train", "--task", "adding", "--length", "10", "--hidden", "17", "--max-iter", "1",
            "--valid-size", "10", "--init-from", model);
        Assert.Equal(2, wrong);
        Assert.Contains("H=16", wrongErr);
        Assert.Contains("H=17", wrongErr);
    }

    /// <summary>
    /// A plateau run names its schedule and settings in --json, writes the rate the next iteration
    /// takes in each metrics line, and, resumed halfway through the command line, writes the same
    /// lines as the run that never stopped.
    /// </summary>
    [Fact]
    public void A_plateau_run_reports_its_schedule_and_rates_and_resumes_to_the_same_lines()
    {
        string straight = Path.Combine(_dir, "straight.jsonl"), split = Path.Combine(_dir, "split.jsonl"), checkpoint = Path.Combine(_dir, "c.safetensors");
        string[] args = ["train", "--task", "temporal-order", "--length", "12", "--hidden", "16", "--batch", "6", "--check-every", "5", "--valid-size", "50",
            "--lr", "0.1", "--lr-schedule", "plateau", "--lr-patience", "0", "--lr-threshold", "0.5", "--lr-factor", "0.5", "--quiet"];
        var (code, stdout, stderr) = Run([.. args, "--max-iter", "40", "--metrics", straight, "--json"]);
        Assert.True(code == 0, stderr);
        using var report = JsonDocument.Parse(stdout);
        var r = report.RootElement;
        Assert.Equal("plateau", r.GetProperty("lr_schedule").GetString());
        Assert.Equal((0, 0.5, 0.5), (r.GetProperty("lr_patience").GetInt32(), r.GetProperty("lr_threshold").GetDouble(), r.GetProperty("lr_factor").GetDouble()));
        var rates = File.ReadAllLines(straight).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("lr").GetDouble()).ToList();
        Assert.Equal(8, rates.Count);
        Assert.Equal([0.1, 0.05], rates[..2]); // the first check sets the best; the later ones do not halve the loss: each halves the rate
        Assert.True(rates[^1] < rates[3], string.Join(", ", rates));

        (code, _, stderr) = Run([.. args, "--max-iter", "20", "--metrics", split, "--checkpoint", checkpoint]);
        Assert.True(code == 0, stderr);
        (code, _, stderr) = Run([.. args, "--max-iter", "40", "--metrics", split, "--resume", checkpoint]);
        Assert.True(code == 0, stderr);
        static string Figures(string line)
        {
            using var d = JsonDocument.Parse(line);
            return string.Join(' ', d.RootElement.EnumerateObject().Where(p => p.Name is not ("elapsed_seconds" or "iterations_per_second")).Select(p => $"{p.Name}={p.Value}"));
        }
        Assert.Equal(File.ReadAllLines(straight).Select(Figures), File.ReadAllLines(split).Select(Figures));

        // The run's own report: its checks and rates, from the metrics file alone.
        string reportDir = Path.Combine(_dir, "report");
        (code, _, stderr) = Run("report", "--metrics", split, "--out", reportDir);
        Assert.True(code == 0, stderr);
        Assert.Contains($"report: wrote 7 files into {reportDir}", stderr, StringComparison.Ordinal);
        var rows = File.ReadAllLines(Path.Combine(reportDir, "report.csv"))[1..].Select(l => l.Split(',')).ToList();
        Assert.Equal(Enumerable.Range(1, 8).Select(k => (5 * k).ToString(System.Globalization.CultureInfo.InvariantCulture)), rows.Select(r => r[0]));
        Assert.Equal(rates, rows.Select(r => double.Parse(r[5], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.True(File.Exists(Path.Combine(reportDir, "learning-rate.svg")));
    }

    [Fact]
    public void Conditioning_adds_the_gradient_cosine_to_each_check_and_changes_nothing_else()
    {
        string with = Path.Combine(_dir, "with.jsonl"), without = Path.Combine(_dir, "without.jsonl");
        string[] args = ["train", "--task", "random-permutation", "--length", "8", "--hidden", "16", "--algo", "lra", "--alpha", "1",
            "--k", "3", "--max-iter", "30", "--check-every", "10", "--valid-size", "40", "--json"];
        var (code, stdout, stderr) = Run([.. args, "--metrics", with, "--conditioning"]);
        Assert.True(code == 0, stderr);
        Assert.Matches(@"cos -?[01]\.\d{6}", stderr);
        var (plainCode, plainOut, plainErr) = Run([.. args, "--metrics", without]);
        Assert.True(plainCode == 0, plainErr);
        Assert.DoesNotContain("cos ", plainErr);
        string[] a = File.ReadAllLines(with), b = File.ReadAllLines(without);
        Assert.Equal(3, a.Length);
        for (int i = 0; i < a.Length; i++)
        {
            using var probed = JsonDocument.Parse(a[i]);
            using var plain = JsonDocument.Parse(b[i]);
            Assert.InRange(probed.RootElement.GetProperty("gradient_cosine").GetDouble(), -1, 1);
            Assert.False(plain.RootElement.TryGetProperty("gradient_cosine", out _));
            foreach (string key in new[] { "train_loss", "valid_loss", "gradient_norm" })
                Assert.Equal(plain.RootElement.GetProperty(key).GetDouble(), probed.RootElement.GetProperty(key).GetDouble());
        }
        using var r1 = JsonDocument.Parse(stdout);
        using var r2 = JsonDocument.Parse(plainOut);
        Assert.Equal(r2.RootElement.GetProperty("final_valid_loss").GetDouble(), r1.RootElement.GetProperty("final_valid_loss").GetDouble());
    }

    [Theory]
    [InlineData("local", "0.1")]
    [InlineData("reference", "0")]
    public void Lra_runs_report_their_settings_and_per_step_diagnostics(string semantics, string alpha)
    {
        string metrics = Path.Combine(_dir, $"lra-{semantics}.jsonl"), model = Path.Combine(_dir, $"lra-{semantics}.safetensors");
        var (code, stdout, stderr) = Run("train", "--task", "temporal-order", "--length", "10", "--hidden", "20", "--algo", "lra",
            "--semantics", semantics, "--alpha", alpha, "--k", "3", "--beta", "1", "--max-iter", "20", "--check-every", "10",
            "--valid-size", "50", "--metrics", metrics, "--save", model, "--json", "--quiet");
        Assert.True(code == 0, stderr);
        using var report = JsonDocument.Parse(stdout);
        Assert.Equal("lra", report.RootElement.GetProperty("algo").GetString());
        Assert.Equal(semantics, report.RootElement.GetProperty("semantics").GetString());
        Assert.Equal(3, report.RootElement.GetProperty("k").GetInt32());
        Assert.Equal("log-penalty", report.RootElement.GetProperty("local_loss").GetString());
        var lines = File.ReadAllLines(metrics);
        Assert.Equal(2, lines.Length);
        using var line = JsonDocument.Parse(lines[^1]);
        var r = line.RootElement;
        foreach (string key in new[] { "local_losses", "dWhh_step_norms", "dWxh_step_norms" })
            Assert.Equal(10, r.GetProperty(key).GetArrayLength());
        Assert.True(r.GetProperty("gradient_norm").GetDouble() > 0);
        Assert.Equal(alpha != "0", r.TryGetProperty("omega_values", out _));
        // The step norms are the clipped per-step contributions: never above c = 1.
        Assert.All(r.GetProperty("dWhh_step_norms").EnumerateArray(), v => Assert.InRange(v.GetDouble(), 0, 1 + 1e-6));

        // eval validates a reference-semantics model from the same start state as training did.
        var (evalCode, evalOut, evalErr) = Run("eval", "--model", model, "--task", "temporal-order", "--length", "10", "--valid-size", "50", "--json");
        Assert.True(evalCode == 0, evalErr);
        using var eval = JsonDocument.Parse(evalOut);
        Assert.Equal(report.RootElement.GetProperty("final_valid_loss").GetDouble(), eval.RootElement.GetProperty("loss").GetDouble(), 1e-6);
    }

    [Fact]
    public void Eval_refuses_a_truncated_model()
    {
        string model = Path.Combine(_dir, "t.safetensors");
        var (code, _, err) = Run("train", "--task", "adding", "--length", "10", "--hidden", "8", "--max-iter", "1", "--valid-size", "10", "--save", model, "--quiet");
        Assert.True(code == 0, err);
        var bytes = File.ReadAllBytes(model);
        File.WriteAllBytes(model, bytes[..(bytes.Length - 10)]);
        var (exit, _, message) = Run("eval", "--model", model, "--task", "adding", "--length", "10");
        Assert.Equal(2, exit); // a damaged file is bad data; only a file that cannot be read at all exits 1
        Assert.Contains("truncated", message);
    }

    [Fact]
    public void Data_prints_the_fixture_layout_bit_for_bit()
    {
        var (code, stdout, err) = Run("data", "--task", "temporal-order", "--length", "20", "--batch", "3", "--seed", "1234", "--count", "2", "--json");
        Assert.True(code == 0, err);
        using var actual = JsonDocument.Parse(stdout);
        var expected = Golden.Load("tasks-temporal-order-seed1234-T20.json");
        var a = actual.RootElement.GetProperty("batches").EnumerateArray().ToArray();
        var e = expected.GetProperty("batches").EnumerateArray().ToArray();
        Assert.Equal(e.Length, a.Length);
        for (int i = 0; i < e.Length; i++)
            foreach (string name in new[] { "x", "y" })
            {
                Assert.Equal(e[i].GetProperty(name).ShapeOf(), a[i].GetProperty(name).ShapeOf());
                Assert.Equal(e[i].GetProperty(name).Array(), a[i].GetProperty(name).Array());
            }
    }

    [Fact]
    public void Info_reports_vector_width_and_instruction_sets()
    {
        var (code, stdout, _) = Run("info", "--json");
        Assert.Equal(0, code);
        using var info = JsonDocument.Parse(stdout);
        Assert.Equal(System.Numerics.Vector<float>.Count, info.RootElement.GetProperty("vector_float_count").GetInt32());
        Assert.True(info.RootElement.TryGetProperty("instruction_sets", out _));
        Assert.False(string.IsNullOrEmpty(info.RootElement.GetProperty("version").GetString()));
    }
}
