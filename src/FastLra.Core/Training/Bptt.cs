using System.Numerics.Tensors;
using FastLra.Kernels;
using FastLra.Model;

namespace FastLra.Training;

/// <summary>
/// Backpropagation through time: the exact gradient of E over the unrolled sequence, with
/// optional global-norm clipping (PyTorch's clip_grad_norm_).
/// </summary>
internal sealed class Bptt : IGradientAlgorithm
{
    private readonly Workspace _ws;
    private readonly float _clip;
    private readonly Memory<float> _dz, _da, _whyT, _dWhyT, _outputTerms, _normScratch;

    /// <summary>
    /// Scratch floats this algorithm carves from the workspace: dz (B x S), da (<see cref="GroupSteps"/> x B x S),
    /// for outputs at every step Whyᵀ and its gradient (O x S each) and the output terms G Whyᵀ (T x B x S), and the
    /// per-step norms' blocks of a weight-gradient term (<see cref="Reductions.NormBlockRows"/> x S).
    /// </summary>
    public static long ScratchLength(RnnShape shape, int steps, int batch)
    {
        long s = PaddedParameters.StrideOf(shape.Hidden);
        return (GroupSteps(steps, batch) + 1L + steps) * batch * s + 2L * shape.Outputs * s + Reductions.NormBlockRows * s + 96;
    }

    /// <summary>
    /// Steps whose adjoints <see cref="Backward"/> keeps to add their weight terms as one product:
    /// as many as fit one pass of the product's inner blocking (<see cref="MatMul.InnerBlock"/> rows),
    /// so the product runs long while the adjoints are still in cache and the memory stays O(B H).
    /// </summary>
    public static int GroupSteps(int steps, int batch) => Math.Clamp(MatMul.InnerBlock / Math.Max(batch, 1), 1, Math.Max(steps, 1));

    /// <summary>BPTT over the workspace's batches, with global-norm clipping at <paramref name="clip"/> (0 = off).</summary>
    public Bptt(Workspace workspace, float clip)
    {
        _ws = workspace;
        _clip = clip;
        var carver = workspace.CarveScratch();
        Diagnostics = new Diagnostics(workspace.Steps);
        _dz = carver.Take(workspace.Batch * workspace.Stride);
        _da = carver.Take((long)GroupSteps(workspace.Steps, workspace.Batch) * workspace.Batch * workspace.Stride);
        _whyT = carver.Take((long)workspace.Shape.Outputs * workspace.Stride);
        _dWhyT = carver.Take((long)workspace.Shape.Outputs * workspace.Stride);
        _outputTerms = carver.Take((long)workspace.Steps * workspace.Batch * workspace.Stride);
        _normScratch = carver.Take((long)Reductions.NormBlockRows * workspace.Stride);
    }

    public bool ReferenceValidationStart => false;

    public Diagnostics Diagnostics { get; }

    /// <summary>Global gradient norm before clipping, of the last call.</summary>
    public float LastGradientNorm => Diagnostics.GradientNorm;

    /// <inheritdoc/>
    public float ComputeGradients(SequenceBatch batch)
    {
        var ws = _ws;
        ws.Check(batch);
        var layout = ws.Layout;
        int rows = layout.OutputSteps * ws.Batch;
        var p = ws.PaddedWeights;
        p.Load();
        // The backward pass needs only z: the pre-activations go to one B x S scratch (da's first rows, free until the backward pass).
        // Outputs at every step are R x B rows of O: with O below a vector, they go in dot form over S, through Whyᵀ.
        bool perStep = layout.PerStep;
        if (perStep) TransposeOutputWeights(p, _whyT.Span);
        var h0 = ws.InitialState(batch).Span;
        Rnn.Forward(p, batch.X, h0, ws.Steps, ws.Batch, layout.Washout, _da.Span[..(ws.Batch * ws.Stride)], ws.Z, perStep ? default : ws.O);
        if (perStep) OutputsForward(p, ws.Z[(layout.Washout * ws.Batch * ws.Stride)..], _whyT.Span, rows, ws.O);
        float loss = GlobalLoss.ForwardBackward(layout.Loss, ws.O, batch.Y, rows, ws.Shape.Outputs, ws.GradO);
        Backward(p, batch.X, ws.Z, ws.GradO, ws.Steps, ws.Batch, layout.Washout, _dz.Span, _da.Span, ws.PaddedGradients,
            Diagnostics.Detailed ? Diagnostics : null, _whyT.Span, _dWhyT.Span, _outputTerms.Span, h0, _normScratch.Span);
        ws.PaddedGradients.Store();
        Diagnostics.GradientNorm = Clipping.ClipGlobalNorm(ws.Gradients, _clip);
        return loss;
    }

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

