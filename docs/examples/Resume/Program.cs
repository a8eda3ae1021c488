// Checkpoint and resume from the library, as `fastlra train --checkpoint` does: a run is cancelled
// part way (as by a pre-empted job), started again with the same spec, resumes its checkpoint, and
// ends bit for bit where a run never interrupted ends. Exits 1 if it does not.
using FastLra.Tasks;
using FastLra.Training;

string directory = Directory.CreateTempSubdirectory("fastlra-resume-").FullName;
string checkpoint = Path.Combine(directory, "run.safetensors");
try
{
    // The paper's temporal order task, T = 20, with LRA and Omega; a checkpoint every 100 iterations.
    var spec = new RunSpec(new TaskSource(TaskKind.TemporalOrder, 20) { ValidSize = 1000 })
    {
        Options = new TrainingOptions { Hidden = 32, Algorithm = AlgorithmKind.Lra, Alpha = 0.1f, MaxIterations = 600, CheckEvery = 100 },
        Checkpoint = new CheckpointPolicy(checkpoint, Every: 100),
    };

    // The run, cancelled at its third check: the run writes its checkpoint as it stops.
    using (var cancel = new CancellationTokenSource())
    {
        var progress = new ConsoleProgress(Console.Out);
        var stopAtThird = new CheckCallback((run, check) =>
        {
            progress.OnCheck(run, check);
            if (check.Iteration == 300) cancel.Cancel();
        });
        var first = Trainer.Fit(spec, stopAtThird, cancel.Token);
        Console.WriteLine($"cancelled: {first}");
    }

    // The same call again finds the checkpoint and goes on from iteration 300.
    var resumed = Trainer.Fit(spec, new ConsoleProgress(Console.Out));
    Console.WriteLine($"resumed:   {resumed}");
    resumed.Model.Save(Path.Combine(directory, "model.safetensors"));

    // A run never interrupted (no checkpoint), for comparison.
    var straight = Trainer.Fit(spec with { Checkpoint = null });
    Console.WriteLine($"straight:  {straight}");

    bool same = resumed.Model.Parameters.SequenceEqual(straight.Model.Parameters)
        && resumed.Result with { WallSeconds = 0 } == straight.Result with { WallSeconds = 0 };
    Console.WriteLine(same
        ? "the resumed run equals the uninterrupted one, bit for bit"
        : "the resumed run differs from the uninterrupted one");
    return same ? 0 : 1;
}
finally
{
    Directory.Delete(directory, recursive: true);
}
