using System.Numerics.Tensors;
using FastLra.Kernels;
using FastLra.Model;

namespace FastLra.Training;

/// <summary>
/// Hyper-parameters of an LRA gradient computation. OmegaGuard guards the Omega of the target search only (its dOmega/dh^
/// terms, where the signal reaches rounding level); the weight updates keep the paper's Omega,
/// which is where the regulariser's benefit comes from (docs/algorithm.md, "Guarded Omega").
/// </summary>
internal readonly record struct LraSettings(
    LraSemantics Semantics, int K, float Beta, float Clip, ClipMode ClipMode, float Alpha, LocalLossKind LocalLoss, float OmegaGuard = 0f)
{
    public static LraSettings From(TrainingOptions o) => new(o.Semantics, o.K, o.Beta, o.Clip, o.ClipMode, o.Alpha, o.LocalLoss, o.OmegaGuard);
}

/// <summary>Creates the LRA trainer specialised on its local loss.</summary>
internal static class Lra
{
    /// <summary>Scratch floats an LRA trainer carves from the workspace: the count of its own carving (<see cref="Lra{TLoss}"/>).</summary>
    public static long ScratchLength(RnnShape shape, int steps, int batch, LraSemantics semantics)
    {
        var counter = Carver.Counting();
        Lra<MseLoss>.Carve(ref counter, new ScratchSizes(shape, steps, batch, PaddedParameters.StrideOf(shape.Hidden)), semantics == LraSemantics.Reference);
        return counter.Used;
    }

    /// <summary>
    /// LRA over the workspace's batches. Per-step outputs (a washout below T-1) are the local
    /// semantics' alone: the published code reads one output, so the reference semantics refuses them.
    /// </summary>
    public static IGradientAlgorithm Create(Workspace workspace, LraSettings settings) =>
        settings.LocalLoss == LocalLossKind.Mse
            ? new Lra<MseLoss>(workspace, settings)
            : new Lra<LogPenaltyLoss>(workspace, settings);

    /// <summary>Why the reference semantics refuses per-step outputs, as one line.</summary>
    public const string ReferencePerStepRefusal =
        "the reference semantics has no per-step outputs (the published code reads one output after the last step); use --semantics local, or --outputs last";
}

