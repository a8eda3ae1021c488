using FastLra.Kernels;

namespace FastLra.Training;

/// <summary>
/// What the reference semantics does instead of <see cref="Lra{TLoss}.LocalSteps"/>: the published
/// code takes each step's "local" gradient with autograd through the whole unrolled graph and
/// never detaches the targets. The per-step losses, the full backward pass from each step to
/// step 0 (the extra O(T² B H²)), the diagonal Omega on Wxh only, and the first target step
/// that follows from that pass live here; everything else is shared.
/// </summary>
internal sealed partial class Lra<TLoss>
{
    /// <summary>
    /// 3-4. For l = T-1 down to 1: the full derivatives of Lr_l, clipped and summed, then the
    /// target of step l-1. Step 0 is never updated and its local loss is 0.
    /// </summary>
    private void ReferenceSteps()
    {
        var ws = _ws;
        int bs = B * S;
        Span<float> z = ws.Z;
        for (int l = T - 1; l >= 1; l--)
        {
            _gWhh.Span.Clear();
            _gWxh.Span.Clear();
            _gbh.Span.Clear();
            Diagnostics.LocalLosses[l] = StepLossGradients(l);
            AccumulateStep(l);

            // Target of step l-1. k = 1: g = dLr_l/da_{l-1} from the full pass, and the diagonal
            // Omega of Gz = dLr_l/dz_l at h^ = a_{l-1}, whose tanh is z_{l-1}. k > 1: the loss is
            // l(z_l, p(h^)): only p depends on h^.
            Span<float> grad = _grad.Span;
            Step(_passA.Span, l - 1, bs).CopyTo(grad);
            if (_s.Alpha != 0f)
            {
                MatMul.MultiplyTransposed(ws.PaddedWeights.Summation, _gz.Span, ws.PaddedWeights.Whh, B, S, H, S, _m.Span);
                AddOmegaGradientA(_gz.Span, _m.Span, Step(z, l - 1, bs), grad);
            }
            SearchTarget(l, Reductions.Norm(grad), Step(z, l, bs));
        }
    }

    /// <summary>
    /// Lr_l and its full derivatives into gWhh, gWxh, gbh. Leaves dLr_l/da_{l-1} in row block l - 1 of
    /// the pass and Gz = dLr_l/dz_l in gz for the first target step. Returns Lr_l.
    /// </summary>
    private float StepLossGradients(int l)
    {
        var ws = _ws;
        var p = ws.PaddedWeights;
        int bs = B * S, bi = B * I, count = B * H;
        Span<float> x = _batch.X, z = ws.Z, zHat = _zHat.Span;
        Span<float> da = Step(_passA.Span, l, bs), gz = _gz.Span, dq = _dq.Span, tmp = _nd.Span;
        Span<float> gWhh = _gWhh.Span, gWxh = _gWxh.Span, gbh = _gbh.Span;
        float loss;
        if (l == T - 1)
        {
            // Lr = l(z_{T-1}, z^_{T-1}) with z^_{T-1} = tanh(a_{T-1} - C): both arguments hang off
            // a_{T-1}, so its adjoint is l'_1 (1 - z²) + l'_2 (1 - z^²).
            var zl = Step(z, l, bs);
            var zHatL = Step(zHat, l, bs);
            loss = LocalLoss.Forward<TLoss>(zl, zHatL, count);
            LocalLoss.Backward<TLoss>(zl, zHatL, zl, count, da);
            LocalLoss.Backward<TLoss>(zHatL, zl, zHatL, count, tmp);
            AddInPlace(da, tmp);
            LocalLoss.Backward<TLoss>(zl, zHatL, default, count, gz);
            FullBackward(l);
            return loss;
        }

        // Lr_l = l(z_{l+1}, p_{l+1}), p_{l+1} = tanh(q), q = z^_l Whh + x_{l+1} Wxh + bh, z^_l = tanh(a_l - C_l).
        var zl1 = Step(z, l + 1, bs);
        var zlHat = Step(zHat, l, bs);
        Span<float> pp = _tp.Span, dA1 = _delta.Span;
        InputTerm(l + 1, pp);
        MatMul.MultiplyAdd(zlHat, p.Whh, pp, B, H, S, S, pp);
        Activations.TanhForward(pp, pp);
        loss = LocalLoss.Forward<TLoss>(zl1, pp, count);
        // Adjoints: state branch at a_{l+1}, target branch at q; each has its direct weight terms.
        LocalLoss.Backward<TLoss>(zl1, pp, zl1, count, dA1);
        LocalLoss.Backward<TLoss>(pp, zl1, pp, count, dq);
        MatMul.TransposedMultiplyAdd(Step(z, l, bs), dA1, B, H, S, S, gWhh);
        MatMul.TransposedMultiplyAdd(zlHat, dq, B, H, S, S, gWhh);
        dq.CopyTo(tmp);
        AddInPlace(tmp, dA1);
        MatMul.TransposedMultiplyAdd(x.Slice((l + 1) * bi, bi), tmp, B, I, S, gWxh);
        Reductions.SumRowsAdd(tmp, B, S, gbh);
        // Into a_l: the state branch through (1 - z_l²), the target branch through (1 - z^_l²).
        MatMul.MultiplyTransposed(p.Summation, dA1, p.Whh, B, S, H, S, gz);
        Activations.TanhBackward(Step(z, l, bs), gz, da);
        MatMul.MultiplyTransposed(p.Summation, dq, p.Whh, B, S, H, S, tmp);
        Activations.TanhBackward(zlHat, tmp, tmp);
        AddInPlace(da, tmp);

        if (_s.Alpha != 0f && loss != 0f)
        {
            // The diagonal Omega(G, Whh, a_l) with G = dLr_l/da_{l+1}: M = G Whhᵀ is gz. Only Wxh
            // takes its derivative, through a_l and every earlier step.
            Span<float> w = Step(_passOmega.Span, l, bs);
            w.Clear();
            Diagnostics.OmegaValues[l] = Omega.DiagonalBackwardA(dA1, gz, Step(z, l, bs), B, H, S, _s.Alpha, w).Value;
            OmegaIntoWxh(l);
        }
        FullBackward(l);
        return loss;
    }

