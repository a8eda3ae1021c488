using System.Text.Json;
using FastLra.Cli;
using FastLra.Cli.Sweep;
using FastLra.IO;
using FastLra.Tasks;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>Grid expansion, sharding, and the resumable sweep runner.</summary>
public sealed class SweepTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-sweep-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A run's recorded result in a sweep directory's runs.jsonl, or null.</summary>
    internal static SweepResult? Recorded(string dir, string id)
    {
        var store = new SweepStore(dir);
        store.Refresh();
        return store.Results.GetValueOrDefault(id);
    }

    /// <summary>A recorded run's metrics lines, as JSON text.</summary>
    internal static List<string> RecordedMetrics(string dir, string id) =>
        [.. SweepStore.ReadAll(dir, TextWriter.Null)[id].Metrics.EnumerateArray().Select(e => e.GetRawText())];

    /// <summary>Lock files of runs (the store's own lock file, which stays, aside).</summary>
    internal static string[] RunLocks(string dir) =>
        [.. Directory.GetFiles(dir, "*.lock").Where(f => Path.GetFileName(f) != SweepStore.FileName + ".lock")];

    private static List<SweepRun> Expand(string json)
    {
        using var document = JsonDocument.Parse(json);
        return SweepGrid.Expand(document.RootElement, "grid.json");
    }

    /// <summary>A grid small enough to train in a moment.</summary>
    private const string Tiny = """
        {"task": ["adding"], "length": [10], "hidden": [8], "batch": [4], "valid-size": [50], "check-every": [10],
         "max-iter": [40], "algo": ["bptt", "lra"], "k": [2], "alpha": [0, 0.5], "seed": [1, 2]}
        """;

    [Fact]
    public void The_runs_are_the_product_without_options_that_do_not_apply()
    {
        var runs = Expand(Tiny);
        // bptt x 2 seeds (alpha and k dropped, duplicates kept once) + lra x 2 alphas x 2 seeds.
        Assert.Equal(6, runs.Count);
        Assert.Equal(Enumerable.Range(0, 6), runs.Select(r => r.Index));
        Assert.Equal(runs.Count, runs.Select(r => r.Id).Distinct().Count());
        var bptt = runs.Where(r => r.Spec.Options.Algorithm == AlgorithmKind.Bptt).ToList();
        Assert.Equal(2, bptt.Count);
        Assert.All(bptt, r => Assert.DoesNotContain("--alpha", r.Command, StringComparison.Ordinal));
        Assert.All(bptt, r => Assert.Equal(0f, r.Spec.Options.Alpha));
        // The last key varies fastest; the id names what varies.
        var lra = runs.Where(r => r.Spec.Options.Algorithm == AlgorithmKind.Lra).ToList();
        Assert.Equal([(0f, 1u), (0f, 2u), (0.5f, 1u), (0.5f, 2u)], lra.Select(r => (r.Spec.Options.Alpha, r.Spec.Options.Seed)));
        Assert.Matches("^adding_T10_lra-local_seed2_[0-9a-f]{8}$", lra[3].Id);
        Assert.Equal(
            "fastlra train --task adding --length 10 --hidden 8 --batch 4 --valid-size 50 --check-every 10 --max-iter 40 --algo lra --k 2 --alpha 0.5 --seed 2",
            lra[3].Command);
        var (task, o) = ((TaskSource)lra[3].Spec.Source, lra[3].Spec.Options);
        Assert.Equal((TaskKind.Adding, 10, 8, 4, 50, 10, 40L, 2), (task.Task, task.Length, o.Hidden, o.Batch, task.ValidSize, o.CheckEvery, o.MaxIterations, o.K));
        // Ids are a function of the configuration alone: another grid holding the same run names it the same.
        Assert.Equal(runs.Select(r => r.Id), Expand(Tiny).Select(r => r.Id));
        var alone = Expand("""
            {"seed": 2, "task": "adding", "length": 10, "hidden": 8, "batch": 4, "valid-size": 50, "check-every": 10,
             "max-iter": 40, "algo": "lra", "k": 2, "alpha": 0.5}
            """);
        Assert.Equal(lra[3].Id, Assert.Single(alone).Id);
    }

    [Fact]
    public void An_array_of_grids_joins_their_runs()
    {
        var runs = Expand("""
            [{"task": "adding", "length": 10, "algo": "bptt", "lr": 0.1, "seed": [1, 2]},
             {"task": "adding", "length": 10, "algo": "lra", "lr": 0.01, "alpha": 0.5, "seed": [1, 2]},
             {"task": "adding", "length": 10, "algo": "bptt", "lr": 0.1, "seed": [2, 3]}]
            """);
        // 2 + 2 + 2, less the bptt seed-2 run listed twice.
        Assert.Equal(5, runs.Count);
        Assert.Equal([1u, 2u, 1u, 2u, 3u], runs.Select(r => r.Spec.Options.Seed));
        Assert.Equal(Enumerable.Range(0, 5), runs.Select(r => r.Index));
        Assert.StartsWith("adding_T10_bptt_seed1_", runs[0].Id, StringComparison.Ordinal);
        Assert.StartsWith("adding_T10_lra-local_seed2_", runs[3].Id, StringComparison.Ordinal);
    }

    [Fact]
    public void A_single_value_needs_no_list_and_every_option_is_settable()
    {
        var runs = Expand("""
            {"task": "temporal-order-3bit", "length": 30, "hidden": 12, "batch": 3, "seed": 7, "algo": "lra", "optimizer": "adam",
             "lr": 0.5, "clip": 0, "clip-mode": "always", "semantics": "reference", "k": 4, "beta": 0.25, "alpha": 2,
             "local-loss": "mse", "max-iter": 99, "check-every": 9, "patience": 3, "valid-size": 77}
            """);
        Assert.Equal(new RunSpec(new TaskSource(TaskKind.TemporalOrder3Bit, 30) { ValidSize = 77 })
        {
            Options = new TrainingOptions
            {
                Hidden = 12, Batch = 3, Seed = 7, Algorithm = AlgorithmKind.Lra, Optimizer = OptimizerKind.Adam, LearningRate = 0.5f, Clip = 0f,
                ClipMode = ClipMode.Always, Semantics = LraSemantics.Reference, K = 4, Beta = 0.25f, Alpha = 2f, LocalLoss = Kernels.LocalLossKind.Mse,
                MaxIterations = 99, CheckEvery = 9, Patience = 3,
            },
        }, Assert.Single(runs).Spec);
        Assert.StartsWith("temporal-order-3bit_T30_lra-reference_seed7_", runs[0].Id, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[1, 2]", "a grid is a JSON object")]
    [InlineData("[]", "the grid is an empty array")]
    [InlineData("3", "a grid is a JSON object")]
    [InlineData("""{"length": [20]}""", "needs 'task' and 'length', or 'data'")]
    [InlineData("""{"task": ["adding"], "length": [20], "learning-rate": [1]}""", "'learning-rate' is not a train option")]
    [InlineData("""{"task": ["adding"], "length": [20], "save": ["x"]}""", "'save' is not a train option")]
    [InlineData("""{"task": ["adding"], "length": []}""", "'length' has an empty list")]
    [InlineData("""{"task": ["adding"], "length": [20.5]}""", "'length' value 20.5: --length takes an integer, got '20.5'")]
    [InlineData("""{"task": ["adding"], "length": ["20"]}""", "'length' value \"20\" is not a number")]
    [InlineData("""{"task": ["sorting"], "length": [20]}""", "'task' value \"sorting\": unknown task 'sorting' (choose temporal-order")]
    [InlineData("""{"task": ["adding"], "length": [20], "lr": ["fast"]}""", "'lr' value \"fast\" is not a number")]
    [InlineData("""{"task": ["adding"], "length": [20], "seed": [-1]}""", "'seed' value -1: --seed must be in [0, 2^32)")]
    [InlineData("""{"task": ["adding"], "length": [20, 3]}""", "run 'fastlra train --task adding --length 3' is invalid: --length 3 is too short")]
    [InlineData("""{"task": ["adding"], "length": [20], "algo": ["lra"], "semantics": ["global"]}""", "unknown --semantics 'global' (choose local or reference)")]
    [InlineData("""{"task": ["adding"], "length": [20], "algo": ["lra"], "omega-guard": [-1]}""", "--omega-guard must be >= 0, got -1")]
    public void Bad_grids_are_usage_errors_that_say_what_is_wrong(string json, string message)
    {
        var e = Assert.Throws<UsageException>(() => Expand(json));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shards_come_from_the_flag_or_the_job_array()
    {
        static Func<string, string?> Env(params (string Key, string Value)[] vars) =>
            key => vars.FirstOrDefault(v => v.Key == key).Value;
        Assert.Equal(Shard.All, Shard.Resolve(null, Env()));
        Assert.Equal(new Shard(1, 3), Shard.Resolve("1/3", Env()));
        Assert.Equal(new Shard(2, 4), Shard.Resolve("4", Env(("JOB_COMPLETION_INDEX", "2"))));
        Assert.Equal(new Shard(2, 4), Shard.Resolve("4", Env(("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_MIN", "1"))));
        Assert.Equal(new Shard(3, 5), Shard.Resolve(null, Env(("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "5"))));
        Assert.Equal(new Shard(0, 2), Shard.Resolve(null, Env(("SLURM_ARRAY_TASK_ID", "11"), ("SLURM_ARRAY_TASK_MIN", "11"), ("SLURM_ARRAY_TASK_COUNT", "2"))));
        // The flag wins over the environment.
        Assert.Equal(new Shard(0, 2), Shard.Resolve("0/2", Env(("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "5"))));

        Assert.Contains("outside 0..2", Assert.Throws<UsageException>(() => Shard.Resolve("3/3", Env())).Message, StringComparison.Ordinal);
        Assert.Contains("at least 1", Assert.Throws<UsageException>(() => Shard.Resolve("0/0", Env())).Message, StringComparison.Ordinal);
        Assert.Contains("not a whole number", Assert.Throws<UsageException>(() => Shard.Resolve("a/b", Env())).Message, StringComparison.Ordinal);
        Assert.Contains("-1", Assert.Throws<UsageException>(() => Shard.Resolve("-1/2", Env())).Message, StringComparison.Ordinal);
        Assert.Contains("needs the shard index", Assert.Throws<UsageException>(() => Shard.Resolve("4", Env())).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(7)]
    public void Shards_partition_the_runs(int count)
    {
        var runs = Expand(Tiny);
        var owners = runs.Select(r => Enumerable.Range(0, count).Count(i => new Shard(i, count).Contains(r.Index))).ToList();
        Assert.All(owners, n => Assert.Equal(1, n));
    }

    private SweepOutcome RunSweep(List<SweepRun> runs, int workers = 2, TextWriter? log = null, CancellationToken cancel = default) =>
        new SweepRunner(_dir, 10, log ?? TextWriter.Null).Run(runs, workers, cancel);

    /// <summary>Each run's line counts the runs handled of all and gives an ETA at the sweep's pace; skipped runs print nothing.</summary>
    [Fact]
    public void A_sweep_prints_its_progress_with_an_eta()
    {
        var runs = Expand(Tiny);
        var log = new StringWriter();
        RunSweep(runs[..2], workers: 1);
        RunSweep(runs, workers: 1, log: log);
        var lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("[   3/6, ETA ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("[   6/6, ETA 0s] ", lines[^1], StringComparison.Ordinal);
        Assert.All(lines, l => Assert.Matches(@"^\[ +\d/6, ETA \d+(s|m|\.\dh)\] \S+: \S+ at iteration 40, ", l));
    }

    [Fact]
    public void A_sweep_writes_every_result_and_skips_them_when_run_again()
    {
        var runs = Expand(Tiny);
        var outcome = RunSweep(runs);
        Assert.Equal(new SweepOutcome(6, 0, 0, 0, 0), outcome);
        var results = SweepRunner.ReadResults(_dir, runs);
        Assert.Equal(6, results.Count);
        foreach (var run in runs)
        {
            var r = results[run.Id];
            Assert.Equal(run.Command, r.Command);
            Assert.Equal(40, r.Run.Iterations);
            Assert.Equal(run.Spec, r.Run.Spec);
            Assert.Equal(4, RecordedMetrics(_dir, run.Id).Count);
            Assert.False(File.Exists(SweepRunner.MetricsPath(_dir, run.Id)), "a recorded run's working metrics file is gone");
            // Each run is the train command it names: the same options train to the same numbers.
            var direct = TrainingRun.Start(run.Spec).Run();
            Assert.Equal(direct.FinalTrainLoss, r.Run.FinalTrainLoss);
            Assert.Equal(direct.FinalValidLoss, r.Run.FinalValidLoss);
        }
        Assert.Empty(RunLocks(_dir));
        Assert.Empty(Directory.GetFiles(_dir, "*.safetensors"));
        // One file holds the sweep: a line per run.
        string store = Path.Combine(_dir, SweepStore.FileName);
        Assert.Equal(6, File.ReadAllLines(store).Length);
        Assert.Equal([SweepStore.FileName], Directory.GetFiles(_dir).Select(Path.GetFileName).Where(f => !f!.EndsWith(".lock", StringComparison.Ordinal)));

        byte[] recorded = File.ReadAllBytes(store);
        // A kill between a run's line and its lock's release leaves the lock file, and one between
        // the line and its working files' deletion the checkpoint and metrics; the next sweep tidies them.
        File.WriteAllText(Path.Combine(_dir, runs[0].Id + ".lock"), "");
        File.WriteAllText(Path.Combine(_dir, runs[1].Id + ".checkpoint.safetensors"), "");
        File.WriteAllText(SweepRunner.MetricsPath(_dir, runs[2].Id), "{\"iteration\":10}\n");
        Assert.Equal(new SweepOutcome(0, 6, 0, 0, 0), RunSweep(runs));
        Assert.Empty(RunLocks(_dir));
        Assert.Empty(Directory.GetFiles(_dir, "*.safetensors"));
        Assert.Empty(Directory.GetFiles(_dir, "*.metrics.jsonl"));
        Assert.Equal(recorded, File.ReadAllBytes(store));

        string summary = Path.Combine(_dir, "summary.csv");
        SweepRunner.WriteSummary(summary, runs, results);
        var lines = File.ReadAllLines(summary);
        Assert.Equal(7, lines.Length);
        var header = lines[0].Split(',');
        Assert.Equal("id", header[0]);
        var row = lines[1].Split(',');
        Assert.Equal(header.Length, row.Length);
        Assert.Equal(runs[0].Id, row[0]);
        Assert.Equal("done", row[Array.IndexOf(header, "status")]);
        Assert.Equal("bptt", row[Array.IndexOf(header, "algo")]);
        Assert.Equal("", row[Array.IndexOf(header, "alpha")]);
        Assert.Equal("40", row[Array.IndexOf(header, "iterations")]);
    }

    [Fact]
    public void An_interrupted_sweep_resumes_each_run_where_its_checkpoint_left_it()
    {
        // One short run, then long ones: the short one finishes, the sweep is interrupted (as by
        // Ctrl+C) once the second has made a check, and the rest never start.
        var all = Expand(Tiny.Replace("\"max-iter\": [40]", "\"max-iter\": [40, 20000]", StringComparison.Ordinal));
        List<SweepRun> runs =
        [
            all.First(r => r.Spec.Options.MaxIterations == 40),
            .. all.Where(r => r.Spec.Options.MaxIterations == 20000).OrderByDescending(r => r.Spec.Options.Algorithm).Take(2),
        ];
        string straight = Path.Combine(_dir, "straight");
        Assert.Equal(runs.Count, new SweepRunner(straight, 100, TextWriter.Null).Run(runs, 2, default).Finished);

        string resumed = Path.Combine(_dir, "resumed");
        using (var cancel = new CancellationTokenSource())
        {
            string metrics = SweepRunner.MetricsPath(resumed, runs[1].Id);
            // A thread of its own: the test runner's pool may be busy with other tests.
            var watcher = new Thread(() =>
            {
                while (!File.Exists(metrics) || new FileInfo(metrics).Length == 0) Thread.Sleep(1);
                cancel.Cancel();
            });
            watcher.Start();
            var partial = new SweepRunner(resumed, 100, TextWriter.Null).Run(runs, 1, cancel.Token);
            watcher.Join();
            Assert.Equal((1, runs.Count - 1), (partial.Finished, partial.Interrupted));
        }
        string checkpoint = Path.Combine(resumed, runs[1].Id + ".checkpoint.safetensors");
        Assert.True(File.Exists(checkpoint), "the interrupted run keeps its checkpoint");
        // A crash can also leave metrics lines after the last checkpoint, and half a line: dropped on resume.
        File.AppendAllText(SweepRunner.MetricsPath(resumed, runs[1].Id), "{\"iteration\":19999,\"train_loss\":1}\n{\"iteration\":30");

        var outcome = new SweepRunner(resumed, 100, TextWriter.Null).Run(runs, 2, default);
        Assert.Equal((runs.Count - 1, 1), (outcome.Finished, outcome.Skipped));
        Assert.False(File.Exists(checkpoint), "a finished run's checkpoint is removed");
        foreach (var run in runs)
        {
            var a = Recorded(straight, run.Id)!.Run;
            var b = Recorded(resumed, run.Id)!.Run;
            Assert.Equal(a with { WallSeconds = 0, SecondsPerIteration = 0 }, b with { WallSeconds = 0, SecondsPerIteration = 0 });
            Assert.Equal(Iterations(RecordedMetrics(straight, run.Id)), Iterations(RecordedMetrics(resumed, run.Id)));
        }
    }

    private static List<long> Iterations(List<string> metrics) =>
        metrics.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("iteration").GetInt64()).ToList();

    [Fact]
    public void A_resumed_run_drops_metrics_written_after_its_checkpoint()
    {
        string path = Path.Combine(_dir, "m.jsonl");
        File.WriteAllText(path, "{\"iteration\":10,\"x\":1}\n{\"iteration\":20,\"x\":2}\n{\"iteration\":30,\"x\":3}\n{\"iteration\":4");
        MetricsFile.KeepThrough(path, 20);
        Assert.Equal(["{\"iteration\":10,\"x\":1}", "{\"iteration\":20,\"x\":2}"], File.ReadAllLines(path));
        MetricsFile.KeepThrough(path, 20);
        Assert.Equal(2, File.ReadAllLines(path).Length);
        MetricsFile.KeepThrough(Path.Combine(_dir, "missing.jsonl"), 5);
        Assert.False(File.Exists(Path.Combine(_dir, "missing.jsonl")));
    }

    [Fact]
    public void A_run_locked_by_another_process_is_left_to_it()
    {
        var runs = Expand(Tiny).Take(2).ToList();
        Directory.CreateDirectory(_dir);
        using (new FileStream(Path.Combine(_dir, runs[0].Id + ".lock"), FileMode.Create, FileAccess.ReadWrite, FileShare.None))
        {
            Assert.Equal(new SweepOutcome(1, 0, 1, 0, 0), RunSweep(runs));
        }
        Assert.Null(Recorded(_dir, runs[0].Id));
        Assert.Equal(new SweepOutcome(1, 1, 0, 0, 0), RunSweep(runs));
    }

    [Fact]
    public void A_damaged_checkpoint_fails_its_run_and_the_others_go_on()
    {
        var runs = Expand(Tiny).Take(3).ToList();
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, runs[1].Id + ".checkpoint.safetensors"), "not a checkpoint");
        var log = new StringWriter();
        var outcome = new SweepRunner(_dir, 10, log).Run(runs, 1, default);
        Assert.Equal(new SweepOutcome(2, 0, 0, 1, 0), outcome);
        Assert.Contains($"{runs[1].Id}: failed: ", log.ToString(), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_dir, runs[1].Id + ".checkpoint.safetensors")), "the damaged file is left for the user");
    }

    [Fact]
    public void A_result_reads_back_as_written_non_finite_numbers_included()
    {
        var options = Expand(Tiny)[3].Spec;
        var outcome = new TrainingResult(17, 0.5, double.NaN, 0.25, false, StopReason.Diverged, 1.5, double.PositiveInfinity);
        var written = new SweepResult("id-1", "fastlra train --task adding", TrainReport.Create(options, outcome, "m.safetensors"));
        string json = CliJson.Serialize(written.Write);
        Assert.Contains("\"final_valid_loss\":\"NaN\"", json, StringComparison.Ordinal);
        Assert.Contains("\"final_train_loss\":\"Infinity\"", json, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(json);
        var read = SweepResult.Read(document.RootElement);
        Assert.Equal((written.Id, written.Command), (read.Id, read.Command));
        Assert.Equal(written.Run, read.Run);
    }

    /// <summary>
    /// Run ids hash every option as checkpoints record it, so the committed results keep their ids
    /// (and a rerun of their grids skips them) whatever is added to the options table. A run on
    /// data records the SHA-256 of its files, which its id is made from: the committed series
    /// (sunspots) has the digest its runs recorded; the Fashion-MNIST files are not committed.
    /// </summary>
    [Trait("Category", "Slow")]
    [Fact]
    public void Committed_results_keep_their_ids()
    {
        string results = Path.Combine(Golden.RepositoryRoot, "docs", "results");
        var stores = Directory.GetFiles(results, SweepStore.FileName, SearchOption.AllDirectories);
        Assert.NotEmpty(stores);
        string sunspots = Sha256.OfFile(Path.Combine(Golden.RepositoryRoot, "docs", "data", "sunspots.csv"));
        int runs = 0, onData = 0;
        foreach (string store in stores)
            foreach (var recorded in SweepStore.ReadAll(Path.GetDirectoryName(store)!, TextWriter.Null).Values)
            {
                var (result, digests) = (recorded.Result, recorded.Result.Digests ?? DataDigests.None);
                Assert.Equal(result.Id, SweepGrid.Id(result.Run.Spec, digests));
                if (result.Run.Spec.Source is DataFileSource file)
                {
                    Assert.Matches("^[0-9a-f]{64}$", digests.Data);
                    if (file.Path == "docs/data/sunspots.csv") Assert.Equal(sunspots, digests.Data);
                    onData++;
                }
                runs++;
            }
        Assert.True(runs > 500, $"{runs} runs");
        Assert.True(onData > 100, $"{onData} runs on data");
    }

    /// <summary>
    /// A run's id knows its data file by content: moved or copied to another folder (another
    /// machine's path) the file gives the same ids, so a sweep there finds the runs done; a changed
    /// byte gives new ones. The validation file counts the same way; the line records both digests.
    /// </summary>
    [Fact]
    public void Ids_follow_the_data_files_content_not_where_it_lies()
    {
        string Series(int shift) => "u,y\n" + string.Concat(Enumerable.Range(0, 60).Select(r => $"{Math.Sin((r + shift) * 0.3):F4},{Math.Cos(r * 0.2):F4}\n"));
        string Grid(string data, string valid) => $$"""
            {"data": "{{data}}", "valid-data": "{{valid}}", "input-columns": "u", "target-columns": "y", "window": 6,
             "hidden": 4, "batch": 2, "max-iter": 20, "check-every": 10, "algo": ["bptt", "lra"]}
            """;
        string here = Directory.CreateDirectory(Path.Combine(_dir, "here")).FullName, there = Directory.CreateDirectory(Path.Combine(_dir, "there", "deeper")).FullName;
        File.WriteAllText(Path.Combine(here, "series.csv"), Series(0));
        File.WriteAllText(Path.Combine(here, "valid.csv"), Series(7));
        var before = Expand(Grid(Path.Combine(here, "series.csv"), Path.Combine(here, "valid.csv")));
        Assert.Equal(new SweepOutcome(2, 0, 0, 0, 0), RunSweep(before));
        File.Move(Path.Combine(here, "series.csv"), Path.Combine(there, "series.csv"));
        File.Move(Path.Combine(here, "valid.csv"), Path.Combine(there, "valid.csv"));
        var moved = Expand(Grid(Path.Combine(there, "series.csv"), Path.Combine(there, "valid.csv")));
        Assert.Equal(before.Select(r => r.Id), moved.Select(r => r.Id));
        Assert.All(before, r => Assert.StartsWith("series_T6_", r.Id, StringComparison.Ordinal));
        Assert.Equal(Sha256.Of(System.Text.Encoding.UTF8.GetBytes(Series(0))), moved[0].Digests.Data);
        Assert.Equal(Sha256.Of(System.Text.Encoding.UTF8.GetBytes(Series(7))), moved[0].Digests.ValidData);

        // The runs done from one folder are done from the other; a line carries the digests.
        Assert.Equal(new SweepOutcome(0, 2, 0, 0, 0), RunSweep(moved));
        var recorded = Recorded(_dir, moved[1].Id)!;
        Assert.Equal(moved[1].Digests, recorded.Digests);
        Assert.Equal(recorded.Id, SweepGrid.Id(recorded.Run.Spec, recorded.Digests!));

        // Another byte in either file is another run.
        File.WriteAllText(Path.Combine(there, "valid.csv"), Series(8));
        var changed = Expand(Grid(Path.Combine(there, "series.csv"), Path.Combine(there, "valid.csv")));
        Assert.Empty(changed.Select(r => r.Id).Intersect(before.Select(r => r.Id)));
        Assert.Equal(before[0].Digests.Data, changed[0].Digests.Data);
    }

    /// <summary>
    /// An option added after runs were recorded (the Omega guard) is left out of what a run at its
    /// default records, so the ids and files of earlier runs stay valid; set, it is recorded and
    /// makes another run.
    /// </summary>
    [Fact]
    public void An_option_added_later_changes_no_id_at_its_default()
    {
        var o = new RunSpec(new TaskSource(TaskKind.RandomPermutation, 20)) { Options = new TrainingOptions { Algorithm = AlgorithmKind.Lra, Alpha = 2, Beta = 1 } };
        Assert.DoesNotContain(TrainingOptionTable.Describe(o), e => e.Key == "omega_guard");
        var guarded = o with { Options = o.Options with { OmegaGuard = 1e-4f } };
        Assert.Contains(TrainingOptionTable.Describe(guarded), e => e.Key == "omega_guard" && e.Value == ((double)1e-4f).ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        Assert.NotEqual(SweepGrid.Id(o, DataDigests.None), SweepGrid.Id(guarded, DataDigests.None));
        Assert.Equal(guarded, TrainingOptionTable.Read(TrainingOptionTable.Describe(guarded).ToDictionary(e => e.Key, e => e.Value)));
        Assert.Equal(o, TrainingOptionTable.Read(TrainingOptionTable.Describe(o).ToDictionary(e => e.Key, e => e.Value)));
        var run = Expand("""{"task": "random-permutation", "length": 20, "algo": "lra", "alpha": 2, "beta": 1, "omega-guard": [0, 0.0001]}""");
        Assert.Equal([SweepGrid.Id(o, DataDigests.None), SweepGrid.Id(guarded, DataDigests.None)], run.Select(r => r.Id));
        Assert.Contains("--omega-guard 0.0001", run[1].Command, StringComparison.Ordinal);
    }

    /// <summary>
    /// The plateau schedule's options are grid keys: they vary as any other, make their own ids and
    /// commands, and a run at their defaults records none of them (its id is the one it had before they existed).
    /// </summary>
    [Fact]
    public void A_grid_varies_the_plateau_schedule()
    {
        var runs = Expand("""{"task": "adding", "length": 10, "lr-schedule": ["constant", "plateau"], "lr-patience": [10, 3], "lr-threshold": 0.01}""");
        // constant takes neither option but records them when set, as the step schedule's --lr-step-every: 2 x 2 runs.
        Assert.Equal(4, runs.Count);
        var plateau = runs[3].Spec.Options;
        Assert.Equal((LearningRateSchedule.Plateau, 3, 0.01), (plateau.Schedule, plateau.LearningRatePatience, plateau.LearningRateThreshold));
        Assert.Equal("fastlra train --task adding --length 10 --lr-schedule plateau --lr-patience 3 --lr-threshold 0.01", runs[3].Command);
        Assert.Equal(runs.Count, runs.Select(r => r.Id).Distinct().Count());
        var o = new RunSpec(new TaskSource(TaskKind.Adding, 10));
        Assert.DoesNotContain(TrainingOptionTable.Describe(o), e => e.Key is "lr_patience" or "lr_threshold");
        var set = o with { Options = plateau };
        Assert.Equal(set, TrainingOptionTable.Read(TrainingOptionTable.Describe(set).ToDictionary(e => e.Key, e => e.Value)));
        var e = Assert.Throws<UsageException>(() => Expand("""{"task": "adding", "length": 10, "lr-schedule": "plateau", "lr-patience": -1}"""));
        Assert.Contains("--lr-patience must be >= 0 (checks), got -1", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Grids over data work as over tasks: the data options vary, the ids name the file and window, the commands repeat the runs.</summary>
    [Fact]
    public void A_grid_over_data_expands_and_names_its_runs_by_the_file()
    {
        var runs = Expand("""
            {"data": "docs/data/sunspots.csv", "input-columns": "SUNACTIVITY", "target-columns": "SUNACTIVITY", "window": [10, 20],
             "washout": 5, "algo": ["bptt", "lra"], "alpha": [0, 0.1], "seed": 1}
            """);
        Assert.Equal(6, runs.Count); // bptt drops alpha: 2 windows x (1 + 2)
        Assert.Matches("^sunspots_T10_bptt_seed1_[0-9a-f]{8}$", runs[0].Id);
        Assert.Equal("docs/data/sunspots.csv", ((DataFileSource)runs[0].Spec.Source).Path);
        Assert.Equal(20, ((DataFileSource)runs[^1].Spec.Source).File.Window);
        Assert.Contains("--data docs/data/sunspots.csv --input-columns SUNACTIVITY", runs[0].Command, StringComparison.Ordinal);
        var e = Assert.Throws<UsageException>(() => Expand("""{"data": "d.csv", "task": "adding", "length": 20}"""));
        Assert.Contains("takes no synthetic-task options", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// One run's failure, of whatever kind, is that run's: it is recorded with its
    /// message, every other run goes on, the sweep exits 1, and the next sweep tries it again.
    /// </summary>
    [Fact]
    public void A_failing_run_is_recorded_and_the_others_go_on()
    {
        string csv = Path.Combine(_dir, "series.csv");
        File.WriteAllText(csv, "u,y\n" + string.Concat(Enumerable.Range(0, 60).Select(r => $"{Math.Sin(r * 0.3):F4},{Math.Cos(r * 0.2):F4}\n")));
        var runs = Expand($$"""
            [{"data": ["{{csv}}", "{{Path.Combine(_dir, "missing.csv")}}"], "input-columns": "u", "target-columns": "y", "window": 6,
              "hidden": 4, "batch": 2, "max-iter": 20, "check-every": 10},
             {"data": "{{csv}}", "input-columns": "u", "target-columns": "y", "window": 6, "hidden": 4, "batch": 2, "max-iter": 20,
              "algo": "lra", "semantics": "reference"}]
            """);
        Assert.Equal(3, runs.Count);
        Assert.Equal(new SweepOutcome(1, 0, 0, 2, 0), RunSweep(runs));
        string summary = Path.Combine(_dir, "summary.csv");
        SweepRunner.WriteSummary(summary, runs, SweepRunner.ReadResults(_dir, runs));
        var rows = File.ReadAllLines(summary).Skip(1).ToList();
        Assert.Contains(rows, r => r.StartsWith(runs[0].Id + ",done,", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.StartsWith(runs[1].Id + ",failed,", StringComparison.Ordinal) && r.Contains("missing.csv", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.StartsWith(runs[2].Id + ",failed,", StringComparison.Ordinal) && r.Contains("no per-step outputs", StringComparison.Ordinal));
        Assert.Empty(RunLocks(_dir));
        // Run again: the finished run is skipped, the failed ones are tried again (and fail again).
        Assert.Equal(new SweepOutcome(0, 1, 0, 2, 0), RunSweep(runs));
    }

    /// <summary>
    /// A damaged result is a run still to do: the summary shows it pending, the
    /// next sweep runs it again and records it anew (the damaged line stays, named and skipped).
    /// </summary>
    [Fact]
    public void A_damaged_result_is_run_again_and_rewritten()
    {
        var runs = Expand(Tiny);
        Assert.Equal(new SweepOutcome(6, 0, 0, 0, 0), RunSweep(runs));
        string store = Path.Combine(_dir, SweepStore.FileName);
        var lines = File.ReadAllLines(store);
        int index = Array.FindIndex(lines, l => l.Contains(runs[2].Id, StringComparison.Ordinal));
        string good = lines[index];
        lines[index] = good[..(good.Length / 2)];
        File.WriteAllLines(store, lines);
        Assert.Equal(5, SweepRunner.ReadResults(_dir, runs).Count);
        var log = new StringWriter();
        Assert.Equal(new SweepOutcome(1, 5, 0, 0, 0), RunSweep(runs, log: log));
        Assert.Contains("skipping a damaged line of runs.jsonl", log.ToString(), StringComparison.Ordinal);
        string redone = File.ReadAllLines(store)[^1];
        Assert.Equal(Untimed(good), Untimed(redone));
        Assert.Equal(6, SweepRunner.ReadResults(_dir, runs).Count);
    }

    /// <summary>
    /// Every line carries its layout's version; a line of another version (a later FastLra's) is not
    /// misread: it is named, skipped, and its run redone into a line of this version.
    /// </summary>
    [Fact]
    public void A_line_of_another_format_version_is_named_and_its_run_redone()
    {
        var runs = Expand(Tiny);
        Assert.Equal(new SweepOutcome(2, 0, 0, 0, 0), RunSweep(runs[..2]));
        string store = Path.Combine(_dir, SweepStore.FileName);
        var lines = File.ReadAllLines(store);
        Assert.All(lines, l => Assert.StartsWith("{\"format_version\":1,\"id\":", l, StringComparison.Ordinal));
        lines[0] = lines[0].Replace("{\"format_version\":1,", "{\"format_version\":2,", StringComparison.Ordinal);
        File.WriteAllLines(store, lines);
        var log = new StringWriter();
        Assert.Equal(new SweepOutcome(1, 1, 0, 0, 0), RunSweep(runs[..2], log: log));
        Assert.Contains("skipping a damaged line of runs.jsonl (not a line of format version 1)", log.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, SweepRunner.ReadResults(_dir, runs[..2]).Count);
    }

    /// <summary>
    /// A run's line is its record: an append cut short by a crash (no newline) is not a result for
    /// readers, and the next append cuts it off; other processes see lines appended after they read.
    /// </summary>
    [Fact]
    public void A_line_cut_short_by_a_crash_is_no_result_and_the_next_append_replaces_it()
    {
        var runs = Expand(Tiny);
        Assert.Equal(new SweepOutcome(2, 0, 0, 0, 0), RunSweep(runs[..2]));
        string store = Path.Combine(_dir, SweepStore.FileName);
        var reader = new SweepStore(_dir);
        reader.Refresh();
        Assert.Equal(2, reader.Results.Count);
        string whole = File.ReadAllText(store);
        File.AppendAllText(store, "{\"id\":\"" + runs[2].Id + "\",\"command\":\"fastlra");
        reader.Refresh();
        Assert.Equal(2, reader.Results.Count);
        Assert.Equal(new SweepOutcome(1, 2, 0, 0, 0), RunSweep(runs[..3]));
        Assert.StartsWith(whole, File.ReadAllText(store), StringComparison.Ordinal);
        Assert.Equal(3, File.ReadAllLines(store).Length);
        reader.Refresh();
        Assert.Equal(3, reader.Results.Count);
    }

    // A run's line with its timing fields (the only part of a rerun that differs) set to 0.
    private static string Untimed(string json) =>
        System.Text.RegularExpressions.Regex.Replace(json, "\"(wall_seconds|seconds_per_iteration|elapsed_seconds|iterations_per_second)\":[^,}]+", "\"$1\":0");
}
