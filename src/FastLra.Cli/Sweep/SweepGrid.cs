using System.Globalization;
using System.Text;
using System.Text.Json;
using FastLra.IO;
using FastLra.Kernels;
using FastLra.Tasks;
using FastLra.Training;

namespace FastLra.Cli.Sweep;

/// <summary>One run of a sweep: its options, a stable id, and the <c>train</c> command that repeats it.</summary>
internal sealed class SweepRun(int index, string id, TrainingOptions options, string command)
{
    public int Index => index;
    public string Id => id;
    public TrainingOptions Options => options;
    public string Command => command;
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
    /// The most runs a grid may expand to. Each run costs seconds to hours and its expansion about a
    /// kilobyte, so a larger grid is a mistake (or an attack) to refuse before it is expanded.
    /// </summary>
    public const long MaxRuns = 100_000;

    /// <summary>Reads and expands a grid file; a bad file or an invalid run is a <see cref="UsageException"/>.</summary>
    public static List<SweepRun> Load(string path)
    {
        try
        {
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
            ? grid.EnumerateArray().Select(b => Keys(b, source)).ToList()
            : [Keys(grid, source)];
        double total = 0;
        foreach (var keys in blocks)
        {
            double product = 1;
            foreach (var (_, values) in keys) product *= values.Length;
            total += product;
        }
        if (total > MaxRuns)
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{source}: the grid expands to {total:0} runs, more than the {MaxRuns} a sweep may hold; split it into smaller grids."));
        var runs = new List<SweepRun>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var keys in blocks)
        {
            var choice = new int[keys.Count];
            while (true)
            {
                var run = Build(keys, choice, source, runs.Count);
                if (seen.Add(run.Id)) runs.Add(run);
                int digit = keys.Count - 1;
                while (digit >= 0 && ++choice[digit] == keys[digit].Values.Length) choice[digit--] = 0;
                if (digit < 0) break;
            }
        }
        return runs;
    }

    /// <summary>One grid object's options and values, in file order.</summary>
    private static List<(TrainingOption Option, JsonElement[] Values)> Keys(JsonElement grid, string source)
    {
        if (grid.ValueKind != JsonValueKind.Object)
            throw new UsageException($"{source}: a grid is a JSON object mapping train options to lists of values (or an array of such objects).");
        var keys = new List<(TrainingOption Option, JsonElement[] Values)>();
        foreach (var property in grid.EnumerateObject())
        {
            var option = TrainingOptionTable.Find(property.Name)
                ?? throw new UsageException(
                    $"{source}: '{property.Name}' is not a train option a grid can vary (choose from {string.Join(", ", Names)}).");
            if (keys.Exists(k => k.Option == option)) throw new UsageException($"{source}: '{property.Name}' appears twice.");
            JsonElement[] values = property.Value.ValueKind == JsonValueKind.Array ? [.. property.Value.EnumerateArray()] : [property.Value];
            if (values.Length == 0) throw new UsageException($"{source}: '{property.Name}' has an empty list of values.");
            keys.Add((option, values));
        }
        bool data = keys.Exists(k => k.Option.Name == "data");
        if (data && keys.Exists(k => k.Option.Scope == OptionScope.Synthetic))
            throw new UsageException($"{source}: a grid over 'data' takes no synthetic-task options (task, length, valid-size).");
        if (!data && (!keys.Exists(k => k.Option.Name == "task") || !keys.Exists(k => k.Option.Name == "length")))
            throw new UsageException($"{source}: a grid needs 'task' and 'length', or 'data', as train does.");
        return keys;
    }

    private static SweepRun Build(List<(TrainingOption Option, JsonElement[] Values)> keys, int[] choice, string source, int index)
    {
        // The data file and the algorithm first: they decide which options apply.
        var options = keys.Exists(k => k.Option.Name == "data") ? new TrainingOptions { Data = new DataOptions() } : new TrainingOptions();
        int algo = keys.FindIndex(k => k.Option.Name == "algo");
        if (algo >= 0) options = Apply(keys[algo].Option, options, keys[algo].Values[choice[algo]]);
        var command = new StringBuilder("fastlra train");
        for (int i = 0; i < keys.Count; i++)
        {
            var (option, values) = keys[i];
            if (!option.AppliesTo(options)) continue;
            var value = values[choice[i]];
            options = Apply(option, options, value);
            command.Append(" --").Append(option.Name).Append(' ').Append(Text(value));
        }
        string? problem = options.Data is null ? options.Validate() : options.ValidateTraining();
        if (problem is not null) throw new UsageException($"{source}: run '{command}' is invalid: {problem}");
        return new SweepRun(index, Id(options), options, command.ToString());
    }

    /// <summary>
    /// A run's id, a function of its configuration alone (so editing a grid keeps the ids, and the
    /// results, of the runs it still holds): task, length, algorithm, seed, and a hash of every option.
    /// </summary>
    public static string Id(TrainingOptions o) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{Cell(o)}_{OptionNames.Algorithms.Name(o.Algorithm)}{(o.Algorithm == AlgorithmKind.Lra ? "-" + OptionNames.Semantics.Name(o.Semantics) : "")}_seed{o.Seed}_{Hash(o)}");

    /// <summary>The task and length, or the data file's name (letters, digits, '-' and '.') and window.</summary>
    private static string Cell(TrainingOptions o)
    {
        if (o.Data is not { } d) return string.Create(CultureInfo.InvariantCulture, $"{TaskInfo.Name(o.Task)}_T{o.Length}");
        string name = new([.. Path.GetFileNameWithoutExtension(d.Path).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '-')]);
        return d.File.Window > 0 ? string.Create(CultureInfo.InvariantCulture, $"{name}_T{d.File.Window}") : name;
    }

    /// <summary>FNV-1a of the full configuration (every option, as checkpoints record it), 8 hex digits.</summary>
    private static string Hash(TrainingOptions options)
    {
        ulong hash = 14695981039346656037UL;
        foreach (var (key, value) in Checkpoint.Metadata(options))
        {
            foreach (char c in key + "=" + value + ";")
            {
                hash ^= c;
                hash *= 1099511628211UL;
            }
        }
        return ((uint)(hash ^ (hash >> 32))).ToString("x8", CultureInfo.InvariantCulture);
    }

    /// <summary>A grid value as the command line spells it: a string's text, a number's digits.</summary>
    private static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Number => value.GetRawText(),
        _ => throw new UsageException($"grid: value {value.GetRawText()} is neither a string nor a number."),
    };

    /// <summary>Sets an option from a grid value, which must be a JSON number for a numeric option and a string otherwise.</summary>
    private static TrainingOptions Apply(TrainingOption option, TrainingOptions options, JsonElement value)
    {
        if (value.ValueKind != (option.Numeric ? JsonValueKind.Number : JsonValueKind.String))
            throw new UsageException($"grid: '{option.Name}' value {value.GetRawText()} is not a {(option.Numeric ? "number" : "string")}.");
        try
        {
            return option.Parse(options, Text(value));
        }
        catch (OptionException e)
        {
            throw new UsageException($"grid: '{option.Name}' value {value.GetRawText()}: {e.Message}");
        }
    }
}
