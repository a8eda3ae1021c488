using System.Text.Json;
using FastLra.IO;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary>
/// The <c>--metrics</c> file: one JSON line per validation check (the run's figures, its
/// diagnostics and its pace), each flushed as it is written, so a crash loses at most the check in flight.
/// </summary>
internal sealed class MetricsFile : ITrainingObserver, IDisposable
{
    private readonly StreamWriter _metrics;
    private long _lastIteration;
    private double _lastSeconds;

    /// <param name="path">The file.</param>
    /// <param name="resumedAt">The iteration a resumed run continues from (the lines after it are dropped, and made again); null for a new run.</param>
    public MetricsFile(string path, long? resumedAt) => _metrics = OpenMetrics(path, resumedAt);

    /// <summary>
    /// A metrics file (JSON lines) opened to write line by line: in place, not replaced, so never
    /// through a symbolic link or a hard link planted in its stead, nor into a FIFO
    /// (<see cref="OutputFile.OpenInPlace"/>); killed writers' temporaries beside it are removed. A
    /// run resumed at <paramref name="resumedAt"/> appends, after dropping the checks made after its
    /// checkpoint (they are made again); a new run (null) starts the file afresh.
    /// </summary>
    internal static StreamWriter OpenMetrics(string path, long? resumedAt)
    {
        try
        {
            OutputFile.CheckExisting(path);
            if (resumedAt is long iteration) KeepThrough(path, iteration);
            AtomicFile.RemoveStaleTemporaries(path);
            var stream = OutputFile.OpenInPlace(path, FileAccess.Write);
            if (resumedAt is null) stream.SetLength(0);
            else stream.Seek(0, SeekOrigin.End);
            return new StreamWriter(stream);
        }
        catch (Exception e) when ((e is IOException or UnauthorizedAccessException) && !e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new IOException($"{path}: {e.Message}.", e);
        }
    }

    /// <summary>
    /// Rewrites a metrics file (atomically) without lines after <paramref name="iteration"/> or cut
    /// short by a crash; line by line, so a long run's metrics never need to fit in memory.
    /// </summary>
    internal static void KeepThrough(string path, long iteration)
    {
        if (Lines(path, iteration, null) == 0) return;
        AtomicFile.Write(path, stream => Lines(path, iteration, stream));
    }

    /// <summary>
    /// The longest metrics line read back (a check of a run of 100,000 steps writes about 8 MB);
    /// a longer one is damage, dropped unread like a line a crash cut short.
    /// </summary>
    internal const int MaxLineBytes = 16 << 20;

    // Copies the lines to keep to the stream (if any); returns how many lines are dropped: those
    // after the iteration, those that do not parse, those over MaxLineBytes and a last line
    // without its newline. Never holds more than one line of at most MaxLineBytes.
    private static int Lines(string path, long iteration, Stream? keep)
    {
        int dropped = 0;
        var (end, skipped) = LineLog.Read(path, 0, MaxLineBytes, line =>
        {
            using var document = ParseLine(line);
            if (document is not null && document.RootElement.TryGetProperty("iteration", out var it) && it.TryGetInt64(out long i) && i <= iteration)
            {
                keep?.Write(line.Span);
                keep?.WriteByte((byte)'\n');
            }
            else
            {
                dropped++;
            }
        });
        var file = new FileInfo(path);
        return dropped + skipped + (file.Exists && file.Length > end ? 1 : 0);
    }

    /// <summary>A metrics line (UTF-8), or null for one that is not JSON.</summary>
    internal static JsonDocument? ParseLine(ReadOnlyMemory<byte> line)
    {
        try
        {
            return JsonDocument.Parse(line);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A metrics line, or null for one a crash cut short.</summary>
    internal static JsonDocument? ParseLine(string line)
    {
        try
        {
            return JsonDocument.Parse(line);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public void OnCheck(TrainingRun run, in CheckReport report)
    {
        double rate = (report.Iteration - _lastIteration) / Math.Max(report.ElapsedSeconds - _lastSeconds, 1e-9);
        (_lastIteration, _lastSeconds) = (report.Iteration, report.ElapsedSeconds);
        var o = run.Spec.Options;
        var d = run.Algorithm.Diagnostics;
        bool lra = o.Algorithm == AlgorithmKind.Lra, regression = run.Data is not null && !double.IsNaN(report.Valid.Mse);
        var line = new MetricsLine(report.Iteration, report.TrainLoss, report.Valid.Loss, report.Valid.Accuracy,
            report.BestValidAccuracy, report.ElapsedSeconds, rate, d.GradientNorm,
            lra && o.Alpha != 0f ? d.OutputOmega : null,
            lra ? d.LocalLosses : null, d.DWhhNorms, d.DWxhNorms,
            lra && o.Alpha != 0f ? d.OmegaValues : null,
            regression ? report.Valid : null, d.GradientCosine, run.LearningRate);
        _metrics.WriteLine(CliJson.Serialize(line.Write));
        _metrics.Flush();
    }

    public void Dispose() => _metrics.Dispose();
}

/// <summary>Tells every one of its observers (those not null) of each check, in order.</summary>
internal sealed class Observers(params ITrainingObserver?[] observers) : ITrainingObserver
{
    public void OnCheck(TrainingRun run, in CheckReport report)
    {
        foreach (var observer in observers) observer?.OnCheck(run, report);
    }
}
