using System.Globalization;

namespace FastLra;

/// <summary>
/// How much memory one job may ask for: half of what this process may use, leaving the rest to the
/// runtime, the OS and whatever else runs. Every size a user or a file chooses is checked against
/// it before the memory is allocated.
/// </summary>
/// <remarks>
/// "What this process may use" is the limit the garbage collector itself applies, as it reports
/// it (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>): a heap hard limit when one is set,
/// else a container's memory limit, else the machine's memory. A limit the runtime did not take is
/// no limit, so the budget never promises one the heap would not keep. The Native AOT binary takes
/// <c>DOTNET_GCHeapHardLimit</c> as bare hex digits only (<c>4000000</c> for 64 MiB) and ignores
/// the <c>0x4000000</c> form the JIT build also accepts (docs/deployment.md); <c>fastlra info</c>
/// prints the limit in force.
/// </remarks>
internal static class MemoryBudget
{
    /// <summary>What this process may use, as the garbage collector applies it.</summary>
    public static long Available => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>The bytes a job may allocate.</summary>
    public static long Bytes => Available / 2;

    /// <summary>The message for a job that would need <paramref name="bytes"/>: what, how much, the budget, and the remedy.</summary>
    public static string TooMuch(string what, double bytes, string remedy) =>
        $"{what} would need {Megabytes(bytes)} MB, more than half of the {Bytes >> 19} MB this process may use; {remedy}.";

    /// <summary>Whole megabytes (MiB) in <paramref name="bytes"/>, rounded down, in digits however large.</summary>
    public static string Megabytes(double bytes) => Math.Floor(bytes / (1 << 20)).ToString("F0", CultureInfo.InvariantCulture);
}
