using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace FastLra.Kernels;

/// <summary>
/// One SIMD width for the generic micro-kernels: the kernels are written once over this and
/// specialised by the JIT for each struct, so no width is a copy of another.
/// </summary>
internal interface IVector<TSelf>
    where TSelf : struct, IVector<TSelf>
{
    static abstract int Count { get; }

    /// <summary>Whether <see cref="MultiplyAdd"/> is one fused instruction; else it multiplies, then adds.</summary>
    static abstract bool Fused { get; }

    static abstract TSelf Zero { get; }

    static abstract TSelf Load(ref float source, int offset);

    /// <summary>Count floats from offset with the first <paramref name="skip"/> lanes zeroed (the overlapping tail of a row).</summary>
    static abstract TSelf LoadSkipping(ref float source, int offset, int skip);

    static abstract TSelf Broadcast(float value);

    /// <summary>a * b + c, fused where <see cref="Fused"/>, else rounded after the multiply and after the add.</summary>
    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf c);

    /// <summary>
    /// The sum of the lanes. The eight-lane vectors (V256, V128x2) sum in the fixed order of
    /// <see cref="Partials8"/> (lane i as element i), so the fixed-order dot products end alike on
    /// both; V512 and V128 in their own order (the native dot products only).
    /// </summary>
    static abstract float Sum(TSelf v);

    /// <summary>
    /// sum + a * b lane by lane in <see cref="Partials8"/>'s fixed layout: lane i of the vector
    /// that starts at element <paramref name="first"/> goes to partial (first + i) mod 8, in turn,
    /// fused by the vector's rule. By value: the partials then stay in two registers.
    /// </summary>
    static abstract Partials8 MultiplyAdd8(TSelf a, TSelf b, Partials8 sum, int first);

    /// <summary>
    /// The lane sums of a 4 x 4 block of vectors, stored as a 4 x 4 block of floats:
    /// c[r * stride + q] = Σ s_rq. Reducing the sixteen together shares the shuffles.
    /// </summary>
    static abstract void StoreSums4x4(ref float c, nint stride,
        TSelf s00, TSelf s01, TSelf s02, TSelf s03, TSelf s10, TSelf s11, TSelf s12, TSelf s13,
        TSelf s20, TSelf s21, TSelf s22, TSelf s23, TSelf s30, TSelf s31, TSelf s32, TSelf s33);

    /// <summary>As <see cref="StoreSums4x4"/> for a 2 x 4 block: c[r * stride + q] = Σ s_rq.</summary>
    static abstract void StoreSums2x4(ref float c, nint stride, TSelf s00, TSelf s01, TSelf s02, TSelf s03, TSelf s10, TSelf s11, TSelf s12, TSelf s13);

    /// <summary>As <see cref="StoreSums4x4"/> for one row: c[q] = Σ s_q.</summary>
    static abstract void StoreSums1x4(ref float c, TSelf s0, TSelf s1, TSelf s2, TSelf s3);

    static abstract TSelf operator +(TSelf a, TSelf b);

    static abstract TSelf operator -(TSelf a, TSelf b);

    static abstract TSelf operator *(TSelf a, TSelf b);

    static abstract TSelf operator /(TSelf a, TSelf b);

    static abstract TSelf Abs(TSelf v);

    /// <summary>The correctly rounded square root of each lane, as <see cref="MathF.Sqrt"/>.</summary>
    static abstract TSelf Sqrt(TSelf v);

    /// <summary>
    /// x clamped to [low, high] with the platform's min and max, NaN kept: x86's min and max return
    /// their second operand when either is NaN, so x goes second (Arm's propagate NaN). The IEEE
    /// Vector512.Max is three instructions (a range and two fix-ups) against one; tanh runs this.
    /// </summary>
    static abstract TSelf Clamp(TSelf x, TSelf low, TSelf high);

    static abstract TSelf Log(TSelf v);

    /// <summary>The float whose bits are those of <paramref name="v"/> shifted left by 23 (into the exponent field).</summary>
    static abstract TSelf ShiftIntoExponent(TSelf v);

    /// <summary>Lanes where x &lt; limit take <paramref name="below"/>, the others <paramref name="otherwise"/> (NaN compares false).</summary>
    static abstract TSelf SelectBelow(TSelf x, TSelf limit, TSelf below, TSelf otherwise);

    /// <summary>|magnitude| with the sign bit of <paramref name="sign"/>.</summary>
    static abstract TSelf CopySign(TSelf magnitude, TSelf sign);

    void Store(ref float destination, int offset);

    /// <summary>Stores all but the first <paramref name="skip"/> lanes, which keep what the destination holds.</summary>
    void StoreSkipping(ref float destination, int offset, int skip);
}

