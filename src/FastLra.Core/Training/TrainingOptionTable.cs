using System.Globalization;
using System.Runtime.CompilerServices;
using FastLra.Data;
using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;

namespace FastLra.Training;

/// <summary>Which runs an option belongs to.</summary>
internal enum OptionScope
{
    /// <summary>Every run.</summary>
    Every,

    /// <summary>Runs on a synthetic task (<see cref="TaskSource"/>).</summary>
    Task,

    /// <summary>Runs on a data file (<see cref="DataFileSource"/>).</summary>
    DataFile,

    /// <summary>Runs on data, from a file or in memory.</summary>
    Data,

    /// <summary>LRA runs.</summary>
    Lra,
}

/// <summary>What an option's value is: how it parses, and how help and JSON show it.</summary>
internal enum OptionKind
{
    /// <summary>A whole number.</summary>
    Integer,

    /// <summary>A number (a float: written at float precision, 0.01, not 0.009999999776482582).</summary>
    Real,

    /// <summary>One of <see cref="TrainingOption.Choices"/>.</summary>
    Choice,

    /// <summary>A path.</summary>
    File,

    /// <summary>Names, comma-separated.</summary>
    Names,

    /// <summary>One name.</summary>
    Name,
}

/// <summary>The commands (and the C ABI's learner) that take an option.</summary>
[Flags]
internal enum OptionUse
{
    Train = 1,
    Sweep = 2,
    Bench = 4,
    Eval = 8,
    Predict = 16,
    Replay = 32,

    /// <summary>The online learner's <c>name=value</c> options in the C ABI.</summary>
    Learner = 64,

    /// <summary><c>fastlra data</c>, which draws a task's batches.</summary>
    Data = 128,

    /// <summary>What every option of a run is taken by: train, a sweep's grid and bench.</summary>
    Run = Train | Sweep | Bench,
}

/// <summary>A value of an option that does not parse or is out of its range: its message names the option as the command line spells it and says what it takes.</summary>
public sealed class OptionException(string message) : Exception(message);

/// <summary>
/// One option of a run: its name (<c>--name</c> on the command line and in sweep grids; with
/// underscores, <c>name_with_underscores</c>, in checkpoints, saved models and JSON reports), the
/// runs it applies to, the kind of value it takes (and its choices), its default, the commands
/// that take it, how its value reads and prints, and its help, which the command line, the
/// README's option tables and fastlra.h all show.
/// </summary>
internal sealed class TrainingOption
{
    private readonly Func<RunSpec, string> _format;
    private readonly Func<RunSpec, string, RunSpec> _parse;

