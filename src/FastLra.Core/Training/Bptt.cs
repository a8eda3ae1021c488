using FastLra.Kernels;
using FastLra.Model;

namespace FastLra.Training;

/// <summary>What a gradient algorithm's scratch is sized by: the network, T, B, the padded stride S and, for BPTT, the steps per group.</summary>
internal readonly record struct ScratchSizes(RnnShape Shape, long Steps, long Batch, long Stride, long Group = 1);

/// <summary>Backpropagation through time for every cell and depth: the one place that picks the cell.</summary>
internal static class Bptt
{
    /// <summary>BPTT over the workspace's network, with global-norm clipping at <paramref name="clip"/> (0 = off).</summary>
    public static IGradientAlgorithm Create(Workspace workspace, float clip) => workspace.Shape.Cell switch
    {
        CellKind.Gru => new Bptt<GruCell>(workspace, clip),
        CellKind.Lstm => new Bptt<LstmCell>(workspace, clip),
        _ => new Bptt<TanhCell>(workspace, clip),
    };

    /// <summary>Scratch floats BPTT carves from the workspace for a network of <paramref name="shape"/>: the count of its own carving (<see cref="Bptt{TCell}"/>).</summary>
    public static long ScratchLength(RnnShape shape, int steps, int batch, int? group = null)
    {
        var counter = Carver.Counting();
        var sizes = new ScratchSizes(shape, steps, batch, PaddedParameters.StrideOf(shape.Hidden), group ?? GroupSteps(steps, batch));
        _ = shape.Cell switch
        {
            CellKind.Gru => Bptt<GruCell>.Carve(ref counter, sizes).Gates,
            CellKind.Lstm => Bptt<LstmCell>.Carve(ref counter, sizes).Gates,
            _ => Bptt<TanhCell>.Carve(ref counter, sizes).Gates,
        };
        return counter.Used;
    }

    /// <summary>
    /// Steps whose gate gradients the backward pass keeps to add their weight terms as one product:
    /// as many as fit one pass of the product's inner blocking (<see cref="MatMul.InnerBlock"/> rows),
    /// so the product runs long while the gradients are still in cache and the memory stays O(B H).
    /// </summary>
    public static int GroupSteps(int steps, int batch) => Math.Clamp(MatMul.InnerBlock / Math.Max(batch, 1), 1, Math.Max(steps, 1));

    /// <summary>whyT (O x S) = Whyᵀ, zero in the padding columns.</summary>
    public static void TransposeOutputWeights(PaddedParameters p, Span<float> whyT)
    {
        int h = p.Shape.Hidden, outputs = p.Shape.Outputs, s = p.Stride;
        if (whyT.Length < outputs * s) ThrowHelper.ShapeMismatch();
        whyT = whyT[..(outputs * s)];
        whyT.Clear();
        var why = p.Why;
        for (int i = 0; i < h; i++)
            for (int j = 0; j < outputs; j++) whyT[j * s + i] = why[i * outputs + j];
    }
}

