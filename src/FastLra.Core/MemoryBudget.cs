namespace FastLra;

/// <summary>
/// How much memory one job may ask for: half of what this process may use (the machine's memory,
/// or a container's limit), leaving the rest to the runtime, the OS and whatever else runs. Every
/// size a user or a file chooses is checked against it before the memory is allocated.
/// </summary>
internal static class MemoryBudget
{
    /// <summary>The bytes a job may allocate.</summary>
    public static long Bytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;

    /// <summary>The message for a job that would need <paramref name="bytes"/>: what, how much, the budget, and the remedy.</summary>
    public static string TooMuch(string what, long bytes, string remedy) =>
        $"{what} would need {bytes >> 20} MB, more than half of the {Bytes >> 19} MB this process may use; {remedy}.";
}