    internal TrainingOption(string name, OptionScope scope, OptionKind kind, OptionUse use, string help,
        Func<RunSpec, string> format, Func<RunSpec, string, RunSpec> parse)
    {
        Name = name;
        Key = name.Replace('-', '_');
        Scope = scope;
        Kind = kind;
        Use = use;
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

    /// <summary>The kind of value it takes.</summary>
    public OptionKind Kind { get; }

    /// <summary>The commands that take it.</summary>
    public OptionUse Use { get; }

    /// <summary>The values a <see cref="OptionKind.Choice"/> takes, in the order help lists them.</summary>
    public IReadOnlyList<string> Choices { get; init; } = [];

    /// <summary>Whether its value is a number (written as one in JSON).</summary>
    public bool Numeric => Kind is OptionKind.Integer or OptionKind.Real;

    /// <summary>Whether its value is a float.</summary>
    public bool IsFloat => Kind == OptionKind.Real;

    /// <summary>
    /// Whether a run at this option's default leaves it out of what it records (checkpoints, models,
    /// reports, and so the sweep's run ids): an option added after runs were recorded, so their ids
    /// and files stay valid. A record without it reads as the default.
    /// </summary>
    public bool OmittedAtDefault { get; init; }

    /// <summary>
    /// Whether a run's report (<c>train --json</c>, a line of runs.jsonl) states the option even
    /// where <see cref="OmittedAtDefault"/> leaves it out of the run's records and id: a report
    /// without it then tells a run made before the option existed.
    /// </summary>
    public bool ReportedAtDefault { get; init; }

    /// <summary>Whether a run's report states the option: it <see cref="Records"/> it, or it applies and is <see cref="ReportedAtDefault"/>.</summary>
    public bool Reports(RunSpec s) => Records(s) || (ReportedAtDefault && AppliesTo(s));

    /// <summary>What it means (help and the README add its choices and default).</summary>
    public string Help { get; }

    /// <summary>What it means to the commands of each entry's use, where that is not <see cref="Help"/> (to eval, the data file is read, not trained on).</summary>
    public IReadOnlyList<(OptionUse Use, string Help)> HelpFor { get; init; } = [];

    /// <summary>What it means to <paramref name="command"/>: its entry of <see cref="HelpFor"/>, or <see cref="Help"/>.</summary>
    public string HelpOf(OptionUse command)
    {
        foreach (var (use, help) in HelpFor)
            if ((use & command) != 0) return help;
        return Help;
    }

    /// <summary>
    /// The default as help shows it: the value of a run left at its defaults, unless the entry says
    /// otherwise (<see cref="DefaultText"/>). Empty for an option with none (a file, a required value).
    /// </summary>
    public string Default => DefaultText ?? Show(Scope is OptionScope.DataFile or OptionScope.Data ? TrainingOptionTable.DataDefaults : RunSpec.Default);

    /// <summary>The default in words, where it is not a value (<c>one per core</c>), or empty for none.</summary>
    public string? DefaultText { get; init; }

    /// <summary>The placeholder help shows after the option: its choices, or the kind of value.</summary>
    public string ValueName => Kind switch
    {
        OptionKind.Choice => string.Join('|', Choices),
        OptionKind.Integer => "int",
        OptionKind.Real => "float",
        OptionKind.File => "file",
        OptionKind.Name => "name",
        _ => "names",
    };

    /// <summary>Whether the option means something for this run.</summary>
    public bool AppliesTo(RunSpec s) => Scope switch
    {
        OptionScope.Task => s.Source is TaskSource,
        OptionScope.DataFile => s.Source is DataFileSource,
        OptionScope.Data => s.Source is DataFileSource or DataSetSource,
        OptionScope.Lra => s.Options.Algorithm == AlgorithmKind.Lra,
        _ => true,
    };

    /// <summary>Whether a run records the option (checkpoints, reports, run ids): it applies, and is not an <see cref="OmittedAtDefault"/> one at its default.</summary>
    public bool Records(RunSpec s) => AppliesTo(s) && !(OmittedAtDefault && Format(s) == Format(s.Source is TaskSource ? RunSpec.Default : TrainingOptionTable.DataDefaults));

    /// <summary>The option's value in <paramref name="s"/> as checkpoints record it (a float as the double it widens to).</summary>
    public string Format(RunSpec s) => _format(s);

    /// <summary>The option's value in <paramref name="s"/> as the command line gives it (a float in its shortest round-trip form: 0.01).</summary>
    public string Show(RunSpec s)
    {
        string value = _format(s);
        return IsFloat ? ((float)double.Parse(value, CultureInfo.InvariantCulture)).ToString("R", CultureInfo.InvariantCulture) : value;
    }

    /// <summary><paramref name="s"/> with this option set from <paramref name="text"/>; an <see cref="OptionException"/> when it does not parse.</summary>
    public RunSpec Parse(RunSpec s, string text) => _parse(s, text);
}

/// <summary>
/// The one table of a run's options, in the order checkpoints record them (which the sweep's run
/// ids hash, so that order and the float formatting, each float as the double it widens to, stay as
/// they were). The command line and its help, checkpoint and model metadata, sweep grids and their
/// summaries, the JSON report, <c>replay</c>, the C ABI's learner, fastlra.h's list and the README's
/// option tables all read it, so an option is added in one place. It parses; ranges are checked
/// when a run is validated (<see cref="RunSpec"/>).
/// </summary>
internal static class TrainingOptionTable
{
    private const OptionUse Evaluation = OptionUse.Run | OptionUse.Eval | OptionUse.Predict;
    private const OptionUse Series = Evaluation | OptionUse.Replay;
    private const OptionUse Online = OptionUse.Run | OptionUse.Replay | OptionUse.Learner;

