using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastLra.Kernels;

/// <summary>
/// The element-wise part of a GRU or LSTM step, forward and backward, for B rows of gate blocks.
/// Shapes (S the row stride of one block, H values of it used; every block of a row is S wide):
/// gate inputs and gradients are B x GS, a row holding the G blocks side by side in PyTorch's
/// order; states and their gradients are B x S. Rows whose S is not whole vectors finish through
/// the same vector code on a padded copy, so every element gets the same arithmetic at every
/// width. The products around a step (x Wx, h Wh and their transposes) are the caller's.
/// </summary>
internal static class Gates
{
    /// <summary>
    /// GRU forward: r = σ(gx_r + gh_r), u = σ(gx_z + gh_z), n = tanh(gx_n + r gh_n),
    /// h = (1 - u) n + u hPrev, with gx = x Wx + bx and gh = hPrev Wh + bh (B x 3S each). Writes
    /// the cache (B x 4S: r, u, n, gh_n, what GruBackward needs) and h (B x S). An
    /// empty hPrev is zero.
    /// </summary>
    public static void GruForward(ReadOnlySpan<float> gx, ReadOnlySpan<float> gh, ReadOnlySpan<float> hPrev, int rows, int s,
        Span<float> cache, Span<float> h) =>
        GruForward(SimdWidth.Current, gx, gh, hPrev, rows, s, cache, h);

    /// <summary>As the overload without a target, at <paramref name="target"/> (the scalar target runs 128-bit vectors), for tests.</summary>
    internal static void GruForward(SimdTarget target, ReadOnlySpan<float> gx, ReadOnlySpan<float> gh, ReadOnlySpan<float> hPrev, int rows, int s,
        Span<float> cache, Span<float> h)
    {
        long bs = (long)rows * s;
        if (gx.Length < 3 * bs || gh.Length < 3 * bs || (!hPrev.IsEmpty && hPrev.Length < bs) || cache.Length < 4 * bs || h.Length < bs)
            ThrowHelper.ShapeMismatch();
        var g = new Refs(gx, gh, hPrev, default, default, cache, h, default);
        Run<GruForwardLanes>(target, ref g, rows, s);
    }

    /// <summary>
    /// GRU backward from dh = dhRecurrent + dhAbove (B x S; dhAbove may be empty): with the
    /// forward's cache and hPrev (empty = zero), the gate gradients dgx (B x 3S, dE/d(x Wx + bx))
    /// and dgh (B x 3S, dE/d(hPrev Wh + bh), which differs in the n block: r dan) and
    /// dhPrev = u dh, the direct part of dE/dhPrev (the caller adds dgh Whᵀ).
    /// </summary>
    public static void GruBackward(ReadOnlySpan<float> dhRecurrent, ReadOnlySpan<float> dhAbove, ReadOnlySpan<float> cache, ReadOnlySpan<float> hPrev,
        int rows, int s, Span<float> dgx, Span<float> dgh, Span<float> dhPrev) =>
        GruBackward(SimdWidth.Current, dhRecurrent, dhAbove, cache, hPrev, rows, s, dgx, dgh, dhPrev);

    /// <summary>As the overload without a target, at <paramref name="target"/>, for tests.</summary>
    internal static void GruBackward(SimdTarget target, ReadOnlySpan<float> dhRecurrent, ReadOnlySpan<float> dhAbove, ReadOnlySpan<float> cache,
        ReadOnlySpan<float> hPrev, int rows, int s, Span<float> dgx, Span<float> dgh, Span<float> dhPrev)
    {
        long bs = (long)rows * s;
        if (dhRecurrent.Length < bs || (!dhAbove.IsEmpty && dhAbove.Length < bs) || cache.Length < 4 * bs || (!hPrev.IsEmpty && hPrev.Length < bs)
            || dgx.Length < 3 * bs || dgh.Length < 3 * bs || dhPrev.Length < bs)
            ThrowHelper.ShapeMismatch();
        var g = new Refs(dhRecurrent, dhAbove, hPrev, cache, default, dgx, dgh, dhPrev);
        Run<GruBackwardLanes>(target, ref g, rows, s);
    }

