using System.Globalization;

namespace FastLra.Training;

/// <summary>
/// How an online learner learns beyond its training options: W, the ticks each update trains on;
/// U, the ticks between updates; and where updates run. One table of the three, which
/// <c>fastlra replay</c>'s flags, the C ABI's <c>name=value</c> options and fastlra.h's list read.
/// </summary>
/// <param name="Window">W, at least 1 (1 is the fully online limit).</param>
/// <param name="UpdateEvery">U, at least 1.</param>
/// <param name="Mode">Inline, or on a trainer thread.</param>
public sealed record OnlineOptions(int Window = 16, int UpdateEvery = 1, OnlineMode Mode = OnlineMode.Inline)
{
    private static readonly OnlineOptions Defaults = new();

    /// <summary>The most ticks a window holds.</summary>
    public const int MaxWindow = 1_000_000;

    /// <summary>Each option's name, the kind of value it takes, its default and what it means.</summary>
    internal static (string Name, string Value, string Default, string Help)[] Table { get; } =
    [
        ("window", "int", Defaults.Window.ToString(CultureInfo.InvariantCulture), "W: the ticks each update trains on, from the state before the first (1 is the fully online limit)"),
        ("update-every", "int", Defaults.UpdateEvery.ToString(CultureInfo.InvariantCulture), "U: ticks between updates"),
        ("mode", "inline|background", Defaults.Mode == OnlineMode.Inline ? "inline" : "background", "inline (the due tick runs the update) or background (a trainer thread; ticks never wait)"),
    ];

    /// <summary>These options with <paramref name="name"/> set from <paramref name="value"/>; an <see cref="OptionException"/> names a bad one.</summary>
    internal OnlineOptions With(string name, string value) => name switch
    {
        "window" => this with { Window = Count(name, value, MaxWindow) },
        "update-every" => this with { UpdateEvery = Count(name, value, int.MaxValue) },
        "mode" => this with
        {
            Mode = value switch
            {
                "inline" => OnlineMode.Inline,
                "background" => OnlineMode.Background,
                _ => throw new OptionException($"unknown --mode '{Shown(value)}' (choose inline or background)."),
            },
        },
        _ => throw new OptionException($"unknown learner option '{name}'."),
    };

    private static int Count(string name, string value, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 && n <= max
            ? n
            : throw new OptionException($"--{name} must be an integer in [1, {max}], got '{Shown(value)}'.");

    // A value as a message quotes it: at most 100 characters of it.
    private static string Shown(string value) => value.Length > 100 ? value[..100] + "..." : value;
}
