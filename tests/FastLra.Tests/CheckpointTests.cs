using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FastLra.Data;
using FastLra.IO;
using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

public sealed class CheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Runs() => new() { "bptt-adam", "lra-local-nesterov", "lra-reference-rmsprop", "lra-local-adagrad-mse", "gru-2-layers-rmsprop", "lstm-2-layers-adagrad", "bptt-step-warmup-adamw", "bptt-plateau" };

    private static RunSpec Spec(string run, long maxIterations, string? checkpoint = null)
    {
        var policy = checkpoint is null ? null : new CheckpointPolicy(checkpoint, 0);
        return run switch
        {
            "bptt-adam" => TestRuns.Spec(TaskKind.Adding, 12, new() { Hidden = 16, CheckEvery = 7, Optimizer = OptimizerKind.Adam, LearningRate = 0.01f, MaxIterations = maxIterations }, checkpoint: policy),
            "lra-local-nesterov" => TestRuns.Spec(TaskKind.TemporalOrder, 12, new() { Hidden = 16, CheckEvery = 7, Optimizer = OptimizerKind.Nesterov, Algorithm = AlgorithmKind.Lra, Alpha = 0.1f, K = 3, MaxIterations = maxIterations }, checkpoint: policy),
            "lra-reference-rmsprop" => TestRuns.Spec(TaskKind.TemporalOrder3Bit, 11, new() { Hidden = 24, CheckEvery = 7, Optimizer = OptimizerKind.RmsProp, LearningRate = 0.001f, Algorithm = AlgorithmKind.Lra, Semantics = LraSemantics.Reference, Alpha = 0.1f, K = 2, MaxIterations = maxIterations }, checkpoint: policy),
            // The step schedule (not cosine, whose period is the budget these tests change on resume).
            "bptt-step-warmup-adamw" => TestRuns.Spec(TaskKind.TemporalOrder, 12, new() { Hidden = 16, Batch = 6, CheckEvery = 7, Optimizer = OptimizerKind.Adam, LearningRate = 0.01f, Schedule = LearningRateSchedule.Step, LearningRateStepEvery = 15, LearningRateFactor = 0.5f, Warmup = 10, WeightDecay = 0.1f, MaxIterations = maxIterations }, checkpoint: policy),
            // Patience 0 and a threshold of 50%: the rate halves at the checks that do not halve the loss, on both sides of the halfway checkpoint.
            "bptt-plateau" => TestRuns.Spec(TaskKind.TemporalOrder, 12, new() { Hidden = 16, Batch = 6, CheckEvery = 7, LearningRate = 0.1f, Schedule = LearningRateSchedule.Plateau, LearningRatePatience = 0, LearningRateThreshold = 0.5, LearningRateFactor = 0.5f, MinLearningRate = 0.001f, MaxIterations = maxIterations }, checkpoint: policy),
            "gru-2-layers-rmsprop" => TestRuns.Spec(TaskKind.TemporalOrder, 12, new() { Hidden = 16, Batch = 6, CheckEvery = 7, Cell = CellKind.Gru, Layers = 2, Optimizer = OptimizerKind.RmsProp, LearningRate = 0.003f, MaxIterations = maxIterations }, checkpoint: policy),
            "lstm-2-layers-adagrad" => TestRuns.Spec(TaskKind.Adding, 12, new() { Hidden = 12, Batch = 6, CheckEvery = 7, Cell = CellKind.Lstm, Layers = 2, Optimizer = OptimizerKind.Adagrad, MaxIterations = maxIterations }, checkpoint: policy),
            _ => TestRuns.Spec(TaskKind.RandomPermutation, 10, new() { Hidden = 16, Batch = 5, CheckEvery = 7, Optimizer = OptimizerKind.Adagrad, Algorithm = AlgorithmKind.Lra, LocalLoss = LocalLossKind.Mse, ClipMode = ClipMode.Always, K = 2, MaxIterations = maxIterations }, checkpoint: policy),
        };
    }

    /// <summary>
    /// A checkpoint between two checks carries the training losses summed since the first: the
    /// resumed run's next check reports the training loss the uninterrupted run does.
    /// </summary>
    [Theory]
    [MemberData(nameof(Runs))]
    public void A_checkpoint_between_checks_keeps_the_training_loss_window(string run)
    {
        var straight = new CheckRecorder();
        TrainingRun.Start(Spec(run, 42)).Run(straight);

        string path = Path.Combine(_dir, "resumed.safetensors");
        var first = TrainingRun.Start(Spec(run, 42));
        var checks = new List<CheckReport>();
        for (int i = 0; i < 24; i++)
            if (first.Step() is { } report) checks.Add(report);
        first.WriteCheckpoint(path);
        var resumed = TrainingRun.Resume(path);
        Assert.Equal((24L, 3), (resumed.Iteration, resumed.Loop.WindowCount));
        var second = new CheckRecorder();
        resumed.Run(second);
        Assert.Equal(Comparable(straight.Checks), Comparable([.. checks, .. second.Checks]));
    }

    // A check's figures but its wall time.
    private static List<CheckReport> Comparable(List<CheckReport> checks) => [.. checks.Select(c => c with { ElapsedSeconds = 0 })];

    [Theory]
    [MemberData(nameof(Runs))]
    public void N_iterations_equal_half_then_resume_then_half_bit_for_bit(string run)
    {
        // Half of n is a whole number of checks (every 7), so the first half's closing check is one
        // the straight run makes too, and the best accuracies must agree as well.
        const int n = 42;
        var straight = TrainingRun.Start(Spec(run, n));
        var straightResult = straight.Run();

        string path = Path.Combine(_dir, run + ".safetensors");
        TrainingRun.Start(Spec(run, n / 2, path)).Run();
        var resumed = TrainingRun.Resume(path, maxIterations: n);
        Assert.Equal(n / 2, resumed.Iteration);
        var resumedResult = resumed.Run();

        Assert.Equal(straight.Parameters.Data.ToArray(), resumed.Parameters.Data.ToArray());
        Assert.Equal(straight.Optimizer.State.ToArray(), resumed.Optimizer.State.ToArray());
        Assert.Equal(straightResult.Iterations, resumedResult.Iterations);
        Assert.Equal(straightResult.BestValidAccuracy, resumedResult.BestValidAccuracy);
        Assert.Equal(straightResult.FinalValidLoss, resumedResult.FinalValidLoss);
        // The checkpoint is a model file too.
        Assert.Equal(straight.Parameters.Shape, ModelFile.Load(path).Weights.Shape);
    }

    /// <summary>
    /// The plateau schedule's rate, best loss and bad checks are in the checkpoint: a run resumed
    /// halfway takes, after each later check, the rate the uninterrupted run takes, and reduces it
    /// where that run does.
    /// </summary>
    [Fact]
    public void A_resumed_plateau_run_reduces_its_rate_where_the_straight_one_does()
    {
        var straight = TrainingRun.Start(Spec("bptt-plateau", 42));
        var rates = new List<float>();
        straight.Run(new CheckCallback((r, _) => rates.Add(r.LearningRate)));

        string path = Path.Combine(_dir, "plateau.safetensors");
        var first = TrainingRun.Start(Spec("bptt-plateau", 21, path));
        first.Run();
        var resumed = TrainingRun.Resume(path, maxIterations: 42);
        var p = resumed.Loop.Plateau;
        Assert.Equal((first.Loop.Plateau.Rate, first.Loop.Plateau.Best, first.Loop.Plateau.BadChecks), (p.Rate, p.Best, p.BadChecks));
        var later = new List<float>();
        resumed.Run(new CheckCallback((r, _) => later.Add(r.LearningRate)));

        Assert.Equal(rates[3..], later);
        Assert.True(rates[5] < rates[2], $"no reduction after the checkpoint: {string.Join(", ", rates)}");
        Assert.Equal((straight.Loop.Plateau.Rate, straight.Loop.Plateau.Best, straight.Loop.Plateau.BadChecks), (p.Rate, p.Best, p.BadChecks));
        Assert.Equal(straight.Parameters.Data.ToArray(), resumed.Parameters.Data.ToArray());
    }

    /// <summary>A plateau state no run can reach is refused by name: a rate above --lr or below --lr-min, a best loss that is no number, more bad checks than --lr-patience.</summary>
    [Theory]
    [InlineData("0.5 1 0")]
    [InlineData("0.0001 1 0")]
    [InlineData("0.05 NaN 0")]
    [InlineData("0.05 1 1")]
    [InlineData("0.05 1")]
    [InlineData("fast 1 0")]
    public void A_plateau_state_out_of_range_is_refused(string value)
    {
        string path = Path.Combine(_dir, "plateau.safetensors");
        TrainingRun.Start(Spec("bptt-plateau", 14, path)).Run();
        Assert.Equal(14, TrainingRun.Resume(path).Iteration);
        RewriteMetadata(path, "lr_plateau", value);
        var e = Assert.Throws<WeightFileException>(() => TrainingRun.Resume(path));
        Assert.Equal($"{path}: metadata 'lr_plateau' has an invalid value.", e.Message);
    }

    [Fact]
    public void Periodic_checkpoints_replace_the_file_atomically()
    {
        string path = Path.Combine(_dir, "periodic.safetensors");
        TrainingRun.Start(Spec("bptt-adam", 30) with { Checkpoint = new CheckpointPolicy(path, 10) }).Run();
        Assert.Equal(30, TrainingRun.Resume(path).Iteration);
        Assert.Single(Directory.GetFiles(_dir)); // no temporary file left behind
    }

    [Fact]
    public void A_weight_file_is_not_a_checkpoint()
    {
        string path = Path.Combine(_dir, "weights.safetensors");
        TrainingRun.Start(Spec("bptt-adam", 1)).Model.Save(path);
        var e = Assert.Throws<WeightFileException>(() => TrainingRun.Resume(path));
        Assert.Contains("not a FastLra checkpoint", e.Message);
    }

    [Trait("Category", "Slow")]
    [Fact]
    public async Task Sigterm_writes_a_final_checkpoint_and_exits_cleanly()
    {
        string checkpoint = Path.Combine(_dir, "sigterm.safetensors");
        string dll = Path.Combine(AppContext.BaseDirectory, "fastlra.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { dll, "train", "--task", "temporal-order", "--length", "20", "--algo", "lra", "--max-iter", "1000000",
                     "--valid-size", "100", "--checkpoint", checkpoint, "--checkpoint-every", "0", "--json", "--quiet" })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await Task.Delay(3000);
        Assert.False(process.HasExited, "fastlra exited before the signal: " + (stderr.IsCompleted ? await stderr : ""));
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()])) await kill.WaitForExitAsync();
        Assert.True(process.WaitForExit(30_000), "fastlra did not stop after SIGTERM");
        Assert.True(process.ExitCode == 0, await stderr);
        using var report = JsonDocument.Parse(await stdout);
        Assert.Equal("cancelled", report.RootElement.GetProperty("stop_reason").GetString());
        var resumed = TrainingRun.Resume(checkpoint);
        Assert.Equal(report.RootElement.GetProperty("iterations").GetInt64(), resumed.Iteration);
        Assert.True(resumed.Iteration > 0);
    }

    /// <summary>
    /// SIGTERM or Ctrl+C ends a command within a second (documented; 5 s here against flakes) even
    /// in an iteration of many seconds (LRA with 100,000 target steps on 400 steps): the process
    /// exits 143 (130 for SIGINT) in one line, and the checkpoint is the last one written, whole.
    /// </summary>
    [Theory]
    [InlineData("TERM", 143)]
    [InlineData("INT", 130)]
    public async Task A_signal_ends_a_long_iteration_within_a_second_and_the_last_checkpoint_stays(string signal, int code)
    {
        var options = new TrainingOptions { Hidden = 8, Batch = 2, Algorithm = AlgorithmKind.Lra, K = 100_000, CheckEvery = 1000, MaxIterations = 3 };
        string checkpoint = Path.Combine(_dir, "long.safetensors");
        // The checkpoint at iteration 0 the same command would write if stopped before its first iteration.
        using (var stopped = new CancellationTokenSource())
        {
            stopped.Cancel();
            TestRuns.Start(TaskKind.Adding, 400, options, validSize: 20, new CheckpointPolicy(checkpoint)).Run(cancel: stopped.Token);
        }
        byte[] written = File.ReadAllBytes(checkpoint);
        using var process = CliTests.Start(null, ["train", "--task", "adding", "--length", "400", "--hidden", "8", "--batch", "2", "--algo", "lra",
            "--k", "100000", "--valid-size", "20", "--check-every", "1000", "--max-iter", "3", "--checkpoint", checkpoint]);
        var stdout = process.StandardOutput.ReadToEndAsync();
        Assert.Equal($"resumed {checkpoint} at iteration 0", await process.StandardError.ReadLineAsync());
        var stderr = process.StandardError.ReadToEndAsync();
        await Task.Delay(200); // into the first iteration
        var clock = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", [$"-{signal}", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
        Assert.True(process.WaitForExit(60_000), "fastlra did not end after the signal");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"fastlra took {clock.Elapsed.TotalSeconds:F1} s to end");
        Assert.Equal(code, process.ExitCode);
        Assert.Equal($"fastlra: SIG{signal}: ended before the work in flight finished; the files written so far are whole.\n", await stderr);
        Assert.Empty(await stdout);
        // The iteration never finished, so no checkpoint followed it: the one before is there, whole.
        Assert.Equal(written, File.ReadAllBytes(checkpoint));
        Assert.Equal(0, TrainingRun.Resume(checkpoint).Iteration);
    }

    private static readonly string[] Small = ["train", "--task", "adding", "--length", "10", "--hidden", "8", "--valid-size", "20", "--check-every", "10"];

    /// <summary>
    /// Re-running the same command given <c>--checkpoint F</c> when F exists resumes F (as Keras's
    /// BackupAndRestore does): a pre-empted job loses nothing, and ends as an uninterrupted run,
    /// bit for bit; a larger --max-iter extends it.
    /// </summary>
    [Fact]
    public void Rerunning_a_command_resumes_its_checkpoint_bit_for_bit()
    {
        string straight = Path.Combine(_dir, "straight.safetensors"), resumed = Path.Combine(_dir, "resumed.safetensors"), checkpoint = Path.Combine(_dir, "c.safetensors");
        var (code, _, err) = CliTests.Run([.. Small, "--max-iter", "40", "--save", straight, "--quiet"]);
        Assert.True(code == 0, err);
        (code, _, err) = CliTests.Run([.. Small, "--max-iter", "20", "--checkpoint", checkpoint, "--quiet"]);
        Assert.True(code == 0, err);
        (code, _, err) = CliTests.Run([.. Small, "--max-iter", "40", "--checkpoint", checkpoint, "--save", resumed]);
        Assert.True(code == 0, err);
        Assert.StartsWith($"resumed {checkpoint} at iteration 20\n", err, StringComparison.Ordinal);
        Assert.Equal(File.ReadAllBytes(straight), File.ReadAllBytes(resumed));
        Assert.Equal(40, TrainingRun.Resume(checkpoint).Iteration);
    }

    /// <summary>
    /// An existing --checkpoint file is never overwritten: one of a run with other options is refused
    /// naming each option that differs with both values, and a file that is not a checkpoint (a
    /// model) is refused by name. One line, exit 2, nothing written.
    /// </summary>
    [Fact]
    public void An_existing_checkpoint_of_another_run_or_a_model_is_never_overwritten()
    {
        string checkpoint = Path.Combine(_dir, "c.safetensors"), model = Path.Combine(_dir, "m.safetensors");
        var (code, _, err) = CliTests.Run([.. Small, "--max-iter", "10", "--checkpoint", checkpoint, "--save", model, "--quiet"]);
        Assert.True(code == 0, err);
        byte[] checkpointBytes = File.ReadAllBytes(checkpoint), modelBytes = File.ReadAllBytes(model);
        string[] files = Directory.GetFiles(_dir);
        (code, var stdout, err) = CliTests.Run("train", "--task", "adding", "--length", "10", "--hidden", "9", "--valid-size", "20", "--check-every", "10",
            "--lr", "0.1", "--algo", "lra", "--k", "3", "--checkpoint", checkpoint);
        Assert.Equal(2, code);
        Assert.Equal($"fastlra: --checkpoint {checkpoint} holds a run with other options (--hidden 8, --algo bptt, --lr 0.01, no --k; " +
            "this command: --hidden 9, --algo lra, --lr 0.1, --k 3); give its options to resume it, or another --checkpoint file to start afresh.\n", err);
        Assert.Empty(stdout);
        (code, stdout, err) = CliTests.Run([.. Small, "--checkpoint", model]);
        Assert.Equal(2, code);
        Assert.Equal($"fastlra: --checkpoint {model} is not a FastLra checkpoint; " +
            "FastLra does not overwrite it: give another file name.\n", err);
        Assert.Empty(stdout);
        Assert.Equal(checkpointBytes, File.ReadAllBytes(checkpoint));
        Assert.Equal(modelBytes, File.ReadAllBytes(model));
        Assert.Equal(files, Directory.GetFiles(_dir));
    }

    /// <summary>
    /// <c>--resume F</c> with the run's own options repeated (as a job script re-runs its command)
    /// is accepted; each option that disagrees with F is named, with both values. --max-iter may change.
    /// </summary>
    [Fact]
    public void Resume_accepts_the_runs_own_options_and_names_each_that_disagrees()
    {
        string checkpoint = Path.Combine(_dir, "c.safetensors");
        var (code, _, err) = CliTests.Run([.. Small, "--max-iter", "10", "--checkpoint", checkpoint, "--quiet"]);
        Assert.True(code == 0, err);
        byte[] bytes = File.ReadAllBytes(checkpoint);
        (code, var stdout, err) = CliTests.Run(["train", "--resume", checkpoint, "--hidden", "9", "--task", "adding", "--algo", "lra", "--k", "3", "--max-iter", "20"]);
        Assert.Equal(2, code);
        Assert.Equal($"fastlra: --resume {checkpoint}: the checkpoint's run has other options (--hidden 8, --algo bptt, no --k; " +
            "this command: --hidden 9, --algo lra, --k 3); a resumed run keeps its own (only --max-iter may change).\n", err);
        Assert.Empty(stdout);
        Assert.Equal(bytes, File.ReadAllBytes(checkpoint));
        (code, _, err) = CliTests.Run(["train", "--resume", checkpoint, .. Small[1..], "--max-iter", "20"]);
        Assert.True(code == 0, err);
        Assert.StartsWith($"resumed {checkpoint} at iteration 10\n", err, StringComparison.Ordinal);
        Assert.Equal(20, TrainingRun.Resume(checkpoint).Iteration);
    }

    /// <summary>
    /// A checkpoint's metadata is checked with the command line's rules, the run's cost included,
    /// before anything is allocated: a 5 KB file cannot ask for gigabytes, a
    /// negative iteration or a width that wraps around.
    /// </summary>
    [Theory]
    [InlineData("hidden", "20000", "more than one array holds")]
    [InlineData("hidden", "4294967312", "--hidden 4294967312 is out of range")]
    [InlineData("valid_size", "-5", "--valid-size must be positive")]
    [InlineData("k", "2000000000", "is more than 100000 target steps")]
    [InlineData("iteration", "-9000000000000000000", "metadata 'iteration' is -9000000000000000000, outside [0, 9007199254740992]")]
    [InlineData("iteration", "9223372036854775807", "metadata 'iteration' is 9223372036854775807, outside [0, 9007199254740992]")]
    [InlineData("optimizer_steps", "-1", "metadata 'optimizer_steps' is -1, outside [0, 7] (the iterations)")]
    [InlineData("optimizer_steps", "8", "metadata 'optimizer_steps' is 8, outside [0, 7] (the iterations)")]
    [InlineData("checks_without_best", "99999999999", "metadata 'checks_without_best' is 99999999999, outside [0, 7]")]
    [InlineData("elapsed_seconds", "NaN", "metadata 'elapsed_seconds' is NaN; it must be finite and not negative")]
    [InlineData("train_loss_window", "1.5 8", "metadata 'train_loss_window' has an invalid value")]
    [InlineData("train_loss_window", "NaN 1", "metadata 'train_loss_window' has an invalid value")]
    [InlineData("train_loss_window", "1.5", "metadata 'train_loss_window' has an invalid value")]
    public void Checkpoint_metadata_is_checked_before_it_is_trusted(string key, string value, string message)
    {
        string path = Path.Combine(_dir, "hostile.safetensors");
        TrainingRun.Start(Spec("lra-local-nesterov", 7, path)).Run();
        RewriteMetadata(path, key, value);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<WeightFileException>(() => TrainingRun.Resume(path));
        Assert.Contains(message, e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20, "the refusal allocated more than the file's worth");
    }

    /// <summary>
    /// A checkpoint written when its run stopped records why: resuming a solved,
    /// out-of-patience or budget-spent run reports the same result and takes no iteration; a raised
    /// budget goes on.
    /// </summary>
    [Theory]
    [InlineData("solved")]
    [InlineData("patience")]
    [InlineData("max-iter")]
    public void Resuming_a_stopped_run_reports_the_same_result(string how)
    {
        var (options, validSize) = how switch
        {
            "solved" => (new TrainingOptions { MaxIterations = 3000 }, 200),
            "patience" => (new TrainingOptions { Hidden = 8, Batch = 4, CheckEvery = 10, Patience = 2, MaxIterations = 3000 }, 50),
            _ => (new TrainingOptions { Hidden = 8, Batch = 4, CheckEvery = 50, MaxIterations = 300, Seed = 2 }, 50),
        };
        string path = Path.Combine(_dir, how + ".safetensors");
        var first = TestRuns.Start(TaskKind.TemporalOrder, 20, options, validSize, new CheckpointPolicy(path, 0)).Run();
        Assert.Equal(how, OptionNames.StopReasons.Name(first.StopReason));

        var resumed = TrainingRun.Resume(path);
        long iteration = resumed.Iteration;
        var again = resumed.Run();
        Assert.Equal(iteration, resumed.Iteration);
        Assert.Equal(first with { WallSeconds = 0 }, again with { WallSeconds = 0 });

        if (how != "max-iter") return;
        Assert.Equal(350, TrainingRun.Resume(path, maxIterations: 350).Run().Iterations);
    }

    /// <summary>
    /// A checkpoint holding a NaN or an infinity in its weights, its optimiser state or its best
    /// check's weights, or a negative sum of squared gradients, is refused in one line naming the
    /// file, the tensor and the index.
    /// </summary>
    [Theory]
    [InlineData("Whh", 3, float.NaN, "tensor 'Whh' holds NaN at index 3; every value must be finite.")]
    [InlineData("optimizer_state", 0, float.PositiveInfinity, "tensor 'optimizer_state' holds Infinity at index 0; every value must be finite.")]
    [InlineData("optimizer_state", 89 + 2, -0.5f, "tensor 'optimizer_state' holds -0.5 at index 91; a sum of squared gradients cannot be negative.")]
    [InlineData("best_parameters", 7, float.NegativeInfinity, "tensor 'best_parameters' holds -Infinity at index 7; every value must be finite.")]
    public void A_checkpoint_holding_a_value_that_is_not_finite_is_refused(string tensor, int index, float value, string message)
    {
        string data = Path.Combine(_dir, "series.csv"), path = Path.Combine(_dir, "c.safetensors");
        File.WriteAllLines(data, ["u,y", .. Enumerable.Range(0, 60).Select(r => string.Create(CultureInfo.InvariantCulture, $"{Math.Sin(r * 0.3)},{Math.Cos(r * 0.2)}"))]);
        var spec = new RunSpec(new DataFileSource(data) { File = new DataFileOptions { InputColumns = "u", TargetColumns = "y", Window = 8 } })
        {
            Options = new TrainingOptions { Hidden = 8, Batch = 5, CheckEvery = 5, MaxIterations = 10, Optimizer = OptimizerKind.Adam },
            Checkpoint = new CheckpointPolicy(path, 0),
        };
        var run = TrainingRun.Start(spec);
        run.Run();
        Assert.Equal(89, run.Parameters.Data.Length); // Adam's second moments start at index 89
        TrainingRun.Resume(path);
        OnlineLearnerTests.RewriteTensor(path, tensor, index, value);
        var e = Assert.Throws<WeightFileException>(() => TrainingRun.Resume(path));
        Assert.Equal($"{path}: {message}", e.Message);
    }

    /// <summary>Rewrites a safetensors file with one metadata value replaced, its tensors as they were: a hostile file in one line.</summary>
    internal static void RewriteMetadata(string path, string key, string value)
    {
        var file = new SafeTensors.SafeTensorsFile(path);
        var entries = file.Tensors.Select(t => new SafeTensors.Entry(t.Name, t.DType, t.Shape, file.Raw(t).ToArray())).ToList();
        SafeTensors.Write(path, entries, [.. file.Metadata.Select(m => m.Key == key ? new KeyValuePair<string, string>(key, value) : m)]);
    }
}