    /// <summary>Every option, in the order help and reports list them.</summary>
    public static IReadOnlyList<TrainingOption> All { get; } =
    [
        new("task", OptionScope.Task, OptionKind.Choice, OptionUse.Run | OptionUse.Eval | OptionUse.Data, "the synthetic task",
            s => TaskInfo.Name(TaskOf(s).Task), (s, v) => s with { Source = TaskOf(s) with { Task = Choice<TaskKind>(v, "task", TaskInfo.TryParse, TaskInfo.Names) } })
        { Choices = TaskInfo.Names, DefaultText = "" },
        new("length", OptionScope.Task, OptionKind.Integer, OptionUse.Run | OptionUse.Eval | OptionUse.Data,
            "sequence length T of the synthetic task (the generators need int(0.1 T) >= 1, so T >= 10; random-permutation T >= 1)",
            s => I(TaskOf(s).Length), (s, v) => s with { Source = TaskOf(s) with { Length = Int(v, "length") } }) { DefaultText = "" },
        new("data", OptionScope.DataFile, OptionKind.File, Series,
            $"the data file instead of a task: {DataFiles.Formats} (docs/data.md); with it, the data options apply instead of --task, --length, --valid-size",
            s => FileOf(s).Path, (s, v) => s with { Source = FileOf(s) with { Path = v } })
        {
            DefaultText = "",
            HelpFor =
            [
                (OptionUse.Eval, $"the data file to evaluate the model on instead of a task: {DataFiles.Formats} (docs/data.md), read with the data options the model records (those given here replace them)"),
                (OptionUse.Predict, $"the data file to predict: {DataFiles.Formats} (docs/data.md), read with the data options the model records (those given here replace them)"),
                (OptionUse.Replay, "the CSV series to replay, one tick per row"),
            ],
        },
        new("valid-data", OptionScope.DataFile, OptionKind.File, OptionUse.Run, "validate on this file, read like --data (default: split --valid-fraction off the training data)",
            s => FileOf(s).ValidPath ?? "", (s, v) => s with { Source = FileOf(s) with { ValidPath = v.Length == 0 ? null : v } }) { DefaultText = "" },
        new("valid-fraction", OptionScope.DataFile, OptionKind.Real, OptionUse.Run,
            "without --valid-data: the share held out for validation, the last windows of a CSV series (never a random split of a time series), a seeded random subset of arrays",
            s => D(FileOf(s).ValidFraction), (s, v) => s with { Source = FileOf(s) with { ValidFraction = Double(v, "valid-fraction") } }),
        new("input-columns", OptionScope.DataFile, OptionKind.Names, Series, "CSV: the columns fed to the network, comma-separated",
            s => FileOf(s).File.InputColumns, (s, v) => WithFile(s, f => f with { InputColumns = v })),
        new("target-columns", OptionScope.DataFile, OptionKind.Names, Series, "CSV: the columns to predict, comma-separated",
            s => FileOf(s).File.TargetColumns, (s, v) => WithFile(s, f => f with { TargetColumns = v })),
        new("delimiter", OptionScope.DataFile, OptionKind.Choice, Series,
            "CSV: the separator between cells; auto takes the most frequent of ',', ';' and tab in the header row (',' when it has none)",
            s => FileOf(s).File.Delimiter switch { null => "auto", '\t' => "tab", var d => d.Value.ToString() },
            (s, v) => WithFile(s, f => f with { Delimiter = v switch { "auto" => null, "," => ',', ";" => ';', "tab" or "\t" => '\t', _ => throw Unknown("delimiter", v, ["auto", ",", ";", "tab"]) } }))
        { Choices = ["auto", ",", ";", "tab"], OmittedAtDefault = true },
        new("decimal-comma", OptionScope.DataFile, OptionKind.Choice, Series,
            "CSV: true reads numbers written with a decimal comma (1,5); the cells must then be separated by ';' or tabs",
            s => FileOf(s).File.DecimalComma ? "true" : "false",
            (s, v) => WithFile(s, f => f with { DecimalComma = v switch { "true" => true, "false" => false, _ => throw Unknown("decimal-comma", v, ["true", "false"]) } }))
        { Choices = ["true", "false"], OmittedAtDefault = true },
        new("classes", OptionScope.DataFile, OptionKind.Integer, Evaluation,
            "the targets are integer class labels in [0, N) (CSV: one target column); 0 = regression for CSV, the largest label + 1 for integer arrays",
            s => I(FileOf(s).File.Classes), (s, v) => WithFile(s, f => f with { Classes = Int(v, "classes") })),
        new("window", OptionScope.DataFile, OptionKind.Integer, Evaluation, "CSV: rows per window, the steps T of each sequence",
            s => I(FileOf(s).File.Window), (s, v) => WithFile(s, f => f with { Window = Int(v, "window") })) { DefaultText = "" },
        new("horizon", OptionScope.DataFile, OptionKind.Integer, Series, "CSV: predict the target h steps after each input step",
            s => I(FileOf(s).File.Horizon), (s, v) => WithFile(s, f => f with { Horizon = Int(v, "horizon") })),
        new("stride", OptionScope.DataFile, OptionKind.Integer, Evaluation, "CSV: steps between the starts of consecutive windows",
            s => I(FileOf(s).File.Stride), (s, v) => WithFile(s, f => f with { Stride = Int(v, "stride") })),
        new("outputs", OptionScope.DataFile, OptionKind.Choice, Evaluation,
            "last (one output per sequence) or all (one at every step from --washout on); auto: all for CSV and per-step arrays, last otherwise",
            s => OptionNames.Outputs.Name(FileOf(s).File.Outputs),
            (s, v) => WithFile(s, f => f with { Outputs = Choice<OutputSelection>(v, "outputs", OptionNames.Outputs.TryParse, OptionNames.Outputs.Names) }))
        { Choices = OptionNames.Outputs.Names },
        new("washout", OptionScope.DataFile, OptionKind.Integer, Evaluation, "with --outputs all: the first step that carries an output (and in training a loss)",
            s => I(FileOf(s).File.Washout), (s, v) => WithFile(s, f => f with { Washout = Int(v, "washout") })),
        new("time-column", OptionScope.DataFile, OptionKind.Name, OptionUse.Predict,
            "CSV: a column (years, dates: any text) whose cell of each predicted row labels it, instead of the row's number",
            s => FileOf(s).File.TimeColumn, (s, v) => WithFile(s, f => f with { TimeColumn = v.Trim() }))
        { DefaultText = "", OmittedAtDefault = true },
        new("normalize", OptionScope.Data, OptionKind.Choice, OptionUse.Run,
            "standard (per-feature mean and deviation of the training inputs and regression targets, kept in the model) or none",
            s => NormalizeOf(s) ? "standard" : "none",
            (s, v) => WithNormalize(s, v switch { "standard" => true, "none" => false, _ => throw Unknown("normalize", v, ["standard", "none"]) }))
        { Choices = ["standard", "none"] },
        new("epochs", OptionScope.Data, OptionKind.Integer, OptionUse.Run, "passes over the training data (sets the iteration budget; 0 = --max-iter decides)",
            s => I(s.Epochs), (s, v) => WithEpochs(s, Int(v, "epochs"))),
        new("hidden", OptionScope.Every, OptionKind.Integer, OptionUse.Run | OptionUse.Replay, "hidden width H (of every layer)",
            s => I(s.Options.Hidden), (s, v) => s with { Options = s.Options with { Hidden = Int(v, "hidden") } }),
        new("cell", OptionScope.Every, OptionKind.Choice, Online,
            "the recurrent cell of every layer: tanh (the paper's), gru or lstm (PyTorch's nn.RNN, nn.GRU, nn.LSTM); LRA takes tanh",
            s => CellNames.Name(s.Options.Cell), (s, v) => s with { Options = s.Options with { Cell = Choice<CellKind>(v, "cell", CellNames.TryParse, CellNames.Names) } })
        { Choices = CellNames.Names, OmittedAtDefault = true },
        new("layers", OptionScope.Every, OptionKind.Integer, Online, "layers L stacked, each reading the state of the one below (LRA takes 1)",
            s => I(s.Options.Layers), (s, v) => s with { Options = s.Options with { Layers = Int(v, "layers") } }) { OmittedAtDefault = true },
        new("batch", OptionScope.Every, OptionKind.Integer, OptionUse.Run | OptionUse.Data, "batch size B",
            s => I(s.Options.Batch), (s, v) => s with { Options = s.Options with { Batch = Int(v, "batch") } }),
        new("seed", OptionScope.Every, OptionKind.Integer, OptionUse.Run | OptionUse.Eval | OptionUse.Replay | OptionUse.Learner | OptionUse.Data,
            "seed of the task generator (on data: of the validation split and the shuffling) and of the initialisation",
            s => I(s.Options.Seed), (s, v) => s with { Options = s.Options with { Seed = Seed(v) } })
        {
            HelpFor =
            [
                (OptionUse.Eval, "a task's seed: its generator draws the validation set (the training run's own at that run's seed and --valid-size); on data the model's recorded seed decides"),
                (OptionUse.Data, "seed of the task generator"),
                (OptionUse.Replay, "seed of a fresh network's initialisation (not with --model)"),
            ],
        },
        new("algo", OptionScope.Every, OptionKind.Choice, Online, "gradient algorithm",
            s => OptionNames.Algorithms.Name(s.Options.Algorithm),
            (s, v) => s with { Options = s.Options with { Algorithm = Choice<AlgorithmKind>(v, "algo", OptionNames.Algorithms.TryParse, OptionNames.Algorithms.Names) } })
        { Choices = OptionNames.Algorithms.Names },
        new("optimizer", OptionScope.Every, OptionKind.Choice, Online, "PyTorch semantics and defaults",
            s => Optimizer.Names[(int)s.Options.Optimizer],
            (s, v) => s with { Options = s.Options with { Optimizer = Choice<OptimizerKind>(v, "optimizer", Optimizer.TryParse, Optimizer.Names) } })
        { Choices = Optimizer.Names },
        new("lr", OptionScope.Every, OptionKind.Real, Online, "learning rate",
            s => F(s.Options.LearningRate), (s, v) => s with { Options = s.Options with { LearningRate = Float(v, "lr") } }),
        new("clip", OptionScope.Every, OptionKind.Real, Online,
            "gradient norm bound c (0 = off); BPTT clips the global norm as clip_grad_norm_, LRA every step's dWhh and dWxh, dWhy and every target gradient",
            s => F(s.Options.Clip), (s, v) => s with { Options = s.Options with { Clip = Float(v, "clip") } }),
        new("lr-schedule", OptionScope.Every, OptionKind.Choice, OptionUse.Run,
            "how the rate changes: constant; cosine (down to --lr-min over --max-iter, PyTorch's CosineAnnealingLR; a resume that raises --max-iter stretches it from there); step (times --lr-factor every --lr-step-every iterations, StepLR); " +
            "plateau (times --lr-factor, never below --lr-min, at the check after --lr-patience checks in a row without a new best validation loss, ReduceLROnPlateau)",
            s => LearningRates.Names[(int)s.Options.Schedule],
            (s, v) => s with { Options = s.Options with { Schedule = Choice<LearningRateSchedule>(v, "lr-schedule", LearningRates.TryParse, LearningRates.Names) } })
        { Choices = LearningRates.Names, OmittedAtDefault = true },
        new("lr-min", OptionScope.Every, OptionKind.Real, OptionUse.Run, "cosine: the rate the schedule ends at; plateau: the floor of its reductions",
            s => F(s.Options.MinLearningRate), (s, v) => s with { Options = s.Options with { MinLearningRate = Float(v, "lr-min") } }) { OmittedAtDefault = true },
        new("lr-step-every", OptionScope.Every, OptionKind.Integer, OptionUse.Run, "step: iterations between reductions of the rate",
            s => I(s.Options.LearningRateStepEvery), (s, v) => s with { Options = s.Options with { LearningRateStepEvery = Int(v, "lr-step-every") } }) { OmittedAtDefault = true },
        new("lr-factor", OptionScope.Every, OptionKind.Real, OptionUse.Run, "step and plateau: what each reduction multiplies the rate by",
            s => F(s.Options.LearningRateFactor), (s, v) => s with { Options = s.Options with { LearningRateFactor = Float(v, "lr-factor") } }) { OmittedAtDefault = true },
        new("lr-patience", OptionScope.Every, OptionKind.Integer, OptionUse.Run,
            "plateau: checks (not iterations) in a row without a new best validation loss that the rate waits through; the next such check reduces it (ReduceLROnPlateau's patience)",
            s => I(s.Options.LearningRatePatience), (s, v) => s with { Options = s.Options with { LearningRatePatience = Int(v, "lr-patience") } }) { OmittedAtDefault = true },
        new("lr-threshold", OptionScope.Every, OptionKind.Real, OptionUse.Run,
            "plateau: a check's validation loss is a new best when below the best so far times (1 - t) (ReduceLROnPlateau's relative threshold; not --min-delta, early stopping's absolute one, which on a task is an accuracy)",
            s => D(s.Options.LearningRateThreshold), (s, v) => s with { Options = s.Options with { LearningRateThreshold = Double(v, "lr-threshold") } }) { OmittedAtDefault = true },
        // Not bench's: its own --warmup counts the untimed iterations, and a rate schedule does not change what it times.
        new("warmup", OptionScope.Every, OptionKind.Integer, OptionUse.Train | OptionUse.Sweep, "iterations over which the rate rises linearly from lr/N to lr before the schedule takes over (0: none)",
            s => I(s.Options.Warmup), (s, v) => s with { Options = s.Options with { Warmup = Int(v, "warmup") } }) { OmittedAtDefault = true },
        new("weight-decay", OptionScope.Every, OptionKind.Real, OptionUse.Run,
            "decoupled weight decay wd: each step first multiplies every parameter by 1 - lr wd, as AdamW (not PyTorch's SGD or Adam weight_decay, which add wd w to the gradient)",
            s => F(s.Options.WeightDecay), (s, v) => s with { Options = s.Options with { WeightDecay = Float(v, "weight-decay") } }) { OmittedAtDefault = true },
        new("min-delta", OptionScope.Every, OptionKind.Real, OptionUse.Run,
            "the least improvement on the best so far that counts as a new best for --patience (validation accuracy; on data, validation loss), as Keras's min_delta",
            s => D(s.Options.MinDelta), (s, v) => s with { Options = s.Options with { MinDelta = Double(v, "min-delta") } }) { OmittedAtDefault = true },
        new("max-iter", OptionScope.Every, OptionKind.Integer, OptionUse.Run, "iteration budget, counted from the run's start",
            s => I(s.Options.MaxIterations), (s, v) => s with { Options = s.Options with { MaxIterations = Long(v, "max-iter") } }),
        new("check-every", OptionScope.Every, OptionKind.Integer, OptionUse.Run, "iterations between validation checks",
            s => I(s.Options.CheckEvery), (s, v) => s with { Options = s.Options with { CheckEvery = Int(v, "check-every") } }),
        new("patience", OptionScope.Every, OptionKind.Integer, OptionUse.Run, "checks without a new best validation accuracy (on data: validation loss) before stopping",
            s => I(s.Options.Patience), (s, v) => s with { Options = s.Options with { Patience = Int(v, "patience") } }),
        new("valid-size", OptionScope.Task, OptionKind.Integer, OptionUse.Run | OptionUse.Eval,
            "sequences in the task's fixed validation set (drawn first from the generator, as the reference does)",
            s => I(TaskOf(s).ValidSize), (s, v) => s with { Source = TaskOf(s) with { ValidSize = Int(v, "valid-size") } }),
        new("semantics", OptionScope.Lra, OptionKind.Choice, OptionUse.Run,
            "LRA: local (every derivative local to its step, O(T K B H²)) or reference (exact parity with the paper's published code, O(T² B H²); needs B <= H)",
            s => OptionNames.Semantics.Name(s.Options.Semantics),
            (s, v) => s with { Options = s.Options with { Semantics = Choice<LraSemantics>(v, "semantics", OptionNames.Semantics.TryParse, OptionNames.Semantics.Names) } })
        { Choices = OptionNames.Semantics.Names },
        new("k", OptionScope.Lra, OptionKind.Integer, Online, "LRA: target steps per layer",
            s => I(s.Options.K), (s, v) => s with { Options = s.Options with { K = Int(v, "k") } }),
        new("beta", OptionScope.Lra, OptionKind.Real, Online, "LRA: target step size",
            s => F(s.Options.Beta), (s, v) => s with { Options = s.Options with { Beta = Float(v, "beta") } }),
        new("alpha", OptionScope.Lra, OptionKind.Real, Online, "LRA: weight of the Omega regulariser (0 = unregularised)",
            s => F(s.Options.Alpha), (s, v) => s with { Options = s.Options with { Alpha = Float(v, "alpha") } }),
        new("local-loss", OptionScope.Lra, OptionKind.Choice, Online, "LRA: the local loss",
            s => OptionNames.LocalLosses.Name(s.Options.LocalLoss),
            (s, v) => s with { Options = s.Options with { LocalLoss = Choice<LocalLossKind>(v, "local-loss", OptionNames.LocalLosses.TryParse, OptionNames.LocalLosses.Names) } })
        { Choices = ["log-penalty", "mse"] },
        new("clip-mode", OptionScope.Lra, OptionKind.Choice, Online,
            "LRA: above rescales a gradient whose norm is at least c, always rescales every gradient to norm c",
            s => OptionNames.ClipModes.Name(s.Options.ClipMode),
            (s, v) => s with { Options = s.Options with { ClipMode = Choice<ClipMode>(v, "clip-mode", OptionNames.ClipModes.TryParse, OptionNames.ClipModes.Names) } })
        { Choices = OptionNames.ClipModes.Names },
        new("deterministic", OptionScope.Every, OptionKind.Choice, Online,
            "true sums in one order at every vector width, so a run gives the same bits at 512, 256 and 128 bits and on ARM64; false lets dot products sum in the width's own lanes (faster at 512 and 128 bits, the bits then the width's)",
            s => s.Options.Deterministic ? "true" : "false",
            (s, v) => s with { Options = s.Options with { Deterministic = v switch { "true" => true, "false" => false, _ => throw Unknown("deterministic", v, ["true", "false"]) } } })
        { Choices = ["true", "false"], OmittedAtDefault = true, ReportedAtDefault = true },
        new("omega-guard", OptionScope.Lra, OptionKind.Real, Online,
            "LRA: guard e of the guarded Omega, r = ||N|| / (||G|| + e): the paper's Omega for signals well above e, a term that vanishes with the signal below it (docs/algorithm.md, \"Guarded Omega\"); 0 = the paper's Omega",
            s => F(s.Options.OmegaGuard), (s, v) => s with { Options = s.Options with { OmegaGuard = Float(v, "omega-guard") } }) { OmittedAtDefault = true },
    ];