    /// <summary>
    /// LSTM forward: from the pre-activations a = x Wx + bx + hPrev Wh + bh (B x 4S, blocks i, f,
    /// g, o), the gates i = σ, f = σ, g = tanh, o = σ, then c = f cPrev + i g and h = o tanh(c).
    /// Writes the cache (B x 6S: i, f, g, o, c, tanh c; its c block is the next step's cPrev) and
    /// h (B x S). An empty cPrev is zero. a may be the cache's first 4S of each row only if it is
    /// the cache itself (rows of 6S): it is not; a is read, never written.
    /// </summary>
    public static void LstmForward(ReadOnlySpan<float> a, ReadOnlySpan<float> cPrev, int cPrevStride, int rows, int s, Span<float> cache, Span<float> h) =>
        LstmForward(SimdWidth.Current, a, cPrev, cPrevStride, rows, s, cache, h);

    /// <summary>As the overload without a target, at <paramref name="target"/>, for tests.</summary>
    internal static void LstmForward(SimdTarget target, ReadOnlySpan<float> a, ReadOnlySpan<float> cPrev, int cPrevStride, int rows, int s,
        Span<float> cache, Span<float> h)
    {
        long bs = (long)rows * s;
        if (a.Length < 4 * bs || (!cPrev.IsEmpty && cPrev.Length < (rows - 1L) * cPrevStride + s) || cache.Length < 6 * bs || h.Length < bs)
            ThrowHelper.ShapeMismatch();
        var g = new Refs(a, default, cPrev, default, default, cache, h, default) { PrevStride = cPrevStride };
        Run<LstmForwardLanes>(target, ref g, rows, s);
    }

    /// <summary>
    /// LSTM backward from dh = dhRecurrent + dhAbove (B x S; dhAbove may be empty) and dc, the
    /// gradient of c from the next step (B x S, zero at the last), with the forward's cache and
    /// cPrev (rows of <paramref name="cPrevStride"/>, the previous step's cache's c block; empty =
    /// zero): da (B x 4S, dE/da for both x Wx + bx and hPrev Wh + bh) and dc overwritten with dcPrev.
    /// </summary>
    public static void LstmBackward(ReadOnlySpan<float> dhRecurrent, ReadOnlySpan<float> dhAbove, ReadOnlySpan<float> cache, ReadOnlySpan<float> cPrev,
        int cPrevStride, int rows, int s, Span<float> dc, Span<float> da) =>
        LstmBackward(SimdWidth.Current, dhRecurrent, dhAbove, cache, cPrev, cPrevStride, rows, s, dc, da);

    /// <summary>As the overload without a target, at <paramref name="target"/>, for tests.</summary>
    internal static void LstmBackward(SimdTarget target, ReadOnlySpan<float> dhRecurrent, ReadOnlySpan<float> dhAbove, ReadOnlySpan<float> cache,
        ReadOnlySpan<float> cPrev, int cPrevStride, int rows, int s, Span<float> dc, Span<float> da)
    {
        long bs = (long)rows * s;
        if (dhRecurrent.Length < bs || (!dhAbove.IsEmpty && dhAbove.Length < bs) || cache.Length < 6 * bs
            || (!cPrev.IsEmpty && cPrev.Length < (rows - 1L) * cPrevStride + s) || dc.Length < bs || da.Length < 4 * bs)
            ThrowHelper.ShapeMismatch();
        var g = new Refs(dhRecurrent, dhAbove, cPrev, cache, default, da, dc, default) { PrevStride = cPrevStride };
        Run<LstmBackwardLanes>(target, ref g, rows, s);
    }

