using FastLra.Kernels;

namespace FastLra.Model;

/// <summary>
/// Forward passes of the network (row-vector convention, time-major sequences): the paper's one
/// tanh layer, a_t = z_{t-1} Whh + x_t Wxh + bh, z_t = tanh(a_t), o = z_{T-1} Why + by, which its
/// trainers (LRA) step directly, and every cell and depth step by step for inference and evaluation
/// (<see cref="Step"/>, <see cref="Infer"/>). States are kept in rows of the parameters' stride S
/// (<see cref="IRnnParameters"/>: H for a parameter set, more for the trainers' padded rows).
/// </summary>
internal static class Rnn
{
    /// <summary>
    /// One step for a batch: a (B x S) = zPrev (B x S) Whh + x (B x I) Wxh + bh, z (B x S) = tanh(a).
    /// An empty <paramref name="zPrev"/> means z_{-1} = 0. z may be the same span as a; neither may overlap zPrev.
    /// </summary>
    public static void StepForward(IRnnParameters p, ReadOnlySpan<float> x, ReadOnlySpan<float> zPrev, int batch, Span<float> a, Span<float> z)
    {
        var shape = p.Shape;
        MatMul.CellForward(x, p.InputWeights(0), zPrev, p.RecurrentWeights(0), p.HiddenBias(0), batch, shape.Inputs, shape.Hidden, p.Stride, p.Stride, a, z);
    }

    /// <summary>o (B x O) = z (B x S) Why + by.</summary>
    public static void OutputForward(IRnnParameters p, ReadOnlySpan<float> z, int batch, Span<float> o)
    {
        Reductions.BroadcastRows(p.By, batch, o);
        MatMul.MultiplyAdd(z, p.Why, o, batch, p.Shape.Hidden, p.Shape.Outputs, p.Stride, o);
    }

    /// <summary>
    /// Unrolled forward pass keeping every step: x (T x B x I), a and z (T x B x S), o (R x B x O):
    /// the outputs o_t = z_t Why + by of steps w .. T-1 (R = T - w; w = T-1 reads the last step only).
    /// An <paramref name="a"/> of only B x S is scratch that every step reuses (the pre-activations
    /// are not kept). <paramref name="h0"/> (B x S) is z_{-1}; empty means zero. An empty
    /// <paramref name="o"/> leaves the outputs to the caller.
    /// </summary>
    public static void Forward(IRnnParameters p, ReadOnlySpan<float> x, ReadOnlySpan<float> h0, int steps, int batch, int washout,
        Span<float> a, Span<float> z, Span<float> o)
    {
        int bi = batch * p.Shape.Inputs, bs = batch * p.Stride;
        bool keep = a.Length >= (long)steps * bs;
        for (int t = 0; t < steps; t++)
        {
            var zPrev = t == 0 ? h0 : z.Slice((t - 1) * bs, bs);
            StepForward(p, x.Slice(t * bi, bi), zPrev, batch, a.Slice(keep ? t * bs : 0, bs), z.Slice(t * bs, bs));
        }
        // The states of steps w .. T-1 are consecutive rows: their outputs are one product.
        if (!o.IsEmpty) OutputForward(p, z.Slice(washout * bs, (steps - washout) * bs), (steps - washout) * batch, o);
    }

    /// <summary>Floats of scratch <see cref="Step"/> takes for <paramref name="rows"/> sequences in rows of <paramref name="stride"/>.</summary>
    public static int StepScratchLength(RnnShape shape, int stride, int rows) =>
        rows * stride * (2 * shape.Gates + CacheBlocks(shape.Cell) + 1) + shape.Gates * stride;

    /// <summary>Floats of the buffer <see cref="Infer"/> takes for tiles of <paramref name="rows"/> sequences: their state and a step's scratch.</summary>
    public static int InferenceLength(RnnShape shape, int stride, int rows) => shape.StateBlocks * rows * stride + StepScratchLength(shape, stride, rows);

    private static int CacheBlocks(CellKind cell) => cell switch
    {
        CellKind.Gru => GruCell.CacheBlocks,
        CellKind.Lstm => LstmCell.CacheBlocks,
        _ => TanhCell.CacheBlocks,
    };

