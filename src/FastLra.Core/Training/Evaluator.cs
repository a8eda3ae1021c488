using FastLra.Kernels;
using FastLra.Model;

namespace FastLra.Training;

/// <summary>
/// How the model did on a validation set. Loss is the training loss E; for classification,
/// Accuracy and Errors count the outputs (sequences, or sequence steps with per-step outputs)
/// whose argmax is wrong; for regression (mean squared error) an output counts as wrong when its
/// squared error is above 0.04, and Mse, Mae and R2 are over every output value, in original units
/// when the evaluator knows the targets' scale (NaN for classification).
/// </summary>
public readonly record struct Evaluation(double Loss, double Accuracy, int Errors, int Count, double Mse, double Mae, double R2)
{
    /// <summary>Fraction of outputs counted as wrong.</summary>
    public double ErrorRate => Count == 0 ? 0 : (double)Errors / Count;

    /// <summary>Root of <see cref="Mse"/>.</summary>
    public double Rmse => Math.Sqrt(Mse);
}

/// <summary>
/// A fixed validation set, drawn from a source by one call for all its sequences (a task
/// generator's one generate(count, T) call, or a data set's sequences in order), and the buffers to
/// evaluate a model on it: the set (x T x V x I, y R x V x O), the outputs o (R x V x O) and, per
/// thread, the state of <see cref="TileRows"/> sequences and a step's scratch
/// (<see cref="Rnn.InferenceLength"/>), so <see cref="Evaluate(ParameterSet, bool)"/> allocates
/// nothing after its first call with a new number of threads.
/// <para>
/// The set runs in tiles of <see cref="TileRows"/> sequences, each through all its steps at once:
/// a tile's states (2 x 256 x H floats, 200 KB at H = 100) stay in L2 with the weights, where
/// stepping all V sequences at once streamed 2 x V x H floats (8 MB) through memory every step.
/// With <see cref="Threads"/> above 1 the tiles are shared among that many threads
/// (<see cref="SharedWorkers"/>). Each output depends on its own sequence alone, so the result is
/// the same, bit for bit, for any number of threads.
/// </para>
/// </summary>
internal sealed class Evaluator : IWorkerJob
{
    /// <summary>Sequences per tile.</summary>
    internal const int TileRows = 256;

    private readonly float[] _o, _scale;
    private float[][] _buffers = [];
    private readonly int _width, _hidden;
    private readonly double _totalSquares;
    private ParameterSet? _p;
    private bool _referenceStart;
    private int _nextTile;

    /// <summary>
    /// Draws <paramref name="count"/> sequences from <paramref name="source"/> for a network of
    /// <paramref name="hidden"/> units. <paramref name="targetScale"/> (O values, or empty for 1)
    /// multiplies each output's errors back into original units: the targets' standard deviations
    /// when they were standardised.
    /// </summary>
    public Evaluator(IBatchSource source, int count, int hidden, ReadOnlySpan<float> targetScale = default)
    {
        if (count <= 0) throw new ArgumentException($"The validation set needs at least one sequence, got {count}.");
        var layout = source.Layout;
        if (!targetScale.IsEmpty && targetScale.Length != layout.Outputs)
            throw new ArgumentException($"The target scale needs {layout.Outputs} values, got {targetScale.Length}.");
        Layout = layout;
        Count = count;
        Set = new SequenceBatch(layout, count);
        source.NextBatch(Set);
        _hidden = hidden;
        _o = new float[Set.Y.Length];
        _scale = targetScale.ToArray();
        _width = layout.Outputs;
        _totalSquares = layout.Loss == GlobalLossKind.MeanSquaredError ? TotalSquares(Set.Y, _scale, _width) : double.NaN;
    }

    /// <summary>
    /// Floats an evaluator of <paramref name="count"/> sequences of <paramref name="layout"/> holds
    /// for a network of <paramref name="shape"/> on <paramref name="threads"/> threads: the set (x
    /// and y), its outputs, and each thread's state and scratch for a tile (<see cref="Rnn.InferenceLength"/>).
    /// </summary>
    public static double Floats(RnnShape shape, SequenceLayout layout, long count, int threads)
    {
        double outputs = (double)layout.OutputSteps * count * layout.Outputs;
        return (double)layout.Steps * count * layout.Inputs + 2 * outputs
            + (count == 0 ? 0 : (double)Math.Max(1, threads) * Rnn.InferenceLength(shape, shape.Hidden, (int)Math.Min(TileRows, count)));
    }

    /// <summary>The layout of the set's sequences.</summary>
    public SequenceLayout Layout { get; }

    /// <summary>V, the sequences in the set.</summary>
    public int Count { get; }

    /// <summary>The set itself.</summary>
    public SequenceBatch Set { get; }

    /// <summary>Threads that share an evaluation (1 by default; at most one per core is used).</summary>
    public int Threads { get; set; } = 1;

