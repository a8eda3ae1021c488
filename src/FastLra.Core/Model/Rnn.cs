using FastLra.Kernels;

namespace FastLra.Model;

/// <summary>
/// The simple tanh RNN of the paper (row-vector convention, time-major sequences):
/// a_t = z_{t-1} Whh + x_t Wxh + bh, z_t = tanh(a_t), o = z_{T-1} Why + by. States are kept in
/// rows of the parameters' stride S (<see cref="IRnnParameters"/>: H for a parameter set, more
/// for the trainers' padded rows).
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

    /// <summary>
    /// Forward pass that keeps only the running state, for evaluation, over rows [first, first +
    /// rows) of a batch of <paramref name="batch"/> sequences: x (T x B x I), o (R x B x O) the outputs
    /// of steps w .. T-1, of which only these rows' are written; <paramref name="state"/> and
    /// <paramref name="scratch"/> (rows x S each) hold the ping-pong states. z_{-1} is zero, or with
    /// <paramref name="referenceStart"/> x_0 Wxh + bh without tanh, as the paper's published code
    /// validates (then S must be H: a parameter set's rows). A row's numbers do not depend on the
    /// rows run with it (the kernels block over rows but sum each element in one order), so any
    /// split of a batch into row ranges gives the same outputs, bit for bit.
    /// </summary>
    public static void Infer(IRnnParameters p, ReadOnlySpan<float> x, int steps, int batch, int first, int rows, int washout, bool referenceStart,
        Span<float> state, Span<float> scratch, Span<float> o)
    {
        int inputs = p.Shape.Inputs, outputs = p.Shape.Outputs, rs = rows * p.Stride;
        Span<float> current = state[..rs], next = scratch[..rs];
        if (referenceStart)
        {
            Reductions.BroadcastRows(p.HiddenBias(0), rows, current);
            MatMul.MultiplyAdd(x.Slice(first * inputs, rows * inputs), p.InputWeights(0), rows, inputs, p.Shape.Hidden, current);
        }
        for (int t = 0; t < steps; t++)
        {
            StepForward(p, x.Slice((t * batch + first) * inputs, rows * inputs), t == 0 && !referenceStart ? default : current, rows, next, next);
            var swap = current;
            current = next;
            next = swap;
            if (t >= washout) OutputForward(p, current, rows, o.Slice(((t - washout) * batch + first) * outputs, rows * outputs));
        }
    }
}