    /// <summary>A run on a data file left at every default: what the data options' defaults are read from.</summary>
    internal static RunSpec DataDefaults { get; } = new(new DataFileSource(""));

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

    /// <summary>The options that apply to <paramref name="s"/>, with their values: what checkpoints, models and reports record.</summary>
    public static List<KeyValuePair<string, string>> Describe(RunSpec s)
    {
        var list = new List<KeyValuePair<string, string>>();
        foreach (var option in All)
            if (option.Records(s)) list.Add(new(option.Key, option.Format(s)));
        return list;
    }

    /// <summary>
    /// The run <see cref="Describe(RunSpec)"/> wrote (by key): a <c>data</c> entry makes a run on that file,
    /// a <c>task</c> entry one on that task; entries of neither are a run on data in memory, whose
    /// <paramref name="inMemory"/> source must be given. Options the entries lack keep their
    /// defaults. An <see cref="OptionException"/> names a bad value.
    /// </summary>
    public static RunSpec Read(IReadOnlyDictionary<string, string> entries, DataSetSource? inMemory = null)
    {
        RunSource source = entries.ContainsKey("data") ? new DataFileSource("")
            : entries.ContainsKey("task") ? RunSpec.Default.Source
            : inMemory ?? throw new OptionException("the run is on data in memory (no 'task' or 'data' is recorded): give its data sets to resume it.");
        var s = new RunSpec(source);
        // The algorithm first: it decides which options apply.
        if (entries.TryGetValue("algo", out string? algo)) s = Find("algo")!.Parse(s, algo);
        foreach (var option in All)
            if (option.AppliesTo(s) && entries.TryGetValue(option.Key, out string? value)) s = option.Parse(s, value);
        return s;
    }

