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
/// One training run's state: the workspace, the gradient algorithm, the optimiser, the task
/// generator and the fixed validation set. As the reference does, the validation set is drawn
/// first (one generate call of ValidSize sequences), then every iteration draws a fresh batch from
/// the same generator. After construction, <see cref="Step"/> and <see cref="Evaluate"/> allocate nothing.
/// </summary>
public sealed class Trainer
{
    private readonly float[] _validX, _validY, _evalState, _evalScratch, _evalO;

    public Trainer(TrainingOptions options, ParameterSet? initial = null)
    {
        string? problem = options.Validate();
        if (problem is not null) throw new ArgumentException(problem);
        Options = options;
        var task = options.Task;
        var shape = new RnnShape(TaskInfo.Inputs(task), options.Hidden, TaskInfo.Outputs(task));
        LossKind = TaskInfo.Loss(task);
        Workspace = new Workspace(shape, options.Length, options.Batch, Optimizer.StateBuffers(options.Optimizer),
            Bptt.ScratchLength(shape, options.Batch));
        if (initial is null) Initialization.Orthogonal(Workspace.Parameters, options.Seed);
        else Workspace.Parameters.CopyFrom(initial);
        Optimizer = Optimizer.Create(options.Optimizer, options.LearningRate, Workspace.OptimizerState);
        Algorithm = new Bptt(Workspace, LossKind, options.Clip);

        int valid = options.ValidSize;
        Generator = new TaskGenerator(task, options.Length, Math.Max(valid, options.Batch), new RandomState(options.Seed));
        _validX = new float[options.Length * valid * shape.Inputs];
        _validY = new float[valid * shape.Outputs];
        Generator.Generate(valid, _validX, _validY);
        _evalState = new float[valid * shape.Hidden];
        _evalScratch = new float[valid * shape.Hidden];
        _evalO = new float[valid * shape.Outputs];
    }

    public TrainingOptions Options { get; }
    public Workspace Workspace { get; }
    public ParameterSet Parameters => Workspace.Parameters;
    public Optimizer Optimizer { get; }
    public IGradientAlgorithm Algorithm { get; }
    public TaskGenerator Generator { get; }
    public GlobalLossKind LossKind { get; }

    /// <summary>Iterations taken so far.</summary>
    public long Iteration { get; private set; }

    /// <summary>One iteration: a fresh batch, gradients, an optimiser step. Returns the training loss.</summary>
    public float Step()
    {
        var ws = Workspace;
        Generator.Generate(ws.Batch, ws.X, ws.Y);
        float loss = Algorithm.ComputeGradients();
        Optimizer.Step(ws.Parameters, ws.Gradients);
        Iteration++;
        return loss;
    }

    /// <summary>Loss and accuracy on the fixed validation set.</summary>
    public Evaluation Evaluate()
    {
        var p = Parameters;
        var shape = p.Shape;
        int valid = Options.ValidSize;
        bool useState = Algorithm.ReferenceValidationStart;
        if (useState)
        {
            // The reference code starts validation from z_{-1} = x_0 Wxh + bh, without tanh.
            Reductions.BroadcastRows(p.Bh, valid, _evalState);
            MatMul.MultiplyAdd(_validX.AsSpan(0, valid * shape.Inputs), p.Wxh, valid, shape.Inputs, shape.Hidden, _evalState);
        }
        Rnn.Infer(p, _validX, Options.Length, valid, useState, _evalState, _evalScratch, _evalO);
        double loss = GlobalLoss.Forward(LossKind, _evalO, _validY, valid, shape.Outputs);
        int errors = GlobalLoss.Errors(LossKind, _evalO, _validY, valid, shape.Outputs);
        return new Evaluation(loss, 1.0 - (double)errors / valid, errors, valid);
    }
}
