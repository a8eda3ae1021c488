using System.Runtime.CompilerServices;
using FastLra.Kernels;

namespace FastLra.Training;

/// <summary>The command-line and metadata names of an int-backed enum, in declaration order.</summary>
internal sealed class EnumNames<T>(params string[] names)
    where T : struct, Enum
{
    public IReadOnlyList<string> Names => names;

    public string Name(T value) => names[Unsafe.As<T, int>(ref value)];

    public bool TryParse(string? name, out T value)
    {
        int index = Array.IndexOf(names, name);
        value = default;
        if (index < 0) return false;
        value = Unsafe.As<int, T>(ref index);
        return true;
    }
}

/// <summary>One spelling of every option value, shared by the CLI, checkpoints and saved models.</summary>
internal static class OptionNames
{
    public static readonly EnumNames<AlgorithmKind> Algorithms = new("bptt", "lra");
    public static readonly EnumNames<LraSemantics> Semantics = new("local", "reference");
    public static readonly EnumNames<LocalLossKind> LocalLosses = new("mse", "log-penalty");
    public static readonly EnumNames<ClipMode> ClipModes = new("above", "always");
    public static readonly EnumNames<Data.OutputSelection> Outputs = new("auto", "last", "all");
    public static readonly EnumNames<StopReason> StopReasons = new("solved", "patience", "max-iter", "diverged", "cancelled");
}
