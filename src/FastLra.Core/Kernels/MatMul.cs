using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FastLra.Kernels;

/// <summary>
/// The three batched matrix products the trainers need, and the recurrent cell, on row-major
/// spans. Argument order follows TensorPrimitives: inputs, sizes, destination last.
/// Destinations must not overlap the inputs.
/// <para>
/// c += a·w, g += aᵀ·d and the cell (bias + x·Wxh + h·Whh, then tanh) are one register-blocked
/// kernel (<see cref="Gemm{TV}"/>) that reads A through a row stride and an inner stride, so the
/// transposed operand is never copied (the cell applies tanh to each block as it is stored); c = a·wᵀ
/// is a blocked dot-product kernel (<see cref="Dot{TV}"/>). Both are written once over
/// <see cref="IVector{TSelf}"/> and run at the widest width the hardware accelerates
/// (<see cref="SimdWidth.Current"/>; the internal overloads take any <see cref="SimdTarget"/>),
/// narrower when a row is shorter than a vector.
/// A row's tail is one more vector that overlaps the previous one, its already-done lanes
/// masked, so no element is ever computed twice into memory.
/// </para>
/// <para>
/// The kernels are <see cref="MethodImplOptions.AggressiveOptimization"/>: compiled fully
/// optimised at once and never instrumented. Dynamic PGO otherwise re-compiles them from the
/// profile of one shape (B = 1 inference made the step 9x slower), and Native AOT has no PGO.
/// </para>
/// </summary>
public static class MatMul
{
    /// <summary>c (m x n) += a (m x k) · w (k x n).</summary>
    public static void MultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> w, int m, int k, int n, Span<float> c) =>
        MultiplyAdd(SimdWidth.Current, a, w, c, m, k, n, k, c);

    /// <summary>
    /// c (m x n) = addend (m x n) + a (m x k) · w (k x n), the addend read as the accumulators' start
    /// (no separate copy); it may be c itself, and must not overlap a or w otherwise.
    /// </summary>
    public static void MultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> w, ReadOnlySpan<float> addend, int m, int k, int n, Span<float> c) =>
        MultiplyAdd(SimdWidth.Current, a, w, addend, m, k, n, k, c);

    /// <summary>As the overload without a stride, with row i of a at a[i * aStride] (aStride >= k): a is a state of padded rows.</summary>
    public static void MultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> w, ReadOnlySpan<float> addend, int m, int k, int n, int aStride, Span<float> c) =>
        MultiplyAdd(SimdWidth.Current, a, w, addend, m, k, n, aStride, c);

    /// <summary>As the public overloads, at <paramref name="target"/> (its width, registers and multiply-add), for tests.</summary>
    internal static void MultiplyAdd(SimdTarget target, ReadOnlySpan<float> a, ReadOnlySpan<float> w, ReadOnlySpan<float> addend, int m, int k, int n, int aStride, Span<float> c)
    {
        Check(a.Length, Needed(m, k, aStride), w.Length, k * n, c.Length, m * n);
        if (addend.Length < m * n) ThrowHelper.ShapeMismatch();
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            addend[..(m * n)].CopyTo(c);
            return;
        }
        Gemm(target, ref MemoryMarshal.GetReference(a), aStride, 1, ref MemoryMarshal.GetReference(w), m, k, n,
            ref MemoryMarshal.GetReference(addend), ref MemoryMarshal.GetReference(c));
    }

    /// <summary>
    /// The recurrent cell with its bias and activation fused into the product: a (m x n) = bias (n,
    /// every row) + x (m x kx) · wx (kx x n) + h (m x kh) · wh (kh x n) and z = tanh(a), in one pass
    /// over the outputs (the accumulators start from the bias; tanh follows each finished block
    /// while it is in L1). An empty h means h = 0. z may be a (a then ends as tanh(a)); neither may
    /// overlap the inputs.
    /// </summary>
    public static void CellForward(ReadOnlySpan<float> x, ReadOnlySpan<float> wx, ReadOnlySpan<float> h, ReadOnlySpan<float> wh, ReadOnlySpan<float> bias,
        int m, int kx, int kh, int n, Span<float> a, Span<float> z) =>
        CellForward(SimdWidth.Current, x, wx, h, wh, bias, m, kx, kh, n, kh, a, z);

    /// <summary>As the overload without a stride, with row i of h at h[i * hStride] (hStride >= kh): h is a state of padded rows.</summary>
    public static void CellForward(ReadOnlySpan<float> x, ReadOnlySpan<float> wx, ReadOnlySpan<float> h, ReadOnlySpan<float> wh, ReadOnlySpan<float> bias,
        int m, int kx, int kh, int n, int hStride, Span<float> a, Span<float> z) =>
        CellForward(SimdWidth.Current, x, wx, h, wh, bias, m, kx, kh, n, hStride, a, z);

    /// <summary>As the public overloads, at <paramref name="target"/>, for tests.</summary>
    internal static void CellForward(SimdTarget target, ReadOnlySpan<float> x, ReadOnlySpan<float> wx, ReadOnlySpan<float> h, ReadOnlySpan<float> wh, ReadOnlySpan<float> bias,
        int m, int kx, int kh, int n, int hStride, Span<float> a, Span<float> z) =>
        CellForward(target, x, wx, h, wh, bias, m, kx, kh, n, kx, hStride, a, z);

    /// <summary>As the public overloads, with row i of x at x[i * xStride] too: a layer above the first reads the padded states below it.</summary>
    internal static void CellForward(ReadOnlySpan<float> x, ReadOnlySpan<float> wx, ReadOnlySpan<float> h, ReadOnlySpan<float> wh, ReadOnlySpan<float> bias,
        int m, int kx, int kh, int n, int xStride, int hStride, Span<float> a, Span<float> z) =>
        CellForward(SimdWidth.Current, x, wx, h, wh, bias, m, kx, kh, n, xStride, hStride, a, z);

    private static void CellForward(SimdTarget target, ReadOnlySpan<float> x, ReadOnlySpan<float> wx, ReadOnlySpan<float> h, ReadOnlySpan<float> wh, ReadOnlySpan<float> bias,
        int m, int kx, int kh, int n, int xStride, int hStride, Span<float> a, Span<float> z)
    {
        Check(x.Length, Needed(m, kx, xStride), wx.Length, kx * n, a.Length, m * n);
        if (bias.Length < n || z.Length < m * n || (!h.IsEmpty && (h.Length < Needed(m, kh, hStride) || wh.Length < kh * n))) ThrowHelper.ShapeMismatch();
        if (m == 0 || n == 0) return;
        var first = new Product(ref MemoryMarshal.GetReference(x), xStride, 1, ref MemoryMarshal.GetReference(wx), kx);
        var second = h.IsEmpty
            ? new Product(ref MemoryMarshal.GetReference(x), 0, 0, ref MemoryMarshal.GetReference(wx), 0)
            : new Product(ref MemoryMarshal.GetReference(h), hStride, 1, ref MemoryMarshal.GetReference(wh), kh);
        if (target.Fma) CellAt<MachineFma>(target, in first, in second, m, n, bias, a, z, tanh: true);
        else CellAt<NoFma>(target, in first, in second, m, n, bias, a, z, tanh: true);
    }

    // c = bias + the products, then with tanh z = tanh(c) (else z is not written).
    private static void CellAt<TRule>(SimdTarget target, in Product first, in Product second, int m, int n, ReadOnlySpan<float> bias, Span<float> a, Span<float> z,
        bool tanh)
        where TRule : struct, IFmaRule
    {
        ref float rb = ref MemoryMarshal.GetReference(bias);
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rz = ref MemoryMarshal.GetReference(z);
        int bits = target.Bits, maxCols = PanelVectors(target.Registers);
        if (bits >= 512 && n >= 16) Gemm<V512>(in first, in second, m, n, ref rb, 0, ref ra, ref rz, tanh, maxCols);
        else if (bits >= 256 && n >= 8) Gemm<V256<TRule>>(in first, in second, m, n, ref rb, 0, ref ra, ref rz, tanh, maxCols);
        else if (bits >= 128 && n >= 4) Gemm<V128<TRule>>(in first, in second, m, n, ref rb, 0, ref ra, ref rz, tanh, maxCols);
        else
        {
            GemmScalar<TRule>(in first, in second, m, n, ref rb, 0, ref ra);
            if (tanh) Activations.TanhForward(target, a[..(m * n)], z);
        }
    }

    /// <summary>
    /// A gated cell's pre-activations, as <see cref="CellForward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, int, int, Span{float}, Span{float})"/>
    /// without the activation: c (m x n) = bias (n, every row) + x (rows <paramref name="xStride"/>
    /// apart, m x kx) · wx (kx x n) + h (rows <paramref name="hStride"/> apart, m x kh) · wh (kh x n).
    /// kx = 0 or an empty h leaves that product out.
    /// </summary>
    internal static void GateForward(ReadOnlySpan<float> x, ReadOnlySpan<float> wx, ReadOnlySpan<float> h, ReadOnlySpan<float> wh, ReadOnlySpan<float> bias,
        int m, int kx, int kh, int n, int xStride, int hStride, Span<float> c) =>
        GateForward(SimdWidth.Current, x, wx, h, wh, bias, m, kx, kh, n, xStride, hStride, c);

    /// <summary>As the overload without a target, at <paramref name="target"/>, for tests.</summary>
    internal static void GateForward(SimdTarget target, ReadOnlySpan<float> x, ReadOnlySpan<float> wx, ReadOnlySpan<float> h, ReadOnlySpan<float> wh,
        ReadOnlySpan<float> bias, int m, int kx, int kh, int n, int xStride, int hStride, Span<float> c)
    {
        Check(x.Length, kx == 0 ? 0 : Needed(m, kx, xStride), wx.Length, kx * n, c.Length, m * n);
        if (bias.Length < n || (!h.IsEmpty && (h.Length < Needed(m, kh, hStride) || wh.Length < kh * n))) ThrowHelper.ShapeMismatch();
        if (m == 0 || n == 0) return;
        var first = new Product(ref MemoryMarshal.GetReference(x), xStride, 1, ref MemoryMarshal.GetReference(wx), kx);
        var second = h.IsEmpty
            ? new Product(ref MemoryMarshal.GetReference(x), 0, 0, ref MemoryMarshal.GetReference(wx), 0)
            : new Product(ref MemoryMarshal.GetReference(h), hStride, 1, ref MemoryMarshal.GetReference(wh), kh);
        if (target.Fma) CellAt<MachineFma>(target, in first, in second, m, n, bias, c, c, tanh: false);
        else CellAt<NoFma>(target, in first, in second, m, n, bias, c, c, tanh: false);
    }

    /// <summary>g (k x n) += aᵀ · d, with a (m x k) and d (m x n): the weight-gradient product.</summary>
    public static void TransposedMultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> d, int m, int k, int n, Span<float> g) =>
        TransposedMultiplyAdd(SimdWidth.Current, a, d, m, k, n, k, g);

    /// <summary>As the overload without a stride, with row i of a at a[i * aStride] (aStride >= k): a is a state of padded rows.</summary>
    public static void TransposedMultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> d, int m, int k, int n, int aStride, Span<float> g) =>
        TransposedMultiplyAdd(SimdWidth.Current, a, d, m, k, n, aStride, g);

    /// <summary>As the public overloads, at <paramref name="target"/>, for tests.</summary>
    internal static void TransposedMultiplyAdd(SimdTarget target, ReadOnlySpan<float> a, ReadOnlySpan<float> d, int m, int k, int n, int aStride, Span<float> g)
    {
        Check(a.Length, Needed(m, k, aStride), d.Length, m * n, g.Length, k * n);
        if (m == 0 || k == 0 || n == 0) return;
        // Row p of aᵀ is column p of a: row stride 1, inner stride aStride.
        ref float rg = ref MemoryMarshal.GetReference(g);
        Gemm(target, ref MemoryMarshal.GetReference(a), 1, aStride, ref MemoryMarshal.GetReference(d), k, m, n, ref rg, ref rg);
    }

    /// <summary>
    /// sum (n) += Σ_r d[r, :] for d (rows x n), at <paramref name="target"/>: a product of a
    /// row of ones (A read with both strides 0) and d, so column sums get the product's register
    /// blocking instead of one add chain per column.
    /// </summary>
    internal static void SumRowsAdd(SimdTarget target, ReadOnlySpan<float> d, int rows, int n, Span<float> sum)
    {
        if (d.Length < rows * n || sum.Length < n) ThrowHelper.ShapeMismatch();
        if (rows == 0 || n == 0) return;
        float one = 1f;
        ref float rs = ref MemoryMarshal.GetReference(sum);
        Gemm(target, ref one, 0, 0, ref MemoryMarshal.GetReference(d), 1, rows, n, ref rs, ref rs);
    }

    /// <summary>
    /// c (m x k) = a (m x n) · wᵀ, with w (k x n): c[i, p] = dot(a row i, w row p), summed in the
    /// fixed order of <see cref="Summation.Fixed"/> (the same bits at every vector width).
    /// </summary>
    public static void MultiplyTransposed(ReadOnlySpan<float> a, ReadOnlySpan<float> w, int m, int n, int k, Span<float> c) =>
        MultiplyTransposed(SimdWidth.Current, Summation.Fixed, a, w, m, n, k, k, c);

    /// <summary>
    /// As the overload without a stride, with row i of c at c[i * cStride] (cStride >= k): c is a state
    /// of padded rows, whose columns k .. cStride - 1 are left as they are.
    /// </summary>
    public static void MultiplyTransposed(ReadOnlySpan<float> a, ReadOnlySpan<float> w, int m, int n, int k, int cStride, Span<float> c) =>
        MultiplyTransposed(SimdWidth.Current, Summation.Fixed, a, w, m, n, k, cStride, c);

    /// <summary>As the public overloads, in the order <paramref name="summation"/> names (a run's <see cref="FastLra.Model.IRnnParameters.Summation"/>).</summary>
    internal static void MultiplyTransposed(Summation summation, ReadOnlySpan<float> a, ReadOnlySpan<float> w, int m, int n, int k, int cStride, Span<float> c) =>
        MultiplyTransposed(SimdWidth.Current, summation, a, w, m, n, k, cStride, c);

    /// <summary>As the public overloads, at <paramref name="target"/> and in the order <paramref name="summation"/> names, for tests.</summary>
    internal static void MultiplyTransposed(SimdTarget target, Summation summation, ReadOnlySpan<float> a, ReadOnlySpan<float> w, int m, int n, int k, int cStride, Span<float> c)
    {
        Check(a.Length, m * n, w.Length, k * n, c.Length, Needed(m, k, cStride));
        if (m == 0 || k == 0) return;
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rw = ref MemoryMarshal.GetReference(w);
        ref float rc = ref MemoryMarshal.GetReference(c);
        if (summation == Summation.Fixed)
        {
            if (target.Fma) FixedDotAt<MachineFma>(target, ref ra, ref rw, m, n, k, ref rc, cStride);
            else FixedDotAt<NoFma>(target, ref ra, ref rw, m, n, k, ref rc, cStride);
        }
        else if (target.Fma) DotAt<MachineFma>(target, ref ra, ref rw, m, n, k, ref rc, cStride);
        else DotAt<NoFma>(target, ref ra, ref rw, m, n, k, ref rc, cStride);
    }

    // Eight lanes at every width: 256-bit vectors from 256 bits up (a 512-bit machine's dot blocks
    // run at half its width), pairs of 128-bit vectors below. Four rows of blocks need 32
    // registers of eight lanes.
    private static void FixedDotAt<TRule>(SimdTarget target, ref float a, ref float w, int m, int n, int k, ref float c, int cStride)
        where TRule : struct, IFmaRule
    {
        if (n < 8)
        {
            if (target.Bits >= 512) FixedDotShort<V512>(ref a, ref w, m, n, k, ref c, cStride);
            else if (target.Bits >= 256) FixedDotShort<V256<TRule>>(ref a, ref w, m, n, k, ref c, cStride);
            else FixedDotShort<V128<TRule>>(ref a, ref w, m, n, k, ref c, cStride);
        }
        else if (target.Bits >= 256) Dot<V256<TRule>>(ref a, ref w, m, n, k, ref c, cStride, target.Registers >= 32);
        else Dot<V128x2<TRule>>(ref a, ref w, m, n, k, ref c, cStride, fourRows: false);
    }

    /// <summary>Outputs of <see cref="FixedDotShort"/> per pass: w's rows copied as columns, 8 x 64 floats on the stack.</summary>
    private const int ShortBlock = 64;

    // Rows shorter than eight (the outputs' O): element j is partial j, alone, and the partials fold
    // as Partials8's. Vectorised across the outputs, which needs w's columns as rows: copied for
    // ShortBlock outputs at a time, zero beyond n, so each partial and the fold are lane-wise
    // arithmetic, the same at any width.
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FixedDotShort<TV>(ref float a, ref float w, int m, int n, int k, ref float c, int cStride)
        where TV : struct, IVector<TV>
    {
        int width = TV.Count;
        Span<float> columns = stackalloc float[8 * ShortBlock + TV.Count];
        ref float t = ref MemoryMarshal.GetReference(columns);
        Span<float> row = columns[(8 * ShortBlock)..];
        TV zero = TV.Zero;
        for (int q0 = 0; q0 < k; q0 += ShortBlock)
        {
            int cols = Math.Min(ShortBlock, k - q0);
            columns.Clear();
            for (int q = 0; q < cols; q++)
                for (int j = 0; j < n; j++) Unsafe.Add(ref t, j * ShortBlock + q) = Unsafe.Add(ref w, (q0 + q) * n + j);
            for (int i = 0; i < m; i++)
            {
                ref float ai = ref Unsafe.Add(ref a, i * n);
                for (int v = 0; v < cols; v += width)
                {
                    TV p0 = TV.MultiplyAdd(TV.Broadcast(ai), TV.Load(ref t, v), zero);
                    TV p1 = n > 1 ? TV.MultiplyAdd(TV.Broadcast(Unsafe.Add(ref ai, 1)), TV.Load(ref t, ShortBlock + v), zero) : zero;
                    TV p2 = n > 2 ? TV.MultiplyAdd(TV.Broadcast(Unsafe.Add(ref ai, 2)), TV.Load(ref t, 2 * ShortBlock + v), zero) : zero;
                    TV p3 = n > 3 ? TV.MultiplyAdd(TV.Broadcast(Unsafe.Add(ref ai, 3)), TV.Load(ref t, 3 * ShortBlock + v), zero) : zero;
                    TV p4 = n > 4 ? TV.MultiplyAdd(TV.Broadcast(Unsafe.Add(ref ai, 4)), TV.Load(ref t, 4 * ShortBlock + v), zero) : zero;
                    TV p5 = n > 5 ? TV.MultiplyAdd(TV.Broadcast(Unsafe.Add(ref ai, 5)), TV.Load(ref t, 5 * ShortBlock + v), zero) : zero;
                    TV p6 = n > 6 ? TV.MultiplyAdd(TV.Broadcast(Unsafe.Add(ref ai, 6)), TV.Load(ref t, 6 * ShortBlock + v), zero) : zero;
                    TV sum = ((p0 + p4) + (p1 + p5)) + ((p2 + p6) + (p3 + zero));
                    ref float ci = ref Unsafe.Add(ref c, i * cStride + q0 + v);
                    if (v + width <= cols) sum.Store(ref ci, 0);
                    else
                    {
                        sum.Store(ref MemoryMarshal.GetReference(row), 0);
                        row[..(cols - v)].CopyTo(MemoryMarshal.CreateSpan(ref ci, cols - v));
                    }
                }
            }
        }
    }

    private static void DotAt<TRule>(SimdTarget target, ref float a, ref float w, int m, int n, int k, ref float c, int cStride)
        where TRule : struct, IFmaRule
    {
        int bits = target.Bits;
        bool fourRows = target.Registers >= 32;
        if (bits >= 512 && n >= 16) Dot<V512>(ref a, ref w, m, n, k, ref c, cStride, fourRows);
        else if (bits >= 256 && n >= 8) Dot<V256<TRule>>(ref a, ref w, m, n, k, ref c, cStride, fourRows);
        else if (bits >= 128 && n >= 4) Dot<V128<TRule>>(ref a, ref w, m, n, k, ref c, cStride, fourRows);
        else DotScalar<TRule>(ref a, ref w, m, n, k, ref c, cStride);
    }

    /// <summary>
    /// Rows of W (and columns of A) per pass of <see cref="Gemm"/>: a block's panel of W, up to 64
    /// floats wide, then stays in L1 (96 x 256 bytes = 24 KB) while the rows of c are swept. A weight
    /// gradient over all T steps at once (inner dimension T x B = 380) took 51 us in one pass, 42 us
    /// in passes of 96, against 57 us as 19 products of 20.
    /// </summary>
    internal const int InnerBlock = 96;

    /// <summary>
    /// c (rows x n) = source + A (rows x inner) · w (inner x n), A[r, p] = a[r * aRow + p * aInner]; source
    /// may be c. Long inner dimensions go in passes of <see cref="InnerBlock"/>, each adding to c.
    /// </summary>
    private static void Gemm(SimdTarget target, ref float a, int aRow, int aInner, ref float w, int rows, int inner, int n, ref float source, ref float c)
    {
        if (target.Fma) GemmAt<MachineFma>(target, ref a, aRow, aInner, ref w, rows, inner, n, ref source, ref c);
        else GemmAt<NoFma>(target, ref a, aRow, aInner, ref w, rows, inner, n, ref source, ref c);
    }

    private static void GemmAt<TRule>(SimdTarget target, ref float a, int aRow, int aInner, ref float w, int rows, int inner, int n, ref float source, ref float c)
        where TRule : struct, IFmaRule
    {
        int bits = target.Bits, maxCols = PanelVectors(target.Registers);
        for (int p = 0; p < inner; p += InnerBlock)
        {
            var product = new Product(ref Unsafe.Add(ref a, p * aInner), aRow, aInner, ref Unsafe.Add(ref w, p * n), Math.Min(InnerBlock, inner - p));
            var none = new Product(ref a, 0, 0, ref w, 0);
            ref float start = ref p == 0 ? ref source : ref c;
            if (bits >= 512 && n >= 16) Gemm<V512>(in product, in none, rows, n, ref start, n, ref c, ref c, tanh: false, maxCols);
            else if (bits >= 256 && n >= 8) Gemm<V256<TRule>>(in product, in none, rows, n, ref start, n, ref c, ref c, tanh: false, maxCols);
            else if (bits >= 128 && n >= 4) Gemm<V128<TRule>>(in product, in none, rows, n, ref start, n, ref c, ref c, tanh: false, maxCols);
            else GemmScalar<TRule>(in product, in none, rows, n, ref start, n, ref c);
        }
    }

    /// <summary>
    /// One factor pair of a product, A (rows x Inner) by W (Inner x n) with A[r, p] = A[r * Row + p * Step]:
    /// the kernels take two, so the cell's x Wxh + h Whh is one pass (Inner = 0 leaves one out).
    /// </summary>
    private readonly ref struct Product(ref float a, int row, int step, ref float w, int inner)
    {
        public readonly ref float A = ref a;
        public readonly ref float W = ref w;
        public readonly int Row = row, Step = step, Inner = inner;
    }

    /// <summary>
    /// The widest column panel, in vectors, that keeps a four-row block in <paramref name="registers"/>:
    /// sixteen accumulators with 32 registers; twelve with 16 (with the three loaded vectors of w
    /// and the broadcast, all sixteen registers), which ran the 20 x 100 by 100 x 100 products 11-12%
    /// faster than eight at 256 bits and 6-18% at 128 (medians of 30 interleaved runs on a Zen 5 core).
    /// </summary>
    private static int PanelVectors(int registers) => registers >= 32 ? 4 : 3;

    // Columns in panels of at most four vectors, as even as possible (seven vectors are 4 + 3, five
    // are 3 + 2): a four-row block of a panel keeps up to sixteen accumulators in registers, enough
    // independent FMAs to cover their latency on both pipes, and each loaded vector of w feeds four
    // FMAs. With 16 vector registers the panels are at most three vectors (twelve accumulators). The last vector of the last panel is the overlapping tail when n is not a multiple of
    // the width (n >= TV.Count). The accumulators start from source's rows (sourceRow = 0 repeats
    // one row, a bias); with tanh, z = tanh(c) follows each block while it is in L1.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemm<TV>(in Product first, in Product second, int rows, int n, ref float source, int sourceRow, ref float c, ref float z, bool tanh, int maxCols)
        where TV : struct, IVector<TV>
    {
        int width = TV.Count, vectors = (n + width - 1) / width, panels = (vectors + maxCols - 1) / maxCols, done = 0;
        if (rows == 1 && vectors > maxCols)
        {
            GemmRow<TV>(in first, in second, n, ref source, ref c, ref z, tanh);
            return;
        }
        for (int panel = panels; panel > 0; panel--)
        {
            var (j, size, last, skip) = NextPanel(vectors, width, n, panel, ref done);
            GemmPanel<TV>(size, in first, in second, rows, n, ref source, sourceRow, ref c, ref z, tanh, j, last, skip);
        }
    }

    // A panel of `size` (1 to 4) vectors, by the instantiation for that size.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GemmPanel<TV>(int size, in Product first, in Product second, int rows, int n, ref float source, int sourceRow,
        ref float c, ref float z, bool tanh, int j, int last, int skip)
        where TV : struct, IVector<TV>
    {
        switch (size)
        {
            case 4: GemmPanel<TV, Four>(in first, in second, rows, n, ref source, sourceRow, ref c, ref z, tanh, j, last, skip); break;
            case 3: GemmPanel<TV, Three>(in first, in second, rows, n, ref source, sourceRow, ref c, ref z, tanh, j, last, skip); break;
            case 2: GemmPanel<TV, Two>(in first, in second, rows, n, ref source, sourceRow, ref c, ref z, tanh, j, last, skip); break;
            default: GemmPanel<TV, One>(in first, in second, rows, n, ref source, sourceRow, ref c, ref z, tanh, j, last, skip); break;
        }
    }

    // Columns j, j + width, ... of the panel, its last vector at `last` with its first `skip` lanes not stored.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GemmPanel<TV, TCols>(in Product first, in Product second, int rows, int n, ref float source, int sourceRow,
        ref float c, ref float z, bool tanh, int j, int last, int skip)
        where TV : struct, IVector<TV>
        where TCols : struct, ICount
    {
        int r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            ref float cr = ref Unsafe.Add(ref c, r * n + j);
            GemmBlock<TV, Four, TCols>(in first, in second, r, j, n, ref Unsafe.Add(ref source, r * sourceRow + j), sourceRow, ref cr, last - j, skip);
            if (tanh) TanhBlock<TV>(ref cr, ref Unsafe.Add(ref z, r * n + j), n, 4, TCols.Value, last - j, skip);
        }
        for (; r < rows; r++)
        {
            ref float cr = ref Unsafe.Add(ref c, r * n + j);
            GemmBlock<TV, One, TCols>(in first, in second, r, j, n, ref Unsafe.Add(ref source, r * sourceRow + j), sourceRow, ref cr, last - j, skip);
            if (tanh) TanhBlock<TV>(ref cr, ref Unsafe.Add(ref z, r * n + j), n, 1, TCols.Value, last - j, skip);
        }
    }

    // One row (a streaming step, B = 1) has parallelism across columns only: panels of up to eight
    // vectors give eight independent FMA chains, where the batch panels of two or four vectors left
    // the step bound by FMA latency. Every element is summed in the batch kernel's order, so a
    // stream and a batch agree bit for bit.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GemmRow<TV>(in Product first, in Product second, int n, ref float source, ref float c, ref float z, bool tanh)
        where TV : struct, IVector<TV>
    {
        int width = TV.Count, vectors = (n + width - 1) / width, panels = (vectors + RowPanel - 1) / RowPanel, done = 0;
        for (int panel = panels; panel > 0; panel--)
        {
            var (j, size, last, skip) = NextPanel(vectors, width, n, panel, ref done);
            if (size <= 4)
            {
                GemmPanel<TV>(size, in first, in second, 1, n, ref source, 0, ref c, ref z, tanh, j, last, skip);
                continue;
            }
            ref float cj = ref Unsafe.Add(ref c, j);
            RowBlock<TV>(in first, in second, j, n, size, ref Unsafe.Add(ref source, j), ref cj, last - j, skip);
            if (tanh) TanhBlock<TV>(ref cj, ref Unsafe.Add(ref z, j), n, 1, size, last - j, skip);
        }
    }

    /// <summary>
    /// The next of <paramref name="panels"/> panels left over a row of n floats in
    /// <paramref name="vectors"/> vectors (sizes as even as possible): its first column j, its size in
    /// vectors, the column of its last vector, and how many lanes that vector skips when it is the
    /// row's overlapping tail. <paramref name="done"/> counts the vectors of the panels before.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (int J, int Size, int Last, int Skip) NextPanel(int vectors, int width, int n, int panels, ref int done)
    {
        int size = (vectors - done + panels - 1) / panels, j = done * width;
        done += size;
        int last = j + (size - 1) * width;
        return last + width > n ? (j, size, n - width, last + width - n) : (j, size, last, 0);
    }

    /// <summary>The widest panel of one row, in vectors: eight accumulators cover FMA latency on two pipes.</summary>
    private const int RowPanel = 8;

    // One row by `cols` (5 to 8) vectors from column j: vectors 0-3 are whole, the last may be the
    // overlapping tail. The count is a variable, not a type: the loop is bound by FMA latency, so
    // its three predictable branches cost nothing measurable, and four instantiations per width
    // would cost the Native AOT binary its size budget.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowBlock<TV>(in Product first, in Product second, int j, int n, int cols, ref float source, ref float c, int last, int skip)
        where TV : struct, IVector<TV>
    {
        int width = TV.Count;
        int o4 = cols == 5 ? last : 4 * width, o5 = cols == 6 ? last : 5 * width, o6 = cols == 7 ? last : 6 * width, o7 = last;
        TV zero = TV.Zero;
        TV s0 = TV.Load(ref source, 0), s1 = TV.Load(ref source, width), s2 = TV.Load(ref source, 2 * width), s3 = TV.Load(ref source, 3 * width);
        TV s4 = TV.Load(ref source, o4), s5 = cols > 5 ? TV.Load(ref source, o5) : zero, s6 = cols > 6 ? TV.Load(ref source, o6) : zero,
            s7 = cols > 7 ? TV.Load(ref source, o7) : zero;
        RowAccumulate<TV>(in first, j, n, cols, o4, o5, o6, o7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
        if (second.Inner > 0) RowAccumulate<TV>(in second, j, n, cols, o4, o5, o6, o7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
        s0.Store(ref c, 0);
        s1.Store(ref c, width);
        s2.Store(ref c, 2 * width);
        s3.Store(ref c, 3 * width);
        StoreRow(ref c, o4, o5, o6, o7, skip, cols - 4, s4, s5, s6, s7);
    }

    // s_v += Σ_p A[0, p] W[p, j + o_v], as Accumulate does for one row.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowAccumulate<TV>(in Product f, int j, int n, int cols, int o4, int o5, int o6, int o7,
        ref TV s0, ref TV s1, ref TV s2, ref TV s3, ref TV s4, ref TV s5, ref TV s6, ref TV s7)
        where TV : struct, IVector<TV>
    {
        int width = TV.Count;
        nint step = f.Step, wStep = n;
        ref float wp = ref Unsafe.Add(ref f.W, j);
        ref float ap = ref f.A;
        for (int p = 0; p < f.Inner; p++)
        {
            TV b = TV.Broadcast(ap);
            s0 = TV.MultiplyAdd(b, TV.Load(ref wp, 0), s0);
            s1 = TV.MultiplyAdd(b, TV.Load(ref wp, width), s1);
            s2 = TV.MultiplyAdd(b, TV.Load(ref wp, 2 * width), s2);
            s3 = TV.MultiplyAdd(b, TV.Load(ref wp, 3 * width), s3);
            s4 = TV.MultiplyAdd(b, TV.Load(ref wp, o4), s4);
            if (cols > 5) s5 = TV.MultiplyAdd(b, TV.Load(ref wp, o5), s5);
            if (cols > 6) s6 = TV.MultiplyAdd(b, TV.Load(ref wp, o6), s6);
            if (cols > 7) s7 = TV.MultiplyAdd(b, TV.Load(ref wp, o7), s7);
            wp = ref Unsafe.Add(ref wp, wStep);
            ap = ref Unsafe.Add(ref ap, step);
        }
    }

    // z = tanh(c) over a block just stored, vector by vector as it was stored (the overlapping
    // last vector skips its done lanes, so z may be c). Kept out of GemmBlock: inlined there, the
    // tanh's temporaries made the compiler spill the accumulators.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TanhBlock<TV>(ref float c, ref float z, int n, int rows, int cols, int last, int skip)
        where TV : struct, IVector<TV>
    {
        int width = TV.Count;
        for (int i = 0; i < rows; i++)
        {
            ref float ci = ref Unsafe.Add(ref c, i * n);
            ref float zi = ref Unsafe.Add(ref z, i * n);
            for (int v = 0; v < cols - 1; v++) TanhOperator.Tanh(TV.Load(ref ci, v * width)).Store(ref zi, v * width);
            TV t = TanhOperator.Tanh(TV.Load(ref ci, last));
            if (skip == 0) t.Store(ref zi, last);
            else t.StoreSkipping(ref zi, last, skip);
        }
    }

    // TRows (1 or 4) rows from row r by TCols (1 to 4) vectors from column j, one accumulator each,
    // source and c at that row and column; the compiler drops the unused accumulators and folds
    // every offset but the last into the addresses, as the counts are constants of the instantiation.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GemmBlock<TV, TRows, TCols>(in Product first, in Product second, int r, int j, int n, ref float source, int sourceRow,
        ref float c, int last, int skip)
        where TV : struct, IVector<TV>
        where TRows : struct, ICount
        where TCols : struct, ICount
    {
        int width = TV.Count, cols = TCols.Value;
        bool four = TRows.Value == 4;
        int o0 = cols == 1 ? last : 0, o1 = cols == 2 ? last : width, o2 = cols == 3 ? last : 2 * width, o3 = last;
        ref float r1 = ref Unsafe.Add(ref source, sourceRow);
        ref float r2 = ref Unsafe.Add(ref source, 2 * sourceRow);
        ref float r3 = ref Unsafe.Add(ref source, 3 * sourceRow);
        TV zero = TV.Zero;
        TV s00 = TV.Load(ref source, o0), s01 = cols > 1 ? TV.Load(ref source, o1) : zero, s02 = cols > 2 ? TV.Load(ref source, o2) : zero, s03 = cols > 3 ? TV.Load(ref source, o3) : zero;
        TV s10 = zero, s11 = zero, s12 = zero, s13 = zero, s20 = zero, s21 = zero, s22 = zero, s23 = zero, s30 = zero, s31 = zero, s32 = zero, s33 = zero;
        if (four)
        {
            s10 = TV.Load(ref r1, o0); s20 = TV.Load(ref r2, o0); s30 = TV.Load(ref r3, o0);
            if (cols > 1) { s11 = TV.Load(ref r1, o1); s21 = TV.Load(ref r2, o1); s31 = TV.Load(ref r3, o1); }
            if (cols > 2) { s12 = TV.Load(ref r1, o2); s22 = TV.Load(ref r2, o2); s32 = TV.Load(ref r3, o2); }
            if (cols > 3) { s13 = TV.Load(ref r1, o3); s23 = TV.Load(ref r2, o3); s33 = TV.Load(ref r3, o3); }
        }
        Accumulate<TV, TRows, TCols>(in first, r, j, n, o0, o1, o2, o3, ref s00, ref s01, ref s02, ref s03, ref s10, ref s11, ref s12, ref s13,
            ref s20, ref s21, ref s22, ref s23, ref s30, ref s31, ref s32, ref s33);
        if (second.Inner > 0)
            Accumulate<TV, TRows, TCols>(in second, r, j, n, o0, o1, o2, o3, ref s00, ref s01, ref s02, ref s03, ref s10, ref s11, ref s12, ref s13,
                ref s20, ref s21, ref s22, ref s23, ref s30, ref s31, ref s32, ref s33);
        StoreRow(ref c, o0, o1, o2, o3, skip, cols, s00, s01, s02, s03);
        if (four)
        {
            StoreRow(ref Unsafe.Add(ref c, n), o0, o1, o2, o3, skip, cols, s10, s11, s12, s13);
            StoreRow(ref Unsafe.Add(ref c, 2 * n), o0, o1, o2, o3, skip, cols, s20, s21, s22, s23);
            StoreRow(ref Unsafe.Add(ref c, 3 * n), o0, o1, o2, o3, skip, cols, s30, s31, s32, s33);
        }
    }

    // s_iv += Σ_p A[r + i, p] W[p, j + o_v]: w and a advance by reference, so the loop does no index arithmetic.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate<TV, TRows, TCols>(in Product f, int r, int j, int n, int o0, int o1, int o2, int o3,
        ref TV s00, ref TV s01, ref TV s02, ref TV s03, ref TV s10, ref TV s11, ref TV s12, ref TV s13,
        ref TV s20, ref TV s21, ref TV s22, ref TV s23, ref TV s30, ref TV s31, ref TV s32, ref TV s33)
        where TV : struct, IVector<TV>
        where TRows : struct, ICount
        where TCols : struct, ICount
    {
        int cols = TCols.Value;
        bool four = TRows.Value == 4;
        nint row1 = f.Row, row2 = 2 * row1, row3 = 3 * row1, step = f.Step, wStep = n;
        ref float wp = ref Unsafe.Add(ref f.W, j);
        ref float ap = ref Unsafe.Add(ref f.A, r * f.Row);
        TV zero = TV.Zero;
        for (int p = 0; p < f.Inner; p++)
        {
            TV w0 = TV.Load(ref wp, o0), w1 = cols > 1 ? TV.Load(ref wp, o1) : zero, w2 = cols > 2 ? TV.Load(ref wp, o2) : zero, w3 = cols > 3 ? TV.Load(ref wp, o3) : zero;
            TV b = TV.Broadcast(ap);
            s00 = TV.MultiplyAdd(b, w0, s00);
            if (cols > 1) s01 = TV.MultiplyAdd(b, w1, s01);
            if (cols > 2) s02 = TV.MultiplyAdd(b, w2, s02);
            if (cols > 3) s03 = TV.MultiplyAdd(b, w3, s03);
            if (four)
            {
                b = TV.Broadcast(Unsafe.Add(ref ap, row1));
                s10 = TV.MultiplyAdd(b, w0, s10);
                if (cols > 1) s11 = TV.MultiplyAdd(b, w1, s11);
                if (cols > 2) s12 = TV.MultiplyAdd(b, w2, s12);
                if (cols > 3) s13 = TV.MultiplyAdd(b, w3, s13);
                b = TV.Broadcast(Unsafe.Add(ref ap, row2));
                s20 = TV.MultiplyAdd(b, w0, s20);
                if (cols > 1) s21 = TV.MultiplyAdd(b, w1, s21);
                if (cols > 2) s22 = TV.MultiplyAdd(b, w2, s22);
                if (cols > 3) s23 = TV.MultiplyAdd(b, w3, s23);
                b = TV.Broadcast(Unsafe.Add(ref ap, row3));
                s30 = TV.MultiplyAdd(b, w0, s30);
                if (cols > 1) s31 = TV.MultiplyAdd(b, w1, s31);
                if (cols > 2) s32 = TV.MultiplyAdd(b, w2, s32);
                if (cols > 3) s33 = TV.MultiplyAdd(b, w3, s33);
            }
            wp = ref Unsafe.Add(ref wp, wStep);
            ap = ref Unsafe.Add(ref ap, step);
        }
    }

    // The row's vectors; the last one keeps the first `skip` lanes of the destination.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TV>(ref float c, int o0, int o1, int o2, int o3, int skip, int cols, TV s0, TV s1, TV s2, TV s3)
        where TV : struct, IVector<TV>
    {
        TV lastVector = s0;
        int lastOffset = o0;
        if (cols > 1) { s0.Store(ref c, o0); lastVector = s1; lastOffset = o1; }
        if (cols > 2) { s1.Store(ref c, o1); lastVector = s2; lastOffset = o2; }
        if (cols > 3) { s2.Store(ref c, o2); lastVector = s3; lastOffset = o3; }
        if (skip == 0) lastVector.Store(ref c, lastOffset);
        else lastVector.StoreSkipping(ref c, lastOffset, skip);
    }

    private static void GemmScalar<TRule>(in Product first, in Product second, int rows, int n, ref float source, int sourceRow, ref float c)
        where TRule : struct, IFmaRule
    {
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++)
            {
                float s = Unsafe.Add(ref source, r * sourceRow + j);
                for (int p = 0; p < first.Inner; p++)
                    s = SimdWidth.MultiplyAdd<TRule>(Unsafe.Add(ref first.A, r * first.Row + p * first.Step), Unsafe.Add(ref first.W, p * n + j), s);
                for (int p = 0; p < second.Inner; p++)
                    s = SimdWidth.MultiplyAdd<TRule>(Unsafe.Add(ref second.A, r * second.Row + p * second.Step), Unsafe.Add(ref second.W, p * n + j), s);
                Unsafe.Add(ref c, r * n + j) = s;
            }
    }

    // c[i, p] = Σ_j a[i, j] w[p, j] in blocks of four rows of a by four rows of w (sixteen
    // accumulators; every loaded vector feeds four FMAs), or of three rows by four with 16 vector
    // registers (twelve accumulators, the three rows of a and one row of w at a time: all sixteen;
    // 8% faster than two by four at 256 bits; without FMA the product needs a seventeenth and
    // spills), then the leftover rows two and one at a time. One call covers a row block's every column
    // block (a call per block cost 8% of the product at H = 100).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot<TV>(ref float a, ref float w, int m, int n, int k, ref float c, int cStride, bool fourRows)
        where TV : struct, IVector<TV>
    {
        int i = 0, whole = k - k % 4;
        for (; fourRows && i + 4 <= m; i += 4)
        {
            DotBlocks4<TV>(ref a, ref w, n, k, ref c, cStride, i);
            DotColumns<TV>(ref a, ref w, n, k, ref c, cStride, i, 4, whole);
        }
        // (TV.Count < 16: no machine has 512-bit vectors and 16 registers, so that instantiation is never built.)
        for (; TV.Count < 16 && !fourRows && TV.Fused && i + 3 <= m; i += 3)
        {
            DotBlocks<TV, Three>(ref a, ref w, n, k, ref c, cStride, i);
            DotColumns<TV>(ref a, ref w, n, k, ref c, cStride, i, 3, whole);
        }
        for (; i + 2 <= m; i += 2)
        {
            DotBlocks<TV, Two>(ref a, ref w, n, k, ref c, cStride, i);
            DotColumns<TV>(ref a, ref w, n, k, ref c, cStride, i, 2, whole);
        }
        if (i < m) DotColumns<TV>(ref a, ref w, n, k, ref c, cStride, i, 1, 0);
    }

    // Rows i .. i + rows - 1 of c, columns p .. k - 1, one dot product each.
    private static void DotColumns<TV>(ref float a, ref float w, int n, int k, ref float c, int cStride, int i, int rows, int p)
        where TV : struct, IVector<TV>
    {
        for (; p < k; p++)
            for (int r = i; r < i + rows; r++) Unsafe.Add(ref c, r * cStride + p) = Dot1<TV>(ref Unsafe.Add(ref a, r * n), ref Unsafe.Add(ref w, p * n), n);
    }

    // Four rows of a from row i by four rows of w at a time (32 registers), one accumulator per
    // pair: the four vectors of w are loaded first, then the FMAs go row by row (8% faster at 512
    // bits than column by column). A method apart from the two- and three-row blocks: one body
    // for all three exceeded the JIT's inlining budget, and the calls left in spilled the blocks.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotBlocks4<TV>(ref float a, ref float w, int n, int k, ref float c, int cStride, int i)
        where TV : struct, IVector<TV>
    {
        int width = TV.Count, full = n - n % width;
        ref float a0 = ref Unsafe.Add(ref a, i * n);
        ref float a1 = ref Unsafe.Add(ref a0, n);
        ref float a2 = ref Unsafe.Add(ref a1, n);
        ref float a3 = ref Unsafe.Add(ref a2, n);
        TV zero = TV.Zero;
        for (int p = 0; p + 4 <= k; p += 4)
        {
            ref float w0 = ref Unsafe.Add(ref w, p * n);
            ref float w1 = ref Unsafe.Add(ref w0, n);
            ref float w2 = ref Unsafe.Add(ref w1, n);
            ref float w3 = ref Unsafe.Add(ref w2, n);
            TV s00 = zero, s01 = zero, s02 = zero, s03 = zero, s10 = zero, s11 = zero, s12 = zero, s13 = zero;
            TV s20 = zero, s21 = zero, s22 = zero, s23 = zero, s30 = zero, s31 = zero, s32 = zero, s33 = zero;
            for (int j = 0; j < full; j += width)
            {
                Accumulate4(TV.Load(ref a0, j), TV.Load(ref a1, j), TV.Load(ref a2, j), TV.Load(ref a3, j),
                    TV.Load(ref w0, j), TV.Load(ref w1, j), TV.Load(ref w2, j), TV.Load(ref w3, j),
                    ref s00, ref s01, ref s02, ref s03, ref s10, ref s11, ref s12, ref s13,
                    ref s20, ref s21, ref s22, ref s23, ref s30, ref s31, ref s32, ref s33);
            }
            if (full < n)
            {
                // The overlapping tail, its done lanes zeroed on both sides.
                int j = n - width, skip = width - (n - full);
                Accumulate4(TV.LoadSkipping(ref a0, j, skip), TV.LoadSkipping(ref a1, j, skip), TV.LoadSkipping(ref a2, j, skip), TV.LoadSkipping(ref a3, j, skip),
                    TV.LoadSkipping(ref w0, j, skip), TV.LoadSkipping(ref w1, j, skip), TV.LoadSkipping(ref w2, j, skip), TV.LoadSkipping(ref w3, j, skip),
                    ref s00, ref s01, ref s02, ref s03, ref s10, ref s11, ref s12, ref s13,
                    ref s20, ref s21, ref s22, ref s23, ref s30, ref s31, ref s32, ref s33);
            }
            TV.StoreSums4x4(ref Unsafe.Add(ref c, i * cStride + p), cStride, s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate4<TV>(TV x0, TV x1, TV x2, TV x3, TV y0, TV y1, TV y2, TV y3,
        ref TV s00, ref TV s01, ref TV s02, ref TV s03, ref TV s10, ref TV s11, ref TV s12, ref TV s13,
        ref TV s20, ref TV s21, ref TV s22, ref TV s23, ref TV s30, ref TV s31, ref TV s32, ref TV s33)
        where TV : struct, IVector<TV>
    {
        s00 = TV.MultiplyAdd(x0, y0, s00); s01 = TV.MultiplyAdd(x0, y1, s01); s02 = TV.MultiplyAdd(x0, y2, s02); s03 = TV.MultiplyAdd(x0, y3, s03);
        s10 = TV.MultiplyAdd(x1, y0, s10); s11 = TV.MultiplyAdd(x1, y1, s11); s12 = TV.MultiplyAdd(x1, y2, s12); s13 = TV.MultiplyAdd(x1, y3, s13);
        s20 = TV.MultiplyAdd(x2, y0, s20); s21 = TV.MultiplyAdd(x2, y1, s21); s22 = TV.MultiplyAdd(x2, y2, s22); s23 = TV.MultiplyAdd(x2, y3, s23);
        s30 = TV.MultiplyAdd(x3, y0, s30); s31 = TV.MultiplyAdd(x3, y1, s31); s32 = TV.MultiplyAdd(x3, y2, s32); s33 = TV.MultiplyAdd(x3, y3, s33);
    }

    // TRows (2 or 3) rows of a from row i by four rows of w at a time (16 registers), one
    // accumulator per pair, each vector of w loaded just before its column of FMAs so one is live
    // at a time (three rows use all sixteen registers); the compiler drops row 2 for two, as the
    // count is a constant of the instantiation.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotBlocks<TV, TRows>(ref float a, ref float w, int n, int k, ref float c, int cStride, int i)
        where TV : struct, IVector<TV>
        where TRows : struct, ICount
    {
        bool three = TRows.Value == 3;
        int width = TV.Count, full = n - n % width;
        ref float a0 = ref Unsafe.Add(ref a, i * n);
        ref float a1 = ref Unsafe.Add(ref a0, n);
        ref float a2 = ref Unsafe.Add(ref a1, n);
        TV zero = TV.Zero;
        for (int p = 0; p + 4 <= k; p += 4)
        {
            ref float w0 = ref Unsafe.Add(ref w, p * n);
            ref float w1 = ref Unsafe.Add(ref w0, n);
            ref float w2 = ref Unsafe.Add(ref w1, n);
            ref float w3 = ref Unsafe.Add(ref w2, n);
            TV s00 = zero, s01 = zero, s02 = zero, s03 = zero, s10 = zero, s11 = zero, s12 = zero, s13 = zero;
            TV s20 = zero, s21 = zero, s22 = zero, s23 = zero;
            for (int j = 0; j < full; j += width)
            {
                TV x0 = TV.Load(ref a0, j), x1 = TV.Load(ref a1, j), x2 = three ? TV.Load(ref a2, j) : zero;
                Column(three, x0, x1, x2, TV.Load(ref w0, j), ref s00, ref s10, ref s20);
                Column(three, x0, x1, x2, TV.Load(ref w1, j), ref s01, ref s11, ref s21);
                Column(three, x0, x1, x2, TV.Load(ref w2, j), ref s02, ref s12, ref s22);
                Column(three, x0, x1, x2, TV.Load(ref w3, j), ref s03, ref s13, ref s23);
            }
            if (full < n)
            {
                int j = n - width, skip = width - (n - full);
                TV x0 = TV.LoadSkipping(ref a0, j, skip), x1 = TV.LoadSkipping(ref a1, j, skip), x2 = three ? TV.LoadSkipping(ref a2, j, skip) : zero;
                Column(three, x0, x1, x2, TV.LoadSkipping(ref w0, j, skip), ref s00, ref s10, ref s20);
                Column(three, x0, x1, x2, TV.LoadSkipping(ref w1, j, skip), ref s01, ref s11, ref s21);
                Column(three, x0, x1, x2, TV.LoadSkipping(ref w2, j, skip), ref s02, ref s12, ref s22);
                Column(three, x0, x1, x2, TV.LoadSkipping(ref w3, j, skip), ref s03, ref s13, ref s23);
            }
            ref float cp = ref Unsafe.Add(ref c, i * cStride + p);
            TV.StoreSums2x4(ref cp, cStride, s00, s01, s02, s03, s10, s11, s12, s13);
            if (three) TV.StoreSums1x4(ref Unsafe.Add(ref cp, 2 * cStride), s20, s21, s22, s23);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Column<TV>(bool three, TV x0, TV x1, TV x2, TV y, ref TV s0, ref TV s1, ref TV s2)
        where TV : struct, IVector<TV>
    {
        s0 = TV.MultiplyAdd(x0, y, s0);
        s1 = TV.MultiplyAdd(x1, y, s1);
        if (three) s2 = TV.MultiplyAdd(x2, y, s2);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot1<TV>(ref float x, ref float y, int n)
        where TV : struct, IVector<TV>
    {
        int width = TV.Count, full = n - n % width;
        TV s = TV.Zero;
        for (int j = 0; j < full; j += width) s = TV.MultiplyAdd(TV.Load(ref x, j), TV.Load(ref y, j), s);
        if (full < n)
        {
            int skip = width - (n - full);
            s = TV.MultiplyAdd(TV.LoadSkipping(ref x, n - width, skip), TV.LoadSkipping(ref y, n - width, skip), s);
        }
        return TV.Sum(s);
    }

    private static void DotScalar<TRule>(ref float a, ref float w, int m, int n, int k, ref float c, int cStride)
        where TRule : struct, IFmaRule
    {
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++)
            {
                float s = 0;
                for (int j = 0; j < n; j++) s = SimdWidth.MultiplyAdd<TRule>(Unsafe.Add(ref a, i * n + j), Unsafe.Add(ref w, p * n + j), s);
                Unsafe.Add(ref c, i * cStride + p) = s;
            }
    }

    // Floats a rows x cols matrix of row stride `stride` spans; a stride below cols is no layout.
    private static int Needed(int rows, int cols, int stride)
    {
        if (stride < cols) ThrowHelper.Argument($"A row stride of {stride} is shorter than its row of {cols}.");
        return rows == 0 ? 0 : (rows - 1) * stride + cols;
    }

    // Sizes are checked once per call, outside the loops; the throw lives elsewhere so this inlines.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(int aLength, int aNeeded, int bLength, int bNeeded, int cLength, int cNeeded)
    {
        if (aLength < aNeeded || bLength < bNeeded || cLength < cNeeded)
            ThrowHelper.ShapeMismatch();
    }
}

/// <summary>The plain triple loops the fast products are tested against.</summary>
internal static class MatMulReference
{
    /// <summary>c (m x n) += a (m x k) · w (k x n).</summary>
    public static void MultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> w, int m, int k, int n, Span<float> c)
    {
        MatMul.Check(a.Length, m * k, w.Length, k * n, c.Length, m * n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float s = c[i * n + j];
                for (int p = 0; p < k; p++) s += a[i * k + p] * w[p * n + j];
                c[i * n + j] = s;
            }
    }

    /// <summary>c (m x k) = a (m x n) · wᵀ, with w (k x n).</summary>
    public static void MultiplyTransposed(ReadOnlySpan<float> a, ReadOnlySpan<float> w, int m, int n, int k, Span<float> c)
    {
        MatMul.Check(a.Length, m * n, w.Length, k * n, c.Length, m * k);
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++)
            {
                float s = 0;
                for (int j = 0; j < n; j++) s += a[i * n + j] * w[p * n + j];
                c[i * k + p] = s;
            }
    }

    /// <summary>
    /// c (m x k) = a (m x n) · wᵀ in <see cref="Summation.Fixed"/>'s order, one element at a time:
    /// element j goes to partial j mod 8 (rows shorter than eight: partial j); a row's last eight
    /// when n is not a multiple of eight are the vector kernels' overlapping tail, element
    /// n - 8 + l in partial l, the lanes done before adding zero; the partials fold as
    /// <see cref="Partials8.Fold"/>. Fused or not by <paramref name="fused"/>.
    /// </summary>
    public static void MultiplyTransposedFixed(ReadOnlySpan<float> a, ReadOnlySpan<float> w, int m, int n, int k, bool fused, Span<float> c)
    {
        MatMul.Check(a.Length, m * n, w.Length, k * n, c.Length, m * k);
        var p = new float[8];
        for (int i = 0; i < m; i++)
            for (int q = 0; q < k; q++)
            {
                Array.Clear(p);
                var x = a.Slice(i * n, n);
                var y = w.Slice(q * n, n);
                int full = n < 8 ? n : n - n % 8;
                for (int j = 0; j < full; j++) p[j % 8] = Fma(x[j], y[j], p[j % 8], fused);
                for (int l = 0, skip = 8 - (n - full); full < n && l < 8; l++)
                    p[l] = l < skip ? Fma(0f, 0f, p[l], fused) : Fma(x[n - 8 + l], y[n - 8 + l], p[l], fused);
                float f0 = p[0] + p[4], f1 = p[1] + p[5], f2 = p[2] + p[6], f3 = p[3] + p[7];
                c[i * k + q] = (f0 + f1) + (f2 + f3);
            }
    }

    private static float Fma(float a, float b, float c, bool fused) => fused ? MathF.FusedMultiplyAdd(a, b, c) : a * b + c;

    /// <summary>g (k x n) += aᵀ · d, with a (m x k) and d (m x n).</summary>
    public static void TransposedMultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> d, int m, int k, int n, Span<float> g)
    {
        MatMul.Check(a.Length, m * k, d.Length, m * n, g.Length, k * n);
        for (int p = 0; p < k; p++)
            for (int j = 0; j < n; j++)
            {
                float s = g[p * n + j];
                for (int i = 0; i < m; i++) s += a[i * k + p] * d[i * n + j];
                g[p * n + j] = s;
            }
    }
}

/// <summary>
/// How a dot product orders its sums, which decides its last bits: the products whose outputs lie
/// along the vector (a·W, aᵀ·d) sum each element in one order at every width, but a dot product
/// splits its sum into partial sums, one per lane.
/// </summary>
internal enum Summation
{
    /// <summary>
    /// Eight partial sums at every width, folded by one tree (<see cref="Partials8"/>): the same bits
    /// at 512, 256 and 128 bits and on ARM64 (with FMA). The default (<c>--deterministic true</c>).
    /// </summary>
    Fixed,

    /// <summary>As many partial sums as the width has lanes (16, 8 or 4): faster at 512 and 128 bits, whose bits differ (<c>--deterministic false</c>).</summary>
    Native,
}

/// <summary>A count fixed by the type, so a kernel instantiated on it is compiled for that count alone.</summary>
internal interface ICount
{
    static abstract int Value { get; }
}

internal readonly struct One : ICount
{
    public static int Value => 1;
}

internal readonly struct Two : ICount
{
    public static int Value => 2;
}

internal readonly struct Three : ICount
{
    public static int Value => 3;
}

internal readonly struct Four : ICount
{
    public static int Value => 4;
}