/// <summary>
/// Backpropagation through time over a stack of <typeparamref name="TCell"/> layers: the exact
/// gradient of E over the unrolled sequence, with optional global-norm clipping (PyTorch's
/// clip_grad_norm_). The forward pass runs layer by layer (a layer's input gates over every step
/// as one product, for the gated cells), keeping every layer's states and its cell's caches; the
/// backward pass runs the layers top down, each through its steps backwards in groups whose weight
/// terms are one product each, and hands the layer below the gradient of its states as one product.
/// </summary>
internal sealed class Bptt<TCell> : IGradientAlgorithm
    where TCell : struct, ICell
{
    private readonly Workspace _ws;
    private readonly float _clip;
    private readonly int _group;
    private readonly Memory<float> _states, _caches, _gx, _gates, _bias, _dh, _dc, _scratch, _dgx, _dgh, _above, _whyT, _dWhyT, _outputTerms, _normScratch;

    /// <summary>
    /// BPTT over the workspace's batches, with global-norm clipping at <paramref name="clip"/> (0 =
    /// off), adding the weight terms of <paramref name="group"/> steps at a time (default
    /// <see cref="Bptt.GroupSteps"/>; the scratch must have been sized for it).
    /// </summary>
    public Bptt(Workspace workspace, float clip, int? group = null)
    {
        _ws = workspace;
        _clip = clip;
        _group = group ?? Bptt.GroupSteps(workspace.Steps, workspace.Batch);
        if (_group < 1) throw new ArgumentOutOfRangeException(nameof(group), group, "At least one step per group.");
        var carver = workspace.CarveScratch();
        var s = Carve(ref carver, new ScratchSizes(workspace.Shape, workspace.Steps, workspace.Batch, workspace.Stride, _group));
        (_states, _caches, _gx, _gates, _bias, _dh, _dc, _scratch) = (s.States, s.Caches, s.Gx, s.Gates, s.Bias, s.Dh, s.Dc, s.Scratch);
        (_dgx, _dgh, _above, _whyT, _dWhyT, _outputTerms, _normScratch) = (s.Dgx, s.Dgh, s.Above, s.WhyT, s.DWhyT, s.OutputTerms, s.NormScratch);
        Diagnostics = new Diagnostics(workspace.Steps);
    }

    /// <summary>
    /// The scratch, B x S unless noted: the states of the layers below the top ((L-1) x T x B x S),
    /// every layer's caches (L x T x B x CS), the input gates (T x B x GS, gated cells), a step's
    /// gates (B x GS) and the layer's input bias (GS), the backward carries dh, dc and a step's
    /// scratch, the gate gradients of a group of steps (group x B x GS; GRU's dgh too), the gradient
    /// from the layer above (T x B x S, L > 1), for outputs at every step Whyᵀ and its gradient (O x S
    /// each) and the output terms G Whyᵀ (T x B x S), and the per-step norms' blocks
    /// (<see cref="Reductions.NormBlockRows"/> x GS).
    /// </summary>
    internal readonly record struct Segments(Memory<float> States, Memory<float> Caches, Memory<float> Gx, Memory<float> Gates, Memory<float> Bias,
        Memory<float> Dh, Memory<float> Dc, Memory<float> Scratch, Memory<float> Dgx, Memory<float> Dgh, Memory<float> Above, Memory<float> WhyT,
        Memory<float> DWhyT, Memory<float> OutputTerms, Memory<float> NormScratch);

    /// <summary>Carves <see cref="Segments"/> (or, with a counting carver, counts them).</summary>
    internal static Segments Carve(ref Carver c, ScratchSizes z)
    {
        var shape = z.Shape;
        long s = z.Stride, gs = shape.Gates * s, bs = z.Batch * s, tbs = z.Steps * bs, group = z.Group * z.Batch * gs;
        var dgx = default(Memory<float>);
        return new(c.Take((shape.Layers - 1) * tbs), c.Take(shape.Layers * TCell.CacheBlocks * tbs), c.Take(TCell.PrecomputesInput ? z.Steps * z.Batch * gs : 0),
            c.Take(z.Batch * gs), c.Take(gs), c.Take(bs), c.Take(bs), c.Take(bs), dgx = c.Take(group), TCell.SeparateHiddenGradient ? c.Take(group) : dgx,
            c.Take(shape.Layers > 1 ? tbs : 0), c.Take(shape.Outputs * s), c.Take(shape.Outputs * s), c.Take(tbs), c.Take(Reductions.NormBlockRows * gs));
    }

    public bool ReferenceValidationStart => false;

    public Diagnostics Diagnostics { get; }

    /// <inheritdoc/>
    public float ComputeGradients(SequenceBatch batch)
    {
        var ws = _ws;
        ws.Check(batch);
        var layout = ws.Layout;
        int rows = layout.OutputSteps * ws.Batch;
        var p = ws.PaddedWeights;
        p.Load();
        // Outputs at every step are R x B rows of O: with O below a vector, they go in dot form over S, through Whyᵀ.
        bool perStep = layout.PerStep;
        if (perStep) Bptt.TransposeOutputWeights(p, _whyT.Span);
        var h0 = ws.InitialState(batch).Span;
        Forward(p, batch.X, h0);
        int bs = ws.Batch * ws.Stride;
        if (perStep) OutputsForward(p, ws.Z[(layout.Washout * bs)..], _whyT.Span, rows, ws.O);
        else Rnn.OutputForward(p, ws.Z.Slice(layout.Washout * bs, bs), ws.Batch, ws.O);
        float loss = GlobalLoss.ForwardBackward(layout.Loss, ws.O, batch.Y, rows, ws.Shape.Outputs, ws.GradO);
        Backward(p, batch.X, ws.GradO, h0, ws.PaddedGradients, Diagnostics.Detailed ? Diagnostics : null);
        ws.PaddedGradients.Store();
        Diagnostics.GradientNorm = Clipping.ClipGlobalNorm(ws.Gradients, _clip);
        return loss;
    }

    /// <summary>The states of layer <paramref name="layer"/>, T x B x S: the workspace's z for the top layer.</summary>
    private Span<float> States(int layer)
    {
        long tbs = (long)_ws.Steps * _ws.Batch * _ws.Stride;
        return layer == _ws.Shape.Layers - 1 ? _ws.Z : _states.Span.Slice((int)(layer * tbs), (int)tbs);
    }

    /// <summary>The caches of layer <paramref name="layer"/>, T x B x CS.</summary>
    private Span<float> Caches(int layer)
    {
        int length = _ws.Steps * _ws.Batch * TCell.CacheBlocks * _ws.Stride;
        return _caches.Span.Slice(layer * length, length);
    }

    /// <summary>
    /// Block <paramref name="block"/> (0 h, 1 c) of layer <paramref name="layer"/>'s initial state in
    /// the padded h0 (blocks of B x S, <see cref="Workspace.InitialState"/>), or empty when the batch starts from zero.
    /// </summary>
    private ReadOnlySpan<float> Initial(ReadOnlySpan<float> h0, int layer, int block)
    {
        if (h0.IsEmpty) return default;
        int bs = _ws.Batch * _ws.Stride, blocks = TCell.CarryBlock >= 0 ? 2 : 1;
        return h0.Slice((layer * blocks + block) * bs, bs);
    }

    /// <summary>
    /// The carry (LSTM's c) step t starts from and its row stride: step t-1's, kept in its cache
    /// rows, or the initial state's at t = 0; none for a cell without one.
    /// </summary>
    private ReadOnlySpan<float> CarryBefore(int t, ReadOnlySpan<float> caches, ReadOnlySpan<float> h0, int layer, out int stride)
    {
        int s = _ws.Stride, cs = TCell.CacheBlocks * s;
        stride = t > 0 && TCell.CarryBlock >= 0 ? cs : s;
        if (TCell.CarryBlock < 0) return default;
        return t > 0 ? caches[((t - 1) * _ws.Batch * cs + TCell.CarryBlock * s)..] : Initial(h0, layer, 1);
    }

    /// <summary>
    /// Every layer's states (the top layer's in the workspace's z) and caches for the batch's inputs
    /// x (T x B x I), from h0 (padded initial state; empty = zero).
    /// </summary>
    private void Forward(PaddedParameters p, ReadOnlySpan<float> x, ReadOnlySpan<float> h0)
    {
        var shape = p.Shape;
        int steps = _ws.Steps, batch = _ws.Batch, s = p.Stride, bs = batch * s, gs = shape.Gates * s, cs = TCell.CacheBlocks * s;
        for (int l = 0; l < shape.Layers; l++)
        {
            ReadOnlySpan<float> u = l == 0 ? x : States(l - 1);
            int bu = batch * (l == 0 ? shape.Inputs : s);
            Span<float> states = States(l), caches = Caches(l), gx = _gx.Span;
            if (TCell.PrecomputesInput)
            {
                TCell.InputBias(p, l, _bias.Span);
                TCell.InputGates(p, l, u[..(steps * bu)], steps * batch, _bias.Span, gx);
            }
            for (int t = 0; t < steps; t++)
            {
                ReadOnlySpan<float> hPrev = t == 0 ? Initial(h0, l, 0) : states.Slice((t - 1) * bs, bs);
                var carryPrev = CarryBefore(t, caches, h0, l, out int carryStride);
                TCell.StepForward(p, l, u.Slice(t * bu, bu), TCell.PrecomputesInput ? gx.Slice(t * batch * gs, batch * gs) : default, hPrev,
                    carryPrev, carryStride, batch, _gates.Span, caches.Slice(t * batch * cs, batch * cs), states.Slice(t * bs, bs));
            }
        }
    }

    /// <summary>o (rows x O) = z (rows x S) Why + by in dot form, through whyT = Whyᵀ (O x S).</summary>
    private static void OutputsForward(PaddedParameters p, ReadOnlySpan<float> z, ReadOnlySpan<float> whyT, int rows, Span<float> o)
    {
        int outputs = p.Shape.Outputs;
        MatMul.MultiplyTransposed(p.Summation, z[..(rows * p.Stride)], whyT, rows, p.Stride, outputs, outputs, o);
        // Rows are O values wide (a few): one flat pass, not a call per row.
        ReadOnlySpan<float> by = p.By;
        o = o[..(rows * outputs)];
        for (int k = 0, j = 0; k < o.Length; k++, j = j + 1 == outputs ? 0 : j + 1) o[k] += by[j];
    }

    /// <summary>
    /// The exact gradient g of E given G_o = dE/do (R x B x O, the outputs of steps w .. T-1,
    /// R = T - w), from the batch's inputs x and the states and caches of <see cref="Forward"/>
    /// (from h0, padded; a constant: no gradient flows into it), into g in the padded layout (its
    /// Why and by are its set's; the rest stays padded until <see cref="PaddedParameters.Store"/>).
    /// With <paramref name="perStep"/>, also the norm of each step's contribution to the recurrent
    /// and the input weights (over every layer).
    /// </summary>
    private void Backward(PaddedParameters p, ReadOnlySpan<float> x, ReadOnlySpan<float> gradO, ReadOnlySpan<float> h0, PaddedParameters g, Diagnostics? perStep)
    {
        var shape = p.Shape;
        int steps = _ws.Steps, batch = _ws.Batch, washout = _ws.Layout.Washout, h = shape.Hidden, s = p.Stride, outputs = shape.Outputs;
        int gs = shape.Gates * s, bs = batch * s, bg = batch * gs, bo = batch * outputs, cs = TCell.CacheBlocks * s, r = steps - washout;
        int group = _group;
        Span<float> dh = _dh.Span[..bs], dc = _dc.Span[..bs], dgx = _dgx.Span, dgh = _dgh.Span, above = _above.Span, z = _ws.Z;
        g.Clear();
        // Output layer: dWhy = Σ_{t ≥ w} z_tᵀ G_{o_t} (one product over the R steps' rows; for R > 1 as
        // dWhyᵀ = Gᵀ z, whose rows are S wide), dby = Σ G_o, and the top layer's dh_{T-1} = G_{o_{T-1}} Whyᵀ.
        Span<float> outputTerms = default;
        if (r == 1)
        {
            MatMul.TransposedMultiplyAdd(z.Slice(washout * bs, bs), gradO, batch, h, outputs, s, g.Why);
        }
        else
        {
            Span<float> dWhyT = _dWhyT.Span[..(outputs * s)];
            dWhyT.Clear();
            MatMul.TransposedMultiplyAdd(gradO, z.Slice(washout * bs, r * bs), r * batch, outputs, s, dWhyT);
            for (int i = 0; i < h; i++)
                for (int j = 0; j < outputs; j++) g.Why[i * outputs + j] += dWhyT[j * s + i];
            outputTerms = _outputTerms.Span[..(r * bs)];
            outputTerms.Clear();
            MatMul.MultiplyAdd(gradO, _whyT.Span, r * batch, outputs, s, outputTerms);
        }
        Reductions.SumRowsAdd(gradO, r * batch, outputs, g.By);
        for (int l = shape.Layers - 1; l >= 0; l--)
        {
            bool top = l == shape.Layers - 1;
            ReadOnlySpan<float> u = l == 0 ? x : States(l - 1);
            int inputs = l == 0 ? shape.Inputs : s, bu = batch * inputs;
            Span<float> states = States(l), caches = Caches(l);
            if (top) MatMul.MultiplyTransposed(p.Summation, gradO.Slice((r - 1) * bo, bo), p.Why, batch, outputs, h, s, dh);
            else dh.Clear();
            if (TCell.CarryBlock >= 0) dc.Clear();
            var initial = Initial(h0, l, 0);
            for (int last = steps - 1; last >= 0; last -= group)
            {
                // Steps first .. last, step t's gate gradients in block t - first.
                int first = Math.Max(0, last - group + 1);
                for (int t = last; t >= first; t--)
                {
                    // dh_t = the next step's share + the output's (top layer, w <= t < T-1; T-1's is dh's start) or the layer above's.
                    ReadOnlySpan<float> fromAbove = top
                        ? t >= washout && t < steps - 1 ? outputTerms.Slice((t - washout) * bs, bs) : default
                        : above.Slice(t * bs, bs);
                    ReadOnlySpan<float> hPrev = t > 0 ? states.Slice((t - 1) * bs, bs) : initial;
                    var carryPrev = CarryBefore(t, caches, h0, l, out int carryStride);
                    var dgxT = dgx.Slice((t - first) * bg, bg);
                    var dghT = TCell.SeparateHiddenGradient ? dgh.Slice((t - first) * bg, bg) : dgxT;
                    TCell.StepBackward(p, l, dh, fromAbove, states.Slice(t * bs, bs), hPrev, caches.Slice(t * batch * cs, batch * cs), carryPrev, carryStride,
                        batch, t > 0, dgxT, dghT, dc, _scratch.Span);
                    if (perStep is not null) StepNorms(perStep, t, top, hPrev, dghT, u.Slice(t * bu, bu), inputs, dgxT, batch, gs);
                }
                // The group's weight terms, each one product over its steps' rows: dWh += [h_{first-1} ..
                // h_{last-1}]ᵀ [dgh_first .. dgh_last] (without step 0), dWx += uᵀ dgx, the biases += Σ.
                int n = last - first + 1, skip = first == 0 ? 1 : 0;
                if (n > skip)
                    MatMul.TransposedMultiplyAdd(states.Slice((first + skip - 1) * bs, (n - skip) * bs), dgh.Slice(skip * bg, (n - skip) * bg), (n - skip) * batch,
                        h, gs, s, g.RecurrentWeights(l));
                if (first == 0 && !initial.IsEmpty) MatMul.TransposedMultiplyAdd(initial, dgh[..bg], batch, h, gs, s, g.RecurrentWeights(l));
                if (l == 0) MatMul.TransposedMultiplyAdd(u.Slice(first * bu, n * bu), dgx[..(n * bg)], n * batch, inputs, gs, g.InputWeights(l));
                else MatMul.TransposedMultiplyAdd(u.Slice(first * bu, n * bu), dgx[..(n * bg)], n * batch, h, gs, s, g.InputWeights(l));
                Reductions.SumRowsAdd(dgh, n * batch, gs, g.HiddenBias(l));
                if (shape.HasInputBias) Reductions.SumRowsAdd(dgx, n * batch, gs, g.InputBias(l));
                // The layer below's share of its states' gradient, du = dgx Wxᵀ, over the steps just consumed.
                if (l > 0) MatMul.MultiplyTransposed(p.Summation, dgx[..(n * bg)], p.InputWeights(l), n * batch, gs, h, s, above.Slice(first * bs, n * bs));
            }
        }
    }

    /// <summary>
    /// Step t's contributions to the recurrent weights, hPrevᵀ dgh, and to the input weights, uᵀ dgx:
    /// their norms, over the layers in squares (the top layer, first, sets them).
    /// </summary>
    private void StepNorms(Diagnostics d, int t, bool top, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> dgh, ReadOnlySpan<float> u, int inputs,
        ReadOnlySpan<float> dgx, int batch, int gs)
    {
        float recurrent = hPrev.IsEmpty ? 0f : Reductions.TransposedProductNorm(hPrev, dgh, batch, _ws.Stride, gs, _normScratch.Span);
        float input = Reductions.TransposedProductNorm(u, dgx, batch, inputs, gs, _normScratch.Span);
        if (top)
        {
            d.DWhhNorms[t] = recurrent;
            d.DWxhNorms[t] = input;
            return;
        }
        d.DWhhNorms[t] = (float)Math.Sqrt((double)d.DWhhNorms[t] * d.DWhhNorms[t] + (double)recurrent * recurrent);
        d.DWxhNorms[t] = (float)Math.Sqrt((double)d.DWxhNorms[t] * d.DWxhNorms[t] + (double)input * input);
    }
}
