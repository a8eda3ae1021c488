namespace FastLra.Training;

/// <summary>
/// A live source: the last W ticks of a control loop, (x: I, y: O) each, with the hidden state
/// (H) the stream had before each, in a ring buffer sized once. Its one batch is those W ticks as
/// a sequence with an output at every step (washout 0, mean squared error), oldest first, starting
/// from the state before the oldest: what an online learner trains on. Its state (the ring and its
/// cursor) saves and restores as 32-bit words, like every source's.
/// </summary>
internal sealed class TickWindow : IBatchSource
{
    private readonly float[] _x;
    private readonly float[] _y;
    private readonly float[] _h;
    private readonly float[] _h0;
    private int _next;
    private long _count;

    /// <param name="window">W: the ticks kept and trained on.</param>
    /// <param name="inputs">I per tick.</param>
    /// <param name="outputs">O per tick.</param>
    /// <param name="stateLength">The length of the state recorded before each tick (every layer's h, and c for an LSTM).</param>
    public TickWindow(int window, int inputs, int outputs, int stateLength)
    {
        Layout = LayoutOf(window, inputs, outputs);
        _x = new float[(long)window * inputs];
        _y = new float[(long)window * outputs];
        _h = new float[(long)window * stateLength];
        _h0 = new float[stateLength];
    }

    /// <summary>A window of W ticks as a sequence: W steps, an output and a squared error at each.</summary>
    public static SequenceLayout LayoutOf(int window, int inputs, int outputs) => new(window, inputs, outputs, 0, GlobalLossKind.MeanSquaredError);

    public SequenceLayout Layout { get; }

    /// <summary>Ticks recorded since the window last started (the window is full once this reaches W).</summary>
    public long Count => _count;

    /// <summary>Whether W ticks have been recorded.</summary>
    public bool Full => _count >= Layout.Steps;

    /// <summary>Records one tick and the state before it, replacing the oldest once the window is full.</summary>
    public void Add(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> stateBefore)
    {
        int inputs = Layout.Inputs, outputs = Layout.Outputs, hidden = _h0.Length;
        x[..inputs].CopyTo(_x.AsSpan(_next * inputs, inputs));
        y[..outputs].CopyTo(_y.AsSpan(_next * outputs, outputs));
        stateBefore[..hidden].CopyTo(_h.AsSpan(_next * hidden, hidden));
        _next = _next + 1 == Layout.Steps ? 0 : _next + 1;
        _count++;
    }

    /// <summary>
    /// Starts the window again, empty: the stream went on past a tick that was not recorded, so the
    /// ticks before it and after it are not one sequence, and no window may train across the gap.
    /// Updates wait until W ticks are recorded again, each with the state before it, as at the start.
    /// </summary>
    public void Restart()
    {
        _next = 0;
        _count = 0;
    }

    /// <summary>
    /// The window as one sequence (T x 1 x I inputs, T x 1 x O targets), oldest tick first, from the
    /// state before the oldest (the batch's initial state); batch.Batch must be 1.
    /// </summary>
    public void NextBatch(SequenceBatch batch)
    {
        if (batch.Batch != 1 || batch.Layout != Layout) throw new ArgumentException("A tick window fills one sequence of its own layout.");
        int inputs = Layout.Inputs, outputs = Layout.Outputs, oldest = Full ? _next : 0, steps = Layout.Steps;
        // Two copies each: from the oldest tick to the end of the ring, then from its start.
        int tail = steps - oldest;
        _x.AsSpan(oldest * inputs, tail * inputs).CopyTo(batch.X);
        _x.AsSpan(0, oldest * inputs).CopyTo(batch.X[(tail * inputs)..]);
        _y.AsSpan(oldest * outputs, tail * outputs).CopyTo(batch.Y);
        _y.AsSpan(0, oldest * outputs).CopyTo(batch.Y[(tail * outputs)..]);
        _h.AsSpan(oldest * _h0.Length, _h0.Length).CopyTo(_h0);
        batch.InitialState = _h0;
    }

    public int StateLength => _x.Length + _y.Length + _h.Length + 3;

    public void SaveState(Span<uint> state)
    {
        System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(_x).CopyTo(state);
        System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(_y).CopyTo(state[_x.Length..]);
        System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(_h).CopyTo(state[(_x.Length + _y.Length)..]);
        state[^3] = (uint)_next;
        state[^2] = (uint)_count;
        state[^1] = (uint)(_count >> 32);
    }

    public void RestoreState(ReadOnlySpan<uint> state)
    {
        if (state.Length != StateLength) throw new ArgumentException($"A tick window's state has {StateLength} words, got {state.Length}.");
        long count = state[^2] | ((long)state[^1] << 32);
        if (count < 0 || state[^3] != count % Layout.Steps)
            throw new ArgumentException("The tick window's cursor does not fit its count.");
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<uint, float>(state[..^3]);
        if (!Kernels.Reductions.AllFinite(values))
        {
            int k = 0;
            while (float.IsFinite(values[k])) k++;
            string part = k < _x.Length ? "an input" : k < _x.Length + _y.Length ? "a target" : "a recorded hidden state";
            throw new ArgumentException(string.Concat("it holds ", part, " that is not finite (word ", k.ToString(System.Globalization.CultureInfo.InvariantCulture), ")."));
        }
        System.Runtime.InteropServices.MemoryMarshal.Cast<uint, float>(state[.._x.Length]).CopyTo(_x);
        System.Runtime.InteropServices.MemoryMarshal.Cast<uint, float>(state.Slice(_x.Length, _y.Length)).CopyTo(_y);
        System.Runtime.InteropServices.MemoryMarshal.Cast<uint, float>(state.Slice(_x.Length + _y.Length, _h.Length)).CopyTo(_h);
        _next = (int)state[^3];
        _count = count;
    }
}
