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

    public static TheoryData<string> Runs() => new() { "bptt-adam", "lra-local-nesterov", "lra-reference-rmsprop", "lra-local-adagrad-mse" };

    private static TrainingOptions Options(string run, long maxIterations) => run switch
    {
        "bptt-adam" => new() { Task = TaskKind.Adding, Length = 12, Hidden = 16, ValidSize = 50, CheckEvery = 7, Optimizer = OptimizerKind.Adam, LearningRate = 0.01f, MaxIterations = maxIterations },
        "lra-local-nesterov" => new() { Task = TaskKind.TemporalOrder, Length = 12, Hidden = 16, ValidSize = 50, CheckEvery = 7, Optimizer = OptimizerKind.Nesterov, Algorithm = AlgorithmKind.Lra, Alpha = 0.1f, K = 3, MaxIterations = maxIterations },
        "lra-reference-rmsprop" => new() { Task = TaskKind.TemporalOrder3Bit, Length = 11, Hidden = 24, ValidSize = 50, CheckEvery = 7, Optimizer = OptimizerKind.RmsProp, LearningRate = 0.001f, Algorithm = AlgorithmKind.Lra, Semantics = LraSemantics.Reference, Alpha = 0.1f, K = 2, MaxIterations = maxIterations },
        _ => new() { Task = TaskKind.RandomPermutation, Length = 10, Hidden = 16, Batch = 5, ValidSize = 50, CheckEvery = 7, Optimizer = OptimizerKind.Adagrad, Algorithm = AlgorithmKind.Lra, LocalLoss = LocalLossKind.Mse, ClipMode = ClipMode.Always, K = 2, MaxIterations = maxIterations },
    };

    private sealed class Writer(string path) : ITrainingMonitor
    {
        public void OnCheck(Trainer trainer, in CheckReport report)
        {
        }

        public void OnCheckpoint(Trainer trainer, LoopState state) => Checkpoint.Write(path, trainer, state);
    }

    /// <summary>Records every check's training loss and evaluation; cancels after the checkpoint at <paramref name="stopAt"/>.</summary>
    private sealed class Recorder(string path, long stopAt, CancellationTokenSource? cancel) : ITrainingMonitor
    {
        public List<(long, double, Evaluation)> Checks { get; } = [];

        public void OnCheck(Trainer trainer, in CheckReport report) => Checks.Add((report.Iteration, report.TrainLoss, report.Valid));

        public void OnCheckpoint(Trainer trainer, LoopState state)
        {
            Checkpoint.Write(path, trainer, state);
            if (trainer.Iteration == stopAt) cancel?.Cancel();
        }
    }

    /// <summary>
    /// A checkpoint between two checks carries the training losses summed since the first (issue 15,
    /// item 9): the resumed run's next check reports the training loss the uninterrupted run does.
    /// </summary>
    [Theory]
    [MemberData(nameof(Runs))]
    public void A_checkpoint_between_checks_keeps_the_training_loss_window(string run)
    {
        var straight = new Recorder(Path.Combine(_dir, "straight.safetensors"), -1, null);
        TrainingLoop.Run(new Trainer(Options(run, 42)), straight);

        string path = Path.Combine(_dir, "resumed.safetensors");
        using var cancel = new CancellationTokenSource();
        var first = new Recorder(path, 24, cancel);
        Assert.Equal(StopReason.Cancelled, TrainingLoop.Run(new Trainer(Options(run, 42)), first, checkpointEvery: 12, cancel: cancel.Token).StopReason);
        var (resumed, loop) = Checkpoint.Resume(path);
        Assert.Equal((24L, 3), (resumed.Iteration, loop.WindowCount));
        var second = new Recorder(path, -1, null);
        TrainingLoop.Run(resumed, second, loop);
        Assert.Equal(straight.Checks, [.. first.Checks, .. second.Checks]);
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void N_iterations_equal_half_then_resume_then_half_bit_for_bit(string run)
    {
        // Half of n is a whole number of checks (every 7), so the first half's closing check is one
        // the straight run makes too, and the best accuracies must agree as well.
        const int n = 42;
        var straight = new Trainer(Options(run, n));
        var straightResult = TrainingLoop.Run(straight, null);

        string path = Path.Combine(_dir, run + ".safetensors");
        var first = new Trainer(Options(run, n / 2));
        TrainingLoop.Run(first, new Writer(path), checkpointEvery: long.MaxValue);
        var (resumed, loop) = Checkpoint.Resume(path, maxIterations: n);
        Assert.Equal(n / 2, resumed.Iteration);
        var resumedResult = TrainingLoop.Run(resumed, null, loop);

        Assert.Equal(straight.Parameters.Data.ToArray(), resumed.Parameters.Data.ToArray());
        Assert.Equal(straight.Optimizer.State.ToArray(), resumed.Optimizer.State.ToArray());
        Assert.Equal(straightResult.Iterations, resumedResult.Iterations);
        Assert.Equal(straightResult.BestValidAccuracy, resumedResult.BestValidAccuracy);
        Assert.Equal(straightResult.FinalValidLoss, resumedResult.FinalValidLoss);
        // The checkpoint is a weight file too.
        var (weights, _) = ModelFile.Load(path);
        Assert.Equal(straight.Parameters.Shape, weights.Shape);
    }

    [Fact]
    public void Periodic_checkpoints_replace_the_file_atomically()
    {
        string path = Path.Combine(_dir, "periodic.safetensors");
        var trainer = new Trainer(Options("bptt-adam", 30));
        TrainingLoop.Run(trainer, new Writer(path), checkpointEvery: 10);
        var (resumed, _) = Checkpoint.Resume(path);
        Assert.Equal(30, resumed.Iteration);
        Assert.Single(Directory.GetFiles(_dir)); // no temporary file left behind
    }

    [Fact]
    public void A_weight_file_is_not_a_checkpoint()
    {
        string path = Path.Combine(_dir, "weights.safetensors");
        var trainer = new Trainer(Options("bptt-adam", 1));
        ModelFile.Save(path, trainer.Parameters, null, null);
        var e = Assert.Throws<WeightFileException>(() => Checkpoint.Resume(path));
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
        var (resumed, _) = Checkpoint.Resume(checkpoint);
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
        var options = new TrainingOptions
        {
            Task = TaskKind.Adding, Length = 400, Hidden = 8, Batch = 2, Algorithm = AlgorithmKind.Lra, K = 100_000, ValidSize = 20, CheckEvery = 1000, MaxIterations = 3,
        };
        string checkpoint = Path.Combine(_dir, "long.safetensors");
        // The checkpoint at iteration 0 the same command would write if stopped before its first iteration.
        using (var stopped = new CancellationTokenSource())
        {
            stopped.Cancel();
            TrainingLoop.Run(TrainerFactory.Create(options), new Writer(checkpoint), checkpointEvery: long.MaxValue, cancel: stopped.Token);
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
        Assert.Equal(0, Checkpoint.Resume(checkpoint).Trainer.Iteration);
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
        Assert.Equal(40, Checkpoint.Resume(checkpoint).Trainer.Iteration);
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
        Assert.Equal($"fastlra: --checkpoint {model} is not a FastLra checkpoint (its metadata has no format 'fastlra-checkpoint'); " +
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
        Assert.Equal(20, Checkpoint.Resume(checkpoint).Trainer.Iteration);
    }

    /// <summary>
    /// A checkpoint written before the batch sources (the generator's key as <c>generator_key</c>,
    /// its position in the metadata, no <c>source_state</c>) resumes the run bit for bit.
    /// </summary>
    [Fact]
    public void A_checkpoint_from_before_the_batch_sources_resumes_bit_for_bit()
    {
        const int n = 30;
        var straight = new Trainer(Options("lra-local-nesterov", n));
        TrainingLoop.Run(straight, null);

        string path = Path.Combine(_dir, "new.safetensors"), legacy = Path.Combine(_dir, "legacy.safetensors");
        TrainingLoop.Run(new Trainer(Options("lra-local-nesterov", n / 2)), new Writer(path), checkpointEvery: long.MaxValue);
        var file = new SafeTensors.SafeTensorsFile(path);
        var state = new uint[file.Find("source_state")!.Shape[0]];
        file.ReadUInt32s(file.Find("source_state")!, state);
        var entries = new List<SafeTensors.Entry>();
        foreach (var tensor in file.Tensors)
        {
            if (tensor.Name == "source_state") continue;
            entries.Add(new SafeTensors.Entry(tensor.Name, tensor.DType, tensor.Shape, file.Raw(tensor).ToArray()));
        }
        entries.Add(SafeTensors.UInt32s("generator_key", state.AsSpan(0, 624)));
        var metadata = file.Metadata.ToList();
        metadata.Add(new("generator_index", state[624].ToString(System.Globalization.CultureInfo.InvariantCulture)));
        metadata.Add(new("generator_has_gauss", state[625].ToString(System.Globalization.CultureInfo.InvariantCulture)));
        metadata.Add(new("generator_gauss", BitConverter.UInt64BitsToDouble(state[626] | ((ulong)state[627] << 32)).ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        SafeTensors.Write(legacy, entries, metadata);

        var (resumed, loop) = Checkpoint.Resume(legacy, maxIterations: n);
        TrainingLoop.Run(resumed, null, loop);
        Assert.Equal(straight.Parameters.Data.ToArray(), resumed.Parameters.Data.ToArray());
    }

    /// <summary>
    /// A checkpoint's metadata is checked with the command line's rules, the run's cost included,
    /// before anything is allocated (issue 15, item 4): a 5 KB file cannot ask for gigabytes, a
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
        TrainingLoop.Run(new Trainer(Options("lra-local-nesterov", 7)), new Writer(path), checkpointEvery: long.MaxValue);
        RewriteMetadata(path, key, value);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<WeightFileException>(() => Checkpoint.Resume(path));
        Assert.Contains(message, e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20, "the refusal allocated more than the file's worth");
    }

    /// <summary>
    /// A checkpoint written when its run stopped records why (issue 15, item 2): resuming a solved,
    /// out-of-patience or budget-spent run reports the same result and takes no iteration; a raised
    /// budget goes on.
    /// </summary>
    [Theory]
    [InlineData("solved")]
    [InlineData("patience")]
    [InlineData("max-iter")]
    public void Resuming_a_stopped_run_reports_the_same_result(string how)
    {
        var options = how switch
        {
            "solved" => new TrainingOptions { Task = TaskKind.TemporalOrder, Length = 20, ValidSize = 200, MaxIterations = 3000 },
            "patience" => new TrainingOptions { Task = TaskKind.TemporalOrder, Length = 20, Hidden = 8, Batch = 4, ValidSize = 50, CheckEvery = 10, Patience = 2, MaxIterations = 3000 },
            _ => new TrainingOptions { Task = TaskKind.TemporalOrder, Length = 20, Hidden = 8, Batch = 4, ValidSize = 50, CheckEvery = 50, MaxIterations = 300, Seed = 2 },
        };
        string path = Path.Combine(_dir, how + ".safetensors");
        var first = TrainingLoop.Run(new Trainer(options), new Writer(path), checkpointEvery: long.MaxValue);
        Assert.Equal(how, FastLra.Cli.TrainingCommands.StopReasonName(first.StopReason));

        var (resumed, loop) = Checkpoint.Resume(path);
        long iteration = resumed.Iteration;
        var again = TrainingLoop.Run(resumed, null, loop);
        Assert.Equal(iteration, resumed.Iteration);
        Assert.Equal(first with { WallSeconds = 0 }, again with { WallSeconds = 0 });

        if (how != "max-iter") return;
        var (raised, raisedLoop) = Checkpoint.Resume(path, maxIterations: 350);
        var more = TrainingLoop.Run(raised, null, raisedLoop);
        Assert.Equal(350, more.Iterations);
    }

    /// <summary>Rewrites a safetensors file with one metadata value replaced, its tensors as they were: a hostile file in one line.</summary>
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
        var options = new TrainingOptions
        {
            Data = new DataOptions { Path = data, File = new DataFileOptions { InputColumns = "u", TargetColumns = "y", Window = 8 } },
            Hidden = 8, Batch = 5, CheckEvery = 5, MaxIterations = 10, Optimizer = OptimizerKind.Adam,
        };
        var trainer = TrainerFactory.Create(options);
        TrainingLoop.Run(trainer, new Writer(path), checkpointEvery: long.MaxValue);
        Assert.Equal(89, trainer.Parameters.Data.Length); // Adam's second moments start at index 89
        Checkpoint.Resume(path);
        OnlineLearnerTests.RewriteTensor(path, tensor, index, value);
        var e = Assert.Throws<WeightFileException>(() => Checkpoint.Resume(path));
        Assert.Equal($"{path}: {message}", e.Message);
    }

    internal static void RewriteMetadata(string path, string key, string value)
    {
        var file = new SafeTensors.SafeTensorsFile(path);
        var entries = file.Tensors.Select(t => new SafeTensors.Entry(t.Name, t.DType, t.Shape, file.Raw(t).ToArray())).ToList();
        SafeTensors.Write(path, entries, [.. file.Metadata.Select(m => m.Key == key ? new KeyValuePair<string, string>(key, value) : m)]);
    }
}
