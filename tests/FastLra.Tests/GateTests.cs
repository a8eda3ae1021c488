using FastLra.Kernels;
using Xunit;

namespace FastLra.Tests;

/// <summary>The GRU and LSTM gate kernels against their double-precision oracles, at every width, over awkward row widths.</summary>
public class GateTests
{
    public static TheoryData<Target, int, int> Cases()
    {
        var data = new TheoryData<Target, int, int>();
        foreach (var target in Targets.Lanes())
        {
            if (target.Value.Bits == 0) continue;
            foreach (int s in new[] { 1, 3, 4, 5, 8, 15, 16, 17, 31, 33, 100, 112 })
                foreach (int rows in new[] { 1, 3 })
                    data.Add(target, s, rows);
        }
        return data;
    }

    private static float[] Random(Random rng, int n, double scale = 2) =>
        Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() - 0.5) * 2 * scale)).ToArray();

    private static void Close(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs(expected[i] - actual[i]) <= 2e-6 + 2e-6 * Math.Abs(expected[i])))
                Assert.Fail($"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gru_forward_and_backward_match_the_equations(Target target, int s, int rows)
    {
        var rng = new Random(target.Value.Bits + 31 * s + 1000 * rows);
        int bs = rows * s;
        float[] gx = Random(rng, 3 * bs), gh = Random(rng, 3 * bs), hPrev = Random(rng, bs, 0.9);
        foreach (bool zeroState in new[] { false, true })
        {
            ReadOnlySpan<float> previous = zeroState ? default : hPrev;
            float[] cache = new float[4 * bs], h = new float[bs], cacheRef = new float[4 * bs], hRef = new float[bs];
            Gates.GruForward(target.Value, gx, gh, previous, rows, s, cache, h);
            GatesReference.GruForward(gx, gh, previous, rows, s, cacheRef, hRef);
            Close(cacheRef, cache, "cache");
            Close(hRef, h, "h");

            float[] dh = Random(rng, bs), above = Random(rng, bs);
            foreach (bool withAbove in new[] { false, true })
            {
                ReadOnlySpan<float> dhAbove = withAbove ? above : default;
                float[] dgx = new float[3 * bs], dgh = new float[3 * bs], dhPrev = new float[bs];
                float[] dgxRef = new float[3 * bs], dghRef = new float[3 * bs], dhPrevRef = new float[bs];
                Gates.GruBackward(target.Value, dh, dhAbove, cacheRef, previous, rows, s, dgx, dgh, dhPrev);
                GatesReference.GruBackward(dh, dhAbove, cacheRef, previous, rows, s, dgxRef, dghRef, dhPrevRef);
                Close(dgxRef, dgx, "dgx");
                Close(dghRef, dgh, "dgh");
                Close(dhPrevRef, dhPrev, "dhPrev");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Lstm_forward_and_backward_match_the_equations(Target target, int s, int rows)
    {
        var rng = new Random(target.Value.Bits + 37 * s + 1000 * rows);
        int bs = rows * s;
        // The previous step's cache supplies cPrev: its c block, in rows of 6S.
        float[] a = Random(rng, 4 * bs, 3), previousCache = Random(rng, 6 * bs);
        foreach (bool zeroState in new[] { false, true })
        {
            ReadOnlySpan<float> cPrev = zeroState ? default : previousCache.AsSpan(4 * s);
            float[] cache = new float[6 * bs], h = new float[bs], cacheRef = new float[6 * bs], hRef = new float[bs];
            Gates.LstmForward(target.Value, a, cPrev, 6 * s, rows, s, cache, h);
            GatesReference.LstmForward(a, cPrev, 6 * s, rows, s, cacheRef, hRef);
            Close(cacheRef, cache, "cache");
            Close(hRef, h, "h");

            float[] dh = Random(rng, bs), above = Random(rng, bs), dcNext = Random(rng, bs);
            foreach (bool withAbove in new[] { false, true })
            {
                ReadOnlySpan<float> dhAbove = withAbove ? above : default;
                float[] dc = (float[])dcNext.Clone(), dcRef = (float[])dcNext.Clone(), da = new float[4 * bs], daRef = new float[4 * bs];
                Gates.LstmBackward(target.Value, dh, dhAbove, cacheRef, cPrev, 6 * s, rows, s, dc, da);
                GatesReference.LstmBackward(dh, dhAbove, cacheRef, cPrev, 6 * s, rows, s, dcRef, daRef);
                Close(daRef, da, "da");
                Close(dcRef, dc, "dcPrev");
            }
        }
    }

    [Fact]
    public void Sigmoid_is_relatively_accurate_at_both_ends_and_keeps_nan()
    {
        float[] xs = [-100f, -87f, -30f, -10f, -1f, -1e-3f, 0f, 1e-3f, 1f, 10f, 30f, 100f, float.NaN];
        var gx = new float[3 * xs.Length];
        var gh = new float[3 * xs.Length];
        xs.CopyTo(gx, 0); // the r block: r = σ(x)
        var cache = new float[4 * xs.Length];
        var h = new float[xs.Length];
        foreach (var target in SimdTarget.Supported())
        {
            if (target.Bits == 0) continue;
            Gates.GruForward(target, gx, gh, default, 1, xs.Length, cache, h);
            for (int i = 0; i < xs.Length - 1; i++)
            {
                // Below -87 the exponent is clamped: σ stays below 1e-37 instead of going subnormal.
                double exact = 1 / (1 + Math.Exp(-(double)xs[i]));
                Assert.True(Math.Abs(cache[i] - exact) <= 4e-7 * exact + (xs[i] < -87 ? 1e-37 : 0), $"{target}: σ({xs[i]}) = {cache[i]}, exact {exact}");
            }
            Assert.True(float.IsNaN(cache[xs.Length - 1]));
        }
    }
}
