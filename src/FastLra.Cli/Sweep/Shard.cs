using System.Globalization;

namespace FastLra.Cli.Sweep;

/// <summary>
/// Which deterministic share of a grid one process runs: run r belongs to shard r mod n (round
/// robin, so long and short runs spread evenly). From <c>--shard i/n</c>; from <c>--shard n</c>
/// with i from the job array's index variable; or, with no flag, from a Slurm job array.
/// </summary>
internal readonly record struct Shard(int Index, int Count)
{
    public static readonly Shard All = new(0, 1);

    public bool Contains(int run) => run % Count == Index;

    /// <summary>The shard for a flag value (null when absent) and an environment; a bad value is a <see cref="UsageException"/>.</summary>
    public static Shard Resolve(string? flag, Func<string, string?> environment)
    {
        if (flag is null)
        {
            // A Slurm job array names both the index and the count.
            string? count = environment("SLURM_ARRAY_TASK_COUNT");
            return count is null ? All : Make(ArrayIndex(environment, "--shard"), Number(count, "SLURM_ARRAY_TASK_COUNT"), "SLURM_ARRAY_TASK_ID");
        }
        int slash = flag.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0) return Make(ArrayIndex(environment, $"--shard {flag}"), Number(flag, "--shard"), "the array index");
        return Make(Number(flag[..slash], "--shard"), Number(flag[(slash + 1)..], "--shard"), "--shard");
    }

    /// <summary>The index of this task in a Kubernetes indexed job or a Slurm job array (offset by the array's first index).</summary>
    private static int ArrayIndex(Func<string, string?> environment, string flag)
    {
        string? k8s = environment("JOB_COMPLETION_INDEX");
        if (k8s is not null) return Number(k8s, "JOB_COMPLETION_INDEX");
        string? slurm = environment("SLURM_ARRAY_TASK_ID");
        if (slurm is not null)
        {
            string? min = environment("SLURM_ARRAY_TASK_MIN");
            return Number(slurm, "SLURM_ARRAY_TASK_ID") - (min is null ? 0 : Number(min, "SLURM_ARRAY_TASK_MIN"));
        }
        throw new UsageException($"{flag} needs the shard index: give --shard i/n, or run as a Kubernetes indexed job (JOB_COMPLETION_INDEX) or a Slurm job array (SLURM_ARRAY_TASK_ID).");
    }

    private static Shard Make(int index, int count, string source)
    {
        if (count < 1) throw new UsageException($"the shard count must be at least 1, got {count}.");
        if (index < 0 || index >= count) throw new UsageException($"shard index {index} (from {source}) is outside 0..{count - 1}.");
        return new Shard(index, count);
    }

    private static int Number(string text, string source) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new UsageException($"{source}: '{text}' is not a whole number (expected --shard i/n, e.g. 0/4).");
}
