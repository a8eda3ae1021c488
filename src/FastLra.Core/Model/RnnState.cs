using FastLra.Kernels;

namespace FastLra.Model;

/// <summary>
/// One stream's hidden state for step-by-step inference, as a control loop runs the network:
/// h = tanh(h Whh + x Wxh + bh), y = h Why + by. A model with a <see cref="Normalization"/> takes
/// x and gives y in original units (x standardised before the step, y scaled back after it).
/// Buffers are allocated in the constructor; a step allocates nothing and takes no lock, and its
/// output equals the trainer's batch forward pass bit for bit (the same kernels, whose per-row
/// arithmetic does not depend on the batch size).
/// Not thread-safe: one state per stream; many states may share one model.
/// </summary>
public sealed class RnnState
{
    private readonly float[] _h, _next, _x, _y;

    /// <summary>A zero state for streaming <paramref name="model"/>; its buffers are the only allocation.</summary>
    public RnnState(RnnModel model)
    {
        Model = model;
        _h = new float[model.Shape.Hidden];
        _next = new float[model.Shape.Hidden];
        _x = new float[model.Shape.Inputs];
        _y = new float[model.Shape.Outputs];
    }

    /// <summary>The model this state steps; <see cref="Step(RnnModel, ReadOnlySpan{float}, Span{float})"/> can step another of the same shape.</summary>
    public RnnModel Model { get; }

    /// <summary>The current hidden state h (H).</summary>
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
        var shape = model.Shape;
        if (shape != Model.Shape || x.Length != shape.Inputs || y.Length != shape.Outputs) ThrowShape(x.Length, y.Length);
        var p = model.Weights;
        if (model.Normalization is { } n)
        {
            n.NormalizeInput(x, _x);
            x = _x;
        }
        Rnn.StepForward(p, x, _h, 1, _next, _next);
        _next.CopyTo(_h, 0);
        Rnn.OutputForward(p, _h, 1, y);
        model.Normalization?.DenormalizeOutputs(y);
        y.CopyTo(_y);
    }

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
        var shape = model.Shape;
        if (shape != Model.Shape || x.Length != shape.Inputs || y.Length != shape.Outputs) ThrowShape(x.Length, y.Length);
        var p = model.Weights;
        if (model.Normalization is { } n)
        {
            n.NormalizeInput(x, _x);
            x = _x;
        }
        if (Reductions.AllFinite(x))
        {
            Rnn.StepForward(p, x, _h, 1, _next, _next);
            Rnn.OutputForward(p, _next, 1, y);
            model.Normalization?.DenormalizeOutputs(y);
            // The state is tanh's, in [-1, 1] or NaN, and a NaN in it reaches every output: checking y checks both.
            if (Reductions.AllFinite(y))
            {
                _next.CopyTo(_h, 0);
                y.CopyTo(_y);
                return true;
            }
        }
        _y.CopyTo(y);
        return false;
    }

    /// <summary>h = 0.</summary>
    public void Reset() => Array.Clear(_h);

    /// <summary>h = h0 (H).</summary>
    public void Reset(ReadOnlySpan<float> h0) => Restore(h0);

    /// <summary>Copies h into destination (H), for example to fork or checkpoint a stream.</summary>
    public void Snapshot(Span<float> destination)
    {
        if (destination.Length != _h.Length) ThrowHidden(destination.Length);
        _h.CopyTo(destination);
    }

    /// <summary>Sets h from source (H).</summary>
    public void Restore(ReadOnlySpan<float> source)
    {
        if (source.Length != _h.Length) ThrowHidden(source.Length);
        source.CopyTo(_h);
    }

    private void ThrowShape(int x, int y) =>
        throw new ArgumentException($"Step needs a model of this state's shape, x of {Model.Shape.Inputs} and y of {Model.Shape.Outputs}; got x {x}, y {y}.");

    private void ThrowHidden(int length) =>
        throw new ArgumentException($"The hidden state has {_h.Length} values, got {length}.");
}
