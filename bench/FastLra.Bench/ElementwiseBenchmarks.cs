using BenchmarkDotNet.Attributes;
using FastLra.Kernels;

namespace FastLra.Bench;

/// <summary>The element-wise kernels on one B x H = 20 x 100 matrix, and the B = 1 product of inference.</summary>
[MemoryDiagnoser]
public class ElementwiseBenchmarks
{
    private const int N = 2000;
    private readonly float[] _x = Fill(N, 1), _y = Fill(N, 2), _z = new float[N], _w = Fill(100 * 100, 3), _row = Fill(100, 4), _out = new float[100];

    private static float[] Fill(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();
    }

    [Benchmark] public void Tanh() => Activations.TanhForward(_x, _z);
    [Benchmark] public void TanhBackward() => Activations.TanhBackward(_x, _y, _z);
    [Benchmark] public void LogPenaltyBackward() => LocalLoss.Backward<LogPenaltyLoss>(_x, _y, _x, _x.Length, _z);
    [Benchmark] public float LogPenaltyForward() => LocalLoss.Forward<LogPenaltyLoss>(_x, _y, _x.Length);
    [Benchmark] public float Norm() => Reductions.Norm(_x);
    [Benchmark] public float OmegaForward() => Omega.Forward(_x, _y, _x, _z).Value;
    [Benchmark] public void RowTimesMatrix() => MatMul.MultiplyAdd(_row, _w, 1, 100, 100, _out);
}
