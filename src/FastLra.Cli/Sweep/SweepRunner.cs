using System.Globalization;
using System.Text.Json;
using System.Text;
using FastLra.Data;
using FastLra.IO;
using FastLra.Training;

namespace FastLra.Cli.Sweep;

/// <summary>What became of the runs a sweep was asked to do.</summary>
internal readonly record struct SweepOutcome(int Finished, int Skipped, int Busy, int Failed, int Interrupted);

/// <summary>
/// Runs a sweep's runs in parallel, one training per worker thread, into one directory. A finished
/// run is one line of <c>runs.jsonl</c> (<see cref="SweepStore"/>: its result and its metrics); a
/// run in progress has working files, <c>ID.metrics.jsonl</c> (one line per check),
/// <c>ID.checkpoint.safetensors</c> and <c>ID.lock</c> (while a process works on it), which go once
/// its line is written. A recorded run is skipped; a run with a checkpoint continues from it, so a
/// sweep resumes after any interruption; a locked run belongs to another process on the same
/// directory.
/// </summary>
internal sealed class SweepRunner(string directory, long checkpointEvery, TextWriter log, bool conditioning = false)
{
    private readonly SweepStore _store = new(directory);

    public static string MetricsPath(string directory, string id) => Path.Combine(directory, id + ".metrics.jsonl");

    /// <summary>Where a run that failed keeps its message (until it is run again and finishes).</summary>
    public static string ErrorPath(string directory, string id) => Path.Combine(directory, id + ".error");

    private static string CheckpointPath(string directory, string id) => Path.Combine(directory, id + ".checkpoint.safetensors");

    private enum Status { Finished, Skipped, Busy, Failed, Interrupted }

    private bool _opened;

    /// <summary>
    /// Makes the directory and reads what is recorded in it, so a file that cannot be read there stops the sweep before it starts; <see cref="Run"/>
    /// does it first if it was not done.
    /// </summary>
    public SweepRunner Open()
    {
        Directory.CreateDirectory(directory);
        _store.Refresh(log);
        _opened = true;
        return this;
    }

