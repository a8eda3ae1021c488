using BenchmarkDotNet.Attributes;
using FastLra.Kernels;

namespace FastLra.Bench;

/// <summary>
/// The dominant products at the paper's shape: B = 20 rows, H = 100 (20x100 by 100x100, 0.4 MFLOP),
/// with compact rows of 100 floats and as the trainers run them, in rows padded to S = 112 (the
/// FLOP count is the useful 0.4 MFLOP either way). Buffers start on cache lines, as the workspace's do.
/// </summary>
[MemoryDiagnoser]
public class ProductBenchmarks
{
    private const int B = 20, H = 100, S = 112;
    private const double Flops = 2.0 * B * H * H;
    private readonly Memory<float> _a = Fill(B * S, 1), _w = Fill(H * S, 2), _c = Fill(B * S, 0), _g = Fill(H * S, 0);

    // Pinned and cut at a 64-byte boundary; seed 0 leaves it zero.
    private static unsafe Memory<float> Fill(int n, int seed)
    {
        var block = GC.AllocateArray<float>(n + 16, pinned: true);
        int offset = (int)((64 - (nuint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref block[0]) % 64) % 64) / sizeof(float);
        var rng = new Random(seed);
        var memory = block.AsMemory(offset, n);
        if (seed != 0) foreach (ref float v in memory.Span) v = (float)rng.NextDouble() - 0.5f;
        return memory;
    }

    /// <summary>c += a·W (forward step, target prediction).</summary>
    [Benchmark(Baseline = true)]
    [Flops(Flops)]
    public void MultiplyAdd() => MatMul.MultiplyAdd(_a.Span, _w.Span, B, H, H, _c.Span);

    /// <summary>c = a·Wᵀ (backward step, target gradient).</summary>
    [Benchmark]
    [Flops(Flops)]
    public void MultiplyTransposed() => MatMul.MultiplyTransposed(_a.Span, _w.Span, B, H, H, _c.Span);

    /// <summary>g += aᵀ·d (weight gradient).</summary>
    [Benchmark]
    [Flops(Flops)]
    public void TransposedMultiplyAdd() => MatMul.TransposedMultiplyAdd(_a.Span, _c.Span, B, H, H, _g.Span);

    /// <summary>c = c + a·W in padded rows: a B x S (stride S), W H x S, c B x S.</summary>
    [Benchmark]
    [Flops(Flops)]
    public void MultiplyAddPadded() => MatMul.MultiplyAdd(_a.Span, _w.Span, _c.Span, B, H, S, S, _c.Span);

    /// <summary>c = a·Wᵀ in padded rows: dots over S lanes (the padding zero), c in rows of S.</summary>
    [Benchmark]
    [Flops(Flops)]
    public void MultiplyTransposedPadded() => MatMul.MultiplyTransposed(_a.Span, _w.Span, B, S, H, S, _c.Span);

    /// <summary>g (H x S) += aᵀ·d in padded rows.</summary>
    [Benchmark]
    [Flops(Flops)]
    public void TransposedMultiplyAddPadded() => MatMul.TransposedMultiplyAdd(_a.Span, _c.Span, B, H, S, S, _g.Span);

    /// <summary>The plain triple loop, for scale.</summary>
    [Benchmark]
    [Flops(Flops)]
    public void MultiplyAddReference() => MatMulReference.MultiplyAdd(_a.Span, _w.Span, B, H, H, _c.Span);
}

/// <summary>
/// This core's float32 FMA peak at each width: <see cref="FmaPeak"/>'s kernel (twelve independent
/// accumulators, no memory traffic), the one `fastlra bench` measures its share of.
/// </summary>
public class PeakFmaBenchmarks
{
    [Benchmark]
    [Flops(2.0 * 16 * 12 * FmaPeak.Rounds)]
    public float Fma512() => FmaPeak.Run<V512>();

    [Benchmark]
    [Flops(2.0 * 8 * 12 * FmaPeak.Rounds)]
    public float Fma256() => FmaPeak.Run<V256<MachineFma>>();

    [Benchmark]
    [Flops(2.0 * 4 * 12 * FmaPeak.Rounds)]
    public float Fma128() => FmaPeak.Run<V128<MachineFma>>();
}