    /// <summary>σ(x) = 1 / (1 + e^-x), relatively accurate at both ends (e^-x from the same exp as tanh).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Sigmoid<TV>(TV x)
        where TV : struct, IVector<TV>
    {
        TV one = TV.Broadcast(1f);
        return one / (one + Exp(TV.Clamp(TV.Broadcast(0f) - x, TV.Broadcast(-87f), TV.Broadcast(88f))));
    }

    /// <summary>e^y for y in [-87, 88] (NaN passes): 2^n (1 + expm1(r)), the reduction and series of tanh's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Exp<TV>(TV y)
        where TV : struct, IVector<TV>
    {
        const float bias = 12582912f + 127f;
        TV biased = TV.MultiplyAdd(y, TV.Broadcast(1.44269504088896341f), TV.Broadcast(bias));
        TV n = biased - TV.Broadcast(bias);
        TV r = TV.MultiplyAdd(n, TV.Broadcast(-0.693359375f), y);
        r = TV.MultiplyAdd(n, TV.Broadcast(2.12194440e-4f), r);
        TV q = TV.Broadcast(1f / 5040f);
        q = TV.MultiplyAdd(q, r, TV.Broadcast(1f / 720f));
        q = TV.MultiplyAdd(q, r, TV.Broadcast(1f / 120f));
        q = TV.MultiplyAdd(q, r, TV.Broadcast(1f / 24f));
        q = TV.MultiplyAdd(q, r, TV.Broadcast(1f / 6f));
        q = TV.MultiplyAdd(q, r, TV.Broadcast(0.5f));
        TV p = TV.MultiplyAdd(q, r * r, r);
        TV scale = TV.ShiftIntoExponent(biased);
        return TV.MultiplyAdd(scale, p, scale);
    }

    /// <summary>
    /// The spans of one kernel call as references: up to five inputs and three outputs, each with
    /// blocks of S per row (the counts per row are the kernel's), and the row stride of In2 where
    /// it is a previous cache's block (<see cref="PrevStride"/>; S otherwise).
    /// </summary>
    private ref struct Refs(ReadOnlySpan<float> in0, ReadOnlySpan<float> in1, ReadOnlySpan<float> in2, ReadOnlySpan<float> in3, ReadOnlySpan<float> in4,
        Span<float> out0, Span<float> out1, Span<float> out2)
    {
        public ReadOnlySpan<float> In0 = in0, In1 = in1, In2 = in2, In3 = in3, In4 = in4;
        public Span<float> Out0 = out0, Out1 = out1, Out2 = out2;
        public int PrevStride;
    }

    /// <summary>One kernel's arithmetic on W lanes at column j of every block of one row; the blocks of each operand lie s apart.</summary>
    private interface ILanes
    {
        /// <summary>Blocks per row of In0, In1, In2, In3, Out0, Out1, Out2 (0 for an operand the kernel does not use).</summary>
        static abstract ReadOnlySpan<int> Blocks { get; }

        static abstract void Invoke<TV>(ref float in0, ref float in1, ref float in2, ref float in3, ref float out0, ref float out1, ref float out2,
            bool hasIn1, bool hasIn2, int j, int s)
            where TV : struct, IVector<TV>;
    }

