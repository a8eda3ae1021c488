namespace FastLra.Training;

/// <summary>
/// Ticks (x: I, y: O, the state before: H, and whether the window restarts before it) from one
/// control thread to one trainer thread: a single-producer single-consumer ring sized once. <see cref="TryAdd"/> never blocks or
/// allocates; when the ring is full it refuses the tick (the control thread counts it dropped).
/// The producer publishes a slot by advancing its head after writing it, the consumer frees it
/// by advancing its tail after reading it; each index has one writer, so no lock is needed.
/// </summary>
internal sealed class TickQueue(int capacity, int inputs, int outputs, int hidden)
{
    private readonly float[] _x = new float[(long)capacity * inputs];
    private readonly float[] _y = new float[(long)capacity * outputs];
    private readonly float[] _h = new float[(long)capacity * hidden];
    private readonly bool[] _restart = new bool[capacity];
    private long _head; // written by the producer only
    private long _tail; // written by the consumer only

    /// <summary>
    /// Producer: queues one tick; false (nothing written) when the ring is full. With
    /// <paramref name="restart"/>, the consumer starts its window again before this tick (<see cref="TickWindow.Restart"/>).
    /// </summary>
    public bool TryAdd(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> stateBefore, bool restart)
    {
        long head = _head;
        if (head - Volatile.Read(ref _tail) == capacity) return false;
        int slot = (int)(head % capacity);
        x.CopyTo(_x.AsSpan(slot * inputs, inputs));
        y.CopyTo(_y.AsSpan(slot * outputs, outputs));
        stateBefore.CopyTo(_h.AsSpan(slot * hidden, hidden));
        _restart[slot] = restart;
        Volatile.Write(ref _head, head + 1); // release: the slot's contents before the index
        return true;
    }

    /// <summary>Ticks queued and not yet taken (either side may ask; a moment's view).</summary>
    public long Count => Volatile.Read(ref _head) - Volatile.Read(ref _tail);

    /// <summary>Consumer: moves the oldest queued tick into <paramref name="window"/> (restarting it first when the tick says so); false when none is queued.</summary>
    public bool TryTake(TickWindow window)
    {
        long tail = _tail;
        if (tail == Volatile.Read(ref _head)) return false; // acquire: the slot's contents after the index
        int slot = (int)(tail % capacity);
        if (_restart[slot]) window.Restart();
        window.Add(_x.AsSpan(slot * inputs, inputs), _y.AsSpan(slot * outputs, outputs), _h.AsSpan(slot * hidden, hidden));
        Volatile.Write(ref _tail, tail + 1);
        return true;
    }
}