/// <summary>
/// Local representation alignment for the tanh RNN, written as the equations of
/// docs/algorithm.md in the same order and names: the output layer's update, the top target by
/// K gradient steps, then for each step t from T-1 down its local update and the target of step
/// t-1. This file holds the shared parts and the local semantics; Lra.Reference.cs holds what
/// the reference semantics does instead (its full-graph gradients, the extra O(T²) work).
/// All buffers are carved from the workspace once; a call allocates nothing. Every B x H matrix is
/// kept in rows of the padded stride S (<see cref="PaddedParameters"/>), its padding zero: the
/// weights' zero padding columns keep it zero through the products, and every element-wise step
/// maps zeros to zeros. With per-step outputs (docs/algorithm.md, "Per-step outputs") the output
/// layer sums over the steps w .. T-1, and the target of every such step adds its own output loss
/// to the alignment with the next step's target.
/// </summary>
internal sealed partial class Lra<TLoss> : IGradientAlgorithm
    where TLoss : struct, ILocalLoss
{
    /// <summary>Number of B x S scratch buffers.</summary>
    internal const int Buffers = 14;

    private readonly Workspace _ws;
    private readonly GlobalLossKind _loss;
    private readonly LraSettings _s;

    // The batch of the computation under way (the workspace's own until a call passes another).
    private SequenceBatch _batch;

    // The batch's z_{-1} (B x S), or empty for zero: set by each ComputeGradients.
    private Memory<float> _h0;
    private readonly bool _reference;

    // B x S unless noted. a: T x B x S pre-activations of the forward pass; zHat: T x B x S targets; oHat, gradOHat: B x O;
    // gWhh (H x S), gWxh (I x S), gbh (S): one step's update. signals (2B x S) = [s; delta] and left (2B x S): a local
    // update's two signals and the states they multiply, stacked so the update's weight terms are one product each.
    private readonly Memory<float> _a, _zHat, _tp, _g, _m, _grad, _d, _n, _nd, _u, _delta, _s1, _signals, _left,
        _dq, _gz, _oHat, _gradOHat, _gWhh, _gWxh, _gbh;

    // A target's h^ and tanh(h^), and the buffers a local target step writes the next ones to (swapped in after it).
    private Memory<float> _hHat, _th, _hNext, _thNext;

    // Reference semantics only, T x B x S: a full backward pass's adjoints of a_0 .. a_l, and those of the Omega pass.
    private readonly Memory<float> _passA, _passOmega;

    public Lra(Workspace workspace, LraSettings settings)
    {
        _ws = workspace;
        _loss = workspace.Layout.Loss;
        _s = settings;
        _batch = workspace.Sequences;
        _reference = settings.Semantics == LraSemantics.Reference;
        var shape = workspace.Shape;
        int bs = workspace.Batch * workspace.Stride, bo = workspace.Batch * shape.Outputs;
        if (_reference && workspace.Batch > shape.Hidden)
            throw new ArgumentException("Reference semantics needs B <= H (its Omega reads the diagonal of a B x H matrix).");
        if (_reference && workspace.Layout.PerStep) throw new ArgumentException(Lra.ReferencePerStepRefusal);
        var carver = workspace.CarveScratch();
        var b = Carve(ref carver, new ScratchSizes(shape, workspace.Steps, workspace.Batch, workspace.Stride), _reference);
        (_a, _zHat, _signals, _left, _oHat, _gradOHat, _gWhh, _gWxh, _gbh, _passA, _passOmega) =
            (b.A, b.ZHat, b.Signals, b.Left, b.OHat, b.GradOHat, b.GWhh, b.GWxh, b.Gbh, b.PassA, b.PassOmega);
        var buffers = b.Rows;
        (_hHat, _th, _tp, _g, _m, _grad, _d, _n, _nd, _u) =
            (buffers[0], buffers[1], buffers[2], buffers[3], buffers[4], buffers[5], buffers[6], buffers[7], buffers[8], buffers[9]);
        (_dq, _gz, _hNext, _thNext) = (buffers[10], buffers[11], buffers[12], buffers[13]);
        (_s1, _delta) = (_signals[..bs], _signals[bs..]);
        Diagnostics = new Diagnostics(workspace.Steps);
    }

    /// <summary>
    /// The scratch, in rows of the padded stride S: the pre-activations a and the targets z^ (T x B x S
    /// each), <see cref="Buffers"/> rows of B x S, the stacked pairs signals and left (2B x S each), the
    /// target output and its gradient (B x O each), one step's update gWhh (H x S), gWxh (I x S), gbh
    /// (S), and for the reference semantics the adjoints of its full backward passes (T x B x S, twice).
    /// </summary>
    internal readonly record struct Segments(Memory<float> A, Memory<float> ZHat, Memory<float>[] Rows, Memory<float> Signals, Memory<float> Left,
        Memory<float> OHat, Memory<float> GradOHat, Memory<float> GWhh, Memory<float> GWxh, Memory<float> Gbh, Memory<float> PassA, Memory<float> PassOmega);

    /// <summary>Carves <see cref="Segments"/> (or, with a counting carver, counts them).</summary>
    internal static Segments Carve(ref Carver c, ScratchSizes z, bool reference)
    {
        var shape = z.Shape;
        long bs = z.Batch * z.Stride, bo = z.Batch * shape.Outputs, tbs = z.Steps * bs;
        var a = c.Take(tbs);
        var zHat = c.Take(tbs);
        var rows = new Memory<float>[Buffers];
        for (int i = 0; i < Buffers; i++) rows[i] = c.Take(bs);
        return new(a, zHat, rows, c.Take(2 * bs), c.Take(2 * bs), c.Take(bo), c.Take(bo), c.Take(shape.Hidden * z.Stride), c.Take(shape.Inputs * z.Stride),
            c.Take(z.Stride), c.Take(reference ? tbs : 0), c.Take(reference ? tbs : 0));
    }

    public bool ReferenceValidationStart => _reference;

    public Diagnostics Diagnostics { get; }

    private int T => _ws.Steps;
    private int B => _ws.Batch;
    private int H => _ws.Shape.Hidden;
    private int I => _ws.Shape.Inputs;
    private int O => _ws.Shape.Outputs;

    /// <summary>w, the first step with an output.</summary>
    private int W => _ws.Layout.Washout;

    /// <summary>R = T - w, the steps with an output.</summary>
    private int R => _ws.Layout.OutputSteps;

    /// <summary>Step t's rows of an R x B x O buffer of outputs (t ≥ w).</summary>
    private Span<float> OutputRows(Span<float> buffer, int t) => buffer.Slice((t - W) * B * O, B * O);

    /// <summary>S, the floats from one row of hidden values to the next.</summary>
    private int S => _ws.Stride;

    /// <summary>Rows t of a T x B x S buffer.</summary>
    private static Span<float> Step(Span<float> buffer, int t, int bs) => buffer.Slice(t * bs, bs);

    public float ComputeGradients(SequenceBatch batch)
    {
        var ws = _ws;
        ws.Check(batch);
        _batch = batch;
        var p = ws.PaddedWeights;
        p.Load();
        _h0 = ws.InitialState(batch);
        if (_reference && !_h0.IsEmpty) ThrowHelper.Argument("The reference semantics starts every sequence from zero; it takes no initial state.");
        Rnn.Forward(p, batch.X, _h0.Span, T, B, W, _a.Span, ws.Z, ws.O);
        float loss = GlobalLoss.ForwardBackward(_loss, ws.O, batch.Y, R * B, O, ws.GradO);
        ws.PaddedGradients.Clear();
        Diagnostics.ClearSteps();

        OutputLayer();
        TopTarget();
        if (_reference)
        {
            // The published code reports E at the top target's output, not at the forward output.
            Rnn.OutputForward(p, Step(_zHat.Span, T - 1, B * S), B, _oHat.Span);
            loss = GlobalLoss.Forward(_loss, _oHat.Span, batch.Y, B, O);
            ReferenceSteps();
        }
        else
        {
            LocalSteps();
        }
        ws.PaddedGradients.Store();
        if (Diagnostics.Detailed) Diagnostics.GradientNorm = Reductions.Norm(ws.Gradients.Data);
        return loss;
    }

    /// <summary>
    /// 1. dWhy = clip_c(Σ_{t ≥ w} z_tᵀ G_{o_t} + alpha dOmega(G_{o_t}, Why, a_t)/dWhy), dby = Σ G_o
    /// (one clip of the sum; w = T-1 for one output). The reference semantics uses the diagonal Omega.
    /// </summary>
    private void OutputLayer()
    {
        var ws = _ws;
        var g = ws.PaddedGradients;
        int bs = B * S;
        MatMul.TransposedMultiplyAdd(ws.Z.Slice(W * bs, R * bs), ws.GradO, R * B, H, O, S, g.Why);
        if (_s.Alpha != 0f)
        {
            Span<float> m = _m.Span, d = _d.Span, n = _n.Span;
            float omegas = 0f;
            for (int t = W; t < T; t++)
            {
                var gradO = OutputRows(ws.GradO, t);
                MatMul.MultiplyTransposed(ws.PaddedWeights.Summation, gradO, ws.PaddedWeights.Why, B, O, H, S, m);
                BuildD(Step(ws.Z, t, bs), d);
                var omega = Omega.Forward(gradO, m, d, n);
                Omega.BackwardW(n, d, gradO, B, H, S, O, omega, _s.Alpha, _nd.Span, g.Why);
                omegas += omega.Value;
            }
            Diagnostics.OutputOmega = omegas;
        }
        Clipping.Clip(g.Why, _s.Clip, _s.ClipMode);
        Reductions.SumRowsAdd(ws.GradO, R * B, O, g.By);
    }

    /// <summary>
    /// 2. Top target: h^ = a_{T-1}; K times: G = dE/do at o = tanh(h^) Why + by (step T-1's share
    /// of E), g = (G Whyᵀ)(1 - tanh(h^)²) + alpha dOmega(G, Why, h^)/dh^, h^ -= beta clip_c(g).
    /// z^_{T-1} = tanh(h^).
    /// </summary>
    private void TopTarget()
    {
        int bs = B * S;
        Step(_a.Span, T - 1, bs).CopyTo(_hHat.Span);
        Step(_ws.Z, T - 1, bs).CopyTo(_th.Span); // tanh(a_{T-1})
        for (int k = 0; k < _s.K; k++)
        {
            _grad.Span.Clear();
            AddOutputTargetGradient(T - 1, _grad.Span);
            DescendTanh(Reductions.Norm(_grad.Span), k == _s.K - 1 ? Step(_zHat.Span, T - 1, bs) : _th.Span);
        }
    }

    /// <summary>
    /// grad += (G Whyᵀ)(1 - tanh(h^)²) + alpha dOmega(G, Why, h^)/dh^, the gradient of step t's output
    /// term of a target's objective: G = dE/do at o = tanh(h^) Why + by against step t's targets,
    /// scaled by 1/R (the step's share of E), with tanh(h^) in th.
    /// </summary>
    internal void AddOutputTargetGradient(int t, Span<float> grad)
    {
        var p = _ws.PaddedWeights;
        Span<float> th = _th.Span, m = _m.Span, term = _g.Span, oHat = _oHat.Span, gradO = _gradOHat.Span;
        Rnn.OutputForward(p, th, B, oHat);
        GlobalLoss.Backward(_loss, oHat, OutputRows(_batch.Y, t), B, O, R * B, gradO);
        MatMul.MultiplyTransposed(p.Summation, gradO, p.Why, B, O, H, S, m);
        Activations.TanhBackward(th, m, term);
        TensorPrimitives.Add(grad, term, grad);
        if (_s.Alpha != 0f) AddOmegaGradientA(gradO, m, th, grad);
    }

    /// <summary>
    /// 3. Local semantics, for t = T-1 down to 0: the local update from
    /// delta_t = l'_1(z_t, z^_t)(1 - z_t²) (plus alpha times the Omega terms of step t), then the
    /// target of step t-1. The target search starts at h^ = a_{t-1}, where its prediction
    /// p = tanh(h^) Whh + x_t Wxh + bh is a_t: its signal G is delta_t and its Omega is the update's
    /// Omega(delta_t, Whh, a_{t-1}), so the first step's gradient, N + alpha dOmega/da_{t-1} with
    /// N = (delta_t Whhᵀ)(1 - z_{t-1}²), comes from the update's own terms.
    /// </summary>
    private void LocalSteps()
    {
        var ws = _ws;
        var p = ws.PaddedWeights;
        int bs = B * S, bi = B * I;
        Span<float> x = _batch.X, z = ws.Z, zHat = _zHat.Span, grad = _grad.Span;
        Span<float> signals = _signals.Span, s = _s1.Span, delta = _delta.Span, left = _left.Span;
        Span<float> gWhh = _gWhh.Span, gWxh = _gWxh.Span, gbh = _gbh.Span;
        for (int t = T - 1; t >= 0; t--)
        {
            var zt = Step(z, t, bs);
            var zHatT = Step(zHat, t, bs);
            if (Diagnostics.Detailed) Diagnostics.LocalLosses[t] = LocalLoss.Forward<TLoss>(zt, zHatT, B * H);
            LocalLoss.Backward<TLoss>(zt, zHatT, zt, B * H, delta);
            gWhh.Clear();
            gWxh.Clear();
            gbh.Clear();
            double squares = 0;
            // z_{t-1}: at t = 0 the batch's initial state, a constant (empty when it is zero).
            Span<float> zPrev = t >= 1 ? Step(z, t - 1, bs) : _h0.Span;
            bool omegaStep = _s.Alpha != 0f && !zPrev.IsEmpty;
            if (t >= 1 || omegaStep)
            {
                // grad = N = (delta_t Whhᵀ)(1 - z_{t-1}²).
                MatMul.MultiplyTransposed(p.Summation, delta, p.Whh, B, S, H, S, _m.Span);
                squares = Elementwise.Map<TanhBackwardOperator>(zPrev, _m.Span, default, 0f, grad);
            }
            if (omegaStep)
            {
                // Omega(delta_t, Whh, a_{t-1}): s = alpha dOmega/da_{t-1} reaches Whh, Wxh, bh through
                // a_{t-1}, and dOmega/dWhh = cW (N D)ᵀ delta_t. With L = z_{t-1} + alpha cW N D, Whh's
                // terms z_{t-1}ᵀ delta_t + alpha dOmega/dWhh + z_{t-2}ᵀ s are [z_{t-2}; L]ᵀ [s; delta_t]
                // (a zero z_{-1} drops the first half at t = 1), and Wxh's are [x_{t-1}; x_t]ᵀ [s; delta_t].
                // At t = 0 from a given state, a_{-1} lies before the batch: only the direct terms remain.
                var omega = OmegaValue.From(Math.Sqrt(squares), Reductions.Norm(delta));
                Diagnostics.OmegaValues[t] = omega.Value;
                Elementwise.Map<OmegaLeftOperator>(zPrev, grad, default, _s.Alpha * omega.CoefficientW, left[bs..]);
                if (t == 0)
                {
                    MatMul.TransposedMultiplyAdd(left[bs..], delta, B, H, S, S, gWhh);
                    MatMul.TransposedMultiplyAdd(x[..bi], delta, B, I, S, gWxh);
                    Reductions.SumRowsAdd(delta, B, S, gbh);
                }
                else
                {
                    s.Clear();
                    Omega.BackwardA(grad, zPrev, omega, _s.Alpha, s);
                    int first = t >= 2 || !_h0.IsEmpty ? 0 : bs;
                    if (t >= 2) Step(z, t - 2, bs).CopyTo(left);
                    else if (!_h0.IsEmpty) _h0.Span.CopyTo(left);
                    MatMul.TransposedMultiplyAdd(left[first..], signals[first..], (2 * bs - first) / S, H, S, S, gWhh);
                    MatMul.TransposedMultiplyAdd(x.Slice((t - 1) * bi, 2 * bi), signals, 2 * B, I, S, gWxh);
                    Reductions.SumRowsAdd(signals, 2 * B, S, gbh);
                    squares = Elementwise.Map<AddOperator>(grad, s, default, 0f, grad);
                }
            }
            else
            {
                if (!zPrev.IsEmpty) MatMul.TransposedMultiplyAdd(zPrev, delta, B, H, S, S, gWhh);
                MatMul.TransposedMultiplyAdd(x.Slice(t * bi, bi), delta, B, I, S, gWxh);
                Reductions.SumRowsAdd(delta, B, S, gbh);
            }
            AccumulateStep(t);
            if (t >= 1) SearchTarget(t, (float)Math.Sqrt(squares), zHatT);
        }
    }

    /// <summary>
    /// The target of step t-1, given the first step's alignment gradient in grad and its norm:
    /// h^ = a_{t-1}, then K steps h^ -= beta clip_c(g) towards p(h^) matching v, the later ones from
    /// <see cref="LocalTargetStep"/> or <see cref="ReferenceTargetGradient"/>; z^_{t-1} = tanh(h^). Each
    /// step's tanh(h^) comes with its descent. When step t-1 has an output of its own, every step's
    /// g also holds that output's term (<see cref="SequenceTargetStep"/>).
    /// </summary>
    private void SearchTarget(int t, float firstNorm, ReadOnlySpan<float> v)
    {
        int bs = B * S;
        bool output = t - 1 >= W;
        Step(_a.Span, t - 1, bs).CopyTo(_hHat.Span);
        InputTerm(t, _u.Span);
        if (output)
        {
            Step(_ws.Z, t - 1, bs).CopyTo(_th.Span); // tanh(a_{t-1})
            AddOutputTargetGradient(t - 1, _grad.Span);
            firstNorm = Reductions.Norm(_grad.Span);
        }
        DescendTanh(firstNorm, _th.Span);
        for (int k = 1; k < _s.K; k++)
        {
            if (_reference) DescendTanh(ReferenceTargetGradient(v), _th.Span);
            else if (output) SequenceTargetStep(v, t - 1);
            else LocalTargetStep(v);
        }
        _th.Span.CopyTo(Step(_zHat.Span, t - 1, bs));
    }

    /// <summary>
    /// A local target step for a step t &lt; T-1 with an output of its own: g = the alignment term's
    /// gradient towards v = z^_{t+1} (as <see cref="LocalTargetStep"/>, with its Omega) + the output
    /// term's (<see cref="AddOutputTargetGradient"/>), then one clip of the sum and the descent.
    /// </summary>
    private void SequenceTargetStep(ReadOnlySpan<float> v, int t)
    {
        Span<float> th = _th.Span, grad = _grad.Span;
        var omega = AlignmentGradient(v);
        if (_s.Alpha != 0f) Omega.BackwardA(grad, th, omega, _s.Alpha, grad);
        AddOutputTargetGradient(t, grad);
        DescendTanh(Reductions.Norm(grad), th);
    }

    /// <summary>
    /// The alignment term's gradient for h^ against v, with tanh(h^) in th, into grad: G = l'_1(p, v)(1 - p²)
    /// for p = tanh(tanh(h^) Whh + u), grad = (G Whhᵀ)(1 - tanh(h^)²), which for the plain D is Omega's
    /// N. In place, to keep the step's buffers few (it touches more than L1 holds): G over p with
    /// tanh(p) fused in, and ||G||² and ||N||² come with the maps. Returns Omega(G, Whh, h^).
    /// </summary>
    private OmegaValue AlignmentGradient(ReadOnlySpan<float> v)
    {
        var whh = _ws.PaddedWeights.Whh;
        Span<float> th = _th.Span, tp = _tp.Span, grad = _grad.Span;
        MatMul.MultiplyAdd(th, whh, _u.Span, B, H, S, S, tp);
        double gg = Elementwise.Map<TanhLossSlopeOperator<TLoss>>(tp, v, default, 1f / (B * H), tp);
        MatMul.MultiplyTransposed(_ws.PaddedWeights.Summation, tp, whh, B, S, H, S, grad);
        double squares = Elementwise.Map<TanhBackwardOperator>(th, grad, default, 0f, grad);
        return OmegaValue.From(Math.Sqrt(squares), Math.Sqrt(gg), _s.OmegaGuard);
    }

    /// <summary>
    /// One local target step for h^ against v = z^_t, with tanh(h^) in th: G = l'_1(p, v)(1 - p²) for
    /// p = tanh(tanh(h^) Whh + u), grad = (G Whhᵀ)(1 - tanh(h^)²) + alpha dOmega(G, Whh, h^)/dh^,
    /// then h^ -= beta clip_c(grad) and th = tanh(h^). The descent is taken with clip factor 1 into the
    /// second h^ and th buffers in the same pass that finishes grad and its norm, and they swap in; a
    /// factor below 1 redoes it from the untouched h^ (target gradients are means over B x H entries,
    /// so the clip rarely acts). Returns ||grad||.
    /// </summary>
    internal float LocalTargetStep(ReadOnlySpan<float> v)
    {
        Span<float> th = _th.Span, grad = _grad.Span;
        // The alignment gradient, then the Omega term and the descent in one pass.
        var omega = AlignmentGradient(v);
        float c = _s.Alpha == 0f ? 0f : _s.Alpha * omega.CoefficientA;
        float norm = (float)Math.Sqrt(Omega.DescendTanh(grad, c, -_s.Beta, _hHat.Span, th, _hNext.Span, _thNext.Span));
        float factor = Clipping.Factor(norm, _s.Clip, _s.ClipMode);
        if (factor == 1f)
        {
            (_hHat, _hNext) = (_hNext, _hHat);
            (_th, _thNext) = (_thNext, _th);
        }
        else
        {
            Activations.DescendTanh(grad, -_s.Beta * factor, _hHat.Span, th);
        }
        return norm;
    }

    /// <summary>u (B x S) = x_t Wxh + bh, the part of step t's pre-activation a target does not change.</summary>
    private void InputTerm(int t, Span<float> u)
    {
        var p = _ws.PaddedWeights;
        Reductions.BroadcastRows(p.Bh, B, u);
        MatMul.MultiplyAdd(_batch.X.Slice(t * B * I, B * I), p.Wxh, B, I, S, u);
    }

    /// <summary>
    /// The gradient of a reference target step (k > 1) for h^ against the state v = z_l that the
    /// prediction p = tanh(tanh(h^) Whh + u) should match, with tanh(h^) in th: G = l'_1(p, v)(1 - p²)
    /// (l'_1(p, z_l) = l'_2(z_l, p) for these even losses), grad = (G Whhᵀ)(1 - tanh(h^)²) plus alpha
    /// times the diagonal Omega of Gz = l'_2(z_l, p), without (1 - p²). Returns ||grad||.
    /// </summary>
    private float ReferenceTargetGradient(ReadOnlySpan<float> v)
    {
        var whh = _ws.PaddedWeights.Whh;
        int bs = B * S;
        Span<float> th = _th.Span, tp = _tp.Span, grad = _grad.Span;
        MatMul.MultiplyAdd(th, whh, _u.Span, B, H, S, S, tp);
        Activations.TanhForward(tp, tp);
        if (_s.Alpha == 0f)
        {
            Span<float> g = _g.Span, m = _m.Span;
            LocalLoss.Backward<TLoss>(tp, v, tp, B * H, g);
            MatMul.MultiplyTransposed(_ws.PaddedWeights.Summation, g, whh, B, S, H, S, m);
            return (float)Math.Sqrt(Elementwise.Map<TanhBackwardOperator>(th, m, default, 0f, grad));
        }
        // G and Gz stacked (2B x S), so both products with Whhᵀ are one call.
        Span<float> signals = _signals.Span, products = _left.Span;
        LocalLoss.Backward<TLoss>(tp, v, tp, B * H, signals[..bs]);
        LocalLoss.Backward<TLoss>(tp, v, default, B * H, signals[bs..]);
        MatMul.MultiplyTransposed(_ws.PaddedWeights.Summation, signals, whh, 2 * B, S, H, S, products);
        Activations.TanhBackward(th, products[..bs], grad);
        Omega.DiagonalBackwardA(signals[bs..], products[bs..], th, B, H, S, _s.Alpha, grad, _s.OmegaGuard);
        return Reductions.Norm(grad);
    }

    /// <summary>Test access to the target step's state: h^, tanh(h^), u and the last gradient (B x S each).</summary>
    internal (Memory<float> HHat, Memory<float> TanhHHat, Memory<float> U, Memory<float> Gradient) TargetBuffers => (_hHat, _th, _u, _grad);

    /// <summary>
    /// grad += alpha dOmega(G, W, a)/da, given M = G Wᵀ and t = tanh(a); plain or diagonal D by
    /// semantics. A target's gradient: guarded by OmegaGuard, as every target-search Omega is (the
    /// weight updates' Omega never is).
    /// </summary>
    private void AddOmegaGradientA(ReadOnlySpan<float> signal, ReadOnlySpan<float> m, ReadOnlySpan<float> t, Span<float> grad)
    {
        if (_reference)
        {
            Omega.DiagonalBackwardA(signal, m, t, B, H, S, _s.Alpha, grad, _s.OmegaGuard);
            return;
        }
        Span<float> d = _d.Span, n = _n.Span;
        Omega.PlainD(t, d);
        Omega.BackwardA(n, t, Omega.Forward(signal, m, d, n, _s.OmegaGuard), _s.Alpha, grad);
    }

    private void BuildD(ReadOnlySpan<float> t, Span<float> d)
    {
        if (_reference) Omega.DiagonalD(t, B, H, S, d);
        else Omega.PlainD(t, d);
    }

    /// <summary>h^ -= beta clip_c(grad), given ||grad||, and tanh(h^) into <paramref name="tanhHHat"/>.</summary>
    private void DescendTanh(float norm, Span<float> tanhHHat) =>
        Activations.DescendTanh(_grad.Span, -_s.Beta * Clipping.Factor(norm, _s.Clip, _s.ClipMode), _hHat.Span, tanhHHat);

    /// <summary>dWhh += clip_c(gWhh), dWxh += clip_c(gWxh), dbh += gbh, recording the clipped norms of step t when diagnostics are detailed.</summary>
    private void AccumulateStep(int t)
    {
        var g = _ws.PaddedGradients;
        Span<float> gWhh = _gWhh.Span, gWxh = _gWxh.Span;
        Clipping.Clip(gWhh, _s.Clip, _s.ClipMode);
        Clipping.Clip(gWxh, _s.Clip, _s.ClipMode);
        if (Diagnostics.Detailed)
        {
            Diagnostics.DWhhNorms[t] = Reductions.Norm(gWhh);
            Diagnostics.DWxhNorms[t] = Reductions.Norm(gWxh);
        }
        TensorPrimitives.Add(g.Whh, gWhh, g.Whh);
        TensorPrimitives.Add(g.Wxh, gWxh, g.Wxh);
        TensorPrimitives.Add(g.Bh, _gbh.Span, g.Bh);
    }
}