    /// <summary>
    /// The options of <paramref name="use"/> that apply to any data with their values in
    /// <paramref name="o"/> (the online learner's files record these: its data is its ticks).
    /// </summary>
    public static List<KeyValuePair<string, string>> Describe(TrainingOptions o, OptionUse use)
    {
        var s = RunSpec.Default with { Options = o };
        var list = new List<KeyValuePair<string, string>>();
        foreach (var option in All)
            if ((option.Use & use) != 0 && option.Scope is OptionScope.Every or OptionScope.Lra && option.Records(s)) list.Add(new(option.Key, option.Format(s)));
        return list;
    }

    /// <summary>The options <see cref="Describe(TrainingOptions, OptionUse)"/> wrote; those the entries lack keep their defaults.</summary>
    public static TrainingOptions ReadOptions(IReadOnlyDictionary<string, string> entries, OptionUse use)
    {
        var s = RunSpec.Default;
        if (entries.TryGetValue("algo", out string? algo)) s = Find("algo")!.Parse(s, algo);
        foreach (var option in All)
            if ((option.Use & use) != 0 && option.Scope is OptionScope.Every or OptionScope.Lra && option.AppliesTo(s) && entries.TryGetValue(option.Key, out string? value))
                s = option.Parse(s, value);
        return s.Options;
    }

