using System.Globalization;
using System.Text;
using System.Text.Json;
using FastLra.Kernels;
using FastLra.Tasks;
using FastLra.Training;

namespace FastLra.Cli.Sweep;

/// <summary>One run of a sweep: its options, a stable id, and the <c>train</c> command that repeats it.</summary>
internal sealed record SweepRun(int Index, string Id, TrainingOptions Options, string Command);

/// <summary>
/// A grid file: a JSON object mapping <c>train</c> option names (as on the command line, without
/// the dashes) to lists of values, or an array of such objects. The runs are the Cartesian
/// product of each object in file order (the last key varies fastest), one object after another;
/// options that do not apply to a run's algorithm are dropped from it, and runs that are then
/// identical are kept once.
/// </summary>
internal static class SweepGrid
{
    private delegate TrainingOptions Setter(TrainingOptions o, JsonElement value, string name);

    private sealed record Option(string Name, bool LraOnly, Setter Apply);

    /// <summary>Every <c>train</c> option a grid may vary; the rest (files, output) belong to the sweep.</summary>
    private static readonly Option[] Table =
    [
        new("task", false, (o, v, n) => o with { Task = Parse<TaskKind>(v, n, TaskInfo.TryParse, TaskInfo.Names) }),
        new("length", false, (o, v, n) => o with { Length = Int(v, n) }),
        new("hidden", false, (o, v, n) => o with { Hidden = Int(v, n) }),
        new("batch", false, (o, v, n) => o with { Batch = Int(v, n) }),
        new("seed", false, (o, v, n) => o with { Seed = Seed(v, n) }),
        new("algo", false, (o, v, n) => o with { Algorithm = Parse<AlgorithmKind>(v, n, OptionNames.Algorithms.TryParse, OptionNames.Algorithms.Names) }),
        new("optimizer", false, (o, v, n) => o with { Optimizer = Parse<OptimizerKind>(v, n, Training.Optimizer.TryParse, Training.Optimizer.Names) }),
        new("lr", false, (o, v, n) => o with { LearningRate = Float(v, n) }),
        new("clip", false, (o, v, n) => o with { Clip = Float(v, n) }),
        new("clip-mode", true, (o, v, n) => o with { ClipMode = Parse<ClipMode>(v, n, OptionNames.ClipModes.TryParse, OptionNames.ClipModes.Names) }),
        new("semantics", true, (o, v, n) => o with { Semantics = Parse<LraSemantics>(v, n, OptionNames.Semantics.TryParse, OptionNames.Semantics.Names) }),
        new("k", true, (o, v, n) => o with { K = Int(v, n) }),
        new("beta", true, (o, v, n) => o with { Beta = Float(v, n) }),
        new("alpha", true, (o, v, n) => o with { Alpha = Float(v, n) }),
        new("local-loss", true, (o, v, n) => o with { LocalLoss = Parse<LocalLossKind>(v, n, OptionNames.LocalLosses.TryParse, OptionNames.LocalLosses.Names) }),
        new("max-iter", false, (o, v, n) => o with { MaxIterations = Long(v, n) }),
        new("check-every", false, (o, v, n) => o with { CheckEvery = Int(v, n) }),
        new("patience", false, (o, v, n) => o with { Patience = Int(v, n) }),
        new("valid-size", false, (o, v, n) => o with { ValidSize = Int(v, n) }),
    ];

    /// <summary>The option names a grid may use, in the order of the train command.</summary>
    public static IEnumerable<string> Names => Table.Select(o => o.Name);

