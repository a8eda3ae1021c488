using FastLra.Kernels;

namespace FastLra.Tasks;

/// <summary>The four synthetic tasks of Pascanu et al. (2013) that the paper uses.</summary>
public enum TaskKind
{
    /// <summary>Classify the order of two marked symbols in a noisy sequence (4 classes).</summary>
    TemporalOrder,

    /// <summary>The same with three marked symbols (8 classes).</summary>
    TemporalOrder3Bit,

    /// <summary>Recall at the end the binary symbol that opened a sequence of 98 random distractors.</summary>
    RandomPermutation,

    /// <summary>Regress the mean of the two marked values of a sequence.</summary>
    Adding,
}

/// <summary>Names, widths and losses of each task.</summary>
internal static class TaskInfo
{
    /// <summary>The command-line names, in <see cref="TaskKind"/> order.</summary>
    public static readonly string[] Names = ["temporal-order", "temporal-order-3bit", "random-permutation", "adding"];

    public static string Name(TaskKind kind) => Names[(int)kind];

    public static bool TryParse(string? name, out TaskKind kind)
    {
        int index = Array.IndexOf(Names, name);
        kind = (TaskKind)Math.Max(index, 0);
        return index >= 0;
    }

    /// <summary>Input width I.</summary>
    public static int Inputs(TaskKind kind) => kind switch
    {
        TaskKind.RandomPermutation => 100,
        TaskKind.Adding => 2,
        _ => 6,
    };

    /// <summary>Output width O.</summary>
    public static int Outputs(TaskKind kind) => kind switch
    {
        TaskKind.TemporalOrder => 4,
        TaskKind.TemporalOrder3Bit => 8,
        TaskKind.RandomPermutation => 100,
        _ => 1,
    };

    public static GlobalLossKind Loss(TaskKind kind) =>
        kind == TaskKind.Adding ? GlobalLossKind.MeanSquaredError : GlobalLossKind.SoftmaxCrossEntropy;

    /// <summary>Shortest length the generator accepts: it needs int(0.1 T) >= 1; random-permutation needs T >= 1.</summary>
    public static int MinLength(TaskKind kind) => kind == TaskKind.RandomPermutation ? 1 : 10;
}
