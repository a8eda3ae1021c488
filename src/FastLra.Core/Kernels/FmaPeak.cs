using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace FastLra.Kernels;

/// <summary>
/// This core's float32 FMA peak at one vector width, measured now: twelve independent
/// accumulators (more than FMA latency times the FMA pipes on the cores at hand), no memory
/// traffic. The machine's speed drifts (by 1.5x within minutes here), so a kernel's figure means
/// something only as a share of a peak measured in the same process at about the same time.
/// </summary>
internal static class FmaPeak
{
    internal const int Rounds = 4096;

    /// <summary>The best of <paramref name="repeats"/> runs of about a millisecond each, in GFLOP/s, at <paramref name="bits"/> (512, 256, 128).</summary>
    public static double Gflops(int bits, int repeats = 20)
    {
        double best = 0;
        for (int i = 0; i < repeats; i++)
        {
            long start = Stopwatch.GetTimestamp();
            float sink = bits switch
            {
                512 => Run<V512>(),
                256 => Run<V256<MachineFma>>(),
                _ => Run<V128<MachineFma>>(),
            };
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (float.IsNaN(sink)) return 0; // never: keeps the loop's result alive
            best = Math.Max(best, 2.0 * 12 * Rounds * (bits / 32) / seconds / 1e9);
        }
        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static float Run<TV>()
        where TV : struct, IVector<TV>
    {
        TV m = TV.Broadcast(0.999f), c = TV.Broadcast(1e-3f);
        TV a0 = m, a1 = m, a2 = m, a3 = m, a4 = m, a5 = m, a6 = m, a7 = m, a8 = m, a9 = m, a10 = m, a11 = m;
        for (int i = 0; i < Rounds; i++)
        {
            a0 = TV.MultiplyAdd(a0, m, c); a1 = TV.MultiplyAdd(a1, m, c); a2 = TV.MultiplyAdd(a2, m, c);
            a3 = TV.MultiplyAdd(a3, m, c); a4 = TV.MultiplyAdd(a4, m, c); a5 = TV.MultiplyAdd(a5, m, c);
            a6 = TV.MultiplyAdd(a6, m, c); a7 = TV.MultiplyAdd(a7, m, c); a8 = TV.MultiplyAdd(a8, m, c);
            a9 = TV.MultiplyAdd(a9, m, c); a10 = TV.MultiplyAdd(a10, m, c); a11 = TV.MultiplyAdd(a11, m, c);
        }
        return TV.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
