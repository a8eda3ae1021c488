using System.Globalization;
using System.Runtime.CompilerServices;
using FastLra.Data;
using FastLra.IO;
using FastLra.Tasks;

namespace FastLra.Training;

/// <summary>Which runs an option belongs to.</summary>
internal enum OptionScope
{
    /// <summary>Every run.</summary>
    Every,

    /// <summary>Runs on a synthetic task.</summary>
    Synthetic,

    /// <summary>Runs on the user's data (<see cref="TrainingOptions.Data"/>).</summary>
    Data,

    /// <summary>LRA runs.</summary>
    Lra,
}

/// <summary>A value of an option that does not parse: its message names the option and says what it takes.</summary>
public sealed class OptionException(string message) : Exception(message);

/// <summary>
/// One training option: its name (<c>--name</c> on the command line and in sweep grids; with
/// underscores, <c>name_with_underscores</c>, in checkpoints, saved models and JSON reports), the
/// runs it applies to, how its value reads and prints, and its help line.
/// </summary>
internal sealed class TrainingOption
{
    private readonly Func<TrainingOptions, string> _format;
    private readonly Func<TrainingOptions, string, TrainingOptions> _parse;

    internal TrainingOption(string name, OptionScope scope, bool numeric, string help,
        Func<TrainingOptions, string> format, Func<TrainingOptions, string, TrainingOptions> parse)
    {
        Name = name;
        Key = name.Replace('-', '_');
        Scope = scope;
        Numeric = numeric;
        Help = help;
        _format = format;
        _parse = parse;
    }

    /// <summary>The command-line and grid name, without dashes.</summary>
    public string Name { get; }

    /// <summary>The metadata and JSON key.</summary>
    public string Key { get; }

    /// <summary>The runs it applies to.</summary>
    public OptionScope Scope { get; }

    /// <summary>Whether its value is a number (written as one in JSON).</summary>
    public bool Numeric { get; }

    /// <summary>Whether its value is a float (written in JSON at float precision: 0.01, not 0.009999999776482582).</summary>
    public bool IsFloat { get; init; }

    /// <summary>
    /// Whether a run at this option's default leaves it out of what it records (checkpoints, models,
    /// reports, and so the sweep's run ids): an option added after runs were recorded, so their ids
    /// and files stay valid. A record without it reads as the default.
    /// </summary>
    public bool OmittedAtDefault { get; init; }

    /// <summary>One line of help: what it means, its choices, its default.</summary>
    public string Help { get; }

    /// <summary>Whether the option means something for this run.</summary>
    public bool AppliesTo(TrainingOptions o) => Scope switch
    {
        OptionScope.Synthetic => o.Data is null,
        OptionScope.Data => o.Data is not null,
        OptionScope.Lra => o.Algorithm == AlgorithmKind.Lra,
        _ => true,
    };

    /// <summary>Whether a run records the option (checkpoints, reports, run ids): it applies, and is not an <see cref="OmittedAtDefault"/> one at its default.</summary>
    public bool Records(TrainingOptions o) => AppliesTo(o) && !(OmittedAtDefault && Format(o) == Format(TrainingOptionTable.Defaults));

    /// <summary>The option's value in <paramref name="o"/>, as it is written (floats in their shortest round-trip form).</summary>
    public string Format(TrainingOptions o) => _format(o);

    /// <summary><paramref name="o"/> with this option set from <paramref name="text"/>; an <see cref="OptionException"/> when it does not parse.</summary>
    public TrainingOptions Parse(TrainingOptions o, string text) => _parse(o, text);
}