    public SweepOutcome Run(IReadOnlyList<SweepRun> runs, int workers, CancellationToken cancel)
    {
        if (!_opened) Open();
        int next = -1, handled = 0, worked = 0;
        var counts = new int[5];
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        // The cores are the workers': a run validates on its share of them (one each with a worker per core).
        int validationThreads = Math.Max(1, Environment.ProcessorCount / Math.Max(1, Math.Min(workers, runs.Count)));
        void Work()
        {
            for (int i = Interlocked.Increment(ref next); i < runs.Count && !cancel.IsCancellationRequested; i = Interlocked.Increment(ref next))
            {
                var run = runs[i];
                Status status;
                string line;
                try
                {
                    status = RunOne(run, validationThreads, cancel, out line);
                }
#pragma warning disable CA1031 // One run's failure, whatever it is, is recorded as that run's and the others go on.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    string message = e is IOException or UnauthorizedAccessException or WeightFileException or InvalidDataException or DataFormatException
                        or OptionException or UsageException ? e.Message : $"internal error: {e.GetType().Name}: {e.Message}";
                    (status, line) = (Status.Failed, $"failed: {message}");
                    RecordFailure(run, message);
                }
                Interlocked.Increment(ref counts[(int)status]);
                int position = Interlocked.Increment(ref handled);
                if (status == Status.Skipped) continue;
                if (status == Status.Busy)
                {
                    log.WriteLine($"[{position,4}/{runs.Count}] {run.Id}: {line}");
                    continue;
                }
                // The ETA assumes the runs left take as long as this process's runs so far, with as many workers.
                int done = Interlocked.Increment(ref worked);
                double eta = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds / done * (runs.Count - position);
                log.WriteLine($"[{position,4}/{runs.Count}, ETA {ConsoleProgress.Time(eta)}] {run.Id}: {line}");
            }
        }
        var threads = new Thread[Math.Max(1, Math.Min(workers, runs.Count))];
        for (int w = 0; w < threads.Length; w++)
        {
            threads[w] = new Thread(Work) { Name = $"sweep worker {w}" };
            threads[w].Start();
        }
        foreach (var thread in threads) thread.Join();
        // Runs never started because the sweep was interrupted count as interrupted too.
        return new SweepOutcome(counts[(int)Status.Finished], counts[(int)Status.Skipped], counts[(int)Status.Busy],
            counts[(int)Status.Failed], counts[(int)Status.Interrupted] + runs.Count - handled);
    }

    /// <summary>Writes a failed run's message beside its other files (summary.csv shows it); a failure to write it is logged, not thrown.</summary>
    private void RecordFailure(SweepRun run, string message)
    {
        try
        {
            AtomicFile.WriteAllText(ErrorPath(directory, run.Id), message + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.WriteLine($"fastlra: could not record the failure of {run.Id}: {e.Message}");
        }
    }

    /// <summary>Runs (or continues) one run; returns what became of it and a line for the log.</summary>
    private Status RunOne(SweepRun run, int validationThreads, CancellationToken cancel, out string summary)
    {
        summary = "";
        string lockPath = Path.Combine(directory, run.Id + ".lock");
        if (_store.Contains(run.Id))
        {
            // A kill after the run's line and before its working files' deletion or the lock's
            // release leaves those files: tidy them (under the lock, which a live owner would hold).
            if (File.Exists(lockPath) || File.Exists(CheckpointPath(directory, run.Id)) || File.Exists(MetricsPath(directory, run.Id)))
            {
                using var tidy = TryLock(lockPath);
                if (tidy is not null) DeleteWorkingFiles(run.Id);
            }
            return Status.Skipped;
        }
        using var runLock = TryLock(lockPath);
        if (runLock is null)
        {
            summary = "busy in another process";
            return Status.Busy;
        }
        // Another process may have finished it between the check and the lock.
        if (_store.Contains(run.Id))
        {
            DeleteWorkingFiles(run.Id);
            return Status.Skipped;
        }

        // A checkpoint there is this run, pre-empted: it resumes (one of other options is refused).
        string checkpoint = CheckpointPath(directory, run.Id);
        bool resumed = File.Exists(checkpoint);
        var training = TrainingRun.StartOrResume(run.Spec with { Checkpoint = new CheckpointPolicy(checkpoint, checkpointEvery) });
        training.MeasureConditioning = conditioning;
        training.ValidationThreads = validationThreads;
        TrainingResult outcome;
        using (var metrics = new MetricsFile(MetricsPath(directory, run.Id), resumed ? training.Iteration : null))
        {
            outcome = training.Run(metrics, cancel);
        }
        if (outcome.StopReason == StopReason.Cancelled)
        {
            summary = $"interrupted at iteration {outcome.Iterations}, checkpoint kept";
            return Status.Interrupted;
        }
        var report = new SweepResult(run.Id, run.Command, TrainReport.Create(run.Spec, outcome, null, training.Data), run.Digests);
        _store.Append(report, MetricsLines(MetricsPath(directory, run.Id)));
        DeleteWorkingFiles(run.Id);
        string quality = outcome.Valid.Count == 0 ? "no validation check ran"
            : report.Run.Data is { Regression: true } d
            ? string.Create(CultureInfo.InvariantCulture, $"best check at iteration {d.BestIteration}: valid R² {d.Valid.R2:F4}")
            : string.Create(CultureInfo.InvariantCulture, $"best valid accuracy {outcome.BestValidAccuracy:P2}");
        summary = string.Create(CultureInfo.InvariantCulture, $"{report.Run.StopReason} at iteration {outcome.Iterations}, {quality}, {outcome.WallSeconds:F1} s");
        return Status.Finished;
    }

    /// <summary>A recorded run's working files: its metrics lines, checkpoint and failure message.</summary>
    private void DeleteWorkingFiles(string id)
    {
        AtomicFile.Delete(MetricsPath(directory, id));
        AtomicFile.Delete(CheckpointPath(directory, id));
        AtomicFile.Delete(ErrorPath(directory, id));
    }

    /// <summary>A metrics file's whole lines (each at most <see cref="MetricsFile.MaxLineBytes"/>, as a resumed run reads them; none for a missing file).</summary>
    internal static List<string> MetricsLines(string path)
    {
        var lines = new List<string>();
        LineLog.Read(path, 0, MetricsFile.MaxLineBytes, line => lines.Add(Encoding.UTF8.GetString(line.Span)));
        return lines;
    }

    /// <summary>An exclusive lock file, released (and deleted) on dispose; null when another process holds it.</summary>
    private static FileStream? TryLock(string path)
    {
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (IOException) when (File.Exists(path))
        {
            return null;
        }
    }

    /// <summary>The recorded result of every run of <paramref name="runs"/> that has one (damaged lines are left out, as runs still to do).</summary>
    public static Dictionary<string, SweepResult> ReadResults(string directory, IEnumerable<SweepRun> runs) => Results(new SweepStore(directory), runs);

    /// <summary>As <see cref="ReadResults"/>, from the results this runner has read, and those appended since: a grid's results are held once.</summary>
    public Dictionary<string, SweepResult> Results(IEnumerable<SweepRun> runs) => Results(_store, runs);

    private static Dictionary<string, SweepResult> Results(SweepStore store, IEnumerable<SweepRun> runs)
    {
        store.Refresh();
        var results = new Dictionary<string, SweepResult>(StringComparer.Ordinal);
        foreach (var run in runs)
            if (store.Results.TryGetValue(run.Id, out var result)) results[run.Id] = result;
        return results;
    }

    /// <summary>An error file larger than this is damaged (a message is a line).</summary>
    private const int MaxResultBytes = 1 << 20;

    /// <summary>A failed run's message, or null when it has none (an unreadable one says so).</summary>
    private static string? ReadError(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return Encoding.UTF8.GetString(BoundedFile.ReadAllBytes(path, MaxResultBytes)).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"(the message in {path} cannot be read: {e.Message})";
        }
    }

    /// <summary>
    /// summary.csv: one row per run of the grid, its status (done, failed or pending), its options (a
    /// column for every option of the table that applies to some run of the grid, empty where it
    /// does not apply), its outcome (empty until it has one) and a failed run's message.
    /// </summary>
    public static void WriteSummary(string path, IReadOnlyList<SweepRun> runs, Dictionary<string, SweepResult> results)
    {
        var columns = new List<TrainingOption>();
        foreach (var option in TrainingOptionTable.All)
            foreach (var run in runs)
                if (option.Records(run.Spec))
                {
                    columns.Add(option);
                    break;
                }
        string directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        // Row by row into the file: a grid of 100,000 runs never holds its whole table in memory.
        AtomicFile.Write(path, stream =>
        {
            using var csv = new StreamWriter(stream, leaveOpen: true);
            csv.Write("id,status");
            foreach (var option in columns) csv.Write("," + option.Key);
            csv.Write(",solved,stop_reason,iterations,best_valid_accuracy,final_valid_accuracy,final_valid_loss,final_train_loss,wall_seconds,seconds_per_iteration,error\n");
            foreach (var run in runs)
            {
                var o = run.Spec;
                bool has = results.TryGetValue(run.Id, out var result);
                string? error = has ? null : ReadError(ErrorPath(directory, run.Id));
                csv.Write(run.Id);
                csv.Write(has ? ",done" : error is null ? ",pending" : ",failed");
                foreach (var option in columns)
                {
                    csv.Write(',');
                    if (!option.AppliesTo(o)) continue; // a column some run records: every run it applies to shows its value
                    string value = option.Show(o); // 0.1, not the double 0.10000000149011612
                    csv.Write(value.Contains(',', StringComparison.Ordinal) ? $"\"{value}\"" : value);
                }
                if (has)
                {
                    var r = result!.Run;
                    csv.Write(string.Create(CultureInfo.InvariantCulture,
                        $",{(r.Solved ? "true" : "false")},{r.StopReason},{r.Iterations},{r.BestValidAccuracy:R},{r.FinalValidAccuracy:R},{r.FinalValidLoss:R},{r.FinalTrainLoss:R},{r.WallSeconds:R},{r.SecondsPerIteration:R}"));
                }
                else
                {
                    csv.Write(",,,,,,,,,");
                }
                csv.Write(',');
                if (error is not null) csv.Write("\"" + error.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"");
                csv.Write('\n');
            }
        });
    }
}