    /// <summary>
    /// An ordinary BPTT pass from the adjoint of a_start, found in row block start of the pass, back to
    /// a_0: each step's adjoint goes to its row block, then every step's weight terms are added to
    /// gWhh, gWxh, gbh at once, as products whose inner dimension runs over all the steps' rows.
    /// </summary>
    private void FullBackward(int start)
    {
        var ws = _ws;
        int bs = B * S, bi = B * I;
        Span<float> pass = _passA.Span;
        Propagate(pass, start);
        if (start >= 1) MatMul.TransposedMultiplyAdd(ws.Z[..(start * bs)], pass.Slice(bs, start * bs), start * B, H, S, S, _gWhh.Span);
        MatMul.TransposedMultiplyAdd(_batch.X[..((start + 1) * bi)], pass[..((start + 1) * bs)], (start + 1) * B, I, S, _gWxh.Span);
        Reductions.SumRowsAdd(pass, (start + 1) * B, S, _gbh.Span);
    }

    /// <summary>gWxh += the Wxh part of a BPTT pass of the adjoint of a_start in row block start of the Omega pass, back to a_0.</summary>
    private void OmegaIntoWxh(int start)
    {
        var ws = _ws;
        int bs = B * S, bi = B * I;
        Span<float> pass = _passOmega.Span;
        Propagate(pass, start);
        MatMul.TransposedMultiplyAdd(_batch.X[..((start + 1) * bi)], pass[..((start + 1) * bs)], (start + 1) * B, I, S, _gWxh.Span);
    }

    /// <summary>Row blocks start - 1 .. 0 of a pass from block start: adjoint_{t-1} = (adjoint_t Whhᵀ)(1 - z_{t-1}²).</summary>
    private void Propagate(Span<float> pass, int start)
    {
        var ws = _ws;
        int bs = B * S;
        for (int t = start; t >= 1; t--)
        {
            var next = Step(pass, t - 1, bs);
            MatMul.MultiplyTransposed(ws.PaddedWeights.Summation, Step(pass, t, bs), ws.PaddedWeights.Whh, B, S, H, S, next);
            Activations.TanhBackward(Step(ws.Z, t - 1, bs), next, next);
        }
    }

    private static void AddInPlace(Span<float> a, ReadOnlySpan<float> b) => System.Numerics.Tensors.TensorPrimitives.Add(a, b, a);
}
