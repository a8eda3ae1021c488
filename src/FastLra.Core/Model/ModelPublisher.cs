namespace FastLra.Model;

/// <summary>
/// Hands new weights from a trainer thread to a real-time control thread. The control thread's
/// <see cref="Acquire"/> never blocks, allocates or sees a half-written model; the trainer's
/// <see cref="Publish"/> never waits for the control thread.
/// <para>
/// This is the double buffer made safe with a third buffer: the trainer writes a back buffer,
/// then one atomic exchange swaps it with a shared middle slot (marked fresh); the control
/// thread, when the middle is fresh, swaps it with its front buffer by one atomic exchange. With
/// only two buffers the trainer could start overwriting the buffer the control thread is still
/// stepping with, unless one of them waited; the third buffer removes every wait. One trainer
/// thread and one control thread; allocation happens only in the constructor.
/// </para>
/// </summary>
public sealed class ModelPublisher
{
    private const int Fresh = 4;
    private readonly RnnModel[] _buffers;
    private int _middle = 1;   // index, | Fresh when it holds weights the reader has not taken
    private int _front;        // reader-owned
    private int _back = 2;     // writer-owned

    /// <summary>A publisher whose first model is a copy of <paramref name="initial"/>; every model it publishes keeps that one's normalisation. The only allocation.</summary>
    public ModelPublisher(RnnModel initial)
    {
        Shape = initial.Shape;
        // Private copies: Publish writes into them, and the caller's model stays as it was.
        _buffers =
        [
            new RnnModel(initial.Shape, initial.Parameters, initial.Normalization), new RnnModel(initial.Shape, initial.Parameters, initial.Normalization),
            new RnnModel(initial.Shape, initial.Parameters, initial.Normalization),
        ];
    }

    /// <summary>The widths every published model has.</summary>
    public RnnShape Shape { get; }

    /// <summary>Publications so far (trainer side).</summary>
    public long Published { get; private set; }

    /// <summary>
    /// Trainer thread: copies <paramref name="parameters"/> (the flat layout) into the back buffer
    /// and makes it the newest. Wait-free.
    /// </summary>
    public void Publish(ReadOnlySpan<float> parameters)
    {
        if (parameters.Length != Shape.Count) throw new ArgumentException($"Expected {Shape.Count} parameters, got {parameters.Length}.");
        var back = _buffers[_back];
        parameters.CopyTo(back.Weights.Data);
        // The exchange is a full fence: the copy is visible before the index is.
        _back = Interlocked.Exchange(ref _middle, _back | Fresh) & ~Fresh;
        Published++;
    }

    /// <summary>
    /// Control thread: the newest published model (or the one it had). Wait-free, no allocation.
    /// The model is valid until this thread's next Acquire, after which the trainer may reuse it.
    /// </summary>
    public RnnModel Acquire()
    {
        if ((Volatile.Read(ref _middle) & Fresh) != 0) _front = Interlocked.Exchange(ref _middle, _front) & ~Fresh;
        return _buffers[_front];
    }
}
