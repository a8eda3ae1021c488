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
        int bh = B * H;
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
            Step(_passA.Span, l - 1, bh).CopyTo(grad);
            if (_s.Alpha != 0f)
            {
                MatMul.MultiplyTransposed(_gz.Span, ws.Parameters.Whh, B, H, H, _m.Span);
                AddOmegaGradientA(_gz.Span, _m.Span, Step(z, l - 1, bh), grad);
            }
            SearchTarget(l, Reductions.Norm(grad), Step(z, l, bh));
        }
    }

    /// <summary>
    /// Lr_l and its full derivatives into gWhh, gWxh, gbh. Leaves dLr_l/da_{l-1} in row block l - 1 of
    /// the pass and Gz = dLr_l/dz_l in gz for the first target step. Returns Lr_l.
    /// </summary>
    private float StepLossGradients(int l)
    {
        var ws = _ws;
        var p = ws.Parameters;
        int bh = B * H, bi = B * I;
        Span<float> x = ws.X, z = ws.Z, zHat = _zHat.Span;
        Span<float> da = Step(_passA.Span, l, bh), gz = _gz.Span, dq = _dq.Span, tmp = _nd.Span;
        Span<float> gWhh = _gWhh.Span, gWxh = _gWxh.Span, gbh = _gbh.Span;
        float loss;
        if (l == T - 1)
        {
            // Lr = l(z_{T-1}, z^_{T-1}) with z^_{T-1} = tanh(a_{T-1} - C): both arguments hang off
            // a_{T-1}, so its adjoint is l'_1 (1 - z²) + l'_2 (1 - z^²).
            var zl = Step(z, l, bh);
            var zHatL = Step(zHat, l, bh);
            loss = LocalLoss.Forward<TLoss>(zl, zHatL);
            LocalLoss.Backward<TLoss>(zl, zHatL, zl, da);
            LocalLoss.Backward<TLoss>(zHatL, zl, zHatL, tmp);
            AddInPlace(da, tmp);
            LocalLoss.Backward<TLoss>(zl, zHatL, default, gz);
            FullBackward(l);
            return loss;
        }

        // Lr_l = l(z_{l+1}, p_{l+1}), p_{l+1} = tanh(q), q = z^_l Whh + x_{l+1} Wxh + bh, z^_l = tanh(a_l - C_l).
        var zl1 = Step(z, l + 1, bh);
        var zlHat = Step(zHat, l, bh);
        Span<float> pp = _tp.Span, dA1 = _delta.Span;
        Reductions.BroadcastRows(p.Bh, B, pp);
        MatMul.MultiplyAdd(x.Slice((l + 1) * bi, bi), p.Wxh, B, I, H, pp);
        MatMul.MultiplyAdd(zlHat, p.Whh, B, H, H, pp);
        Activations.TanhForward(pp, pp);
        loss = LocalLoss.Forward<TLoss>(zl1, pp);
        // Adjoints: state branch at a_{l+1}, target branch at q; each has its direct weight terms.
        LocalLoss.Backward<TLoss>(zl1, pp, zl1, dA1);
        LocalLoss.Backward<TLoss>(pp, zl1, pp, dq);
        MatMul.TransposedMultiplyAdd(Step(z, l, bh), dA1, B, H, H, gWhh);
        MatMul.TransposedMultiplyAdd(zlHat, dq, B, H, H, gWhh);
        dq.CopyTo(tmp);
        AddInPlace(tmp, dA1);
        MatMul.TransposedMultiplyAdd(x.Slice((l + 1) * bi, bi), tmp, B, I, H, gWxh);
        Reductions.SumRowsAdd(tmp, B, H, gbh);
        // Into a_l: the state branch through (1 - z_l²), the target branch through (1 - z^_l²).
        MatMul.MultiplyTransposed(dA1, p.Whh, B, H, H, gz);
        Activations.TanhBackward(Step(z, l, bh), gz, da);
        MatMul.MultiplyTransposed(dq, p.Whh, B, H, H, tmp);
        Activations.TanhBackward(zlHat, tmp, tmp);
        AddInPlace(da, tmp);

        if (_s.Alpha != 0f && loss != 0f)
        {
            // The diagonal Omega(G, Whh, a_l) with G = dLr_l/da_{l+1}: M = G Whhᵀ is gz. Only Wxh
            // takes its derivative, through a_l and every earlier step.
            Span<float> w = Step(_passOmega.Span, l, bh);
            w.Clear();
            Diagnostics.OmegaValues[l] = Omega.DiagonalBackwardA(dA1, gz, Step(z, l, bh), B, H, _s.Alpha, w).Value;
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
        int bh = B * H, bi = B * I;
        Span<float> pass = _passA.Span;
        Propagate(pass, start);
        if (start >= 1) MatMul.TransposedMultiplyAdd(ws.Z[..(start * bh)], pass.Slice(bh, start * bh), start * B, H, H, _gWhh.Span);
        MatMul.TransposedMultiplyAdd(ws.X[..((start + 1) * bi)], pass[..((start + 1) * bh)], (start + 1) * B, I, H, _gWxh.Span);
        Reductions.SumRowsAdd(pass, (start + 1) * B, H, _gbh.Span);
    }

    /// <summary>gWxh += the Wxh part of a BPTT pass of the adjoint of a_start in row block start of the Omega pass, back to a_0.</summary>
    private void OmegaIntoWxh(int start)
    {
        var ws = _ws;
        int bh = B * H, bi = B * I;
        Span<float> pass = _passOmega.Span;
        Propagate(pass, start);
        MatMul.TransposedMultiplyAdd(ws.X[..((start + 1) * bi)], pass[..((start + 1) * bh)], (start + 1) * B, I, H, _gWxh.Span);
    }

    /// <summary>Row blocks start - 1 .. 0 of a pass from block start: adjoint_{t-1} = (adjoint_t Whhᵀ)(1 - z_{t-1}²).</summary>
    private void Propagate(Span<float> pass, int start)
    {
        var ws = _ws;
        int bh = B * H;
        for (int t = start; t >= 1; t--)
        {
            var next = Step(pass, t - 1, bh);
            MatMul.MultiplyTransposed(Step(pass, t, bh), ws.Parameters.Whh, B, H, H, next);
            Activations.TanhBackward(Step(ws.Z, t - 1, bh), next, next);
        }
    }

    private static void AddInPlace(Span<float> a, ReadOnlySpan<float> b) => System.Numerics.Tensors.TensorPrimitives.Add(a, b, a);
}