    /// <summary>o (rows x O) = z (rows x S) Why + by in dot form, through whyT = Whyᵀ (O x S).</summary>
    private static void OutputsForward(PaddedParameters p, ReadOnlySpan<float> z, ReadOnlySpan<float> whyT, int rows, Span<float> o)
    {
        int outputs = p.Shape.Outputs;
        MatMul.MultiplyTransposed(z[..(rows * p.Stride)], whyT, rows, p.Stride, outputs, outputs, o);
        // Rows are O values wide (a few): one flat pass, not a call per row.
        ReadOnlySpan<float> by = p.By;
        o = o[..(rows * outputs)];
        for (int k = 0, j = 0; k < o.Length; k++, j = j + 1 == outputs ? 0 : j + 1) o[k] += by[j];
    }

    /// <summary>
    /// The exact gradient g of E given G_o = dE/do (R x B x O, the outputs of steps w .. T-1, R = T - w),
    /// from the stored inputs x (T x B x I) and states z (T x B x S) of a forward pass (from z_{-1} = 0 unless h0 is given),
    /// all in the padded layout
    /// (<see cref="PaddedParameters"/>; g's Why and by are its set's, the rest stays padded until
    /// <see cref="PaddedParameters.Store"/>). dz is B x S scratch and da scratch for the adjoints of
    /// whole steps (at least one B x S; see <see cref="GroupSteps"/>), both with zero padding: each
    /// group of steps that fits adds its weight terms as one product. With
    /// <paramref name="perStep"/>, also the norm of each step's dWhh and dWxh contribution. With outputs
    /// below the last step, <paramref name="whyT"/> holds Whyᵀ (O x S, <see cref="TransposeOutputWeights"/>),
    /// <paramref name="dWhyT"/> (O x S) is scratch for dWhyᵀ = Gᵀ z, a product as wide as S, and
    /// <paramref name="outputTerms"/> (R x B x S) for every step's G_{o_t} Whyᵀ, one product of inner
    /// dimension O whose rows the tanh backward step adds to dz. A forward pass from a given z_{-1} =
    /// <paramref name="h0"/> (B x S) adds step 0's term h0ᵀ da_0 to dWhh (h0 is a constant). The per-step norms
    /// take <paramref name="normScratch"/> (<see cref="Reductions.NormBlockRows"/> x S).
    /// </summary>
    public static void Backward(PaddedParameters p, ReadOnlySpan<float> x, ReadOnlySpan<float> z, ReadOnlySpan<float> gradO,
        int steps, int batch, int washout, Span<float> dz, Span<float> da, PaddedParameters g, Diagnostics? perStep = null,
        ReadOnlySpan<float> whyT = default, Span<float> dWhyT = default, Span<float> outputTerms = default, ReadOnlySpan<float> h0 = default,
        Span<float> normScratch = default)
    {
        var shape = p.Shape;
        int h = shape.Hidden, s = p.Stride, inputs = shape.Inputs, outputs = shape.Outputs;
        int bs = batch * s, bi = batch * inputs, bo = batch * outputs, r = steps - washout;
        int group = Math.Min(steps, da.Length / Math.Max(bs, 1));
        if (group < 1 && steps > 0) ThrowHelper.ShapeMismatch();
        g.Clear();
        // Output layer: dWhy = Σ_{t ≥ w} z_tᵀ G_{o_t} (one product over the R steps' rows; for R > 1 as
        // dWhyᵀ = Gᵀ z, whose rows are S wide), dby = Σ G_o, dz_{T-1} = G_{o_{T-1}} Whyᵀ.
        if (r == 1)
        {
            MatMul.TransposedMultiplyAdd(z.Slice(washout * bs, bs), gradO, batch, h, outputs, s, g.Why);
        }
        else
        {
            if (whyT.Length < outputs * s || dWhyT.Length < outputs * s || outputTerms.Length < r * bs) ThrowHelper.ShapeMismatch();
            dWhyT = dWhyT[..(outputs * s)];
            dWhyT.Clear();
            MatMul.TransposedMultiplyAdd(gradO, z.Slice(washout * bs, r * bs), r * batch, outputs, s, dWhyT);
            for (int i = 0; i < h; i++)
                for (int j = 0; j < outputs; j++) g.Why[i * outputs + j] += dWhyT[j * s + i];
            outputTerms = outputTerms[..(r * bs)];
            outputTerms.Clear();
            MatMul.MultiplyAdd(gradO, whyT, r * batch, outputs, s, outputTerms);
        }
        Reductions.SumRowsAdd(gradO, r * batch, outputs, g.By);
        MatMul.MultiplyTransposed(gradO.Slice((r - 1) * bo, bo), p.Why, batch, outputs, h, s, dz);
        for (int last = steps - 1; last >= 0; last -= group)
        {
            // Steps first .. last, step t's adjoint in block t - first of da.
            int first = Math.Max(0, last - group + 1);
            for (int t = last; t >= first; t--)
            {
                // da_t = (dz_t + G_{o_t} Whyᵀ below the last step) (1 - z_t²), dz_{t-1} = da_t Whhᵀ.
                var daT = da.Slice((t - first) * bs, bs);
                if (t >= washout && t < steps - 1) Activations.TanhBackward(z.Slice(t * bs, bs), dz, outputTerms.Slice((t - washout) * bs, bs), daT);
                else Activations.TanhBackward(z.Slice(t * bs, bs), dz, daT);
                if (perStep is not null)
                {
                    var zPrev = t > 0 ? z.Slice((t - 1) * bs, bs) : h0;
                    perStep.DWhhNorms[t] = zPrev.IsEmpty ? 0f : Reductions.TransposedProductNorm(zPrev, daT, batch, s, s, normScratch);
                    perStep.DWxhNorms[t] = Reductions.TransposedProductNorm(x.Slice(t * bi, bi), daT, batch, inputs, s, normScratch);
                }
                if (t > 0) MatMul.MultiplyTransposed(daT, p.Whh, batch, s, h, s, dz);
            }
            // The group's weight terms, each one product over its steps' rows: dWhh += [z_{first-1} ..
            // z_{last-1}]ᵀ [da_first .. da_last] (without step 0), dWxh += xᵀ da, dbh += Σ da.
            int n = last - first + 1, skip = first == 0 ? 1 : 0;
            if (n > skip)
                MatMul.TransposedMultiplyAdd(z.Slice((first + skip - 1) * bs, (n - skip) * bs), da.Slice(skip * bs, (n - skip) * bs), (n - skip) * batch, h, s, s, g.Whh);
            if (first == 0 && !h0.IsEmpty) MatMul.TransposedMultiplyAdd(h0[..bs], da[..bs], batch, h, s, s, g.Whh);
            MatMul.TransposedMultiplyAdd(x.Slice(first * bi, n * bi), da[..(n * bs)], n * batch, inputs, s, g.Wxh);
            Reductions.SumRowsAdd(da, n * batch, s, g.Bh);
        }
    }
}
