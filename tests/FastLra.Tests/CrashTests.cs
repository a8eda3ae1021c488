using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using FastLra.Cli.Sweep;
using FastLra.IO;
using FastLra.Model;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// SIGKILL at seeded random moments: a checkpointing run and a sweep are killed again
/// and again, each time resumed; after every kill each file left loads, and once they finish the
/// results equal an uninterrupted run's bit for bit, and no temporary or lock file is left.
/// </summary>
[Trait("Category", "Slow")]
public sealed partial class CrashTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-crash-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Training =
    [
        "--task", "adding", "--length", "20", "--hidden", "16", "--batch", "10", "--algo", "lra", "--max-iter", "5000",
        "--check-every", "50", "--patience", "1000", "--valid-size", "100",
    ];

    /// <summary>Runs fastlra, killing it with SIGKILL after <paramref name="delayMs"/> unless it ends first; true when it ended by itself.</summary>
    private static bool RunOrKill(int delayMs, params string[] args)
    {
        using var process = CliTests.Start(null, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (process.WaitForExit(delayMs))
        {
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"fastlra {string.Join(' ', args)} exited {process.ExitCode}: {stderr.Result}");
            return true;
        }
        process.Kill(); // SIGKILL on Unix: no handler, no finally, no flush
        process.WaitForExit();
        _ = stdout.Result + stderr.Result;
        return false;
    }

    [Fact]
    public void A_checkpointing_run_killed_at_random_ends_as_an_uninterrupted_one()
    {
        string straight = Path.Combine(_dir, "straight"), killed = Path.Combine(_dir, "killed");
        Directory.CreateDirectory(straight);
        Directory.CreateDirectory(killed);
        string[] Files(string dir) =>
            ["--checkpoint", Path.Combine(dir, "c.safetensors"), "--checkpoint-every", "7", "--metrics", Path.Combine(dir, "m.jsonl"),
             "--save", Path.Combine(dir, "model.safetensors"), "--quiet"];
        Assert.True(RunOrKill(300_000, ["train", .. Training, .. Files(straight)]));

        string checkpoint = Path.Combine(killed, "c.safetensors");
        // Kills land anywhere: in start-up, in a resume, between and inside checkpoint writes.
        var random = new Random(15);
        int kills = 0;
        while (true)
        {
            // Every other restart re-runs the same command (which resumes its checkpoint), the others
            // name it with --resume and repeat the run's options (which must agree with it).
            string[] start = File.Exists(checkpoint) && kills % 2 == 1 ? ["train", "--resume", checkpoint, .. Training] : ["train", .. Training];
            if (RunOrKill(kills < 20 ? random.Next(30, 450) : 300_000, [.. start, .. Files(killed)])) break;
            kills++;
            // Whatever the moment of the kill, what is on disk loads: the checkpoint whole, the
            // metrics line by line (the last one may be cut short; a resume drops it).
            if (File.Exists(checkpoint)) TrainingRun.Resume(checkpoint);
            if (File.Exists(Path.Combine(killed, "model.safetensors"))) ModelFile.Load(Path.Combine(killed, "model.safetensors"));
        }
        Assert.True(kills >= 5, $"only {kills} kills before the run finished");

        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "model.safetensors")), File.ReadAllBytes(Path.Combine(killed, "model.safetensors")));
        Assert.Equal(Untimed(Path.Combine(straight, "m.jsonl")), Untimed(Path.Combine(killed, "m.jsonl")));
        var (a, b) = (TrainingRun.Resume(Path.Combine(straight, "c.safetensors")), TrainingRun.Resume(checkpoint));
        Assert.Equal(a.Parameters.Data.ToArray(), b.Parameters.Data.ToArray());
        Assert.Equal(a.Optimizer.State.ToArray(), b.Optimizer.State.ToArray());
        Assert.Equal(a.Iteration, b.Iteration);
        Assert.Empty(Leftovers(killed));
    }

    [Fact]
    public void A_sweep_killed_at_random_ends_as_an_uninterrupted_one()
    {
        string grid = Path.Combine(_dir, "grid.json");
        File.WriteAllText(grid, """
            {"task": "adding", "length": 20, "hidden": 8, "batch": 10, "valid-size": 100, "max-iter": 2000, "check-every": 50,
             "patience": 1000, "algo": ["bptt", "lra"], "seed": [1, 2, 3]}
            """);
        string straight = Path.Combine(_dir, "straight"), killed = Path.Combine(_dir, "killed");
        Assert.True(RunOrKill(300_000, "sweep", "--grid", grid, "--out", straight, "--workers", "2", "--checkpoint-every", "7"));

        var runs = SweepGrid.Load(grid);
        var random = new Random(16);
        int kills = 0;
        while (!RunOrKill(kills < 12 ? random.Next(30, 600) : 300_000, "sweep", "--grid", grid, "--out", killed, "--workers", "2", "--checkpoint-every", "7"))
        {
            kills++;
            foreach (var run in runs)
            {
                SweepTests.Recorded(killed, run.Id); // the runs recorded so far read whole
                string checkpoint = Path.Combine(killed, run.Id + ".checkpoint.safetensors");
                if (File.Exists(checkpoint)) TrainingRun.Resume(checkpoint);
            }
        }
        Assert.True(kills >= 4, $"only {kills} kills before the sweep finished");

        foreach (var run in runs)
        {
            var expected = SweepTests.Recorded(straight, run.Id)!.Run;
            var actual = SweepTests.Recorded(killed, run.Id)!.Run;
            Assert.Equal(expected with { WallSeconds = 0, SecondsPerIteration = 0 }, actual with { WallSeconds = 0, SecondsPerIteration = 0 });
            Assert.Equal(Untimed(SweepTests.RecordedMetrics(straight, run.Id)), Untimed(SweepTests.RecordedMetrics(killed, run.Id)));
        }
        Assert.Equal(Untimed(Path.Combine(straight, "summary.csv")), Untimed(Path.Combine(killed, "summary.csv")));
        Assert.Empty(Leftovers(killed));
    }

    /// <summary>A file's lines without their timings (wall-clock seconds and rates), the one thing a rerun may change.</summary>
    private static string[] Untimed(string path) => Untimed(File.ReadAllLines(path));

    private static string[] Untimed(IEnumerable<string> lines) => [.. lines.Select(line => Timing().Replace(line, ""))];

    [GeneratedRegex("\"(elapsed_seconds|iterations_per_second)\":[^,}]+|,[0-9.E-]+,[0-9.E-]+,$")]
    private static partial Regex Timing();

    /// <summary>Temporary files, locks and checkpoints of finished work: nothing of the kind may survive a finished run.</summary>
    private static string[] Leftovers(string dir) =>
        [.. Directory.GetFiles(dir).Where(f => f.EndsWith(".tmp", StringComparison.Ordinal)
            || (f.EndsWith(".lock", StringComparison.Ordinal) && Path.GetFileName(f) != SweepStore.FileName + ".lock")
            || f.EndsWith(".metrics.jsonl", StringComparison.Ordinal)
            || (f.EndsWith(".checkpoint.safetensors", StringComparison.Ordinal)))];
}