/// <summary>512-bit vectors, always fused: every machine with them (AVX-512) has FMA.</summary>
internal readonly struct V512(Vector512<float> value) : IVector<V512>
{
    private readonly Vector512<float> _v = value;

    public static int Count => Vector512<float>.Count;
    public static bool Fused => true;
    public static V512 Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 Load(ref float source, int offset) => new(Vector512.LoadUnsafe(ref source, (nuint)offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 LoadSkipping(ref float source, int offset, int skip) =>
        new(Vector512.ConditionalSelect(
            Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create(skip)).AsSingle(),
            Vector512.LoadUnsafe(ref source, (nuint)offset), Vector512<float>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 Broadcast(float value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 MultiplyAdd(V512 a, V512 b, V512 c) => new(Vector512.FusedMultiplyAdd(a._v, b._v, c._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(V512 v) => Vector512.Sum(v._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Partials8 MultiplyAdd8(V512 a, V512 b, Partials8 sum, int first)
    {
        Vector256<float> al = a._v.GetLower(), bl = b._v.GetLower(), ah = a._v.GetUpper(), bh = b._v.GetUpper();
        sum = sum.MultiplyAdd<MachineFma>(al.GetLower(), bl.GetLower(), al.GetUpper(), bl.GetUpper());
        return sum.MultiplyAdd<MachineFma>(ah.GetLower(), bh.GetLower(), ah.GetUpper(), bh.GetUpper());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 operator +(V512 a, V512 b) => new(a._v + b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 operator -(V512 a, V512 b) => new(a._v - b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 operator *(V512 a, V512 b) => new(a._v * b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 operator /(V512 a, V512 b) => new(a._v / b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 Abs(V512 v) => new(Vector512.Abs(v._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 Sqrt(V512 v) => new(Vector512.Sqrt(v._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 Clamp(V512 x, V512 low, V512 high) => new(Vector512.MinNative(high._v, Vector512.MaxNative(low._v, x._v)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 Log(V512 v) => new(Vector512.Log(v._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 ShiftIntoExponent(V512 v) => new(Vector512.ShiftLeft(v._v.AsInt32(), 23).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 SelectBelow(V512 x, V512 limit, V512 below, V512 otherwise) =>
        new(Vector512.ConditionalSelect(Vector512.LessThan(x._v, limit._v), below._v, otherwise._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 CopySign(V512 magnitude, V512 sign) =>
        new(Vector512.ConditionalSelect(Vector512.Create(-0f), sign._v, magnitude._v));

    // A tree of 15 adds over shuffled pairs: 256-bit halves, then 128-bit quarters, then pairs and
    // single lanes within quarters; quarter r of the result holds row r.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreSums4x4(ref float c, nint stride,
        V512 s00, V512 s01, V512 s02, V512 s03, V512 s10, V512 s11, V512 s12, V512 s13,
        V512 s20, V512 s21, V512 s22, V512 s23, V512 s30, V512 s31, V512 s32, V512 s33)
    {
        if (!Avx512F.IsSupported)
        {
            // Vector512 without AVX-512 instructions (not a target today): folded row by row.
            Horizontal.StoreSums4x4(ref c, stride,
                Horizontal.Fold(s00._v), Horizontal.Fold(s01._v), Horizontal.Fold(s02._v), Horizontal.Fold(s03._v),
                Horizontal.Fold(s10._v), Horizontal.Fold(s11._v), Horizontal.Fold(s12._v), Horizontal.Fold(s13._v),
                Horizontal.Fold(s20._v), Horizontal.Fold(s21._v), Horizontal.Fold(s22._v), Horizontal.Fold(s23._v),
                Horizontal.Fold(s30._v), Horizontal.Fold(s31._v), Horizontal.Fold(s32._v), Horizontal.Fold(s33._v));
            return;
        }
        // Halves: [x | y], each folded to 256 bits, for the pairs (s0q, s1q) and (s2q, s3q).
        Vector512<float> h0 = Halves(s00._v, s10._v), h1 = Halves(s20._v, s30._v), h2 = Halves(s01._v, s11._v), h3 = Halves(s21._v, s31._v);
        Vector512<float> h4 = Halves(s02._v, s12._v), h5 = Halves(s22._v, s32._v), h6 = Halves(s03._v, s13._v), h7 = Halves(s23._v, s33._v);
        // Quarters: quarter r holds row r's partial sums of one column.
        Vector512<float> q0 = Quarters(h0, h1), q1 = Quarters(h2, h3), q2 = Quarters(h4, h5), q3 = Quarters(h6, h7);
        // Within quarters: [col 0, col 0, col 1, col 1], then [col 0, col 1, col 2, col 3].
        Vector512<float> p0 = Avx512F.Shuffle(q0, q1, 0b01_00_01_00) + Avx512F.Shuffle(q0, q1, 0b11_10_11_10);
        Vector512<float> p1 = Avx512F.Shuffle(q2, q3, 0b01_00_01_00) + Avx512F.Shuffle(q2, q3, 0b11_10_11_10);
        Vector512<float> sums = Avx512F.Shuffle(p0, p1, 0b10_00_10_00) + Avx512F.Shuffle(p0, p1, 0b11_01_11_01);
        Vector256<float> lower = sums.GetLower(), upper = sums.GetUpper();
        lower.GetLower().StoreUnsafe(ref c);
        lower.GetUpper().StoreUnsafe(ref c, (nuint)stride);
        upper.GetLower().StoreUnsafe(ref c, (nuint)(2 * stride));
        upper.GetUpper().StoreUnsafe(ref c, (nuint)(3 * stride));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Halves(Vector512<float> x, Vector512<float> y) =>
        Avx512F.Shuffle4x128(x, y, 0b01_00_01_00) + Avx512F.Shuffle4x128(x, y, 0b11_10_11_10);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Quarters(Vector512<float> x, Vector512<float> y) =>
        Avx512F.Shuffle4x128(x, y, 0b10_00_10_00) + Avx512F.Shuffle4x128(x, y, 0b11_01_11_01);

    // Only for machines with 16 vector registers, which have no 512-bit vectors: row by row.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreSums2x4(ref float c, nint stride, V512 s00, V512 s01, V512 s02, V512 s03, V512 s10, V512 s11, V512 s12, V512 s13) =>
        Horizontal.StoreSums2x4(ref c, stride,
            Horizontal.Fold(s00._v), Horizontal.Fold(s01._v), Horizontal.Fold(s02._v), Horizontal.Fold(s03._v),
            Horizontal.Fold(s10._v), Horizontal.Fold(s11._v), Horizontal.Fold(s12._v), Horizontal.Fold(s13._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreSums1x4(ref float c, V512 s0, V512 s1, V512 s2, V512 s3) =>
        Horizontal.Sum4(Horizontal.Fold(s0._v), Horizontal.Fold(s1._v), Horizontal.Fold(s2._v), Horizontal.Fold(s3._v)).StoreUnsafe(ref c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(ref float destination, int offset) => _v.StoreUnsafe(ref destination, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void StoreSkipping(ref float destination, int offset, int skip) =>
        Vector512.ConditionalSelect(
            Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create(skip)).AsSingle(),
            _v, Vector512.LoadUnsafe(ref destination, (nuint)offset)).StoreUnsafe(ref destination, (nuint)offset);
}

/// <summary>256-bit vectors whose multiply-add follows <typeparamref name="TRule"/>.</summary>
internal readonly struct V256<TRule>(Vector256<float> value) : IVector<V256<TRule>>
    where TRule : struct, IFmaRule
{
    private readonly Vector256<float> _v = value;

    public static int Count => Vector256<float>.Count;
    public static bool Fused => TRule.Fused;
    public static V256<TRule> Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<TRule> Load(ref float source, int offset) => new(Vector256.LoadUnsafe(ref source, (nuint)offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<TRule> LoadSkipping(ref float source, int offset, int skip) =>
        new(Vector256.ConditionalSelect(
            Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create(skip)).AsSingle(),
            Vector256.LoadUnsafe(ref source, (nuint)offset), Vector256<float>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<TRule> Broadcast(float value) => new(Vector256.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<TRule> MultiplyAdd(V256<TRule> a, V256<TRule> b, V256<TRule> c) =>
        new(TRule.Fused ? Vector256.FusedMultiplyAdd(a._v, b._v, c._v) : a._v * b._v + c._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(V256<TRule> v) => Partials8.Fold(v._v.GetLower(), v._v.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Partials8 MultiplyAdd8(V256<TRule> a, V256<TRule> b, Partials8 sum, int first) =>
        sum.MultiplyAdd<TRule>(a._v.GetLower(), b._v.GetLower(), a._v.GetUpper(), b._v.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<TRule> operator +(V256<TRule> a, V256<TRule> b) => new(a._v + b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<TRule> operator -(V256<TRule> a, V256<TRule> b) => new(a._v - b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<TRule> operator *(V256<TRule> a, V256<TRule> b) => new(a._v * b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<TRule> operator /(V256<TRule> a, V256<TRule> b) => new(a._v / b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<TRule> Abs(V256<TRule> v) => new(Vector256.Abs(v._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<TRule> Sqrt(V256<TRule> v) => new(Vector256.Sqrt(v._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<TRule> Clamp(V256<TRule> x, V256<TRule> low, V256<TRule> high) => new(Vector256.MinNative(high._v, Vector256.MaxNative(low._v, x._v)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<TRule> Log(V256<TRule> v) => new(Vector256.Log(v._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<TRule> ShiftIntoExponent(V256<TRule> v) => new(Vector256.ShiftLeft(v._v.AsInt32(), 23).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<TRule> SelectBelow(V256<TRule> x, V256<TRule> limit, V256<TRule> below, V256<TRule> otherwise) =>
        new(Vector256.ConditionalSelect(Vector256.LessThan(x._v, limit._v), below._v, otherwise._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<TRule> CopySign(V256<TRule> magnitude, V256<TRule> sign) =>
        new(Vector256.ConditionalSelect(Vector256.Create(-0f), sign._v, magnitude._v));

    // As V512's tree one level shorter: 128-bit halves, then pairs and single lanes within them;
    // the two results hold rows 0 | 1 and 2 | 3.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreSums4x4(ref float c, nint stride,
        V256<TRule> s00, V256<TRule> s01, V256<TRule> s02, V256<TRule> s03, V256<TRule> s10, V256<TRule> s11, V256<TRule> s12, V256<TRule> s13,
        V256<TRule> s20, V256<TRule> s21, V256<TRule> s22, V256<TRule> s23, V256<TRule> s30, V256<TRule> s31, V256<TRule> s32, V256<TRule> s33)
    {
        if (Avx.IsSupported)
        {
            Vector256<float> rows01 = Rows(s00._v, s01._v, s02._v, s03._v, s10._v, s11._v, s12._v, s13._v);
            Vector256<float> rows23 = Rows(s20._v, s21._v, s22._v, s23._v, s30._v, s31._v, s32._v, s33._v);
            rows01.GetLower().StoreUnsafe(ref c);
            rows01.GetUpper().StoreUnsafe(ref c, (nuint)stride);
            rows23.GetLower().StoreUnsafe(ref c, (nuint)(2 * stride));
            rows23.GetUpper().StoreUnsafe(ref c, (nuint)(3 * stride));
            return;
        }
        Horizontal.StoreSums4x4(ref c, stride,
            Horizontal.Fold(s00._v), Horizontal.Fold(s01._v), Horizontal.Fold(s02._v), Horizontal.Fold(s03._v),
            Horizontal.Fold(s10._v), Horizontal.Fold(s11._v), Horizontal.Fold(s12._v), Horizontal.Fold(s13._v),
            Horizontal.Fold(s20._v), Horizontal.Fold(s21._v), Horizontal.Fold(s22._v), Horizontal.Fold(s23._v),
            Horizontal.Fold(s30._v), Horizontal.Fold(s31._v), Horizontal.Fold(s32._v), Horizontal.Fold(s33._v));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreSums2x4(ref float c, nint stride, V256<TRule> s00, V256<TRule> s01, V256<TRule> s02, V256<TRule> s03, V256<TRule> s10, V256<TRule> s11, V256<TRule> s12, V256<TRule> s13)
    {
        if (Avx.IsSupported)
        {
            Vector256<float> rows01 = Rows(s00._v, s01._v, s02._v, s03._v, s10._v, s11._v, s12._v, s13._v);
            rows01.GetLower().StoreUnsafe(ref c);
            rows01.GetUpper().StoreUnsafe(ref c, (nuint)stride);
            return;
        }
        Horizontal.StoreSums2x4(ref c, stride,
            Horizontal.Fold(s00._v), Horizontal.Fold(s01._v), Horizontal.Fold(s02._v), Horizontal.Fold(s03._v),
            Horizontal.Fold(s10._v), Horizontal.Fold(s11._v), Horizontal.Fold(s12._v), Horizontal.Fold(s13._v));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreSums1x4(ref float c, V256<TRule> s0, V256<TRule> s1, V256<TRule> s2, V256<TRule> s3) =>
        Horizontal.Sum4(Horizontal.Fold(s0._v), Horizontal.Fold(s1._v), Horizontal.Fold(s2._v), Horizontal.Fold(s3._v)).StoreUnsafe(ref c);

    // [Σx0, Σx1, Σx2, Σx3 | Σy0, Σy1, Σy2, Σy3].
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Rows(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3,
        Vector256<float> y0, Vector256<float> y1, Vector256<float> y2, Vector256<float> y3)
    {
        Vector256<float> u0 = Halves(x0, y0), u1 = Halves(x1, y1), u2 = Halves(x2, y2), u3 = Halves(x3, y3);
        // Lanes (0 + 1) and (2 + 3), then their sum: the tree of Horizontal.Sum4 (haddps, faddp), so
        // the eight partial sums of a fixed-order dot product fold alike here and on 128-bit pairs.
        Vector256<float> p0 = Avx.Shuffle(u0, u1, 0b10_00_10_00) + Avx.Shuffle(u0, u1, 0b11_01_11_01);
        Vector256<float> p1 = Avx.Shuffle(u2, u3, 0b10_00_10_00) + Avx.Shuffle(u2, u3, 0b11_01_11_01);
        return Avx.Shuffle(p0, p1, 0b10_00_10_00) + Avx.Shuffle(p0, p1, 0b11_01_11_01);
    }

    // [x's halves added | y's halves added].
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Halves(Vector256<float> x, Vector256<float> y) =>
        Avx.Permute2x128(x, y, 0x20) + Avx.Permute2x128(x, y, 0x31);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(ref float destination, int offset) => _v.StoreUnsafe(ref destination, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void StoreSkipping(ref float destination, int offset, int skip) =>
        Vector256.ConditionalSelect(
            Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create(skip)).AsSingle(),
            _v, Vector256.LoadUnsafe(ref destination, (nuint)offset)).StoreUnsafe(ref destination, (nuint)offset);
}

/// <summary>128-bit vectors whose multiply-add follows <typeparamref name="TRule"/>.</summary>
internal readonly struct V128<TRule>(Vector128<float> value) : IVector<V128<TRule>>
    where TRule : struct, IFmaRule
{
    private readonly Vector128<float> _v = value;

    public static int Count => Vector128<float>.Count;
    public static bool Fused => TRule.Fused;
    public static V128<TRule> Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<TRule> Load(ref float source, int offset) => new(Vector128.LoadUnsafe(ref source, (nuint)offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<TRule> LoadSkipping(ref float source, int offset, int skip) => new(Mask(Vector128.LoadUnsafe(ref source, (nuint)offset), skip));

    /// <summary>v with its first <paramref name="skip"/> lanes zeroed (none for skip &lt;= 0, all for skip &gt;= 4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> Mask(Vector128<float> v, int skip) =>
        Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(Vector128<int>.Indices, Vector128.Create(skip)).AsSingle(), v, Vector128<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<TRule> Broadcast(float value) => new(Vector128.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<TRule> MultiplyAdd(V128<TRule> a, V128<TRule> b, V128<TRule> c) =>
        new(TRule.Fused ? Vector128.FusedMultiplyAdd(a._v, b._v, c._v) : a._v * b._v + c._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(V128<TRule> v) => Vector128.Sum(v._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Partials8 MultiplyAdd8(V128<TRule> a, V128<TRule> b, Partials8 sum, int first) => sum.MultiplyAddHalf<TRule>(a._v, b._v, (first & 4) != 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<TRule> operator +(V128<TRule> a, V128<TRule> b) => new(a._v + b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<TRule> operator -(V128<TRule> a, V128<TRule> b) => new(a._v - b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<TRule> operator *(V128<TRule> a, V128<TRule> b) => new(a._v * b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<TRule> operator /(V128<TRule> a, V128<TRule> b) => new(a._v / b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<TRule> Abs(V128<TRule> v) => new(Vector128.Abs(v._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<TRule> Sqrt(V128<TRule> v) => new(Vector128.Sqrt(v._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<TRule> Clamp(V128<TRule> x, V128<TRule> low, V128<TRule> high) => new(Vector128.MinNative(high._v, Vector128.MaxNative(low._v, x._v)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<TRule> Log(V128<TRule> v) => new(Vector128.Log(v._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<TRule> ShiftIntoExponent(V128<TRule> v) => new(Vector128.ShiftLeft(v._v.AsInt32(), 23).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<TRule> SelectBelow(V128<TRule> x, V128<TRule> limit, V128<TRule> below, V128<TRule> otherwise) =>
        new(Vector128.ConditionalSelect(Vector128.LessThan(x._v, limit._v), below._v, otherwise._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<TRule> CopySign(V128<TRule> magnitude, V128<TRule> sign) =>
        new(Vector128.ConditionalSelect(Vector128.Create(-0f), sign._v, magnitude._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreSums4x4(ref float c, nint stride,
        V128<TRule> s00, V128<TRule> s01, V128<TRule> s02, V128<TRule> s03, V128<TRule> s10, V128<TRule> s11, V128<TRule> s12, V128<TRule> s13,
        V128<TRule> s20, V128<TRule> s21, V128<TRule> s22, V128<TRule> s23, V128<TRule> s30, V128<TRule> s31, V128<TRule> s32, V128<TRule> s33)
        => Horizontal.StoreSums4x4(ref c, stride, s00._v, s01._v, s02._v, s03._v, s10._v, s11._v, s12._v, s13._v,
            s20._v, s21._v, s22._v, s23._v, s30._v, s31._v, s32._v, s33._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreSums2x4(ref float c, nint stride, V128<TRule> s00, V128<TRule> s01, V128<TRule> s02, V128<TRule> s03, V128<TRule> s10, V128<TRule> s11, V128<TRule> s12, V128<TRule> s13) =>
        Horizontal.StoreSums2x4(ref c, stride, s00._v, s01._v, s02._v, s03._v, s10._v, s11._v, s12._v, s13._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreSums1x4(ref float c, V128<TRule> s0, V128<TRule> s1, V128<TRule> s2, V128<TRule> s3) =>
        Horizontal.Sum4(s0._v, s1._v, s2._v, s3._v).StoreUnsafe(ref c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(ref float destination, int offset) => _v.StoreUnsafe(ref destination, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void StoreSkipping(ref float destination, int offset, int skip) =>
        Vector128.ConditionalSelect(
            Vector128.GreaterThanOrEqual(Vector128<int>.Indices, Vector128.Create(skip)).AsSingle(),
            _v, Vector128.LoadUnsafe(ref destination, (nuint)offset)).StoreUnsafe(ref destination, (nuint)offset);
}

/// <summary>
/// Eight lanes as two 128-bit vectors: what a 128-bit machine (NEON, SSE) runs where a kernel must
/// sum in the order of the 256-bit path (the fixed-order dot products), lane for lane the same
/// arithmetic as <see cref="V256{TRule}"/> and so the same bits.
/// </summary>
internal readonly struct V128x2<TRule>(Vector128<float> low, Vector128<float> high) : IVector<V128x2<TRule>>
    where TRule : struct, IFmaRule
{
    private readonly Vector128<float> _low = low, _high = high;

    public static int Count => 8;
    public static bool Fused => TRule.Fused;
    public static V128x2<TRule> Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128x2<TRule> Load(ref float source, int offset) =>
        new(Vector128.LoadUnsafe(ref source, (nuint)offset), Vector128.LoadUnsafe(ref source, (nuint)(offset + 4)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128x2<TRule> LoadSkipping(ref float source, int offset, int skip) =>
        new(V128<TRule>.Mask(Vector128.LoadUnsafe(ref source, (nuint)offset), skip),
            V128<TRule>.Mask(Vector128.LoadUnsafe(ref source, (nuint)(offset + 4)), skip - 4));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128x2<TRule> Broadcast(float value) => new(Vector128.Create(value), Vector128.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128x2<TRule> MultiplyAdd(V128x2<TRule> a, V128x2<TRule> b, V128x2<TRule> c) => TRule.Fused
        ? new(Vector128.FusedMultiplyAdd(a._low, b._low, c._low), Vector128.FusedMultiplyAdd(a._high, b._high, c._high))
        : new(a._low * b._low + c._low, a._high * b._high + c._high);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(V128x2<TRule> v) => Partials8.Fold(v._low, v._high);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Partials8 MultiplyAdd8(V128x2<TRule> a, V128x2<TRule> b, Partials8 sum, int first) =>
        sum.MultiplyAdd<TRule>(a._low, b._low, a._high, b._high);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreSums4x4(ref float c, nint stride,
        V128x2<TRule> s00, V128x2<TRule> s01, V128x2<TRule> s02, V128x2<TRule> s03, V128x2<TRule> s10, V128x2<TRule> s11, V128x2<TRule> s12, V128x2<TRule> s13,
        V128x2<TRule> s20, V128x2<TRule> s21, V128x2<TRule> s22, V128x2<TRule> s23, V128x2<TRule> s30, V128x2<TRule> s31, V128x2<TRule> s32, V128x2<TRule> s33)
    {
        StoreSums2x4(ref c, stride, s00, s01, s02, s03, s10, s11, s12, s13);
        StoreSums2x4(ref Unsafe.Add(ref c, 2 * stride), stride, s20, s21, s22, s23, s30, s31, s32, s33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreSums2x4(ref float c, nint stride, V128x2<TRule> s00, V128x2<TRule> s01, V128x2<TRule> s02, V128x2<TRule> s03,
        V128x2<TRule> s10, V128x2<TRule> s11, V128x2<TRule> s12, V128x2<TRule> s13)
    {
        StoreSums1x4(ref c, s00, s01, s02, s03);
        StoreSums1x4(ref Unsafe.Add(ref c, stride), s10, s11, s12, s13);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreSums1x4(ref float c, V128x2<TRule> s0, V128x2<TRule> s1, V128x2<TRule> s2, V128x2<TRule> s3) =>
        Horizontal.Sum4(s0._low + s0._high, s1._low + s1._high, s2._low + s2._high, s3._low + s3._high).StoreUnsafe(ref c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128x2<TRule> operator +(V128x2<TRule> a, V128x2<TRule> b) => new(a._low + b._low, a._high + b._high);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128x2<TRule> operator -(V128x2<TRule> a, V128x2<TRule> b) => new(a._low - b._low, a._high - b._high);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128x2<TRule> operator *(V128x2<TRule> a, V128x2<TRule> b) => new(a._low * b._low, a._high * b._high);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128x2<TRule> operator /(V128x2<TRule> a, V128x2<TRule> b) => new(a._low / b._low, a._high / b._high);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128x2<TRule> Abs(V128x2<TRule> v) => new(Vector128.Abs(v._low), Vector128.Abs(v._high));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128x2<TRule> Sqrt(V128x2<TRule> v) => new(Vector128.Sqrt(v._low), Vector128.Sqrt(v._high));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128x2<TRule> Clamp(V128x2<TRule> x, V128x2<TRule> low, V128x2<TRule> high) =>
        new(Vector128.MinNative(high._low, Vector128.MaxNative(low._low, x._low)), Vector128.MinNative(high._high, Vector128.MaxNative(low._high, x._high)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128x2<TRule> Log(V128x2<TRule> v) => new(Vector128.Log(v._low), Vector128.Log(v._high));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128x2<TRule> ShiftIntoExponent(V128x2<TRule> v) =>
        new(Vector128.ShiftLeft(v._low.AsInt32(), 23).AsSingle(), Vector128.ShiftLeft(v._high.AsInt32(), 23).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128x2<TRule> SelectBelow(V128x2<TRule> x, V128x2<TRule> limit, V128x2<TRule> below, V128x2<TRule> otherwise) =>
        new(Vector128.ConditionalSelect(Vector128.LessThan(x._low, limit._low), below._low, otherwise._low),
            Vector128.ConditionalSelect(Vector128.LessThan(x._high, limit._high), below._high, otherwise._high));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128x2<TRule> CopySign(V128x2<TRule> magnitude, V128x2<TRule> sign) =>
        new(Vector128.ConditionalSelect(Vector128.Create(-0f), sign._low, magnitude._low),
            Vector128.ConditionalSelect(Vector128.Create(-0f), sign._high, magnitude._high));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(ref float destination, int offset)
    {
        _low.StoreUnsafe(ref destination, (nuint)offset);
        _high.StoreUnsafe(ref destination, (nuint)(offset + 4));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void StoreSkipping(ref float destination, int offset, int skip)
    {
        new V128<TRule>(_low).StoreSkipping(ref destination, offset, Math.Clamp(skip, 0, 4));
        new V128<TRule>(_high).StoreSkipping(ref destination, offset + 4, Math.Clamp(skip - 4, 0, 4));
    }
}

/// <summary>
/// Eight partial sums in one fixed order, the same on every vector width and on ARM64: element e
/// of a reduction goes to partial e mod 8, each partial adds its elements in ascending e (fused
/// where the rule fuses), and <see cref="Total"/> folds them by one tree: f_k = p_k + p_(k+4),
/// then (f_0 + f_1) + (f_2 + f_3), the tree of <see cref="Horizontal.Sum4"/>. A vector of any
/// width adds into it by <see cref="IVector{TSelf}.MultiplyAdd8"/>: a 512-bit vector's two halves
/// in turn, a 128-bit vector into the half its first element falls in. So a reduction written
/// with it gives the same bits whatever width runs it, which the width's own lanes do not. A value
/// of two 128-bit fields, passed and returned by value: by reference, it lived on the stack and
/// every add waited on a store (a sum of squares ran 10x slower).
/// </summary>
internal readonly struct Partials8(Vector128<float> low, Vector128<float> high)
{
    private readonly Vector128<float> _low = low, _high = high;

    /// <summary>Eight elements more: partials 0-3 from aLow * bLow, 4-7 from aHigh * bHigh.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Partials8 MultiplyAdd<TRule>(Vector128<float> aLow, Vector128<float> bLow, Vector128<float> aHigh, Vector128<float> bHigh)
        where TRule : struct, IFmaRule =>
        new(MultiplyAdd<TRule>(aLow, bLow, _low), MultiplyAdd<TRule>(aHigh, bHigh, _high));

    /// <summary>Four elements more, into partials 4-7 when <paramref name="high"/>, else 0-3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Partials8 MultiplyAddHalf<TRule>(Vector128<float> a, Vector128<float> b, bool high)
        where TRule : struct, IFmaRule =>
        high ? new(_low, MultiplyAdd<TRule>(a, b, _high)) : new(MultiplyAdd<TRule>(a, b, _low), _high);

    /// <summary>The sum, by the fixed tree.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Total() => Fold(_low, _high);

    /// <summary>(f_0 + f_1) + (f_2 + f_3) with f = low + high.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Fold(Vector128<float> low, Vector128<float> high)
    {
        Vector128<float> f = low + high;
        return (f.GetElement(0) + f.GetElement(1)) + (f.GetElement(2) + f.GetElement(3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> MultiplyAdd<TRule>(Vector128<float> a, Vector128<float> b, Vector128<float> c)
        where TRule : struct, IFmaRule => TRule.Fused ? Vector128.FusedMultiplyAdd(a, b, c) : a * b + c;
}

/// <summary>Horizontal sums that reduce several vectors at once.</summary>
internal static class Horizontal
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Fold(Vector512<float> v) => Fold(v.GetLower() + v.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Fold(Vector256<float> v) => v.GetLower() + v.GetUpper();

    /// <summary>[Σa, Σb, Σc, Σd] by a pairwise-add tree (haddps on x86, faddp on ARM64).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sum4(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d)
    {
        if (Sse3.IsSupported) return Sse3.HorizontalAdd(Sse3.HorizontalAdd(a, b), Sse3.HorizontalAdd(c, d));
        if (AdvSimd.Arm64.IsSupported) return AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(a, b), AdvSimd.Arm64.AddPairwise(c, d));
        return Vector128.Create(Vector128.Sum(a), Vector128.Sum(b), Vector128.Sum(c), Vector128.Sum(d));
    }

    /// <summary>c[r * stride + q] = Σ s_rq, two rows at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreSums4x4(ref float c, nint stride,
        Vector128<float> s00, Vector128<float> s01, Vector128<float> s02, Vector128<float> s03,
        Vector128<float> s10, Vector128<float> s11, Vector128<float> s12, Vector128<float> s13,
        Vector128<float> s20, Vector128<float> s21, Vector128<float> s22, Vector128<float> s23,
        Vector128<float> s30, Vector128<float> s31, Vector128<float> s32, Vector128<float> s33)
    {
        StoreSums2x4(ref c, stride, s00, s01, s02, s03, s10, s11, s12, s13);
        StoreSums2x4(ref Unsafe.Add(ref c, 2 * stride), stride, s20, s21, s22, s23, s30, s31, s32, s33);
    }

    /// <summary>c[r * stride + q] = Σ s_rq for two rows, with <see cref="Sum4"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreSums2x4(ref float c, nint stride,
        Vector128<float> s00, Vector128<float> s01, Vector128<float> s02, Vector128<float> s03,
        Vector128<float> s10, Vector128<float> s11, Vector128<float> s12, Vector128<float> s13)
    {
        Sum4(s00, s01, s02, s03).StoreUnsafe(ref c);
        Sum4(s10, s11, s12, s13).StoreUnsafe(ref c, (nuint)stride);
    }
}

/// <summary>How a vector multiply-add rounds, as a type, so each kernel compiles once per rule with no test in its loops.</summary>
internal interface IFmaRule
{
    /// <summary>Whether a * b + c is fused (one rounding); else the product is rounded, then the sum.</summary>
    static abstract bool Fused { get; }
}

/// <summary>Fused where the hardware has FMA (<see cref="SimdWidth.HasFma"/>, a JIT-time constant): what the kernels run by default.</summary>
internal readonly struct MachineFma : IFmaRule
{
    public static bool Fused => SimdWidth.HasFma;
}

/// <summary>Multiply, then add, as on a machine without FMA: that path, testable on any machine.</summary>
internal readonly struct NoFma : IFmaRule
{
    public static bool Fused => false;
}

/// <summary>
/// What the kernels run at: the vector width (512, 256 or 128 bits; 0 = scalar), the vector
/// registers their blocking plans on (32 or 16) and whether multiply-adds are fused. The kernels'
/// public overloads run at <see cref="SimdWidth.Current"/>; their internal overloads take a
/// target, so one test process covers every target the machine can run.
/// </summary>
internal readonly record struct SimdTarget(int Bits, int Registers, bool Fma)
{
    /// <summary>
    /// Every target this machine can run, its own first: each width up to its own; 32 registers
    /// where it has them, and 16; fused where it has FMA, and not. Left out are the combinations
    /// no machine has: 512-bit vectors come with 32 registers and FMA (AVX-512), 32 registers with
    /// FMA (AVX-512, ARM64), and scalar code (no vectors) with 16 registers and no FMA. Registers
    /// and FMA change only the kernels that use them (the products' blocking; the multiply-adds).
    /// </summary>
    public static SimdTarget[] Supported()
    {
        var machine = SimdWidth.Machine;
        var targets = new List<SimdTarget> { machine };
        foreach (int bits in (ReadOnlySpan<int>)[512, 256, 128])
        {
            if (bits > machine.Bits) continue;
            foreach (int registers in (ReadOnlySpan<int>)[32, 16])
            {
                if (registers > machine.Registers || (bits == 512 && registers < 32)) continue;
                foreach (bool fma in (ReadOnlySpan<bool>)[true, false])
                {
                    if ((fma && !machine.Fma) || (!fma && (bits == 512 || registers == 32))) continue;
                    var target = new SimdTarget(bits, registers, fma);
                    if (target != machine) targets.Add(target);
                }
            }
        }
        var scalar = new SimdTarget(0, 16, false);
        if (scalar != machine) targets.Add(scalar);
        return [.. targets];
    }

    /// <summary>a * b + c by this target's rule: fused where <see cref="Fma"/>, else multiply, then add (for the scalar oracles).</summary>
    public float MultiplyAdd(float a, float b, float c) => Fma ? MathF.FusedMultiplyAdd(a, b, c) : a * b + c;

    /// <summary>As in test names: "256-bit, 16 registers, no FMA".</summary>
    public override string ToString() =>
        Bits == 0 ? $"scalar{(Fma ? ", FMA" : "")}" : $"{Bits}-bit, {Registers} registers, {(Fma ? "FMA" : "no FMA")}";
}

/// <summary>The target the kernels run at: the machine's own, decided once at start-up, unless a test forces another.</summary>
internal static class SimdWidth
{
    // The machine's target as JIT-time constants, so the public overloads fold to one kernel.
    private static readonly int MachineBits =
        Vector512.IsHardwareAccelerated ? 512 :
        Vector256.IsHardwareAccelerated ? 256 :
        Vector128.IsHardwareAccelerated ? 128 : 0;

    private static readonly int MachineRegisters = Avx512F.IsSupported || AdvSimd.Arm64.IsSupported ? 32 : 16;

    /// <summary>
    /// The widest vector the hardware accelerates (512, 256 or 128 bits; 0 when none is), the
    /// vector registers the kernels may plan on, and whether it has FMA. Registers: 32 with
    /// AVX-512 (EVEX) or on ARM64, else 16 (AVX2, SSE). A block of sixteen accumulators needs the
    /// 32; with 16 the kernels take smaller blocks (twelve accumulators; dot blocks of two rows),
    /// which would otherwise spill to the stack (the AVX2 build's products ran at half speed).
    /// </summary>
    public static readonly SimdTarget Machine = new(MachineBits, MachineRegisters, HasFma);

    /// <summary>
    /// Whether a test may force the target: the runtime switch FastLra.Kernels.ForceableTarget, which
    /// the test project sets in its runtimeconfig. Off (every other process), <see cref="Current"/> is
    /// the machine's target as JIT-time constants; reading a target a test could change at every
    /// kernel call made BPTT's iteration 5% slower (docs/performance.md).
    /// </summary>
    private static readonly bool Forceable = AppContext.TryGetSwitch("FastLra.Kernels.ForceableTarget", out bool on) && on;

    private static SimdTarget forced = Machine;

    /// <summary>The target the kernels' public overloads run at: <see cref="Machine"/> unless a test forced one.</summary>
    public static SimdTarget Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] // else the JIT calls it, and nothing folds
        get => Forceable ? forced : new SimdTarget(MachineBits, MachineRegisters, HasFma);
    }

    /// <summary>The width of <see cref="Current"/>: 512, 256 or 128 (bits); 0 when no vector width is accelerated.</summary>
    public static int Bits => Forceable ? forced.Bits : MachineBits;

    /// <summary>
    /// Whether vector FMA is an instruction here (x64 with FMA, every ARM64). Without it (x64 before
    /// Haswell, or the JIT run with DOTNET_EnableAVX2=0, which in .NET 10 turns FMA off with AVX2)
    /// the vector kernels multiply, then add: a fused multiply-add emulated in software ran the
    /// products at 0.4 GFLOP/s. Results then differ from FMA machines' by rounding, as results at
    /// another vector width do. A JIT-time constant: the test costs nothing.
    /// </summary>
    public static bool HasFma => Fma.IsSupported || AdvSimd.IsSupported;

    /// <summary>a * b + c by <typeparamref name="TRule"/>: fused, or multiply, then add.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd<TRule>(float a, float b, float c)
        where TRule : struct, IFmaRule => TRule.Fused ? MathF.FusedMultiplyAdd(a, b, c) : a * b + c;

    /// <summary>
    /// For tests: every kernel, and everything sized by <see cref="Bits"/> (padded rows), runs at
    /// <paramref name="target"/> until the result is disposed. Only from tests that run alone
    /// (a collection with parallelisation disabled): the setting is the whole process's.
    /// </summary>
    internal static Forced Force(SimdTarget target)
    {
        if (!Forceable) ThrowHelper.Argument("The kernel target can be forced only with the runtime switch FastLra.Kernels.ForceableTarget on.");
        if (Array.IndexOf(SimdTarget.Supported(), target) < 0) ThrowHelper.Argument($"This machine cannot run {target}.");
        var previous = forced;
        forced = target;
        return new Forced(previous);
    }

    /// <summary>Restores the target that was current before <see cref="Force"/>.</summary>
    internal readonly struct Forced(SimdTarget previous) : IDisposable
    {
        public void Dispose() => forced = previous;
    }
}
