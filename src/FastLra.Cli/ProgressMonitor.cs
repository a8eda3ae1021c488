using System.Text.Json;
using FastLra.IO;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary>
/// Progress lines on stderr and the <c>--metrics</c> JSON-lines file. Each metrics line is
/// flushed as it is written, so a crash loses at most the check in flight.
/// </summary>
internal sealed class ProgressMonitor : ITrainingMonitor, IDisposable
{
    private readonly TrainingOptions _options;
    private readonly bool _quiet;
    private readonly StreamWriter? _metrics;
    private long _lastIteration;
    private double _lastSeconds;

    private readonly string? _checkpoint;

    /// <param name="resumedAt">The iteration a resumed run continues from; null for a new run.</param>
    public ProgressMonitor(TrainingOptions options, bool quiet, string? metricsPath, long? resumedAt, string? checkpointPath)
    {
        _options = options;
        _quiet = quiet;
        _checkpoint = checkpointPath;
        if (metricsPath is not null) _metrics = OpenMetrics(metricsPath, resumedAt);
    }

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

    public void OnCheck(Trainer trainer, in CheckReport report)
    {
        double rate = (report.Iteration - _lastIteration) / Math.Max(report.ElapsedSeconds - _lastSeconds, 1e-9);
        _lastIteration = report.Iteration;
        _lastSeconds = report.ElapsedSeconds;
        bool regression = trainer.Data is not null && !double.IsNaN(report.Valid.Mse);
        if (_metrics is not null)
        {
            var d = trainer.Algorithm.Diagnostics;
            bool lra = _options.Algorithm == AlgorithmKind.Lra;
            var line = new MetricsLine(report.Iteration, report.TrainLoss, report.Valid.Loss, report.Valid.Accuracy,
                report.BestValidAccuracy, report.ElapsedSeconds, rate, d.GradientNorm,
                lra && _options.Alpha != 0f ? d.OutputOmega : null,
                lra ? d.LocalLosses : null, d.DWhhNorms, d.DWxhNorms,
                lra && _options.Alpha != 0f ? d.OmegaValues : null,
                regression ? report.Valid : null, d.GradientCosine);
            _metrics.WriteLine(CliJson.Serialize(line.Write));
            _metrics.Flush();
        }
        if (_quiet) return;
        // The ETA is to the iteration budget at the last interval's pace: an upper bound, since
        // patience (and, on a task, solving it) can end the run sooner; the line says so.
        double eta = (trainer.MaxIterations - report.Iteration) / Math.Max(rate, 1e-9);
        string budget = _options.Data is { Epochs: > 0 } data ? $"{data.Epochs} epochs" : "--max-iter";
        string sooner = trainer.Data is null ? "if solved or " : "";
        string quality = regression
            ? $"rmse {report.Valid.Rmse,9:G5} mae {report.Valid.Mae,9:G5} R² {report.Valid.R2,7:F4}"
            : $"acc {report.Valid.Accuracy,7:P2}  best {report.BestValidAccuracy,7:P2}";
        double cosine = trainer.Algorithm.Diagnostics.GradientCosine;
        string conditioning = double.IsNaN(cosine) ? "" : $"cos {cosine:F6}  ";
        Console.Error.WriteLine(
            $"it {report.Iteration,7}/{trainer.MaxIterations}  {rate,8:F0} it/s  train {report.TrainLoss,9:G5}  " +
            $"valid {report.Valid.Loss,9:G5} {quality}  {conditioning}" +
            $"ETA ≤ {FormatSeconds(eta)} ({budget}; sooner {sooner}after {_options.Patience - report.ChecksWithoutBest} checks without a new best)");
    }

    void ITrainingMonitor.OnCheckpoint(Trainer trainer, LoopState state)
    {
        if (_checkpoint is not null) Checkpoint.Write(_checkpoint, trainer, state);
    }

    public void Dispose() => _metrics?.Dispose();

    internal static string FormatSeconds(double seconds) =>
        seconds switch
        {
            < 120 => $"{seconds:F0}s",
            < 7200 => $"{seconds / 60:F0}m",
            _ => $"{seconds / 3600:F1}h",
        };
}