    private static TaskSource TaskOf(RunSpec s) => s.Source as TaskSource ?? (TaskSource)RunSpec.Default.Source;

    private static DataFileSource FileOf(RunSpec s) => s.Source as DataFileSource ?? (DataFileSource)DataDefaults.Source;

    private static bool NormalizeOf(RunSpec s) => s.Source switch
    {
        DataFileSource f => f.Normalize,
        DataSetSource m => m.Normalize,
        _ => true,
    };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static RunSpec WithFile(RunSpec s, Func<DataFileOptions, DataFileOptions> change) => s with { Source = FileOf(s) with { File = change(FileOf(s).File) } };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static RunSpec WithNormalize(RunSpec s, bool normalize) => s with
    {
        Source = s.Source is DataSetSource m ? m with { Normalize = normalize } : FileOf(s) with { Normalize = normalize },
    };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static RunSpec WithEpochs(RunSpec s, int epochs) => s with
    {
        Source = s.Source is DataSetSource m ? m with { Epochs = epochs } : FileOf(s) with { Epochs = epochs },
    };

    private delegate bool TryParser<T>(string? name, out T value);

    // The helpers below are called from every entry of the table; kept out of line (NoInlining),
    // the table costs the Native AOT binary a few kilobytes instead of tens.

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static T Choice<T>(string text, string name, TryParser<T> tryParse, IReadOnlyList<string> names) =>
        tryParse(text, out T value) ? value : throw Unknown(name, text, names);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static OptionException Unknown(string name, string text, IReadOnlyList<string> names)
    {
        // A choice that is punctuation (a delimiter) is quoted, so that the list still reads as one.
        var shown = names.Select(n => n.All(c => char.IsLetterOrDigit(c) || c == '-') ? n : $"'{n}'").ToList();
        return new(name == "task" ? $"unknown task '{text}' (choose {string.Join(", ", shown)})." : $"unknown --{name} '{text}' (choose {string.Join(", ", shown.SkipLast(1))} or {shown[^1]}).");
    }

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
