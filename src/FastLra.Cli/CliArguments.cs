using System.Text;
using FastLra.IO;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary>
/// A flag of a command beside the run table's options: its name, the kind of value it takes (a help
/// placeholder such as "file" or "int"; null for a switch), its help line, its default as help
/// shows it (empty for none), and whether the command needs it (help marks it; the command refuses
/// to run without it).
/// </summary>
internal sealed class CliFlag(string name, string? value, string help, bool required = false, string @default = "")
{
    public string Name => name;
    public bool TakesValue => value is not null;
    public string? Value => value;
    public string Help => help;
    public bool Required => required;
    public string Default => @default;

    /// <summary>The largest value an integer flag takes; <see cref="CliArguments.Long"/> refuses a larger one by name.</summary>
    public long Max { get; init; } = long.MaxValue;
}

/// <summary>
/// The arguments of a command: <c>--name value</c> (or <c>--name=value</c>) for every option of
/// <see cref="TrainingOptionTable"/> the command takes, and the command's own flags. Unknown
/// options (the command's own help lists the ones it takes), missing values and repeated options
/// are usage errors that name the option (with the nearest known name when one is close).
/// </summary>
internal sealed class CliArguments
{
    private readonly List<(TrainingOption Option, string Value)> _options = [];
    private readonly Dictionary<string, string?> _flags = new(StringComparer.Ordinal);
    private IReadOnlyList<CliFlag> _declared = [];
    private string _command = "";

    /// <summary>Whether --help was given.</summary>
    public bool Help { get; private set; }

    /// <summary>The one positional argument of a command that takes one (report's directory), or null.</summary>
    public string? Positional { get; private set; }

    /// <summary>The names of the table's options given, as typed.</summary>
    public IReadOnlySet<string> Given => _options.Select(o => o.Option.Name).ToHashSet(StringComparer.Ordinal);

