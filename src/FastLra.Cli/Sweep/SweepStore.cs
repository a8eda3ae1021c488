using System.Text;
using System.Text.Json;
using FastLra.IO;

namespace FastLra.Cli.Sweep;

/// <summary>
/// A sweep's finished runs, one JSON line each in <c>DIR/runs.jsonl</c>: <c>format_version</c>, <c>id</c>, <c>command</c>,
/// for a run on data <c>data_sha256</c> (and <c>valid_data_sha256</c>), <c>run</c> (its <c>train --json</c> report)
/// and <c>metrics</c> (its check lines, in order). A run
/// is recorded by one appended line (<see cref="LineLog"/>: whole, flushed to disk, under a lock
/// that the processes sharing the directory take in turn), which is the moment it counts as done;
/// if an id has more than one line, the last counts. The runs in progress keep their working files
/// beside it (checkpoint, metrics, lock), which go once the line is written.
/// </summary>
internal sealed class SweepStore(string directory)
{
    public const string FileName = "runs.jsonl";

    /// <summary>The version of a line's layout; a line of another is skipped as damaged (and its run redone).</summary>
    public const int FormatVersion = 1;

    /// <summary>A line larger than this is damaged (a run of 100,000 iterations with checks every 100 writes about 2 MB).</summary>
    private const int MaxLineBytes = 256 << 20;

    /// <summary>
    /// The longest line this process reads: <see cref="MaxLineBytes"/>, or less under a small memory
    /// budget, where a line costs up to eight times its length (its buffer, the parsed document and
    /// the copy of its metrics a report keeps).
    /// </summary>
    internal static int LineBound => (int)Math.Min(MaxLineBytes, MemoryBudget.Bytes / 8);

    private readonly Dictionary<string, SweepResult> _results = new(StringComparer.Ordinal);
    private long _read;

    public string Path { get; } = System.IO.Path.Combine(directory, FileName);

    /// <summary>The recorded runs by id, as of the last <see cref="Refresh"/>.</summary>
    public IReadOnlyDictionary<string, SweepResult> Results => _results;

    /// <summary>Reads the lines appended since the last call (by any process); damaged lines are skipped, each named on <paramref name="warn"/>.</summary>
    public void Refresh(TextWriter? warn = null)
    {
        lock (_results)
        {
            _read = Read(Path, _read, warn, line =>
            {
                if (Parse(line, warn) is { } result) _results[result.Id] = result;
            });
        }
    }

    /// <summary>Whether <paramref name="id"/> is recorded, reading what other processes appended first.</summary>
    public bool Contains(string id)
    {
        Refresh();
        lock (_results) return _results.ContainsKey(id);
    }

    /// <summary>
    /// Records a finished run with its metrics lines (a line that does not parse, such as one a crash
    /// cut short, is left out). A record longer than a line may be is an <see cref="IOException"/>
    /// (the run fails by name and keeps its checkpoint): never a line its readers would skip.
    /// </summary>
    public void Append(SweepResult result, IEnumerable<string> metrics)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("format_version", FormatVersion);
            result.WriteHead(w);
            w.WritePropertyName("run");
            result.Run.Write(w);
            w.WriteStartArray("metrics");
            foreach (string line in metrics)
            {
                using var document = MetricsFile.ParseLine(line);
                if (document?.RootElement.ValueKind == JsonValueKind.Object) w.WriteRawValue(line, skipInputValidation: true);
                if (w.BytesCommitted + w.BytesPending > MaxLineBytes)
                    throw new IOException($"{result.Id}: its result and metrics are more than the {MaxLineBytes >> 20} MiB a line of {FileName} may hold; train it with a larger --check-every.");
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        LineLog.Append(Path, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    /// <summary>
    /// Every recorded run with its metrics (the last line of each id), by id, for a report; damaged
    /// lines are named on <paramref name="warn"/> and left out.
    /// </summary>
    public static Dictionary<string, RecordedRun> ReadAll(string directory, TextWriter warn)
    {
        // Classes and string keys, no value-type generics: each of those costs the Native AOT binary kilobytes.
        var runs = new Dictionary<string, RecordedRun>(StringComparer.Ordinal);
        string path = System.IO.Path.Combine(directory, FileName);
        // Every run's metrics are kept, parsed (their bytes and a document's index of them, about
        // twice the text), and drawn from (the figures' points): priced before a line is read.
        long need = 3 * (File.Exists(path) ? new FileInfo(path).Length : 0);
        if (need > MemoryBudget.Bytes) throw new InvalidDataException(MemoryBudget.TooMuch($"{path}: reading its runs and their metrics", need, "report on a copy with fewer runs"));
        Read(path, 0, warn, line =>
        {
            if (Parse(line, warn, out var metrics) is { } result) runs[result.Id] = new RecordedRun(result, metrics);
        });
        return runs;
    }

    // The whole lines of the file from offset on, each to visit; lines over the bound are named on
    // warn. Returns the offset after the last whole line.
    private static long Read(string path, long offset, TextWriter? warn, Action<ReadOnlyMemory<byte>> visit)
    {
        int bound = LineBound;
        var (end, skipped) = LineLog.Read(path, offset, bound, visit);
        if (skipped > 0)
            warn?.WriteLine(bound == MaxLineBytes
                ? $"fastlra: {path}: skipped {skipped} line(s) longer than {MaxLineBytes >> 20} MiB."
                : $"fastlra: {path}: skipped {skipped} line(s) longer than {bound >> 20} MiB (an eighth of this process's {MemoryBudget.Bytes >> 20} MB budget: a line costs up to eight times its length).");
        return end;
    }

    private static SweepResult? Parse(ReadOnlyMemory<byte> line, TextWriter? warn) => Parse(line, warn, out _, keepMetrics: false);

    // A line's result and, when asked, a copy of its metrics array (default when it has none).
    private static SweepResult? Parse(ReadOnlyMemory<byte> line, TextWriter? warn, out JsonElement metrics, bool keepMetrics = true)
    {
        metrics = default;
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (!root.TryGetProperty("format_version", out var version) || version.ValueKind != JsonValueKind.Number || version.GetInt32() != FormatVersion)
                throw new FormatException($"not a line of format version {FormatVersion}");
            var result = SweepResult.Read(root);
            if (keepMetrics && root.TryGetProperty("metrics", out var m) && m.ValueKind == JsonValueKind.Array) metrics = m.Clone();
            return result;
        }
        catch (Exception e) when (SweepResult.IsDamaged(e))
        {
            string start = Encoding.UTF8.GetString(line.Span[..Math.Min(line.Length, 60)]);
            warn?.WriteLine($"fastlra: skipping a damaged line of {FileName} ({e.Message}): {start}...");
            return null;
        }
    }
}

/// <summary>A recorded run: its result and its metrics lines (a JSON array; default when the line has none).</summary>
internal sealed class RecordedRun(SweepResult result, JsonElement metrics)
{
    public SweepResult Result => result;

    public JsonElement Metrics => metrics;
}
