using FastLra.Cli.Sweep;
using FastLra.Data;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary><c>fastlra sweep</c>: every run of a grid, in parallel and resumably, into one directory.</summary>
internal sealed class SweepCommand : Command
{
    public override string Name => "sweep";

    public override string Summary => "train every run of a grid, in parallel and resumably";

    public override string Usage => "fastlra sweep --grid G.json|JSON --out DIR [--workers N] [--shard i/n] [--checkpoint-every N] [--conditioning] [--dry-run]";

    public override IReadOnlyList<CliFlag> Flags { get; } =
    [
        new("grid", "json|file",
            "the grid, inline or in a file: a JSON object mapping train options (as on the command line, without the dashes) to lists of values, or an array of such objects",
            required: true),
        new("out", "dir", "directory for runs.jsonl (a line per finished run: its result and metrics), the working files of unfinished runs, and summary.csv", required: true),
        new("workers", "int", "trainings at once", @default: "one per core"),
        new("shard", "i/n", "run only share i of n (\"i/n\"), or \"n\" with i from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID; a Slurm job array needs no flag"),
        new("checkpoint-every", "int", "iterations between each run's checkpoints; 0 = only when interrupted", @default: "1000"),
        new("dry-run", null, "print each run's id and train command without running anything"),
        new("conditioning", null, TrainCommand.ConditioningHelp),
    ];

    public override int Run(CliArguments a, CancellationToken cancel)
    {
        string grid = a.Required("grid"), @out = a.Required("out");
        long workers = a.Long("workers", 0), checkpointEvery = a.Long("checkpoint-every", 1000);
        if (workers < 0) throw new UsageException($"--workers must be >= 0, got {workers}.");
        if (checkpointEvery < 0) throw new UsageException($"--checkpoint-every must be >= 0, got {checkpointEvery}.");
        var share = Shard.Resolve(a.Flag("shard"), Environment.GetEnvironmentVariable);
        var runs = SweepGrid.Load(grid);
        var mine = runs.Where(r => share.Contains(r.Index)).ToList();
        if (a.Has("dry-run"))
        {
            foreach (var run in mine) Console.Out.WriteLine($"{run.Id}\t{run.Command}");
            return CliExit.Ok;
        }
        CliArguments.CheckOutput("out", @out, directory: true);
        // A data file the grid names that is not there is the grid's problem: refused before any run starts.
        foreach (string data in mine.Select(r => r.Spec.Source).OfType<DataFileSource>().SelectMany(f => (string?[])[f.Path, f.ValidPath]).OfType<string>().Distinct())
        {
            try
            {
                DataFiles.CheckReadable(data);
            }
            catch (DataFormatException e)
            {
                throw new DataFormatException($"the grid's data file {e.Message} No run was started.");
            }
        }
        int threads = workers == 0 ? Environment.ProcessorCount : (int)Math.Min(workers, 1024);
        var runner = new SweepRunner(@out, checkpointEvery, Console.Error, a.Has("conditioning")).Open();
        Console.Error.WriteLine(
            $"sweep: {runs.Count} runs in the grid, {mine.Count} in shard {share.Index}/{share.Count}, {threads} workers, into {@out}");
        var outcome = runner.Run(mine, threads, cancel);
        var results = runner.Results(runs);
        SweepRunner.WriteSummary(Path.Combine(@out, "summary.csv"), runs, results);
        Console.Error.WriteLine(
            $"sweep: {outcome.Finished} finished, {outcome.Skipped} already done, {outcome.Busy} busy elsewhere, {outcome.Failed} failed, " +
            $"{outcome.Interrupted} interrupted; {results.Count} of {runs.Count} runs of the grid have results ({Path.Combine(@out, "summary.csv")})");
        if (outcome.Interrupted > 0) Console.Error.WriteLine("fastlra: sweep interrupted; run the same command again to resume it.");
        return outcome.Failed > 0 || outcome.Interrupted > 0 ? CliExit.Failure : CliExit.Ok;
    }
}
