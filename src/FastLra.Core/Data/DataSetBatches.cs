using FastLra.Tasks;
using FastLra.Training;

namespace FastLra.Data;

/// <summary>
/// A <see cref="SequenceDataSet"/> as a batch source: each batch takes the next B sequences of the
/// current order and gathers them into the trainers' time-major layout; at the end of an epoch the
/// order is shuffled again (Fisher-Yates on a seeded <see cref="RandomState"/>), so a batch may
/// span two epochs. Nothing is allocated per batch. Its state (epoch, cursor, generator and
/// order) restores bit for bit.
/// </summary>
internal sealed class DataSetBatches : IBatchSource
{
    private readonly SequenceDataSet _data;
    private readonly bool _shuffle;
    private readonly RandomState _rng;
    private readonly int[] _order;
    private int _cursor;

    internal DataSetBatches(SequenceDataSet data, bool shuffle, uint seed)
    {
        _data = data;
        _shuffle = shuffle;
        _rng = new RandomState(seed);
        _order = new int[data.Count];
        for (int n = 0; n < _order.Length; n++) _order[n] = n;
        if (shuffle) Shuffle();
    }

    /// <inheritdoc/>
    public SequenceLayout Layout => _data.Layout;

    /// <summary>Completed passes over the data.</summary>
    public long Epoch { get; private set; }

    /// <inheritdoc/>
    public void NextBatch(SequenceBatch batch)
    {
        if (batch.Layout != Layout) ThrowHelper.Argument("The batch does not have this data set's layout.");
        var layout = Layout;
        int steps = layout.Steps, inputs = layout.Inputs, r = layout.OutputSteps, outputs = layout.Outputs, b = batch.Batch;
        Span<float> x = batch.X, y = batch.Y;
        for (int k = 0; k < b; k++)
        {
            int n = _order[_cursor];
            if (++_cursor == _order.Length)
            {
                _cursor = 0;
                Epoch++;
                if (_shuffle) Shuffle();
            }
            var xs = _data.Inputs(n);
            for (int t = 0; t < steps; t++) xs.Slice(t * inputs, inputs).CopyTo(x.Slice((t * b + k) * inputs, inputs));
            var ys = _data.Targets(n);
            for (int t = 0; t < r; t++) ys.Slice(t * outputs, outputs).CopyTo(y.Slice((t * b + k) * outputs, outputs));
        }
    }

    /// <summary>Epoch (2 words), cursor, the generator's state, then the current order.</summary>
    public int StateLength => 3 + RandomState.StateLength + _order.Length;

    /// <inheritdoc/>
    public void SaveState(Span<uint> state)
    {
        if (state.Length != StateLength) ThrowHelper.Argument($"A data set source's state is {StateLength} words.");
        state[0] = (uint)Epoch;
        state[1] = (uint)((ulong)Epoch >> 32);
        state[2] = (uint)_cursor;
        _rng.SaveState(state.Slice(3, RandomState.StateLength));
        for (int n = 0; n < _order.Length; n++) state[3 + RandomState.StateLength + n] = (uint)_order[n];
    }

    /// <inheritdoc/>
    public void RestoreState(ReadOnlySpan<uint> state)
    {
        if (state.Length != StateLength) ThrowHelper.Argument($"A data set source's state is {StateLength} words, got {state.Length}.");
        long epoch = (long)(state[0] | ((ulong)state[1] << 32));
        if (epoch < 0 || state[2] >= (uint)_order.Length) ThrowHelper.Argument("The data set source's epoch or cursor is out of range.");
        // The order must be a permutation of 0 .. N-1.
        var order = state[(3 + RandomState.StateLength)..];
        var seen = new bool[_order.Length];
        foreach (uint n in order)
        {
            if (n >= (uint)seen.Length || seen[n]) ThrowHelper.Argument("The data set source's order is not a permutation of its sequences.");
            seen[n] = true;
        }
        _rng.RestoreState(state.Slice(3, RandomState.StateLength));
        for (int n = 0; n < _order.Length; n++) _order[n] = (int)order[n];
        Epoch = epoch;
        _cursor = (int)state[2];
    }

    private void Shuffle()
    {
        for (int i = _order.Length - 1; i > 0; i--)
        {
            int j = _rng.RandInt(i + 1);
            (_order[i], _order[j]) = (_order[j], _order[i]);
        }
    }
}