/// <summary>
/// The one table of training options, in the order checkpoints record them (which the sweep's
/// run ids hash, so that order and the float formatting, each float as the double it widens to,
/// stay as they were). The command line (<c>train</c>, <c>bench</c>, <c>eval</c>,
/// <c>predict</c>), checkpoint and model metadata, sweep grids, the JSON report and sweep
/// summaries all read it, so an option is added in one place. Ranges are checked by
/// <see cref="TrainingOptions.Validate"/>; this table parses.
/// </summary>
internal static class TrainingOptionTable
{
    /// <summary>Every option, in the order help and reports list them.</summary>
    public static IReadOnlyList<TrainingOption> All { get; } =
    [
        Text("task", OptionScope.Synthetic, "the synthetic task: temporal-order, temporal-order-3bit, random-permutation or adding",
            o => TaskInfo.Name(o.Task), (o, v) => o with { Task = Choice<TaskKind>(v, "task", TaskInfo.TryParse, TaskInfo.Names) }),
        Number("length", OptionScope.Synthetic, "sequence length T of the synthetic task", o => I(o.Length), (o, v) => o with { Length = Int(v, "length") }),
        Text("data", OptionScope.Data, "train on this file: .csv, .npz or .safetensors (see docs/data.md)",
            o => o.Data!.Path, (o, v) => With(o, d => d with { Path = v })),
        Text("valid-data", OptionScope.Data, "validate on this file, read like --data (default: split --valid-fraction off the training data)",
            o => o.Data!.ValidPath ?? "", (o, v) => With(o, d => d with { ValidPath = v.Length == 0 ? null : v })),
        Number("valid-fraction", OptionScope.Data, "share held out for validation: a CSV's last windows, a seeded random subset of arrays (default 0.2)",
            o => D(o.Data!.ValidFraction), (o, v) => With(o, d => d with { ValidFraction = Double(v, "valid-fraction") })),
        Text("input-columns", OptionScope.Data, "CSV: the input columns, comma-separated",
            o => o.Data!.File.InputColumns, (o, v) => WithFile(o, f => f with { InputColumns = v })),
        Text("target-columns", OptionScope.Data, "CSV: the target columns, comma-separated",
            o => o.Data!.File.TargetColumns, (o, v) => WithFile(o, f => f with { TargetColumns = v })),
        new("delimiter", OptionScope.Data, numeric: false, "CSV: the separator between cells, auto, ',', ';' or tab; auto takes the most frequent of the three in the header row (default auto)",
            o => o.Data?.File.Delimiter switch { null => "auto", '\t' => "tab", var d => d.Value.ToString() },
            (o, v) => WithFile(o, f => f with
            {
                Delimiter = v switch
                {
                    "auto" => null, "," => ',', ";" => ';', "tab" or "\t" => '\t',
                    _ => throw new OptionException($"unknown --delimiter '{v}' (choose auto, ',', ';' or tab)."),
                },
            })) { OmittedAtDefault = true },
        new("decimal-comma", OptionScope.Data, numeric: false, "CSV: true reads numbers written with a decimal comma (1,5), with cells separated by ';' or tab (default false)",
            o => o.Data?.File.DecimalComma == true ? "true" : "false",
            (o, v) => WithFile(o, f => f with
            {
                DecimalComma = v switch { "true" => true, "false" => false, _ => throw new OptionException($"--decimal-comma takes true or false, got '{v}'.") },
            })) { OmittedAtDefault = true },
        Number("classes", OptionScope.Data, "the targets are integer class labels in [0, N) (CSV: one target column); 0 = regression, or for integer arrays the largest label + 1",
            o => I(o.Data!.File.Classes), (o, v) => WithFile(o, f => f with { Classes = Int(v, "classes") })),
        Number("window", OptionScope.Data, "CSV: steps per training sequence T", o => I(o.Data!.File.Window), (o, v) => WithFile(o, f => f with { Window = Int(v, "window") })),
        Number("horizon", OptionScope.Data, "CSV: predict the target h steps after each input step (default 1)",
            o => I(o.Data!.File.Horizon), (o, v) => WithFile(o, f => f with { Horizon = Int(v, "horizon") })),
        Number("stride", OptionScope.Data, "CSV: steps between the starts of consecutive windows (default 1)",
            o => I(o.Data!.File.Stride), (o, v) => WithFile(o, f => f with { Stride = Int(v, "stride") })),
        Text("outputs", OptionScope.Data, "last (one output per sequence) or all (one at every step from --washout on); default: from the shape of the targets (all for CSV)",
            o => OptionNames.Outputs.Name(o.Data!.File.Outputs), (o, v) => WithFile(o, f => f with { Outputs = Choice<OutputSelection>(v, "outputs", OptionNames.Outputs.TryParse, OptionNames.Outputs.Names) })),
        Number("washout", OptionScope.Data, "with --outputs all, the first step that carries a loss (default 0)",
            o => I(o.Data!.File.Washout), (o, v) => WithFile(o, f => f with { Washout = Int(v, "washout") })),
        Text("normalize", OptionScope.Data, "standard (per-feature mean and deviation of the training data, kept in the model) or none; default standard",
            o => o.Data!.Normalize ? "standard" : "none",
            (o, v) => With(o, d => d with { Normalize = v switch { "standard" => true, "none" => false, _ => throw new OptionException($"unknown --normalize '{v}' (choose standard or none).") } })),
        Number("epochs", OptionScope.Data, "passes over the training data (sets the iteration budget; 0 = --max-iter decides)",
            o => I(o.Data!.Epochs), (o, v) => With(o, d => d with { Epochs = Int(v, "epochs") })),
        Number("hidden", OptionScope.Every, "hidden width H (default 100)", o => I(o.Hidden), (o, v) => o with { Hidden = Int(v, "hidden") }),
        Number("batch", OptionScope.Every, "batch size B (default 20)", o => I(o.Batch), (o, v) => o with { Batch = Int(v, "batch") }),
        Number("seed", OptionScope.Every, "seed of the task generator or the data's split and shuffling, and of the orthogonal initialisation (default 1234)",
            o => I(o.Seed), (o, v) => o with { Seed = Seed(v) }),
        Text("algo", OptionScope.Every, "gradient algorithm: bptt or lra (default bptt)",
            o => OptionNames.Algorithms.Name(o.Algorithm), (o, v) => o with { Algorithm = Choice<AlgorithmKind>(v, "algo", OptionNames.Algorithms.TryParse, OptionNames.Algorithms.Names) }),
        Text("optimizer", OptionScope.Every, "sgd, nesterov, rmsprop, adam or adagrad, PyTorch semantics (default sgd)",
            o => Optimizer.Names[(int)o.Optimizer], (o, v) => o with { Optimizer = Choice<OptimizerKind>(v, "optimizer", Optimizer.TryParse, Optimizer.Names) }),
        Real("lr", OptionScope.Every, "learning rate (default 0.01)", o => F(o.LearningRate), (o, v) => o with { LearningRate = Float(v, "lr") }),
        Real("clip", OptionScope.Every, "gradient norm bound c, 0 = off: BPTT clips the global norm, LRA every step's update and target gradient (default 1)",
            o => F(o.Clip), (o, v) => o with { Clip = Float(v, "clip") }),
        Number("max-iter", OptionScope.Every, "iteration budget, counted from the run's start (default 100000)", o => I(o.MaxIterations), (o, v) => o with { MaxIterations = Long(v, "max-iter") }),
        Number("check-every", OptionScope.Every, "iterations between validation checks (default 100)", o => I(o.CheckEvery), (o, v) => o with { CheckEvery = Int(v, "check-every") }),
        Number("patience", OptionScope.Every, "checks without a new best (accuracy; on data, validation loss) before stopping (default 30)",
            o => I(o.Patience), (o, v) => o with { Patience = Int(v, "patience") }),
        Number("valid-size", OptionScope.Synthetic, "sequences in the synthetic task's fixed validation set (default 10000)", o => I(o.ValidSize), (o, v) => o with { ValidSize = Int(v, "valid-size") }),
        Text("semantics", OptionScope.Lra, "LRA: local (the intended algorithm) or reference (parity with the paper's code); default local",
            o => OptionNames.Semantics.Name(o.Semantics), (o, v) => o with { Semantics = Choice<LraSemantics>(v, "semantics", OptionNames.Semantics.TryParse, OptionNames.Semantics.Names) }),
        Number("k", OptionScope.Lra, "LRA: target steps per layer (default 10)", o => I(o.K), (o, v) => o with { K = Int(v, "k") }),
        Real("beta", OptionScope.Lra, "LRA: target step size (default 10)", o => F(o.Beta), (o, v) => o with { Beta = Float(v, "beta") }),
        Real("alpha", OptionScope.Lra, "LRA: weight of the Omega regulariser, 0 = unregularised (default 0)", o => F(o.Alpha), (o, v) => o with { Alpha = Float(v, "alpha") }),
        Text("local-loss", OptionScope.Lra, "LRA: log-penalty or mse (default log-penalty)",
            o => OptionNames.LocalLosses.Name(o.LocalLoss), (o, v) => o with { LocalLoss = Choice<Kernels.LocalLossKind>(v, "local-loss", OptionNames.LocalLosses.TryParse, OptionNames.LocalLosses.Names) }),
        Text("clip-mode", OptionScope.Lra, "LRA: above (rescale a gradient whose norm is at least c) or always (every gradient to norm c); default above",
            o => OptionNames.ClipModes.Name(o.ClipMode), (o, v) => o with { ClipMode = Choice<ClipMode>(v, "clip-mode", OptionNames.ClipModes.TryParse, OptionNames.ClipModes.Names) }),
        Real("omega-guard", OptionScope.Lra, "LRA: guard e of the guarded Omega, r = ||N|| / (||G|| + e); 0 = the paper's Omega (default 0; see docs/algorithm.md)",
            o => F(o.OmegaGuard), (o, v) => o with { OmegaGuard = Float(v, "omega-guard") }, omittedAtDefault: true),
    ];

