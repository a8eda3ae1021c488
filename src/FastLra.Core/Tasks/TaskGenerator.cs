using FastLra.Training;

namespace FastLra.Tasks;

/// <summary>
/// The task generators of Pascanu et al. (2013), as the paper's code calls them, drawing from one
/// <see cref="RandomState"/> in the reference order so batches match numpy bit for bit.
/// Writes x (T x B x I, time-major) and y (B x O) into caller buffers; allocates only its
/// per-sequence scratch, once, in the constructor. As a batch source its position is its
/// generator's state.
/// </summary>
internal sealed class TaskGenerator : IBatchSource
{
    private readonly RandomState _rng;
    private readonly int[] _scratch;

    public TaskGenerator(TaskKind task, int length, int maxBatch, RandomState rng)
    {
        if (length < TaskInfo.MinLength(task))
            throw new ArgumentException(
                $"Task {TaskInfo.Name(task)} needs length >= {TaskInfo.MinLength(task)} (it places symbols at int(0.1*T) >= 1), got {length}.");
        if (maxBatch <= 0) throw new ArgumentException($"Batch size must be positive, got {maxBatch}.");
        Task = task;
        Length = length;
        MaxBatch = maxBatch;
        _rng = rng;
        _scratch = new int[6 * maxBatch];
    }

    public TaskKind Task { get; }
    public int Length { get; }
    public int MaxBatch { get; }
    public int Inputs => TaskInfo.Inputs(Task);
    public int Outputs => TaskInfo.Outputs(Task);
    public RandomState Random => _rng;

    /// <summary>One output per sequence, after the last step, with the task's loss.</summary>
    public SequenceLayout Layout => SequenceLayout.LastStep(Length, Inputs, Outputs, TaskInfo.Loss(Task));

    /// <summary>One generate call for the batch's size.</summary>
    public void NextBatch(SequenceBatch batch)
    {
        if (batch.Layout != Layout) ThrowHelper.Argument("The batch does not have this task's layout.");
        Generate(batch.Batch, batch.X, batch.Y);
    }

    /// <inheritdoc/>
    public int StateLength => RandomState.StateLength;

    /// <inheritdoc/>
    public void SaveState(Span<uint> state) => _rng.SaveState(state);

    /// <inheritdoc/>
    public void RestoreState(ReadOnlySpan<uint> state) => _rng.RestoreState(state);

    /// <summary>One <c>generate(batch, T)</c> call: fills x (T x B x I) and y (B x O).</summary>
    public void Generate(int batch, Span<float> x, Span<float> y)
    {
        if (batch <= 0 || batch > MaxBatch) throw new ArgumentOutOfRangeException(nameof(batch));
        int l = Length, inputs = Inputs, outputs = Outputs;
        if (x.Length < l * batch * inputs || y.Length < batch * outputs) ThrowHelper.ShapeMismatch();
        x = x[..(l * batch * inputs)];
        y = y[..(batch * outputs)];
        x.Clear();
        y.Clear();
        switch (Task)
        {
            case TaskKind.TemporalOrder: TemporalOrder(batch, x, y, 2); break;
            case TaskKind.TemporalOrder3Bit: TemporalOrder(batch, x, y, 3); break;
            case TaskKind.RandomPermutation: RandomPermutation(batch, x, y); break;
            default: Adding(batch, x, y); break;
        }
    }

    // For each symbol s: p_s = randint(int(.1 l)) + start_s over the batch, then v_s = randint(2);
    // then the distractors randint(4) + 2 over (l, batch); the target is Σ v_s 2^s.
    private void TemporalOrder(int batch, Span<float> x, Span<float> y, int symbols)
    {
        int l = Length, tenth = (int)(l * .1);
        ReadOnlySpan<double> starts = symbols == 2 ? [.1, .5] : [.1, .3, .6];
        Span<int> positions = _scratch.AsSpan(0, 3 * batch), values = _scratch.AsSpan(3 * batch, 3 * batch);
        for (int s = 0; s < symbols; s++)
        {
            int start = (int)(l * starts[s]);
            for (int b = 0; b < batch; b++) positions[s * batch + b] = _rng.RandInt(tenth) + start;
            for (int b = 0; b < batch; b++) values[s * batch + b] = _rng.RandInt(2);
        }
        const int inputs = 6;
        for (int t = 0; t < l; t++)
            for (int b = 0; b < batch; b++)
                x[(t * batch + b) * inputs + _rng.RandInt(4) + 2] = 1f;
        int outputs = Outputs;
        for (int b = 0; b < batch; b++)
        {
            int target = 0;
            for (int s = 0; s < symbols; s++)
            {
                // Later symbols overwrite earlier ones at the same step, as numpy's assignments do.
                var row = x.Slice((positions[s * batch + b] * batch + b) * inputs, inputs);
                row.Clear();
                row[values[s * batch + b]] = 1f;
                target += values[s * batch + b] << s;
            }
            y[b * outputs + target] = 1f;
        }
    }

    // randvals = randint(98, (l + 1, batch)) + 2, then val = randint(2, batch) placed at steps 0 and l;
    // inputs are steps 0..l-1, the target is step l.
    private void RandomPermutation(int batch, Span<float> x, Span<float> y)
    {
        int l = Length;
        const int width = 100;
        for (int t = 0; t < l; t++)
            for (int b = 0; b < batch; b++)
                x[(t * batch + b) * width + _rng.RandInt(98) + 2] = 1f;
        // The draws of row l are consumed but always overwritten by val.
        for (int b = 0; b < batch; b++) _rng.RandInt(98);
        for (int b = 0; b < batch; b++)
        {
            int value = _rng.RandInt(2);
            var first = x.Slice(b * width, width);
            first.Clear();
            first[value] = 1f;
            y[b * width + value] = 1f;
        }
    }

    // p0 = randint(int(.1 l)), p1 = randint(int(.4 l)) + int(.1 l), values uniform over (l, batch, 2)
    // cast to float32; channel 0 marks p0 and p1, the target is the float32 mean of the marked values.
    private void Adding(int batch, Span<float> x, Span<float> y)
    {
        int l = Length, tenth = (int)(l * .1);
        Span<int> p0 = _scratch.AsSpan(0, batch), p1 = _scratch.AsSpan(batch, batch);
        for (int b = 0; b < batch; b++) p0[b] = _rng.RandInt(tenth);
        int span = (int)(l * .4);
        for (int b = 0; b < batch; b++) p1[b] = _rng.RandInt(span) + tenth;
        for (int i = 0; i < l * batch; i++)
        {
            _rng.Uniform();
            x[2 * i + 1] = (float)_rng.Uniform();
        }
        for (int b = 0; b < batch; b++)
        {
            x[(p0[b] * batch + b) * 2] = 1f;
            x[(p1[b] * batch + b) * 2] = 1f;
            y[b] = (x[(p0[b] * batch + b) * 2 + 1] + x[(p1[b] * batch + b) * 2 + 1]) / 2f;
        }
    }
}
