using CommunityToolkit.HighPerformance.Buffers;
using FastLra.Kernels;
using FastLra.Training;

namespace FastLra.Data;

/// <summary>
/// N sequences in memory, in one pooled buffer: inputs x (N x T x I, sequence-major as numpy
/// stores them) and targets y (N x R x O, the outputs of steps w .. T-1 of
/// <see cref="Layout"/>). For softmax cross-entropy a target row is one-hot. Optionally, for
/// forecasting series, a persistence prediction beside each target (the last observed value of
/// the target when the step's input was read), the baseline a forecast should beat.
/// Batches come from <see cref="Batches"/> (shuffled per epoch) or <see cref="InOrder"/>.
/// Dispose returns the buffer to the pool.
/// </summary>
public sealed class SequenceDataSet : IDisposable
{
    private readonly MemoryOwner<float> _buffer;
    private readonly long _xLength, _yLength;
    private readonly bool _hasPersistence;

    /// <summary>
    /// A data set holding copies of <paramref name="x"/> (N x T x I) and <paramref name="y"/>
    /// (N x R x O), and of <paramref name="persistence"/> (N x R x O, or empty for none).
    /// </summary>
    public SequenceDataSet(SequenceLayout layout, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> persistence = default)
        : this(layout, Sequences(layout, x.Length, y.Length, persistence.Length), !persistence.IsEmpty, AllocationMode.Default)
    {
        x.CopyTo(X);
        y.CopyTo(Y);
        if (_hasPersistence) persistence.CopyTo(Persistence);
    }

    /// <summary>
    /// <paramref name="count"/> sequences of zeros (with persistence predictions when
    /// <paramref name="persistence"/>), for a reader to write in place through X, Y and
    /// Persistence: a file's windows then need no second copy.
    /// </summary>
    internal SequenceDataSet(SequenceLayout layout, int count, bool persistence)
        : this(layout, count, persistence, AllocationMode.Clear)
    {
    }

    private SequenceDataSet(SequenceLayout layout, int count, bool persistence, AllocationMode mode)
    {
        string? problem = layout.Validate();
        if (problem is not null) throw new ArgumentException(problem);
        if (count <= 0) throw new ArgumentException($"A data set needs at least one sequence, got {count}.");
        Layout = layout;
        Count = count;
        _xLength = (long)count * layout.Steps * layout.Inputs;
        _yLength = (long)count * layout.OutputSteps * layout.Outputs;
        _hasPersistence = persistence;
        long total = Values(layout, count, persistence);
        if (total > Array.MaxLength) throw new ArgumentException($"The data set's {total} values do not fit one buffer ({Array.MaxLength} at most).");
        _buffer = MemoryOwner<float>.Allocate((int)total, mode);
    }

    /// <summary>The values <paramref name="count"/> sequences of <paramref name="layout"/> hold: inputs, targets and, with <paramref name="persistence"/>, persistence predictions.</summary>
    internal static long Values(SequenceLayout layout, long count, bool persistence) =>
        count * ((long)layout.Steps * layout.Inputs + (persistence ? 2L : 1L) * layout.OutputSteps * layout.Outputs);

    /// <summary>The number of sequences x holds, after checking that x, y and the persistence predictions hold whole sequences of the layout.</summary>
    private static int Sequences(SequenceLayout layout, int xLength, int yLength, int persistenceLength)
    {
        string? problem = layout.Validate();
        if (problem is not null) throw new ArgumentException(problem);
        long perX = (long)layout.Steps * layout.Inputs, perY = (long)layout.OutputSteps * layout.Outputs;
        if (xLength == 0 || xLength % perX != 0) throw new ArgumentException($"x must hold whole sequences of T x I = {perX} values, got {xLength}.");
        long count = xLength / perX;
        if (yLength != count * perY)
            throw new ArgumentException($"y must hold {perY} values for each of the {count} sequences ({count * perY}), got {yLength}.");
        if (persistenceLength != 0 && persistenceLength != yLength) throw new ArgumentException("The persistence predictions must have y's shape.");
        return (int)count;
    }

    /// <summary>The layout of every sequence.</summary>
    public SequenceLayout Layout { get; }

    /// <summary>N, the number of sequences.</summary>
    public int Count { get; }

    /// <summary>All inputs, N x T x I.</summary>
    public Span<float> X => _buffer.Span[..(int)_xLength];

    /// <summary>All targets, N x R x O.</summary>
    public Span<float> Y => _buffer.Span.Slice((int)_xLength, (int)_yLength);

    /// <summary>Persistence predictions beside the targets (N x R x O), or empty when the data set has none.</summary>
    public Span<float> Persistence => _hasPersistence ? _buffer.Span.Slice((int)(_xLength + _yLength), (int)_yLength) : default;

    /// <summary>Sequence n's inputs, T x I.</summary>
    public ReadOnlySpan<float> Inputs(int n) => X.Slice(n * Layout.Steps * Layout.Inputs, Layout.Steps * Layout.Inputs);

    /// <summary>Sequence n's targets, R x O.</summary>
    public ReadOnlySpan<float> Targets(int n) => Y.Slice(n * Layout.OutputSteps * Layout.Outputs, Layout.OutputSteps * Layout.Outputs);

    /// <summary>A new data set of the sequences at <paramref name="indices"/>, in that order.</summary>
    public SequenceDataSet Subset(ReadOnlySpan<int> indices)
    {
        int perX = Layout.Steps * Layout.Inputs, perY = Layout.OutputSteps * Layout.Outputs;
        var x = new float[(long)indices.Length * perX];
        var y = new float[(long)indices.Length * perY];
        var persistence = _hasPersistence ? new float[y.Length] : [];
        for (int k = 0; k < indices.Length; k++)
        {
            int n = indices[k];
            if ((uint)n >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), $"Sequence {n} is not in [0, {Count}).");
            Inputs(n).CopyTo(x.AsSpan(k * perX, perX));
            Targets(n).CopyTo(y.AsSpan(k * perY, perY));
            if (_hasPersistence) Persistence.Slice(n * perY, perY).CopyTo(persistence.AsSpan(k * perY, perY));
        }
        return new SequenceDataSet(Layout, x, y, persistence);
    }

    /// <summary>Training batches: every sequence once per epoch, in an order shuffled anew each epoch from <paramref name="seed"/>.</summary>
    internal DataSetBatches Batches(uint seed) => new(this, shuffle: true, seed);

    /// <summary>The sequences in order, over and over: a validation set draws them all with one batch of <see cref="Count"/>.</summary>
    internal DataSetBatches InOrder() => new(this, shuffle: false, 0);

    /// <summary>Returns the buffer to the pool.</summary>
    public void Dispose() => _buffer.Dispose();
}