    private static void Run<TOp>(SimdTarget target, ref Refs g, int rows, int s)
        where TOp : ILanes
    {
        switch (target.Bits, target.Fma)
        {
            case (512, _): Run<TOp, V512>(ref g, rows, s); break;
            case (256, true): Run<TOp, V256<MachineFma>>(ref g, rows, s); break;
            case (256, false): Run<TOp, V256<NoFma>>(ref g, rows, s); break;
            case (_, true): Run<TOp, V128<MachineFma>>(ref g, rows, s); break;
            default: Run<TOp, V128<NoFma>>(ref g, rows, s); break;
        }
    }

    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TOp, TV>(ref Refs g, int rows, int s)
        where TOp : ILanes
        where TV : struct, IVector<TV>
    {
        ReadOnlySpan<int> blocks = TOp.Blocks;
        int width = TV.Count, whole = s / width * width, prev = g.PrevStride == 0 ? s : g.PrevStride;
        bool hasIn1 = !g.In1.IsEmpty, hasIn2 = !g.In2.IsEmpty;
        ref float in0 = ref MemoryMarshal.GetReference(g.In0);
        ref float in1 = ref hasIn1 ? ref MemoryMarshal.GetReference(g.In1) : ref in0;
        ref float in2 = ref hasIn2 ? ref MemoryMarshal.GetReference(g.In2) : ref in0;
        ref float in3 = ref g.In3.IsEmpty ? ref in0 : ref MemoryMarshal.GetReference(g.In3);
        ref float out0 = ref MemoryMarshal.GetReference(g.Out0);
        ref float out1 = ref g.Out1.IsEmpty ? ref out0 : ref MemoryMarshal.GetReference(g.Out1);
        ref float out2 = ref g.Out2.IsEmpty ? ref out0 : ref MemoryMarshal.GetReference(g.Out2);
        // The tail of a row: every operand's blocks copied into W-wide blocks of a stack buffer.
        int total = 0;
        foreach (int b in blocks) total += b;
        Span<float> buffer = whole < s ? stackalloc float[total * width] : default;
        Span<int> offsets = stackalloc int[7];
        for (int k = 0, at = 0; k < 7; k++)
        {
            offsets[k] = at;
            at += blocks[k] * width;
        }
        for (int r = 0; r < rows; r++)
        {
            nint o0 = (nint)r * blocks[0] * s, o1 = (nint)r * blocks[1] * s, o2 = (nint)r * prev, o3 = (nint)r * blocks[3] * s;
            nint p0 = (nint)r * blocks[4] * s, p1 = (nint)r * blocks[5] * s, p2 = (nint)r * blocks[6] * s;
            ref float a0 = ref Unsafe.Add(ref in0, o0);
            ref float a1 = ref Unsafe.Add(ref in1, hasIn1 ? o1 : 0);
            ref float a2 = ref Unsafe.Add(ref in2, hasIn2 ? o2 : 0);
            ref float a3 = ref Unsafe.Add(ref in3, o3);
            ref float b0 = ref Unsafe.Add(ref out0, p0);
            ref float b1 = ref Unsafe.Add(ref out1, p1);
            ref float b2 = ref Unsafe.Add(ref out2, p2);
            for (int j = 0; j < whole; j += width)
                TOp.Invoke<TV>(ref a0, ref a1, ref a2, ref a3, ref b0, ref b1, ref b2, hasIn1, hasIn2, j, s);
            if (whole == s) continue;
            int rest = s - whole;
            buffer.Clear();
            ref float rb = ref MemoryMarshal.GetReference(buffer);
            // Operand k's blocks start at offsets[k] in the buffer, each W wide.
            CopyBlocks(ref a0, blocks[0], s, whole, rest, buffer[offsets[0]..], width, toBuffer: true);
            if (hasIn1) CopyBlocks(ref a1, blocks[1], s, whole, rest, buffer[offsets[1]..], width, toBuffer: true);
            if (hasIn2) CopyBlocks(ref a2, blocks[2], s, whole, rest, buffer[offsets[2]..], width, toBuffer: true);
            CopyBlocks(ref a3, blocks[3], s, whole, rest, buffer[offsets[3]..], width, toBuffer: true);
            // Outputs too: an operand may be read and written (LSTM's dc).
            CopyBlocks(ref b0, blocks[4], s, whole, rest, buffer[offsets[4]..], width, toBuffer: true);
            CopyBlocks(ref b1, blocks[5], s, whole, rest, buffer[offsets[5]..], width, toBuffer: true);
            CopyBlocks(ref b2, blocks[6], s, whole, rest, buffer[offsets[6]..], width, toBuffer: true);
            TOp.Invoke<TV>(ref Unsafe.Add(ref rb, offsets[0]), ref Unsafe.Add(ref rb, offsets[1]), ref Unsafe.Add(ref rb, offsets[2]),
                ref Unsafe.Add(ref rb, offsets[3]), ref Unsafe.Add(ref rb, offsets[4]), ref Unsafe.Add(ref rb, offsets[5]),
                ref Unsafe.Add(ref rb, offsets[6]), hasIn1, hasIn2, 0, width);
            CopyBlocks(ref b0, blocks[4], s, whole, rest, buffer[offsets[4]..], width, toBuffer: false);
            CopyBlocks(ref b1, blocks[5], s, whole, rest, buffer[offsets[5]..], width, toBuffer: false);
            CopyBlocks(ref b2, blocks[6], s, whole, rest, buffer[offsets[6]..], width, toBuffer: false);
        }
    }