    /// <summary>Every option at its default.</summary>
    internal static readonly TrainingOptions Defaults = new();

    /// <summary>The option of that name (as on the command line, without dashes), or null.</summary>
    public static TrainingOption? Find(string name)
    {
        foreach (var option in All)
            if (option.Name == name) return option;
        return null;
    }

    /// <summary>The option whose metadata key is <paramref name="key"/>, or null.</summary>
    public static TrainingOption? FindKey(string key)
    {
        foreach (var option in All)
            if (option.Key == key) return option;
        return null;
    }

    /// <summary>The options that apply to <paramref name="o"/>, with their values: what checkpoints, models and reports record.</summary>
    public static List<KeyValuePair<string, string>> Describe(TrainingOptions o)
    {
        var list = new List<KeyValuePair<string, string>>();
        foreach (var option in All)
            if (option.Records(o)) list.Add(new(option.Key, option.Format(o)));
        return list;
    }

    /// <summary>
    /// Options read back from what <see cref="Describe"/> wrote (by key): a <c>data</c> entry makes
    /// a data run; options the entries lack keep their defaults. An <see cref="OptionException"/> names a bad value.
    /// </summary>
    public static TrainingOptions Read(IReadOnlyDictionary<string, string> entries)
    {
        var o = entries.ContainsKey("data") ? new TrainingOptions { Data = new DataOptions() } : new TrainingOptions();
        // The algorithm first: it decides which options apply.
        if (entries.TryGetValue("algo", out string? algo)) o = Find("algo")!.Parse(o, algo);
        foreach (var option in All)
            if (option.AppliesTo(o) && entries.TryGetValue(option.Key, out string? value)) o = option.Parse(o, value);
        return o;
    }

