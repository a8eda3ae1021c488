using System.Text;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary>
/// One command of <c>fastlra</c>, in a file of its own (Commands/): its name, summary and usage,
/// the options of the run table it takes (<see cref="TrainingOption.Use"/>), its own flags, and
/// what it does. <see cref="Registry"/> lists them all, which drives dispatch, help, <c>fastlra
/// --help</c> and the README's tables.
/// </summary>
internal abstract class Command
{
    /// <summary>The name typed after <c>fastlra</c>.</summary>
    public abstract string Name { get; }

    /// <summary>One line: what it does, for <c>fastlra --help</c>.</summary>
    public abstract string Summary { get; }

    /// <summary>The usage line after "Usage: ".</summary>
    public abstract string Usage { get; }

    /// <summary>The table's options it takes (none unless it says).</summary>
    public virtual OptionUse Options => 0;

    /// <summary>Its own flags.</summary>
    public virtual IReadOnlyList<CliFlag> Flags => [];

    /// <summary>The name of the one bare argument it takes (report's directory), or null.</summary>
    public virtual string? Positional => null;

    /// <summary>Runs it on parsed arguments; returns the exit code.</summary>
    public abstract int Run(CliArguments a, CancellationToken cancel);

    /// <summary>Whether it takes <paramref name="option"/>.</summary>
    public bool Takes(TrainingOption option) => (option.Use & Options) != 0;

    /// <summary>Parses <paramref name="args"/> and runs, or prints the help.</summary>
    public int Invoke(string[] args, CancellationToken cancel)
    {
        var a = CliArguments.Parse(this, args);
        if (!a.Help) return Run(a, cancel);
        Console.Out.Write(Help());
        return CliExit.Ok;
    }

    /// <summary>Its help: the usage line, then the required flags, the table's options it takes, and its other flags, each with the kind of value and its default.</summary>
    public string Help()
    {
        var text = new StringBuilder($"Usage: {Usage}\n\nOptions:\n");
        foreach (var flag in Flags)
            if (flag.Required) Line(text, flag.Name, flag.Value, "required: " + flag.Help, "");
        foreach (var option in TrainingOptionTable.All)
            if (Takes(option)) Line(text, option.Name, option.ValueName, option.HelpOf(Options), option.Default);
        foreach (var flag in Flags)
            if (!flag.Required) Line(text, flag.Name, flag.Value, flag.Help, flag.Default);
        return text.ToString();
    }

    /// <summary>
    /// Its usage and options as the README shows them, one Markdown table row per option: the required
    /// flags, then (for <c>train</c>) every option of the run table, then its other flags. Other
    /// commands give a row to each run option train does not take or that means something else to
    /// them, and name the others they take in one line under their table, pointing to train's.
    /// </summary>
    public string Markdown()
    {
        var text = new StringBuilder($"`{Usage}`\n\n| option | default | meaning |\n| --- | --- | --- |\n");
        foreach (var flag in Flags)
            if (flag.Required) Row(text, flag.Name, flag.Value, flag.Help, "required");
        foreach (var option in TrainingOptionTable.All)
            if (Takes(option) && !AsTrainTakesIt(option)) Row(text, option.Name, option.ValueName, option.HelpOf(Options), option.Default);
        foreach (var flag in Flags)
            if (!flag.Required) Row(text, flag.Name, flag.Value, flag.Help, flag.Default);
        var shared = TrainingOptionTable.All.Where(o => Takes(o) && AsTrainTakesIt(o)).Select(o => $"`--{o.Name}`").ToList();
        if (shared.Count > 0) text.Append($"\nAnd these options of [`fastlra train`](#fastlra-train): {string.Join(", ", shared)}.\n");
        return text.ToString();
    }

    // Whether the README's train table says what the option means to this command (another command's row would repeat it).
    private bool AsTrainTakesIt(TrainingOption option) =>
        Options != OptionUse.Train && (option.Use & OptionUse.Train) != 0 && option.HelpOf(Options) == option.Help;

    private static void Row(StringBuilder text, string name, string? value, string help, string @default)
    {
        string option = value is null ? $"`--{name}`" : $"`--{name} <{value}>`";
        text.Append($"| {Cell(option)} | {Cell(@default)} | {Cell(help)} |\n");
    }

    /// <summary>Text for a Markdown table cell: a pipe escaped, so that it does not end the cell.</summary>
    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);

    private static void Line(StringBuilder text, string name, string? value, string help, string @default)
    {
        string option = value is null ? $"--{name}" : $"--{name} <{value}>";
        text.Append($"  {option,-30} {help}{(@default.Length == 0 ? "" : $" (default {@default})")}\n");
    }

    /// <summary>Every command, in the order <c>fastlra --help</c> lists them.</summary>
    public static IReadOnlyList<Command> Registry { get; } =
    [
        new TrainCommand(), new EvalCommand(), new PredictCommand(), new ReplayCommand(), new SweepCommand(), new ReportCommand(),
        new InferCommand(), new ImportCommand(), new ExportCommand(), new DataCommand(), new BenchCommand(), new InfoCommand(),
    ];

    /// <summary>The command of that name, or null.</summary>
    public static Command? Find(string name)
    {
        foreach (var command in Registry)
            if (command.Name == name) return command;
        return null;
    }

    /// <summary>The root help: every command and where its options are listed.</summary>
    public static string RootHelp()
    {
        var text = new StringBuilder("Usage: fastlra <command> [options]   (fastlra <command> --help lists a command's options)\n\nCommands:\n");
        foreach (var command in Registry) text.Append($"  {command.Name,-8} {command.Summary}\n");
        text.Append("\nfastlra --version prints the version.\n");
        return text.ToString();
    }

    /// <summary>The version, as the assembly carries it.</summary>
    public static string Version => typeof(TrainingRun).Assembly.GetName().Version?.ToString(3) ?? "?";
}
