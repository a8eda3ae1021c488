namespace FastLra;

/// <summary>Which global loss E(o, y) a task uses.</summary>
public enum GlobalLossKind
{
    /// <summary>Softmax cross-entropy averaged over the batch (one-hot tasks).</summary>
    SoftmaxCrossEntropy,

    /// <summary>Mean squared error over all B x O entries (the adding task).</summary>
    MeanSquaredError,
}

/// <summary>
/// What every sequence of a source looks like: T steps of I inputs, O outputs read at steps
/// w .. T-1 (R = T - w of them), and the loss on them. w = T-1 is one output per sequence, the
/// paper's many-to-one setting; a smaller washout w reads an output at every step from w on, with
/// the loss E = (1/R) Σ_{t ≥ w} E_t (docs/algorithm.md, "Per-step outputs").
/// </summary>
/// <param name="Steps">T, steps per sequence.</param>
/// <param name="Inputs">I, input width.</param>
/// <param name="Outputs">O, output width.</param>
/// <param name="Washout">w, the first step with an output (0 ≤ w ≤ T-1).</param>
/// <param name="Loss">The loss on each output.</param>
public readonly record struct SequenceLayout(int Steps, int Inputs, int Outputs, int Washout, GlobalLossKind Loss)
{
    /// <summary>One output per sequence, after its last step (w = T-1).</summary>
    public static SequenceLayout LastStep(int steps, int inputs, int outputs, GlobalLossKind loss) =>
        new(steps, inputs, outputs, steps - 1, loss);

    /// <summary>R = T - w, the steps that carry an output.</summary>
    public int OutputSteps => Steps - Washout;

    /// <summary>Whether more than the last step carries an output.</summary>
    public bool PerStep => Washout < Steps - 1;

    /// <summary>A one-line description of what is wrong, or null when the layout is valid.</summary>
    public string? Validate()
    {
        if (Steps <= 0) return $"sequences need at least one step, got T = {Steps}.";
        if (Inputs <= 0 || Outputs <= 0) return $"input and output widths must be positive, got I = {Inputs}, O = {Outputs}.";
        if (Washout < 0 || Washout > Steps - 1) return $"the washout must be in [0, T-1] = [0, {Steps - 1}], got {Washout}.";
        return null;
    }
}

/// <summary>
/// A batch of B sequences in the trainers' time-major layout: inputs x (T x B x I) and targets
/// y (R x B x O, the outputs of steps w .. T-1 in order; for w = T-1 simply B x O). For
/// softmax cross-entropy a target row is a one-hot (or any probability) vector. The buffers are
/// the caller's or its own, allocated once; a source fills them in place.
/// </summary>
internal sealed class SequenceBatch
{
    private readonly Memory<float> _x, _y;

    /// <summary>A batch with buffers of its own.</summary>
    public SequenceBatch(SequenceLayout layout, int batch)
        : this(layout, batch, new float[Check(layout, batch).Steps * (long)batch * layout.Inputs], new float[(long)layout.OutputSteps * batch * layout.Outputs])
    {
    }

    /// <summary>A batch over the caller's buffers, x of T x B x I and y of R x B x O floats exactly.</summary>
    public SequenceBatch(SequenceLayout layout, int batch, Memory<float> x, Memory<float> y)
    {
        Check(layout, batch);
        if (x.Length != (long)layout.Steps * batch * layout.Inputs || y.Length != (long)layout.OutputSteps * batch * layout.Outputs)
            throw new ArgumentException($"A batch of {batch} needs x of {(long)layout.Steps * batch * layout.Inputs} and y of {(long)layout.OutputSteps * batch * layout.Outputs} floats, got {x.Length} and {y.Length}.");
        Layout = layout;
        Batch = batch;
        _x = x;
        _y = y;
    }

    /// <summary>The shape of each sequence and which steps carry a loss.</summary>
    public SequenceLayout Layout { get; }

    /// <summary>B, the sequences in the batch.</summary>
    public int Batch { get; }

    /// <summary>Inputs, T x B x I.</summary>
    public Span<float> X => _x.Span;

    /// <summary>Targets, R x B x O (steps w .. T-1).</summary>
    public Span<float> Y => _y.Span;

    /// <summary>
    /// z_{-1}, the hidden state each sequence starts from (B x H), or empty for zero, the default. A
    /// source that cuts its sequences out of a longer stream (the online learner's window) sets it
    /// to the state that preceded them; the trainers treat it as a constant (no gradient flows into it).
    /// </summary>
    public Memory<float> InitialState { get; set; }

    private static SequenceLayout Check(SequenceLayout layout, int batch)
    {
        string? problem = layout.Validate();
        if (problem is not null) throw new ArgumentException(problem);
        if (batch <= 0) throw new ArgumentException($"A batch needs at least one sequence, got {batch}.");
        return layout;
    }
}

/// <summary>
/// Where a trainer's batches come from: the synthetic task generators, an in-memory data set, or
/// a live stream. A source fills a batch in place and allocates nothing per batch; its position
/// (a generator's random state, a data set's epoch, order and cursor) is a run of 32-bit words
/// that a checkpoint stores, so a resumed run draws the very batches it would have drawn.
/// </summary>
internal interface IBatchSource
{
    /// <summary>The layout of every sequence this source gives.</summary>
    SequenceLayout Layout { get; }

    /// <summary>Fills <paramref name="batch"/> (of this source's layout) with the next batch.Batch sequences.</summary>
    void NextBatch(SequenceBatch batch);

    /// <summary>The number of words <see cref="SaveState"/> writes.</summary>
    int StateLength { get; }

    /// <summary>Writes the source's position into <paramref name="state"/> (<see cref="StateLength"/> words).</summary>
    void SaveState(Span<uint> state);

    /// <summary>Puts the source back where <see cref="SaveState"/> found it; throws <see cref="ArgumentException"/> on a state that cannot be its own.</summary>
    void RestoreState(ReadOnlySpan<uint> state);
}