    private static TrainingOption Text(string name, OptionScope scope, string help, Func<TrainingOptions, string> format, Func<TrainingOptions, string, TrainingOptions> parse) =>
        new(name, scope, numeric: false, help, format, parse);

    private static TrainingOption Number(string name, OptionScope scope, string help, Func<TrainingOptions, string> format, Func<TrainingOptions, string, TrainingOptions> parse) =>
        new(name, scope, numeric: true, help, format, parse);

    private static TrainingOption Real(string name, OptionScope scope, string help, Func<TrainingOptions, string> format, Func<TrainingOptions, string, TrainingOptions> parse,
        bool omittedAtDefault = false) =>
        new(name, scope, numeric: true, help, format, parse) { IsFloat = true, OmittedAtDefault = omittedAtDefault };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TrainingOptions WithFile(TrainingOptions o, Func<DataFileOptions, DataFileOptions> change) =>
        With(o, d => d with { File = change(d.File) });

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TrainingOptions With(TrainingOptions o, Func<DataOptions, DataOptions> change) => o with { Data = change(o.Data ?? new DataOptions()) };

    private delegate bool TryParser<T>(string? name, out T value);

    // The helpers below are called from every entry of the table; kept out of line (NoInlining),
    // the table costs the Native AOT binary a few kilobytes instead of tens.

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static T Choice<T>(string text, string name, TryParser<T> tryParse, IReadOnlyList<string> names) =>
        tryParse(text, out T value) ? value : throw new OptionException(
            name == "task" ? $"unknown task '{text}' (choose {string.Join(", ", names)})." : $"unknown --{name} '{text}' (choose {string.Join(", ", names.SkipLast(1))} or {names[^1]}).");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Long(string text, string name) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new OptionException($"--{name} takes an integer, got '{text}'.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Int(string text, string name)
    {
        long value = Long(text, name);
        return value is >= int.MinValue and <= int.MaxValue ? (int)value : throw new OptionException($"--{name} {value} is out of range ({int.MinValue} to {int.MaxValue}).");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint Seed(string text)
    {
        long value = Long(text, "seed");
        return value is >= 0 and <= uint.MaxValue ? (uint)value : throw new OptionException($"--seed must be in [0, 2^32), got {value}.");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double Double(string text, string name) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            ? value
            : throw new OptionException($"--{name} takes a number, got '{text}'.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Float(string text, string name)
    {
        double value = Double(text, name);
        return double.IsFinite(value) && !float.IsFinite((float)value)
            ? throw new OptionException($"--{name} {text} is beyond the range of a float (3.4e38).")
            : (float)value;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string I(long value) => value.ToString(CultureInfo.InvariantCulture);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string F(float value) => ((double)value).ToString("R", CultureInfo.InvariantCulture);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string D(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
