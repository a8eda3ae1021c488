using FastLra.Kernels;

namespace FastLra.Model;

/// <summary>
/// One stream's recurrent state for step-by-step inference, as a control loop runs the network:
/// every layer's cell steps (for the paper's network h = tanh(h Whh + x Wxh + bh)), then
/// y = h Why + by from the top layer. A model with a <see cref="Normalization"/> takes
/// x and gives y in original units (x standardised before the step, y scaled back after it).
/// Buffers are allocated in the constructor; a step allocates nothing and takes no lock, and its
/// output equals the trainer's batch forward pass bit for bit (the same kernels, whose per-row
/// arithmetic does not depend on the batch size).
/// Not thread-safe: one state per stream; many states may share one model.
/// </summary>
public sealed class RnnState
{
    private readonly float[] _h, _saved, _scratch, _x, _y;

    /// <summary>A zero state for streaming <paramref name="model"/>; its buffers are the only allocation.</summary>
    public RnnState(RnnModel model)
    {
        Model = model;
        var shape = model.Shape;
        _h = new float[shape.StateLength];
        _saved = new float[shape.StateLength];
        _scratch = new float[Rnn.StepScratchLength(shape, shape.Hidden, 1)];
        _x = new float[shape.Inputs];
        _y = new float[shape.Outputs];
    }

    /// <summary>The model this state steps; <see cref="Step(RnnModel, ReadOnlySpan{float}, Span{float})"/> can step another of the same shape.</summary>
    public RnnModel Model { get; }

    /// <summary>The last output a step gave (zeros before the first): what a refused step gives again.</summary>
    internal Span<float> LastOutput => _y;

    /// <summary>The current state (<see cref="RnnShape.StateLength"/>: each layer's h, then for LSTM its c; H for the paper's network).</summary>
    public ReadOnlySpan<float> Hidden => _h;

    /// <summary>
    /// Advances one step on input x (I) and writes the output y (O). A non-finite x (NaN or
    /// infinite, or one that standardises to it) makes the state non-finite from then on: where
    /// inputs may be bad, use <see cref="TryStep(ReadOnlySpan{float}, Span{float})"/>, which refuses them.
    /// </summary>
    public void Step(ReadOnlySpan<float> x, Span<float> y) => Step(Model, x, y);

    /// <summary>
    /// Advances one step with the weights of <paramref name="model"/> (for example the latest one a
    /// <see cref="ModelPublisher"/> handed out), which must have this state's shape. As
    /// <see cref="Step(ReadOnlySpan{float}, Span{float})"/>, a non-finite x poisons the state.
    /// </summary>
    public void Step(RnnModel model, ReadOnlySpan<float> x, Span<float> y)
    {
        x = Standardized(model, x, y);
        var shape = model.Shape;
        var p = model.Weights;
        Rnn.Step(p, x, 1, fromZero: false, _h, _scratch);
        Rnn.OutputForward(p, TopState(shape), 1, y);
        model.Normalization?.DenormalizeOutputs(y);
        y.CopyTo(_y);
    }

    // x in the units the network reads (standardised when the model carries a normalisation), after the shapes are checked.
    private ReadOnlySpan<float> Standardized(RnnModel model, ReadOnlySpan<float> x, Span<float> y)
    {
        var shape = model.Shape;
        if (shape != Model.Shape || x.Length != shape.Inputs || y.Length != shape.Outputs) ThrowShape(x.Length, y.Length);
        if (model.Normalization is not { } n) return x;
        n.NormalizeInput(x, _x);
        return _x;
    }

    // The top layer's h, which the output reads: the last block, or for LSTM the one before its c.
    private ReadOnlySpan<float> TopState(RnnShape shape) =>
        _h.AsSpan(_h.Length - (shape.Cell == CellKind.Lstm ? 2 : 1) * shape.Hidden, shape.Hidden);

    /// <summary>
    /// As <see cref="Step(ReadOnlySpan{float}, Span{float})"/>, but a step that is not finite is
    /// refused instead of poisoning the state: when x (after standardisation), the new state or y
    /// would hold a NaN or an infinity, it returns false, the state stays as it was, and y receives
    /// the last output this state gave (zeros before its first): sample and hold, finite by
    /// construction. Otherwise it returns true, with the same numbers as Step, bit for bit. No allocation.
    /// </summary>
    public bool TryStep(ReadOnlySpan<float> x, Span<float> y) => TryStep(Model, x, y);

    /// <summary>As <see cref="TryStep(ReadOnlySpan{float}, Span{float})"/>, with the weights of <paramref name="model"/> (this state's shape).</summary>
    public bool TryStep(RnnModel model, ReadOnlySpan<float> x, Span<float> y)
    {
        x = Standardized(model, x, y);
        var shape = model.Shape;
        var p = model.Weights;
        if (Reductions.AllFinite(x))
        {
            _h.CopyTo(_saved, 0);
            Rnn.Step(p, x, 1, fromZero: false, _h, _scratch);
            Rnn.OutputForward(p, TopState(shape), 1, y);
            model.Normalization?.DenormalizeOutputs(y);
            // h is tanh's, in [-1, 1] or NaN, and a NaN in it reaches every output: checking y checks
            // every h; LSTM's c is unbounded and checked itself.
            if (Reductions.AllFinite(y) && (shape.Cell != CellKind.Lstm || Reductions.AllFinite(_h)))
            {
                y.CopyTo(_y);
                return true;
            }
            _saved.CopyTo(_h, 0);
        }
        _y.CopyTo(y);
        return false;
    }

    /// <summary>The state = 0.</summary>
    public void Reset() => Array.Clear(_h);

    /// <summary>The state = h0 (<see cref="RnnShape.StateLength"/>).</summary>
    public void Reset(ReadOnlySpan<float> h0) => Restore(h0);

    /// <summary>Copies the state into destination (<see cref="RnnShape.StateLength"/>), for example to fork or checkpoint a stream.</summary>
    public void Snapshot(Span<float> destination)
    {
        if (destination.Length != _h.Length) ThrowHidden(destination.Length);
        _h.CopyTo(destination);
    }

    /// <summary>Sets the state from source (<see cref="RnnShape.StateLength"/>).</summary>
    public void Restore(ReadOnlySpan<float> source)
    {
        if (source.Length != _h.Length) ThrowHidden(source.Length);
        source.CopyTo(_h);
    }

    private void ThrowShape(int x, int y) =>
        throw new ArgumentException($"Step needs a model of this state's shape, x of {Model.Shape.Inputs} and y of {Model.Shape.Outputs}; got x {x}, y {y}.");

    private void ThrowHidden(int length) =>
        throw new ArgumentException($"The state has {_h.Length} values, got {length}.");
}