    /// <summary>The outputs of the last <see cref="Evaluate(ParameterSet, bool)"/>, R x V x O (in the model's units).</summary>
    public ReadOnlySpan<float> Outputs => _o;

    /// <summary>Runs a model (its weights; the set is in the model's units already) over the set from z_{-1} = 0.</summary>
    public Evaluation Evaluate(RnnModel model) => Evaluate(model.Weights, referenceStart: false);

    /// <summary>
    /// Runs the model over the set. With <paramref name="referenceStart"/> the run starts from
    /// z_{-1} = x_0 Wxh + bh without tanh, as the paper's published code validates.
    /// </summary>
    public Evaluation Evaluate(ParameterSet p, bool referenceStart)
    {
        var shape = p.Shape;
        if (shape.Inputs != Layout.Inputs || shape.Outputs != Layout.Outputs || shape.Hidden != _hidden)
            throw new ArgumentException("The model does not fit this validation set.", nameof(p));
        int threads = Math.Clamp(Threads, 1, Math.Min(Environment.ProcessorCount, (Count + TileRows - 1) / TileRows));
        int length = Rnn.InferenceLength(shape, shape.Hidden, Math.Min(TileRows, Count));
        if (_buffers.Length < threads || _buffers[0].Length != length)
        {
            _buffers = new float[threads][];
            for (int i = 0; i < threads; i++) _buffers[i] = new float[length];
        }
        (_p, _referenceStart, _nextTile) = (p, referenceStart, -1);
        SharedWorkers.Run(this, threads);
        _p = null;
        int rows = Layout.OutputSteps * Count;
        double loss = GlobalLoss.Forward(Layout.Loss, _o, Set.Y, rows, shape.Outputs);
        int errors = GlobalLoss.Errors(Layout.Loss, _o, Set.Y, rows, shape.Outputs);
        double mse = double.NaN, mae = double.NaN, r2 = double.NaN;
        if (Layout.Loss == GlobalLossKind.MeanSquaredError)
        {
            (double squares, double absolute) = Errors(_o, Set.Y, _scale, _width);
            long values = (long)rows * shape.Outputs;
            mse = squares / values;
            mae = absolute / values;
            r2 = 1 - squares / _totalSquares;
        }
        return new Evaluation(loss, 1.0 - (double)errors / rows, errors, rows, mse, mae, r2);
    }

    /// <summary>Worker <paramref name="worker"/>: takes tiles until none is left, each through all its steps.</summary>
    void IWorkerJob.Run(int worker)
    {
        int tiles = (Count + TileRows - 1) / TileRows;
        for (int tile = Interlocked.Increment(ref _nextTile); tile < tiles; tile = Interlocked.Increment(ref _nextTile))
        {
            int first = tile * TileRows;
            Rnn.Infer(_p!, Set.X, Layout.Steps, Count, first, Math.Min(TileRows, Count - first), Layout.Washout, _referenceStart, _buffers[worker], _o);
        }
    }

    /// <summary>
    /// R² = 1 - Σ (scale_j (prediction - y))² / Σ (scale_j (y - mean_j))² of predictions for targets y,
    /// both rows of <paramref name="width"/> values (scale: one per column, or empty for 1): how a
    /// baseline (or any prediction) fares on a set.
    /// </summary>
    public static double RSquared(ReadOnlySpan<float> prediction, ReadOnlySpan<float> y, ReadOnlySpan<float> scale, int width) =>
        1 - Errors(prediction, y, scale, width).Squares / TotalSquares(y, scale, width);

    /// <summary>Σ (scale_j (o - y))² and Σ |scale_j (o - y)| over rows of <paramref name="width"/> values (empty scale: 1).</summary>
    internal static (double Squares, double Absolute) Errors(ReadOnlySpan<float> o, ReadOnlySpan<float> y, ReadOnlySpan<float> scale, int width)
    {
        double squares = 0, absolute = 0;
        for (int i = 0; i < y.Length; i++)
        {
            double d = (scale.IsEmpty ? 1f : scale[i % width]) * ((double)o[i] - y[i]);
            squares += d * d;
            absolute += Math.Abs(d);
        }
        return (squares, absolute);
    }

    /// <summary>Σ (scale_j (y - mean_j))², each output about its own mean over the set: R²'s denominator.</summary>
    internal static double TotalSquares(ReadOnlySpan<float> y, ReadOnlySpan<float> scale, int width)
    {
        int rows = y.Length / width;
        double total = 0;
        for (int j = 0; j < width; j++)
        {
            double mean = 0;
            for (int r = 0; r < rows; r++) mean += y[r * width + j];
            mean /= rows;
            for (int r = 0; r < rows; r++)
            {
                double d = (scale.IsEmpty ? 1f : scale[j]) * (y[r * width + j] - mean);
                total += d * d;
            }
        }
        return total;
    }
}
