using System.Runtime.Intrinsics;
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
/// This core's float32 FMA peak: 12 independent accumulators (enough to cover FMA latency on two
/// pipes), 1000 rounds, no memory traffic. 512-bit, 256-bit and 128-bit.
/// </summary>
public class PeakFmaBenchmarks
{
    private const int Rounds = 1000;

    [Benchmark]
    [Flops(2.0 * 16 * 12 * Rounds)]
    public float Fma512()
    {
        var m = Vector512.Create(0.999f);
        var c = Vector512.Create(1e-3f);
        Vector512<float> a0 = m, a1 = m, a2 = m, a3 = m, a4 = m, a5 = m, a6 = m, a7 = m, a8 = m, a9 = m, a10 = m, a11 = m;
        for (int i = 0; i < Rounds; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c);
            a2 = Vector512.FusedMultiplyAdd(a2, m, c); a3 = Vector512.FusedMultiplyAdd(a3, m, c);
            a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c);
            a8 = Vector512.FusedMultiplyAdd(a8, m, c); a9 = Vector512.FusedMultiplyAdd(a9, m, c);
            a10 = Vector512.FusedMultiplyAdd(a10, m, c); a11 = Vector512.FusedMultiplyAdd(a11, m, c);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [Benchmark]
    [Flops(2.0 * 8 * 12 * Rounds)]
    public float Fma256()
    {
        var m = Vector256.Create(0.999f);
        var c = Vector256.Create(1e-3f);
        Vector256<float> a0 = m, a1 = m, a2 = m, a3 = m, a4 = m, a5 = m, a6 = m, a7 = m, a8 = m, a9 = m, a10 = m, a11 = m;
        for (int i = 0; i < Rounds; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c);
            a2 = Vector256.FusedMultiplyAdd(a2, m, c); a3 = Vector256.FusedMultiplyAdd(a3, m, c);
            a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c);
            a8 = Vector256.FusedMultiplyAdd(a8, m, c); a9 = Vector256.FusedMultiplyAdd(a9, m, c);
            a10 = Vector256.FusedMultiplyAdd(a10, m, c); a11 = Vector256.FusedMultiplyAdd(a11, m, c);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [Benchmark]
    [Flops(2.0 * 4 * 12 * Rounds)]
    public float Fma128()
    {
        var m = Vector128.Create(0.999f);
        var c = Vector128.Create(1e-3f);
        Vector128<float> a0 = m, a1 = m, a2 = m, a3 = m, a4 = m, a5 = m, a6 = m, a7 = m, a8 = m, a9 = m, a10 = m, a11 = m;
        for (int i = 0; i < Rounds; i++)
        {
            a0 = Vector128.FusedMultiplyAdd(a0, m, c); a1 = Vector128.FusedMultiplyAdd(a1, m, c);
            a2 = Vector128.FusedMultiplyAdd(a2, m, c); a3 = Vector128.FusedMultiplyAdd(a3, m, c);
            a4 = Vector128.FusedMultiplyAdd(a4, m, c); a5 = Vector128.FusedMultiplyAdd(a5, m, c);
            a6 = Vector128.FusedMultiplyAdd(a6, m, c); a7 = Vector128.FusedMultiplyAdd(a7, m, c);
            a8 = Vector128.FusedMultiplyAdd(a8, m, c); a9 = Vector128.FusedMultiplyAdd(a9, m, c);
            a10 = Vector128.FusedMultiplyAdd(a10, m, c); a11 = Vector128.FusedMultiplyAdd(a11, m, c);
        }
        return Vector128.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