    // Moves the last `rest` lanes (from column `whole`) of each of `count` blocks between a row and W-wide buffer blocks.
    private static void CopyBlocks(ref float row, int count, int s, int whole, int rest, Span<float> buffer, int width, bool toBuffer)
    {
        for (int k = 0; k < count; k++)
        {
            var lanes = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref row, k * s + whole), rest);
            var block = buffer.Slice(k * width, rest);
            if (toBuffer) lanes.CopyTo(block);
            else block.CopyTo(lanes);
        }
    }

    // In0 gx (3 blocks), In1 gh (3), In2 hPrev (1, optional); Out0 cache (4: r, u, n, gh_n), Out1 h (1).
    private readonly struct GruForwardLanes : ILanes
    {
        public static ReadOnlySpan<int> Blocks => [3, 3, 1, 0, 4, 1, 0];

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke<TV>(ref float gx, ref float gh, ref float hPrev, ref float in3, ref float cache, ref float h, ref float out2,
            bool hasIn1, bool hasIn2, int j, int s)
            where TV : struct, IVector<TV>
        {
            TV r = Sigmoid(TV.Load(ref gx, j) + TV.Load(ref gh, j));
            TV u = Sigmoid(TV.Load(ref gx, s + j) + TV.Load(ref gh, s + j));
            TV hn = TV.Load(ref gh, 2 * s + j);
            TV n = TanhOperator.Tanh(TV.MultiplyAdd(r, hn, TV.Load(ref gx, 2 * s + j)));
            TV previous = hasIn2 ? TV.Load(ref hPrev, j) : TV.Zero;
            r.Store(ref cache, j);
            u.Store(ref cache, s + j);
            n.Store(ref cache, 2 * s + j);
            hn.Store(ref cache, 3 * s + j);
            TV.MultiplyAdd(u, previous - n, n).Store(ref h, j);
        }
    }

    // In0 dhRecurrent (1), In1 dhAbove (1, optional), In2 hPrev (1, optional), In3 cache (4); Out0 dgx (3), Out1 dgh (3), Out2 dhPrev (1).
    private readonly struct GruBackwardLanes : ILanes
    {
        public static ReadOnlySpan<int> Blocks => [1, 1, 1, 4, 3, 3, 1];

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke<TV>(ref float dhRecurrent, ref float dhAbove, ref float hPrev, ref float cache, ref float dgx, ref float dgh,
            ref float dhPrev, bool hasIn1, bool hasIn2, int j, int s)
            where TV : struct, IVector<TV>
        {
            TV one = TV.Broadcast(1f);
            TV dh = hasIn1 ? TV.Load(ref dhRecurrent, j) + TV.Load(ref dhAbove, j) : TV.Load(ref dhRecurrent, j);
            TV r = TV.Load(ref cache, j), u = TV.Load(ref cache, s + j), n = TV.Load(ref cache, 2 * s + j), hn = TV.Load(ref cache, 3 * s + j);
            TV previous = hasIn2 ? TV.Load(ref hPrev, j) : TV.Zero;
            TV dan = dh * (one - u) * (one - n * n);
            TV dar = dan * hn * r * (one - r);
            TV daz = dh * (previous - n) * u * (one - u);
            dar.Store(ref dgx, j);
            daz.Store(ref dgx, s + j);
            dan.Store(ref dgx, 2 * s + j);
            dar.Store(ref dgh, j);
            daz.Store(ref dgh, s + j);
            (dan * r).Store(ref dgh, 2 * s + j);
            (dh * u).Store(ref dhPrev, j);
        }
    }

    // In0 a (4 blocks), In2 cPrev (1, optional, rows of PrevStride); Out0 cache (6: i, f, g, o, c, tanh c), Out1 h (1).
    private readonly struct LstmForwardLanes : ILanes
    {
        public static ReadOnlySpan<int> Blocks => [4, 0, 1, 0, 6, 1, 0];

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke<TV>(ref float a, ref float in1, ref float cPrev, ref float in3, ref float cache, ref float h, ref float out2,
            bool hasIn1, bool hasIn2, int j, int s)
            where TV : struct, IVector<TV>
        {
            TV i = Sigmoid(TV.Load(ref a, j));
            TV f = Sigmoid(TV.Load(ref a, s + j));
            TV g = TanhOperator.Tanh(TV.Load(ref a, 2 * s + j));
            TV o = Sigmoid(TV.Load(ref a, 3 * s + j));
            TV c = hasIn2 ? TV.MultiplyAdd(f, TV.Load(ref cPrev, j), i * g) : i * g;
            TV tc = TanhOperator.Tanh(c);
            i.Store(ref cache, j);
            f.Store(ref cache, s + j);
            g.Store(ref cache, 2 * s + j);
            o.Store(ref cache, 3 * s + j);
            c.Store(ref cache, 4 * s + j);
            tc.Store(ref cache, 5 * s + j);
            (o * tc).Store(ref h, j);
        }
    }

    // In0 dhRecurrent (1), In1 dhAbove (1, optional), In2 cPrev (1, optional, rows of PrevStride), In3 cache (6); Out0 da (4), Out1 dc (1, in and out).
    private readonly struct LstmBackwardLanes : ILanes
    {
        public static ReadOnlySpan<int> Blocks => [1, 1, 1, 6, 4, 1, 0];

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke<TV>(ref float dhRecurrent, ref float dhAbove, ref float cPrev, ref float cache, ref float da, ref float dc,
            ref float out2, bool hasIn1, bool hasIn2, int j, int s)
            where TV : struct, IVector<TV>
        {
            TV one = TV.Broadcast(1f);
            TV dh = hasIn1 ? TV.Load(ref dhRecurrent, j) + TV.Load(ref dhAbove, j) : TV.Load(ref dhRecurrent, j);
            TV i = TV.Load(ref cache, j), f = TV.Load(ref cache, s + j), g = TV.Load(ref cache, 2 * s + j), o = TV.Load(ref cache, 3 * s + j);
            TV tc = TV.Load(ref cache, 5 * s + j);
            TV dcTotal = TV.MultiplyAdd(dh * o, one - tc * tc, TV.Load(ref dc, j));
            TV previous = hasIn2 ? TV.Load(ref cPrev, j) : TV.Zero;
            (dcTotal * g * i * (one - i)).Store(ref da, j);
            (dcTotal * previous * f * (one - f)).Store(ref da, s + j);
            (dcTotal * i * (one - g * g)).Store(ref da, 2 * s + j);
            (dh * tc * o * (one - o)).Store(ref da, 3 * s + j);
            (dcTotal * f).Store(ref dc, j);
        }
    }
}