    /// <summary>Reads and expands a grid file; a bad file or an invalid run is a <see cref="UsageException"/>.</summary>
    public static List<SweepRun> Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read the grid {path}: {e.Message}");
        }
        try
        {
            using var document = JsonDocument.Parse(text);
            return Expand(document.RootElement, path);
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
    private static List<(Option Option, JsonElement[] Values)> Keys(JsonElement grid, string source)
    {
        if (grid.ValueKind != JsonValueKind.Object)
            throw new UsageException($"{source}: a grid is a JSON object mapping train options to lists of values (or an array of such objects).");
        var keys = new List<(Option Option, JsonElement[] Values)>();
        foreach (var property in grid.EnumerateObject())
        {
            var option = Array.Find(Table, o => o.Name == property.Name)
                ?? throw new UsageException(
                    $"{source}: '{property.Name}' is not a train option a grid can vary (choose from {string.Join(", ", Names)}).");
            if (keys.Exists(k => k.Option == option)) throw new UsageException($"{source}: '{property.Name}' appears twice.");
            JsonElement[] values = property.Value.ValueKind == JsonValueKind.Array ? [.. property.Value.EnumerateArray()] : [property.Value];
            if (values.Length == 0) throw new UsageException($"{source}: '{property.Name}' has an empty list of values.");
            keys.Add((option, values));
        }
        if (!keys.Exists(k => k.Option.Name == "task") || !keys.Exists(k => k.Option.Name == "length"))
            throw new UsageException($"{source}: a grid needs 'task' and 'length', as train does.");
        return keys;
    }

    private static SweepRun Build(List<(Option Option, JsonElement[] Values)> keys, int[] choice, string source, int index)
    {
        var options = new TrainingOptions();
        int algo = keys.FindIndex(k => k.Option.Name == "algo");
        if (algo >= 0) options = keys[algo].Option.Apply(options, keys[algo].Values[choice[algo]], "algo");
        bool lra = options.Algorithm == AlgorithmKind.Lra;
        var command = new StringBuilder("fastlra train");
        for (int i = 0; i < keys.Count; i++)
        {
            var (option, values) = keys[i];
            if (option.LraOnly && !lra) continue;
            var value = values[choice[i]];
            options = option.Apply(options, value, option.Name);
            string text = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
            command.Append(" --").Append(option.Name).Append(' ').Append(text);
        }
        string? problem = options.Validate();
        if (problem is not null) throw new UsageException($"{source}: run '{command}' is invalid: {problem}");
        return new SweepRun(index, Id(options), options, command.ToString());
    }

    /// <summary>
    /// A run's id, a function of its configuration alone (so editing a grid keeps the ids, and the
    /// results, of the runs it still holds): task, length, algorithm, seed, and a hash of every option.
    /// </summary>
    public static string Id(TrainingOptions o) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{TaskInfo.Name(o.Task)}_T{o.Length}_{OptionNames.Algorithms.Name(o.Algorithm)}{(o.Algorithm == AlgorithmKind.Lra ? "-" + OptionNames.Semantics.Name(o.Semantics) : "")}_seed{o.Seed}_{Hash(o)}");

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

    private delegate bool TryParser<T>(string? name, out T value);

    private static T Parse<T>(JsonElement v, string name, TryParser<T> tryParse, IEnumerable<string> names) =>
        v.ValueKind == JsonValueKind.String && tryParse(v.GetString(), out T parsed)
            ? parsed
            : throw new UsageException($"grid: '{name}' value {v.GetRawText()} is not one of {string.Join(", ", names)}.");

    private static long Long(JsonElement v, string name) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long x)
            ? x
            : throw new UsageException($"grid: '{name}' value {v.GetRawText()} is not an integer.");

    private static int Int(JsonElement v, string name)
    {
        long x = Long(v, name);
        return x is >= int.MinValue and <= int.MaxValue ? (int)x : throw new UsageException($"grid: '{name}' value {x} is out of range.");
    }

    private static uint Seed(JsonElement v, string name)
    {
        long x = Long(v, name);
        return x is >= 0 and <= uint.MaxValue ? (uint)x : throw new UsageException($"grid: '{name}' value {x} must be in [0, 2^32).");
    }

    private static float Float(JsonElement v, string name) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double x)
            ? (float)x
            : throw new UsageException($"grid: '{name}' value {v.GetRawText()} is not a number.");
}
