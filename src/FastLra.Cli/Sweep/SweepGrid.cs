using System.Globalization;
using System.Text;
using System.Text.Json;
using FastLra.IO;
using FastLra.Kernels;
using FastLra.Tasks;
using FastLra.Training;

namespace FastLra.Cli.Sweep;

/// <summary>
/// One run of a sweep: its options, a stable id, and the <c>train</c> command that repeats it (made
/// when asked for, from the grid's values the run chose: a grid of 100,000 runs keeps no 100,000 commands).
/// </summary>
internal sealed class SweepRun(int index, string id, RunSpec spec, SweepGrid.Keys keys, int[] choice, DataDigests digests)
{
    public int Index => index;
    public string Id => id;
    public RunSpec Spec => spec;
    public string Command => SweepGrid.Command(keys, choice, spec);

    /// <summary>The SHA-256 of the run's data files (none for a task), which its id and its recorded line carry.</summary>
    public DataDigests Digests => digests;
}

/// <summary>
/// The SHA-256 of a run's data file and of its validation file (64 hex digits each; null for a task,
/// for no validation file, or for a file that cannot be read, whose run fails when it starts).
/// </summary>
internal sealed record DataDigests(string? Data, string? ValidData)
{
    public static DataDigests None { get; } = new(null, null);
}

/// <summary>
/// A grid file: a JSON object mapping <c>train</c> option names (as on the command line, without
/// the dashes; any option of <see cref="TrainingOptionTable"/>, the data options included) to lists
/// of values, or an array of such objects. The runs are the Cartesian product of each object in
/// file order (the last key varies fastest), one object after another; options that do not apply
/// to a run (LRA's to a BPTT run) are dropped from it, and runs that are then identical are kept once.
/// </summary>
internal static class SweepGrid
{
    /// <summary>The option names a grid may use: every training option of the table, in its order.</summary>
    public static IEnumerable<string> Names => TrainingOptionTable.All.Select(o => o.Name);

    /// <summary>A grid file larger than this is refused unread (a grid of the paper's sweeps is a few hundred bytes).</summary>
    public const int MaxFileBytes = 1 << 20;

    /// <summary>
    /// The most runs a grid may expand to. Each run costs seconds to hours, and its expansion and
    /// result about a kilobyte (<see cref="RunBytes"/>, priced too), so a larger grid is a mistake
    /// (or an attack) to refuse before it is expanded.
    /// </summary>
    public const long MaxRuns = 100_000;

    /// <summary>
    /// Reads and expands a grid: inline JSON (an argument that starts with '{' or '[') or a file; a
    /// bad grid or an invalid run is a <see cref="UsageException"/>.
    /// </summary>
    public static List<SweepRun> Load(string grid)
    {
        string path = grid;
        try
        {
            if (grid.TrimStart() is ['{' or '[', ..])
            {
                if (grid.Length > MaxFileBytes) throw new UsageException($"the inline grid has {grid.Length} characters, more than the {MaxFileBytes} a grid may have.");
                path = "the inline grid";
                using var inline = JsonDocument.Parse(grid);
                return Expand(inline.RootElement, path);
            }
            using var stream = BoundedFile.Open(path, MaxFileBytes);
            using var document = JsonDocument.Parse(stream);
            return Expand(document.RootElement, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read the grid {path}: {e.Message}");
        }
        catch (JsonException e)
        {
            throw new UsageException($"{path} is not valid JSON: {e.Message}");
        }
    }

    /// <summary>
    /// The runs of a grid, validated, each with its id and command. A grid is one object, or an
    /// array of objects whose runs are joined (a union of products, for settings that differ per
    /// variant).
    /// </summary>
    public static List<SweepRun> Expand(JsonElement grid, string source)
    {
        if (grid.ValueKind == JsonValueKind.Array && grid.GetArrayLength() == 0)
            throw new UsageException($"{source}: the grid is an empty array.");
        var blocks = grid.ValueKind == JsonValueKind.Array
            ? grid.EnumerateArray().Select(b => Read(b, source)).ToList()
            : [Read(grid, source)];
        double total = 0;
        foreach (var keys in blocks)
        {
            double product = 1;
            foreach (var (_, values) in keys) product *= values.Length;
            total += product;
        }
        if (total > MaxRuns)
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{source}: the grid expands to {total:0} runs, more than the {MaxRuns} a sweep may hold; split it into smaller grids."));
        if (total * RunBytes > MemoryBudget.Bytes)
            throw new UsageException(MemoryBudget.TooMuch(string.Create(CultureInfo.InvariantCulture, $"{source}: its {total:0} runs"), total * RunBytes, "split it into smaller grids"));
        var runs = new List<SweepRun>((int)total);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var digests = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var keys in blocks)
        {
            var choice = new int[keys.Count];
            while (true)
            {
                var run = Build(keys, choice, source, runs.Count, digests);
                if (seen.Add(run.Id)) runs.Add(run);
                int digit = keys.Count - 1;
                while (digit >= 0 && ++choice[digit] == keys[digit].Values.Length) choice[digit--] = 0;
                if (digit < 0) break;
            }
        }
        return runs;
    }

