using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;

namespace FastLra.Training;

/// <summary>Loss and accuracy of the model on the validation set.</summary>
public readonly record struct Evaluation(double Loss, double Accuracy, int Errors, int Count)
{
    /// <summary>Fraction of sequences the task counts as wrong.</summary>
    public double ErrorRate => Count == 0 ? 0 : (double)Errors / Count;
}

/// <summary>
/// A fixed validation set, drawn by one generate(count, T) call, and the buffers to evaluate a
/// model on it: x (T x V x I), y (V x O), two V x H states and o (V x O), allocated once.
/// </summary>
public sealed class Evaluator
{
    private readonly float[] _x, _y, _state, _scratch, _o;

    public Evaluator(TaskGenerator generator, int count, int hidden)
    {
        if (count <= 0) throw new ArgumentException($"The validation set needs at least one sequence, got {count}.");
        Task = generator.Task;
        Length = generator.Length;
        Count = count;
        _x = new float[(long)Length * count * generator.Inputs];
        _y = new float[count * generator.Outputs];
        generator.Generate(count, _x, _y);
        _state = new float[count * hidden];
        _scratch = new float[count * hidden];
        _o = new float[count * generator.Outputs];
    }

    public TaskKind Task { get; }
    public int Length { get; }
    public int Count { get; }

    /// <summary>
    /// Runs the model over the set. With <paramref name="referenceStart"/> the run starts from
    /// z_{-1} = x_0 Wxh + bh without tanh, as the paper's published code validates.
    /// </summary>
    public Evaluation Evaluate(ParameterSet p, bool referenceStart)
    {
        var shape = p.Shape;
        if (shape.Inputs != TaskInfo.Inputs(Task) || shape.Outputs != TaskInfo.Outputs(Task) || _state.Length != Count * shape.Hidden)
            throw new ArgumentException("The model does not fit this validation set.", nameof(p));
        if (referenceStart)
        {
            Reductions.BroadcastRows(p.Bh, Count, _state);
            MatMul.MultiplyAdd(_x.AsSpan(0, Count * shape.Inputs), p.Wxh, Count, shape.Inputs, shape.Hidden, _state);
        }
        Rnn.Infer(p, _x, Length, Count, referenceStart, _state, _scratch, _o);
        var loss = TaskInfo.Loss(Task);
        double value = GlobalLoss.Forward(loss, _o, _y, Count, shape.Outputs);
        int errors = GlobalLoss.Errors(loss, _o, _y, Count, shape.Outputs);
        return new Evaluation(value, 1.0 - (double)errors / Count, errors, Count);
    }
}
