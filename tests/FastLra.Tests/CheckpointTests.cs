using System.Diagnostics;
using System.Text.Json;
using FastLra.IO;
using FastLra.Kernels;
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
        SafeTensors.Write(path, trainer.Parameters, null);
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
    [InlineData("iteration", "-9000000000000000000", "iteration count must be >= 0")]
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
    internal static void RewriteMetadata(string path, string key, string value)
    {
        var file = new SafeTensors.SafeTensorsFile(path);
        var entries = file.Tensors.Select(t => new SafeTensors.Entry(t.Name, t.DType, t.Shape, file.Raw(t).ToArray())).ToList();
        SafeTensors.Write(path, entries, [.. file.Metadata.Select(m => m.Key == key ? new KeyValuePair<string, string>(key, value) : m)]);
    }
}