    /// <summary>
    /// One step of <paramref name="rows"/> sequences through every layer: <paramref name="state"/>
    /// (<see cref="RnnShape.StateBlocks"/> blocks of rows x S: each layer's h, then for LSTM its c)
    /// advanced in place from x (rows x I). With <paramref name="fromZero"/> the state before the step
    /// is taken as zero whatever it holds (a sequence's first step). <paramref name="scratch"/> has
    /// <see cref="StepScratchLength"/> floats.
    /// </summary>
    public static void Step(IRnnParameters p, ReadOnlySpan<float> x, int rows, bool fromZero, Span<float> state, Span<float> scratch)
    {
        switch (p.Shape.Cell)
        {
            case CellKind.Gru: Step<GruCell>(p, x, rows, fromZero, state, scratch); break;
            case CellKind.Lstm: Step<LstmCell>(p, x, rows, fromZero, state, scratch); break;
            default: Step<TanhCell>(p, x, rows, fromZero, state, scratch); break;
        }
    }

    private static void Step<TCell>(IRnnParameters p, ReadOnlySpan<float> x, int rows, bool fromZero, Span<float> state, Span<float> scratch)
        where TCell : struct, ICell
    {
        var shape = p.Shape;
        int s = p.Stride, rs = rows * s, gs = shape.Gates * s, cs = TCell.CacheBlocks * s, blocks = TCell.CarryBlock >= 0 ? 2 : 1;
        Span<float> gates = scratch[..(rows * gs)], gx = scratch.Slice(rows * gs, rows * gs), cache = scratch.Slice(2 * rows * gs, rows * cs);
        Span<float> next = scratch.Slice(2 * rows * gs + rows * cs, rs), bias = scratch.Slice(2 * rows * gs + rows * cs + rs, gs);
        for (int l = 0; l < shape.Layers; l++)
        {
            ReadOnlySpan<float> u = l == 0 ? x : state.Slice((l - 1) * blocks * rs, rs);
            Span<float> h = state.Slice(l * blocks * rs, rs);
            if (TCell.PrecomputesInput)
            {
                TCell.InputBias(p, l, bias);
                TCell.InputGates(p, l, u, rows, bias, gx);
            }
            Span<float> carry = blocks == 2 ? state.Slice((l * blocks + 1) * rs, rs) : default;
            TCell.StepForward(p, l, u, gx, fromZero ? default : h, fromZero ? default : carry, s, rows, gates, cache, next);
            next.CopyTo(h);
            // LSTM: the new c, a block of each row of the cache, becomes the state's.
            for (int r = 0; r < rows && blocks == 2; r++) cache.Slice(r * cs + TCell.CarryBlock * s, s).CopyTo(carry.Slice(r * s, s));
        }
    }

    /// <summary>
    /// Forward pass that keeps only the running state, for evaluation, over rows [first, first +
    /// rows) of a batch of <paramref name="batch"/> sequences: x (T x B x I), o (R x B x O) the outputs
    /// of steps w .. T-1, of which only these rows' are written; <paramref name="buffer"/>
    /// (<see cref="InferenceLength"/> floats) holds their state and a step's scratch. z_{-1} is zero,
    /// or with <paramref name="referenceStart"/> x_0 Wxh + bh without tanh, as the paper's published
    /// code validates (the one-layer tanh network; then S must be H: a parameter set's rows). A row's
    /// numbers do not depend on the rows run with it (the kernels block over rows but sum each
    /// element in one order), so any split of a batch into row ranges gives the same outputs, bit for bit.
    /// </summary>
    public static void Infer(IRnnParameters p, ReadOnlySpan<float> x, int steps, int batch, int first, int rows, int washout, bool referenceStart,
        Span<float> buffer, Span<float> o)
    {
        var shape = p.Shape;
        int inputs = shape.Inputs, outputs = shape.Outputs, rs = rows * p.Stride, stateLength = shape.StateBlocks * rs;
        Span<float> state = buffer[..stateLength], scratch = buffer[stateLength..], top = state.Slice(stateLength - (shape.Cell == CellKind.Lstm ? 2 : 1) * rs, rs);
        if (referenceStart)
        {
            Reductions.BroadcastRows(p.HiddenBias(0), rows, state[..rs]);
            MatMul.MultiplyAdd(x.Slice(first * inputs, rows * inputs), p.InputWeights(0), rows, inputs, shape.Hidden, state[..rs]);
        }
        for (int t = 0; t < steps; t++)
        {
            Step(p, x.Slice((t * batch + first) * inputs, rows * inputs), rows, t == 0 && !referenceStart, state, scratch);
            if (t >= washout) OutputForward(p, top, rows, o.Slice(((t - washout) * batch + first) * outputs, rows * outputs));
        }
    }
}