/// <summary>Scalar oracles for <see cref="Gates"/>, in double, straight from the equations.</summary>
internal static class GatesReference
{
    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    public static void GruForward(ReadOnlySpan<float> gx, ReadOnlySpan<float> gh, ReadOnlySpan<float> hPrev, int rows, int s, Span<float> cache, Span<float> h)
    {
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < s; j++)
            {
                int x = b * 3 * s + j, c = b * 4 * s + j;
                double r = Sigmoid(gx[x] + (double)gh[x]), u = Sigmoid(gx[x + s] + (double)gh[x + s]);
                double n = Math.Tanh(gx[x + 2 * s] + r * gh[x + 2 * s]);
                double previous = hPrev.IsEmpty ? 0 : hPrev[b * s + j];
                (cache[c], cache[c + s], cache[c + 2 * s], cache[c + 3 * s]) = ((float)r, (float)u, (float)n, gh[x + 2 * s]);
                h[b * s + j] = (float)((1 - u) * n + u * previous);
            }
    }

    public static void GruBackward(ReadOnlySpan<float> dhRecurrent, ReadOnlySpan<float> dhAbove, ReadOnlySpan<float> cache, ReadOnlySpan<float> hPrev,
        int rows, int s, Span<float> dgx, Span<float> dgh, Span<float> dhPrev)
    {
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < s; j++)
            {
                int k = b * s + j, c = b * 4 * s + j, x = b * 3 * s + j;
                double dh = dhRecurrent[k] + (dhAbove.IsEmpty ? 0 : dhAbove[k]);
                double r = cache[c], u = cache[c + s], n = cache[c + 2 * s], hn = cache[c + 3 * s], previous = hPrev.IsEmpty ? 0 : hPrev[k];
                double dan = dh * (1 - u) * (1 - n * n), dar = dan * hn * r * (1 - r), daz = dh * (previous - n) * u * (1 - u);
                (dgx[x], dgx[x + s], dgx[x + 2 * s]) = ((float)dar, (float)daz, (float)dan);
                (dgh[x], dgh[x + s], dgh[x + 2 * s]) = ((float)dar, (float)daz, (float)(dan * r));
                dhPrev[k] = (float)(dh * u);
            }
    }

    public static void LstmForward(ReadOnlySpan<float> a, ReadOnlySpan<float> cPrev, int cPrevStride, int rows, int s, Span<float> cache, Span<float> h)
    {
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < s; j++)
            {
                int x = b * 4 * s + j, c = b * 6 * s + j;
                double i = Sigmoid(a[x]), f = Sigmoid(a[x + s]), g = Math.Tanh(a[x + 2 * s]), o = Sigmoid(a[x + 3 * s]);
                double cell = f * (cPrev.IsEmpty ? 0 : cPrev[b * cPrevStride + j]) + i * g, tc = Math.Tanh(cell);
                (cache[c], cache[c + s], cache[c + 2 * s], cache[c + 3 * s], cache[c + 4 * s], cache[c + 5 * s]) =
                    ((float)i, (float)f, (float)g, (float)o, (float)cell, (float)tc);
                h[b * s + j] = (float)(o * tc);
            }
    }

    public static void LstmBackward(ReadOnlySpan<float> dhRecurrent, ReadOnlySpan<float> dhAbove, ReadOnlySpan<float> cache, ReadOnlySpan<float> cPrev,
        int cPrevStride, int rows, int s, Span<float> dc, Span<float> da)
    {
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < s; j++)
            {
                int k = b * s + j, c = b * 6 * s + j, x = b * 4 * s + j;
                double dh = dhRecurrent[k] + (dhAbove.IsEmpty ? 0 : dhAbove[k]);
                double i = cache[c], f = cache[c + s], g = cache[c + 2 * s], o = cache[c + 3 * s], tc = cache[c + 5 * s];
                double previous = cPrev.IsEmpty ? 0 : cPrev[b * cPrevStride + j];
                double total = dc[k] + dh * o * (1 - tc * tc);
                (da[x], da[x + s], da[x + 2 * s], da[x + 3 * s]) =
                    ((float)(total * g * i * (1 - i)), (float)(total * previous * f * (1 - f)), (float)(total * i * (1 - g * g)), (float)(dh * tc * o * (1 - o)));
                dc[k] = (float)(total * f);
            }
    }
}
