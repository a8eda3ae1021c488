using FastLra.Kernels;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// Every fast kernel against its scalar reference over awkward sizes, special values and aliasing,
/// at every target this machine can run (<see cref="Targets"/>): each width up to its own, the
/// blocking for 32 and for 16 vector registers, fused and unfused multiply-adds.
/// </summary>
public class KernelTests
{
    /// <summary>
    /// Every target by sizes 0, 1, each vector width (4, 8, 16 floats) ± 1, two vectors ± 1,
    /// non-multiples, the model's own 20 and 100, and column counts that split into every panel
    /// shape (at 16 floats: 64 is 4, 65 is 3 + 2, 129 is 3 + 3 + 3 vectors, the last one overlapping).
    /// </summary>
    public static TheoryData<Target, int, int, int> Shapes()
    {
        int[] rows = [0, 1, 3, 4, 5, 9, 20];
        int[] sizes = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 100, 129];
        var data = new TheoryData<Target, int, int, int>();
        foreach (var target in Targets.All())
            foreach (int m in rows)
                foreach (int k in new[] { 0, 1, 7, 17, 100 })
                    foreach (int n in sizes)
                        data.Add(target, m, k, n);
        return data;
    }

    private static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }

    private static void AssertNear(float[] expected, float[] actual, int k)
    {
        // Products of k terms in [-1, 1]: rounding grows with k; FMA vs separate rounding differ by ~k ulps.
        float tolerance = 1e-6f * (k + 1) * 4;
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs(expected[i] - actual[i]) <= tolerance)) Assert.Fail($"entry {i}: {actual[i]} vs {expected[i]}");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MultiplyAdd_matches_reference(Target target, int m, int k, int n)
    {
        var a = Random(m * k, 1);
        var w = Random(k * n, 2);
        var expected = Random(m * n, 3);
        // The destination between guards of 64 floats on either side, which must stay as they were.
        var guarded = Random(m * n + 128, 4);
        var guards = (float[])guarded.Clone();
        var actual = guarded.AsSpan(64, m * n);
        expected.CopyTo(actual);
        MatMulReference.MultiplyAdd(a, w, m, k, n, expected);
        MatMul.MultiplyAdd(target.Value, a, w, actual, m, k, n, k, actual);
        AssertNear(expected, actual.ToArray(), k);
        Assert.Equal(guards.AsSpan(0, 64).ToArray(), guarded.AsSpan(0, 64).ToArray());
        Assert.Equal(guards.AsSpan(64 + m * n).ToArray(), guarded.AsSpan(64 + m * n).ToArray());
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MultiplyAdd_with_separate_addend_matches_reference(Target target, int m, int k, int n)
    {
        var a = Random(m * k, 13);
        var w = Random(k * n, 14);
        var addend = Random(m * n, 15);
        var expected = (float[])addend.Clone();
        var actual = Random(m * n, 16); // overwritten, not accumulated
        MatMulReference.MultiplyAdd(a, w, m, k, n, expected);
        MatMul.MultiplyAdd(target.Value, a, w, addend, m, k, n, k, actual);
        AssertNear(expected, actual, k);
        Assert.Equal(Random(m * n, 15), addend);
    }

    /// <summary>The fused cell against bias, two reference products and tanh; also in place (a = z) and with h = 0.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void CellForward_matches_reference(Target target, int m, int k, int n)
    {
        const int kx = 3;
        var x = Random(m * kx, 20);
        var wx = Random(kx * n, 21);
        var h = Random(m * k, 22);
        var wh = Random(k * n, 23);
        var bias = Random(n, 24);
        foreach (bool withState in new[] { true, false })
        {
            var expectedA = new float[m * n];
            for (int r = 0; r < m; r++) bias.CopyTo(expectedA, r * n);
            MatMulReference.MultiplyAdd(x, wx, m, kx, n, expectedA);
            if (withState) MatMulReference.MultiplyAdd(h, wh, m, k, n, expectedA);
            var expectedZ = new float[m * n];
            ActivationsReference.TanhForward(expectedA, expectedZ);

            var a = Random(m * n, 25);
            var z = Random(m * n, 26);
            MatMul.CellForward(target.Value, x, wx, withState ? h : default, wh, bias, m, kx, k, n, k, a, z);
            AssertNear(expectedA, a, k + kx);
            AssertNear(expectedZ, z, k + kx); // tanh' <= 1 keeps the products' error
            var inPlace = Random(m * n, 27);
            MatMul.CellForward(target.Value, x, wx, withState ? h : default, wh, bias, m, kx, k, n, k, inPlace, inPlace);
            Assert.Equal(z, inPlace);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MultiplyTransposed_matches_reference(Target target, int m, int n, int k)
    {
        var a = Random(m * n, 4);
        var w = Random(k * n, 5);
        var expected = new float[m * k];
        var actual = Random(m * k, 6); // overwritten, not accumulated
        MatMulReference.MultiplyTransposed(a, w, m, n, k, expected);
        foreach (var summation in (ReadOnlySpan<Summation>)[Summation.Fixed, Summation.Native])
        {
            MatMul.MultiplyTransposed(target.Value, summation, a, w, m, n, k, k, actual);
            AssertNear(expected, actual, n);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void TransposedMultiplyAdd_matches_reference(Target target, int m, int k, int n)
    {
        var a = Random(m * k, 7);
        var d = Random(m * n, 8);
        var expected = Random(k * n, 9);
        var actual = (float[])expected.Clone();
        MatMulReference.TransposedMultiplyAdd(a, d, m, k, n, expected);
        MatMul.TransposedMultiplyAdd(target.Value, a, d, m, k, n, k, actual);
        AssertNear(expected, actual, m);
    }

    /// <summary>
    /// Inner dimensions past <see cref="MatMul.InnerBlock"/> run in passes that add to c: one row short,
    /// exact, one over, two passes and a tail, and the 380 rows of the reference semantics' longest pass.
    /// </summary>
    public static TheoryData<Target, int> LongInnerShapes() =>
        Targets.Cross(Targets.All(), [MatMul.InnerBlock - 1, MatMul.InnerBlock, MatMul.InnerBlock + 1, 2 * MatMul.InnerBlock + 1, 380]);

    [Theory]
    [MemberData(nameof(LongInnerShapes))]
    public void Long_inner_dimensions_match_reference(Target target, int inner)
    {
        MultiplyAdd_matches_reference(target, 5, inner, 100);
        TransposedMultiplyAdd_matches_reference(target, inner, 5, 100);
    }

    /// <summary>The overlapping tail must leave the lanes it skips exactly as they were, whatever they hold.</summary>
    [Theory]
    [InlineData(17)]
    [InlineData(33)]
    [InlineData(100)]
    public void Overlapping_tails_do_not_touch_finished_columns(int n)
    {
        foreach (var target in SimdTarget.Supported())
        {
            const int m = 5, k = 3;
            var a = Random(m * k, 10);
            a[1] = float.PositiveInfinity; // inf * a masked-out zero would be NaN
            var w = Random(k * n, 11);
            var expected = Random(m * n, 12);
            var actual = (float[])expected.Clone();
            MatMulReference.MultiplyAdd(a, w, m, k, n, expected);
            MatMul.MultiplyAdd(target, a, w, actual, m, k, n, k, actual);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(expected[i].Equals(actual[i]) || Math.Abs(expected[i] - actual[i]) <= 1e-5f, $"{target}, entry {i}: {actual[i]} vs {expected[i]}");
        }
    }

    /// <summary>
    /// Rows of padded states (the trainers' layout): every width by rows 0, 1, 5, 20, inner sizes
    /// 0, 1, 17, 100 and widths around a vector, each with a stride one over the row, rounded up
    /// to a cache line, and a line beyond that.
    /// </summary>
    public static TheoryData<Target, int, int, int, int> StridedShapes()
    {
        var data = new TheoryData<Target, int, int, int, int>();
        foreach (var target in Targets.All())
            foreach (int m in new[] { 0, 1, 5, 20 })
                foreach (int k in new[] { 0, 1, 17, 100 })
                    foreach (int n in new[] { 1, 15, 16, 17, 100 })
                        foreach (int extra in new[] { 1, (16 - k % 16) % 16, 16 + (16 - k % 16) % 16 })
                            data.Add(target, m, k, n, extra);
        return data;
    }

    /// <summary>An m x k matrix in rows of k + extra floats, the padding NaN: a kernel that reads it spreads the NaN.</summary>
    private static float[] Padded(float[] compact, int m, int k, int extra)
    {
        var padded = new float[m * (k + extra)];
        Array.Fill(padded, float.NaN);
        for (int i = 0; i < m; i++) Array.Copy(compact, i * k, padded, i * (k + extra), k);
        return padded;
    }

    /// <summary>
    /// A strided operand gives exactly the compact result (the same operations in the same order),
    /// its padding is never read, and a strided destination's padding is never written.
    /// </summary>
    [Theory]
    [MemberData(nameof(StridedShapes))]
    public void Strided_operands_match_compact(Target target, int m, int k, int n, int extra)
    {
        int stride = k + extra;
        var a = Random(m * k, 30);
        var w = Random(k * n, 31);
        var addend = Random(m * n, 32);
        var compact = new float[m * n];
        var strided = new float[m * n];
        MatMul.MultiplyAdd(target.Value, a, w, addend, m, k, n, k, compact);
        MatMul.MultiplyAdd(target.Value, Padded(a, m, k, extra), w, addend, m, k, n, stride, strided);
        Assert.Equal(compact, strided);

        const int kx = 3;
        var x = Random(m * kx, 33);
        var wx = Random(kx * n, 34);
        var bias = Random(n, 35);
        var (compactA, compactZ, stridedA, stridedZ) = (new float[m * n], new float[m * n], new float[m * n], new float[m * n]);
        MatMul.CellForward(target.Value, x, wx, a, w, bias, m, kx, k, n, k, compactA, compactZ);
        MatMul.CellForward(target.Value, x, wx, Padded(a, m, k, extra), w, bias, m, kx, k, n, stride, stridedA, stridedZ);
        Assert.Equal(compactA, stridedA);
        Assert.Equal(compactZ, stridedZ);

        // g (k x n) += aᵀ d with a strided.
        var d = Random(m * n, 36);
        var g = Random(k * n, 37);
        var gStrided = (float[])g.Clone();
        MatMul.TransposedMultiplyAdd(target.Value, a, d, m, k, n, k, g);
        MatMul.TransposedMultiplyAdd(target.Value, Padded(a, m, k, extra), d, m, k, n, stride, gStrided);
        Assert.Equal(g, gStrided);

        // c (m x k) = d (m x n) · wᵀ (w is k x n) into rows of stride k + extra, the padding kept.
        var c = new float[m * k];
        MatMul.MultiplyTransposed(target.Value, Summation.Native, d, w, m, n, k, k, c);
        var cStrided = Padded(new float[m * k], m, k, extra);
        MatMul.MultiplyTransposed(target.Value, Summation.Native, d, w, m, n, k, stride, cStrided);
        Assert.Equal(Padded(c, m, k, extra), cStrided);
    }

    [Fact]
    public void Products_reject_short_spans()
    {
        Assert.Throws<ArgumentException>(() => MatMul.MultiplyAdd(new float[5], new float[6], 2, 3, 2, new float[4]));
        Assert.Throws<ArgumentException>(() => MatMul.MultiplyTransposed(new float[6], new float[5], 2, 3, 2, new float[4]));
        Assert.Throws<ArgumentException>(() => MatMul.TransposedMultiplyAdd(new float[6], new float[6], 2, 3, 3, new float[8]));
        // A stride below the row, or a strided operand one float short of its last row.
        Assert.Throws<ArgumentException>(() => MatMul.MultiplyAdd(new float[8], new float[6], new float[4], 2, 3, 2, 2, new float[4]));
        Assert.Throws<ArgumentException>(() => MatMul.MultiplyAdd(new float[7], new float[6], new float[4], 2, 3, 2, 5, new float[4]));
        Assert.Throws<ArgumentException>(() => MatMul.MultiplyTransposed(new float[6], new float[6], 2, 3, 2, 3, new float[4]));
        Assert.Throws<ArgumentException>(() => MatMul.TransposedMultiplyAdd(new float[7], new float[6], 2, 3, 3, 5, new float[9]));
        Assert.Throws<ArgumentException>(() => MatMul.CellForward(new float[2], new float[2], new float[7], new float[6], new float[2], 2, 1, 3, 2, 5, new float[4], new float[4]));
    }

    [Fact]
    public void Products_propagate_special_values()
    {
        foreach (var target in SimdTarget.Supported())
        {
            var a = new[] { float.NaN, 1f, 0f, 1f };
            var w = new[] { 1f, 1f, float.PositiveInfinity, 0f };
            var c = new float[4];
            MatMul.MultiplyAdd(target, a, w, c, 2, 2, 2, 2, c);
            Assert.True(float.IsNaN(c[0]) && float.IsNaN(c[1]), $"{target}");
            Assert.Equal(float.PositiveInfinity, c[2]);
            Assert.Equal(0f, c[3]);
        }
    }

    // Also one, four and four-plus-one vectors of 16 ± 1 (the sum of squares' four accumulators)
    // and past its 4096-element flush.
    private static readonly int[] LengthValues = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 79, 80, 81, 100, 257, 4097, 10_000];

    /// <summary>One target per width and FMA setting by the lengths above.</summary>
    public static TheoryData<Target, int> Lengths() => Targets.Cross(Targets.Lanes(), LengthValues);

    /// <summary>Every target (the column sums are a product) by the lengths above.</summary>
    public static TheoryData<Target, int> ProductLengths() => Targets.Cross(Targets.All(), LengthValues);

    [Theory]
    [MemberData(nameof(Lengths))]
    public void TanhForward_matches_reference_in_place_too(Target target, int n)
    {
        var a = Random(n, 10);
        for (int i = 0; i < n; i++) a[i] *= 8; // cover saturation
        var expected = new float[n];
        ActivationsReference.TanhForward(a, expected);
        var actual = new float[n];
        Activations.TanhForward(target.Value, a, actual);
        for (int i = 0; i < n; i++)
            if (!(Math.Abs(expected[i] - actual[i]) <= 3e-7f * Math.Abs(expected[i]))) Assert.Fail($"{a[i]}: {actual[i]} vs {expected[i]}");
        Activations.TanhForward(target.Value, a, a); // exact aliasing is allowed
        Assert.Equal(actual, a);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void DescendTanh_matches_reference(Target target, int n)
    {
        var g = Random(n, 17);
        var expectedH = Random(n, 18);
        for (int i = 0; i < n; i++) expectedH[i] *= 6; // cover saturation
        var actualH = (float[])expectedH.Clone();
        var expectedZ = new float[n];
        var actualZ = Random(n, 19); // overwritten
        ActivationsReference.DescendTanh(target.Value, g, -0.3f, expectedH, expectedZ);
        Activations.DescendTanh(target.Value, g, -0.3f, actualH, actualZ);
        Assert.Equal(expectedH, actualH); // one multiply-add either way, by the target's rule
        for (int i = 0; i < n; i++)
            if (!(Math.Abs(expectedZ[i] - actualZ[i]) <= 3e-7f * Math.Abs(expectedZ[i]))) Assert.Fail($"{actualH[i]}: {actualZ[i]} vs {expectedZ[i]}");
        // z is exactly the tanh kernel's value of the new h.
        var z = new float[n];
        Activations.TanhForward(target.Value, actualH, z);
        Assert.Equal(z, actualZ);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Omega_descent_step_matches_reference(Target target, int n)
    {
        var h = Random(n, 28);
        for (int i = 0; i < n; i++) h[i] *= 6;
        var t = new float[n];
        ActivationsReference.TanhForward(h, t);
        var expectedG = Random(n, 29);
        var actualG = (float[])expectedG.Clone();
        float[] expectedH = new float[n], expectedT = new float[n], actualH = Random(n, 30), actualT = Random(n, 31);
        double expectedSquares = OmegaReference.DescendTanh(target.Value, expectedG, -0.7f, -0.3f, h, t, expectedH, expectedT);
        double actualSquares = Omega.DescendTanh(target.Value, actualG, -0.7f, -0.3f, h, t, actualH, actualT);
        Assert.Equal(expectedG, actualG); // the same multiply-adds
        Assert.Equal(expectedH, actualH);
        Assert.Equal(expectedSquares, actualSquares, 1e-5 * expectedSquares + 1e-30);
        for (int i = 0; i < n; i++)
            if (!(Math.Abs(expectedT[i] - actualT[i]) <= 3e-7f * Math.Abs(expectedT[i]))) Assert.Fail($"{actualH[i]}: {actualT[i]} vs {expectedT[i]}");
        var original = Random(n, 28);
        for (int i = 0; i < n; i++) Assert.Equal(original[i] * 6, h[i]); // h is left as it was
    }

    public static TheoryData<Target> LaneTargets() => [.. Targets.Lanes()];

    [Trait("Category", "Slow")]
    [Theory]
    [MemberData(nameof(LaneTargets))]
    public void TanhForward_has_small_relative_error_at_every_scale(Target target)
    {
        var rng = new Random(16);
        var a = new float[100_003];
        var z = new float[a.Length];
        foreach (double scale in new[] { 1e-30, 1e-6, 1e-3, 0.1, 0.55, 1, 3, 10, 100 })
        {
            for (int i = 0; i < a.Length; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
            Activations.TanhForward(target.Value, a, z);
            for (int i = 0; i < a.Length; i++)
            {
                double exact = Math.Tanh(a[i]);
                // 3 ulps of float, relative; subnormal results are exact to their own spacing.
                if (!(Math.Abs(z[i] - exact) <= 3.6e-7 * Math.Abs(exact) + 1e-45)) Assert.Fail($"tanh({a[i]:R}) = {z[i]:R}, exact {exact:R}");
            }
        }
    }

    /// <summary>
    /// Every 61st float in [2^-14, 10.5] (about two million, every exponent and mantissa pattern):
    /// within 2.5 ulps of the exact value. An exhaustive run over all 130 million floats there
    /// found at most 2.42.
    /// </summary>
    [Trait("Category", "Slow")]
    [Theory]
    [MemberData(nameof(LaneTargets))]
    public void TanhForward_is_within_two_and_a_half_ulps_across_the_float_range(Target target)
    {
        int first = BitConverter.SingleToInt32Bits(1f / 16384f), last = BitConverter.SingleToInt32Bits(10.5f);
        var a = new float[(last - first) / 61 + 1];
        for (int i = 0; i < a.Length; i++) a[i] = BitConverter.Int32BitsToSingle(first + 61 * i);
        var z = new float[a.Length];
        Activations.TanhForward(target.Value, a, z);
        for (int i = 0; i < a.Length; i++)
        {
            double exact = Math.Tanh(a[i]);
            float nearest = (float)exact;
            double ulp = nearest == 1f ? 1f - MathF.BitDecrement(1f) : MathF.BitIncrement(nearest) - nearest;
            if (!(Math.Abs(z[i] - exact) <= 2.5 * ulp)) Assert.Fail($"tanh({a[i]:R}) = {z[i]:R}, exact {exact:R}");
        }
    }

    /// <summary>
    /// At every width: its clamp uses the platform's min and max, whose NaN rules differ by
    /// instruction set. Each value fills a whole 512-bit vector, so no width takes its tail path.
    /// </summary>
    [Theory]
    [MemberData(nameof(LaneTargets))]
    public void Tanh_special_values(Target target)
    {
        float[] a = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, 0f, 1e-30f, 100f, -100f, 1e30f, -float.NaN];
        var z = new float[a.Length];
        var lanes = new float[16];
        for (int i = 0; i < a.Length; i++)
        {
            lanes.AsSpan().Fill(a[i]);
            Activations.TanhForward(target.Value, lanes, lanes);
            z[i] = lanes[^1];
        }
        Assert.True(float.IsNaN(z[0]) && float.IsNaN(z[9]));
        Assert.Equal(1f, z[1]);
        Assert.Equal(-1f, z[2]);
        Assert.True(z[3] == 0f && float.IsNegative(z[3]), "tanh(-0) is -0");
        Assert.True(z[4] == 0f && !float.IsNegative(z[4]), "tanh(0) is +0");
        Assert.Equal(1e-30f, z[5], 1e-36f);
        Assert.Equal([1f, -1f, 1f], z[6..9]);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void TanhBackward_matches_reference_and_may_write_over_dz(Target target, int n)
    {
        var z = Random(n, 11);
        var dz = Random(n, 12);
        var expected = new float[n];
        ActivationsReference.TanhBackward(z, dz, expected);
        var actual = new float[n];
        Activations.TanhBackward(target.Value, z, dz, actual);
        Assert.Equal(expected, actual);
        Activations.TanhBackward(target.Value, z, dz, dz);
        Assert.Equal(expected, dz);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void TanhBackward_with_an_output_term_matches_reference_in_place_too(Target target, int n)
    {
        var z = Random(n, 13);
        var dz = Random(n, 14);
        var extra = Random(n, 15);
        var expected = new float[n];
        ActivationsReference.TanhBackward(z, dz, extra, expected);
        var actual = new float[n];
        Activations.TanhBackward(target.Value, z, dz, extra, actual);
        Assert.Equal(expected, actual);
        Activations.TanhBackward(target.Value, z, dz, extra, dz);
        Assert.Equal(expected, dz);
    }

    [Theory]
    [MemberData(nameof(ProductLengths))]
    public void SumRowsAdd_matches_reference(Target target, int cols)
    {
        foreach (int rows in new[] { 0, 1, 3, 20, MatMul.InnerBlock + 1 })
        {
            var d = Random(rows * cols, 13);
            var expected = Random(cols, 14);
            var actual = (float[])expected.Clone();
            ReductionsReference.SumRowsAdd(d, rows, cols, expected);
            MatMul.SumRowsAdd(target.Value, d, rows, cols, actual);
            for (int j = 0; j < cols; j++) Assert.Equal(expected[j], actual[j], 1e-5f);
        }
    }

    /// <summary>Lengths for the sums of squares, which sum in one order whatever the target (DeterminismTests).</summary>
    public static TheoryData<int> SumLengths() => [.. LengthValues];

    [Theory]
    [MemberData(nameof(SumLengths))]
    public void SumOfSquares_matches_reference(int n)
    {
        var x = Random(n, 15);
        Assert.Equal(ReductionsReference.SumOfSquares(x), Reductions.SumOfSquares(x), 1e-5 * (1 + n));
    }

    /// <summary>AllFinite at every target finds a NaN or an infinity at any position, the vector tails and the scalar rest included, and 3e38 is finite.</summary>
    [Theory]
    [MemberData(nameof(Lengths))]
    public void AllFinite_finds_every_value_that_is_not_finite(Target target, int n)
    {
        var x = Random(n, 16);
        Assert.True(Reductions.AllFinite(target.Value, x));
        for (int k = 0; k < n; k += Math.Max(1, n / 50))
            foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 3e38f })
            {
                float kept = x[k];
                x[k] = bad;
                Assert.Equal(float.IsFinite(bad), Reductions.AllFinite(target.Value, x));
                x[k] = kept;
            }
    }

    [Fact]
    public void SumOfSquares_keeps_precision_over_long_spans()
    {
        var x = new float[1_000_003];
        Array.Fill(x, 0.1f);
        // A plain float accumulator is off by ~1e-3 relative here; the double partials by far less.
        double exact = ReductionsReference.SumOfSquares(x);
        Assert.True(Math.Abs(Reductions.SumOfSquares(x) - exact) <= 1e-5 * exact);
        Assert.Equal(0.0, Reductions.SumOfSquares([]));
    }

    public static TheoryData<Target, int, int, int> NormShapes()
    {
        var data = new TheoryData<Target, int, int, int>();
        foreach (var target in Targets.All())
            foreach (var (rows, m, n) in new[] { (0, 3, 4), (1, 1, 1), (3, 7, 17), (20, 100, 100), (20, 6, 100), (5, 33, 15), (300, 37, 19), (4000, 20, 20), (64, 1, 32) })
                data.Add(target, rows, m, n);
        return data;
    }

    [Theory]
    [MemberData(nameof(NormShapes))]
    public void TransposedProductNorm_matches_the_formed_product(Target target, int rows, int m, int n)
    {
        var rng = new Random(rows * 1000 + m * 10 + n);
        var a = Enumerable.Range(0, rows * m).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var d = Enumerable.Range(0, rows * n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        float expected = ReductionsReference.TransposedProductNorm(a, d, rows, m, n);
        Assert.Equal(expected, Reductions.TransposedProductNorm(target.Value, a, d, rows, m, n, new float[Reductions.NormBlockRows * n], Reductions.GramIsCheaper(rows, m, n)), 1e-5f * expected + 1e-30f);
    }

    [Fact]
    public void BroadcastRows_copies_the_row_into_every_row()
    {
        var dest = new float[6];
        Reductions.BroadcastRows([1f, 2f], 3, dest);
        Assert.Equal([1f, 2f, 1f, 2f, 1f, 2f], dest);
    }
}

/// <summary>The vectorised local losses against their scalar oracles, at one target per width and FMA setting.</summary>
public class LocalLossKernelTests
{
    public static TheoryData<Target, int> Lengths() => Targets.Cross(Targets.Lanes(), [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 2000]);

    private static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5) * 2f).ToArray();
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Losses_match_their_scalar_oracles(Target target, int n)
    {
        Check<MseLoss>(target.Value, n);
        Check<LogPenaltyLoss>(target.Value, n);
    }

    private static void Check<TLoss>(SimdTarget target, int n)
        where TLoss : struct, ILocalLoss
    {
        var u = Random(n, 1);
        var v = Random(n, 2);
        var w = Random(n, 3);
        Assert.Equal(LocalLossReference.Forward<TLoss>(u, v), LocalLoss.Forward<TLoss>(target, u, v, n), 1e-6f);
        foreach (var factor in new[] { w, null })
        {
            var expected = new float[n];
            var actual = new float[n];
            LocalLossReference.Backward<TLoss>(u, v, factor, expected);
            LocalLoss.Backward<TLoss>(target, u, v, factor, n, actual);
            for (int i = 0; i < n; i++) Assert.Equal(expected[i], actual[i], 1e-6f * Math.Abs(expected[i]) + 1e-12f);
        }
        // In place over the first argument, as the trainers call it.
        var inPlace = (float[])u.Clone();
        var reference = new float[n];
        LocalLossReference.Backward<TLoss>(u, v, u, reference);
        LocalLoss.Backward<TLoss>(target, inPlace, v, inPlace, n, inPlace);
        for (int i = 0; i < n; i++) Assert.Equal(reference[i], inPlace[i], 1e-6f * Math.Abs(reference[i]) + 1e-12f);

        // Zero padding after the entries (a padded row) changes neither the mean nor the slope, and its slope is zero.
        var (paddedU, paddedV, paddedW) = (new float[n + 7], new float[n + 7], new float[n + 7]);
        u.CopyTo(paddedU, 0);
        v.CopyTo(paddedV, 0);
        w.CopyTo(paddedW, 0);
        Assert.Equal(LocalLossReference.Forward<TLoss>(u, v), LocalLoss.Forward<TLoss>(target, paddedU, paddedV, n), 1e-6f);
        var slope = new float[n];
        var paddedSlope = new float[n + 7];
        LocalLoss.Backward<TLoss>(target, u, v, w, n, slope);
        LocalLoss.Backward<TLoss>(target, paddedU, paddedV, paddedW, n, paddedSlope);
        Assert.Equal(slope, paddedSlope[..n]);
        Assert.All(paddedSlope[n..], x => Assert.Equal(0f, x));
    }
}