    /// <summary>
    /// What a run of a grid costs a sweep while it lasts, measured (about 350 bytes and 700): its
    /// expansion (options, id, the values it chose) and its recorded result once the sweep reads it.
    /// </summary>
    internal const int RunBytes = 1024;

    /// <summary>A grid object's options, each with its list of values, in file order.</summary>
    internal sealed class Keys : List<(TrainingOption Option, Value[] Values)>;

    /// <summary>A value of a grid, kept apart from the JSON document it was read from (runs make their commands after it is gone).</summary>
    internal sealed class Value(JsonElement value)
    {
        public JsonValueKind Kind { get; } = value.ValueKind;

        /// <summary>As the grid wrote it.</summary>
        public string Raw { get; } = value.GetRawText();

        /// <summary>As the command line spells it: a string's text, a number's digits (null for anything else).</summary>
        public string? Text { get; } = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        };
    }

    /// <summary>One grid object's options and values, in file order.</summary>
    private static Keys Read(JsonElement grid, string source)
    {
        if (grid.ValueKind != JsonValueKind.Object)
            throw new UsageException($"{source}: a grid is a JSON object mapping train options to lists of values (or an array of such objects).");
        var keys = new Keys();
        foreach (var property in grid.EnumerateObject())
        {
            var option = TrainingOptionTable.Find(property.Name)
                ?? throw new UsageException(
                    $"{source}: '{property.Name}' is not a train option a grid can vary (choose from {string.Join(", ", Names)}).");
            if (keys.Exists(k => k.Option == option)) throw new UsageException($"{source}: '{property.Name}' appears twice.");
            Value[] values = property.Value.ValueKind == JsonValueKind.Array ? [.. property.Value.EnumerateArray().Select(v => new Value(v))] : [new Value(property.Value)];
            if (values.Length == 0) throw new UsageException($"{source}: '{property.Name}' has an empty list of values.");
            keys.Add((option, values));
        }
        bool data = keys.Exists(k => k.Option.Name == "data");
        if (data && keys.Exists(k => k.Option.Scope == OptionScope.Task))
            throw new UsageException($"{source}: a grid over 'data' takes no synthetic-task options (task, length, valid-size).");
        if (!data && (!keys.Exists(k => k.Option.Name == "task") || !keys.Exists(k => k.Option.Name == "length")))
            throw new UsageException($"{source}: a grid needs 'task' and 'length', or 'data', as train does.");
        if (!data && keys.Find(k => k.Option.Scope is OptionScope.DataFile or OptionScope.Data) is { Option: { } dataOption })
            throw new UsageException($"{source}: '{dataOption.Name}' is an option of data; a grid over a task does not take it.");
        return keys;
    }

    private static SweepRun Build(Keys keys, int[] choice, string source, int index, Dictionary<string, string?> digests)
    {
        // The data file and the algorithm first: they decide which options apply.
        var spec = keys.Exists(k => k.Option.Name == "data") ? TrainingOptionTable.DataDefaults : RunSpec.Default;
        int algo = keys.FindIndex(k => k.Option.Name == "algo");
        if (algo >= 0) spec = Apply(keys[algo].Option, spec, keys[algo].Values[choice[algo]]);
        for (int i = 0; i < keys.Count; i++)
            if (keys[i].Option.AppliesTo(spec)) spec = Apply(keys[i].Option, spec, keys[i].Values[choice[i]]);
        try
        {
            TrainingRun.Check(spec);
        }
        catch (OptionException e)
        {
            throw new UsageException($"{source}: run '{Command(keys, choice, spec)}' is invalid: {e.Message}");
        }
        var files = spec.Source is DataFileSource d ? new DataDigests(Digest(d.Path, digests), d.ValidPath is { } v ? Digest(v, digests) : null) : DataDigests.None;
        return new SweepRun(index, Id(spec, files), spec, keys, [.. choice], files);
    }

    /// <summary>A file's SHA-256, read once per grid (<paramref name="known"/>); null when it cannot be read.</summary>
    private static string? Digest(string path, Dictionary<string, string?> known)
    {
        if (known.TryGetValue(path, out string? digest)) return digest;
        try
        {
            digest = Sha256.OfFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            digest = null;
        }
        return known[path] = digest;
    }

    /// <summary>The <c>train</c> command of the run that chose <paramref name="choice"/>: the options that apply to it, in the grid's order, as the grid spells their values.</summary>
    internal static string Command(Keys keys, int[] choice, RunSpec spec)
    {
        var command = new StringBuilder("fastlra train");
        for (int i = 0; i < keys.Count; i++)
            if (keys[i].Option.AppliesTo(spec)) command.Append(" --").Append(keys[i].Option.Name).Append(' ').Append(Text(keys[i].Values[choice[i]]));
        return command.ToString();
    }

    /// <summary>
    /// A run's id, a function of its configuration alone (so editing a grid keeps the ids, and the
    /// results, of the runs it still holds): task, length, algorithm, seed, and a hash of every option.
    /// A data file counts by its content (<paramref name="digests"/>), not by where it lies, so a
    /// sweep finds its runs done on any machine that has the same bytes; a file that cannot be read
    /// counts by its path.
    /// </summary>
    public static string Id(RunSpec spec, DataDigests digests)
    {
        var o = spec.Options;
        return string.Create(CultureInfo.InvariantCulture,
            $"{Cell(spec)}_{OptionNames.Algorithms.Name(o.Algorithm)}{(o.Algorithm == AlgorithmKind.Lra ? "-" + OptionNames.Semantics.Name(o.Semantics) : "")}_seed{o.Seed}_{Hash(spec, digests)}");
    }

    /// <summary>The task and length, or the data file's name (letters, digits, '-' and '.') and window.</summary>
    private static string Cell(RunSpec spec)
    {
        if (spec.Source is TaskSource t) return string.Create(CultureInfo.InvariantCulture, $"{TaskInfo.Name(t.Task)}_T{t.Length}");
        var d = (DataFileSource)spec.Source;
        string name = new([.. Path.GetFileNameWithoutExtension(d.Path).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '-')]);
        return d.File.Window > 0 ? string.Create(CultureInfo.InvariantCulture, $"{name}_T{d.File.Window}") : name;
    }

    /// <summary>FNV-1a of the full configuration (every option, as checkpoints record it, the data files as their SHA-256), 8 hex digits.</summary>
    private static string Hash(RunSpec spec, DataDigests digests)
    {
        ulong hash = 14695981039346656037UL;
        foreach (var (key, value) in TrainingOptionTable.Describe(spec))
        {
            string text = key switch
            {
                "data" when digests.Data is { } d => "sha256:" + d,
                "valid_data" when digests.ValidData is { } v => "sha256:" + v,
                _ => value,
            };
            hash = Fnv(Fnv(Fnv(Fnv(hash, key), "="), text), ";");
        }
        return ((uint)(hash ^ (hash >> 32))).ToString("x8", CultureInfo.InvariantCulture);
    }

    private static ulong Fnv(ulong hash, string text)
    {
        foreach (char c in text)
        {
            hash ^= c;
            hash *= 1099511628211UL;
        }
        return hash;
    }

    /// <summary>A grid value as the command line spells it: a string's text, a number's digits.</summary>
    private static string Text(Value value) => value.Text ?? throw new UsageException($"grid: value {value.Raw} is neither a string nor a number.");

    /// <summary>Sets an option from a grid value, which must be a JSON number for a numeric option and a string otherwise.</summary>
    private static RunSpec Apply(TrainingOption option, RunSpec spec, Value value)
    {
        if (value.Kind != (option.Numeric ? JsonValueKind.Number : JsonValueKind.String))
            throw new UsageException($"grid: '{option.Name}' value {value.Raw} is not a {(option.Numeric ? "number" : "string")}.");
        try
        {
            return option.Parse(spec, Text(value));
        }
        catch (OptionException e)
        {
            throw new UsageException($"grid: '{option.Name}' value {value.Raw}: {e.Message}");
        }
    }
}