    /// <summary>Parses <paramref name="args"/> for <paramref name="command"/>.</summary>
    public static CliArguments Parse(Command command, string[] args)
    {
        var flags = command.Flags;
        var parsed = new CliArguments { _declared = flags, _command = command.Name };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg is "--help" or "-h")
            {
                parsed.Help = true;
                continue;
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                if (command.Positional is null || parsed.Positional is not null)
                    throw new UsageException($"{command.Name}: unexpected argument '{arg}' (options are --name value).");
                parsed.Positional = arg;
                continue;
            }
            string name = arg[2..];
            string? inline = null;
            int equals = name.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0) (name, inline) = (name[..equals], name[(equals + 1)..]);
            if (!seen.Add(name)) throw new UsageException($"{command.Name}: --{name} is given twice.");
            var option = TrainingOptionTable.Find(name);
            var flag = flags.FirstOrDefault(f => f.Name == name);
            if ((option is null || !command.Takes(option)) && flag is null) throw Unknown(command, name, option);
            if (flag is { TakesValue: false })
            {
                if (inline is not null) throw new UsageException($"{command.Name}: --{name} takes no value.");
                parsed._flags[name] = null;
                continue;
            }
            if (inline is null && i + 1 >= args.Length) throw new UsageException($"{command.Name}: --{name} needs a value.");
            string value = inline ?? args[++i];
            if (flag is not null) parsed._flags[name] = value;
            else parsed._options.Add((option!, value));
        }
        return parsed;
    }

    // An option the command does not take: another command's is named as such, a typo gets the nearest.
    private static UsageException Unknown(Command command, string name, TrainingOption? option)
    {
        if (option is not null) return new UsageException($"{command.Name} does not take --{name}; see fastlra {command.Name} --help.");
        string? near = Nearest(name, Known(command));
        return new UsageException($"{command.Name}: unknown option --{name}{(near is null ? "" : $" (did you mean --{near}?)")}; see fastlra {command.Name} --help.");
    }

    /// <summary>The candidate closest to <paramref name="name"/> by edit distance, if it is close enough to be what was meant.</summary>
    public static string? Nearest(string name, IEnumerable<string> candidates)
    {
        string? near = null;
        foreach (string k in candidates)
            if (Distance(k, name) <= Math.Max(2, name.Length / 3) && (near is null || Distance(k, name) < Distance(near, name))) near = k;
        return near;
    }

    /// <summary>Whether the training option or flag was given.</summary>
    public bool Has(string name) => _flags.ContainsKey(name) || _options.Exists(o => o.Option.Name == name);

    /// <summary>A flag's value, or null when absent.</summary>
    public string? Flag(string name) => _flags.GetValueOrDefault(name);

    /// <summary>
    /// A flag that names a file to write, or null when absent: checked before any work is done
    /// (<see cref="OutputFile.Check"/>), so a run never trains for an hour and then fails to save.
    /// A missing or unwritable folder, or a directory, FIFO, device, symbolic link or hard-linked
    /// file in the file's place, is a usage error.
    /// </summary>
    public string? Output(string name)
    {
        string? path = Flag(name);
        if (path is not null) CheckOutput(name, path, directory: false);
        return path;
    }

    /// <summary>Checks a file (or, with <paramref name="directory"/>, a directory) that <c>--name</c> names for writing; a problem is a usage error naming it.</summary>
    public static void CheckOutput(string name, string path, bool directory)
    {
        try
        {
            if (directory) OutputFile.CheckDirectory(path);
            else OutputFile.Check(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--{name} {path}: {e.Message}.");
        }
    }

    /// <summary>A required flag that names a file to write (see <see cref="Output"/>).</summary>
    public string RequiredOutput(string name) => Output(name) ?? throw Missing(name);

    /// <summary>A flag's value; its absence is a usage error.</summary>
    public string Required(string name) => Flag(name) ?? throw Missing(name);

    private UsageException Missing(string name) =>
        new($"{_command} needs --{name} {_declared.First(f => f.Name == name).Value}; see fastlra {_command} --help.");

    /// <summary>A flag's integer value, or <paramref name="otherwise"/> when absent; one above the flag's <see cref="CliFlag.Max"/> is a usage error.</summary>
    public long Long(string name, long otherwise)
    {
        string? text = Flag(name);
        if (text is null) return otherwise;
        if (!long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long value))
            throw new UsageException($"--{name} takes an integer, got '{text}'.");
        long max = long.MaxValue;
        foreach (var flag in _declared)
            if (flag.Name == name) max = flag.Max;
        return value <= max ? value : throw new UsageException($"--{name} must be at most {max}, got {value}.");
    }

    /// <summary><paramref name="s"/> with the given options applied, the data file and the algorithm first (they decide what applies).</summary>
    public RunSpec Apply(RunSpec s)
    {
        foreach (var (option, value) in Ordered())
        {
            if (option.Scope == OptionScope.Task && s.Source is not TaskSource)
                throw new UsageException($"--{option.Name} is a synthetic task's option; it does not combine with --data.");
            if (option.Scope is OptionScope.DataFile or OptionScope.Data && option.Name != "data" && s.Source is TaskSource)
                throw new UsageException($"--{option.Name} is an option of data; it takes --data F, not a synthetic task.");
            try
            {
                s = option.Parse(s, value);
            }
            catch (OptionException e)
            {
                throw new UsageException(e.Message);
            }
        }
        return s;
    }

    private static IEnumerable<string> Known(Command command)
    {
        foreach (var option in TrainingOptionTable.All)
            if (command.Takes(option)) yield return option.Name;
        foreach (var flag in command.Flags) yield return flag.Name;
    }

    private IEnumerable<(TrainingOption Option, string Value)> Ordered()
    {
        foreach (string first in (string[])["data", "algo"])
            foreach (var pair in _options)
                if (pair.Option.Name == first) yield return pair;
        foreach (var pair in _options)
            if (pair.Option.Name is not ("data" or "algo")) yield return pair;
    }

    /// <summary>Edit distance, for suggesting the option a typo meant.</summary>
    private static int Distance(string a, string b)
    {
        var row = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) row[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int up = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = up;
            }
        }
        return row[b.Length];
    }
}
