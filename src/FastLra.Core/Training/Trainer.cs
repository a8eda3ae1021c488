using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;

namespace FastLra.Training;

/// <summary>
/// One training run's state: the workspace, the gradient algorithm, the optimiser, the task
/// generator and the fixed validation set. As the reference does, the validation set is drawn
/// first (one generate call of ValidSize sequences), then every iteration draws a fresh batch from
/// the same generator. After construction, <see cref="Step"/> and <see cref="Evaluate"/> allocate nothing.
/// </summary>
public sealed class Trainer
{
    public Trainer(TrainingOptions options, ParameterSet? initial = null)
    {
        string? problem = options.Validate();
        if (problem is not null) throw new ArgumentException(problem);
        Options = options;
        var task = options.Task;
        var shape = new RnnShape(TaskInfo.Inputs(task), options.Hidden, TaskInfo.Outputs(task));
        LossKind = TaskInfo.Loss(task);
        bool lra = options.Algorithm == AlgorithmKind.Lra;
        Workspace = new Workspace(shape, options.Length, options.Batch, Optimizer.StateBuffers(options.Optimizer),
            lra ? Lra.ScratchLength(shape, options.Length, options.Batch, options.Semantics) : Bptt.ScratchLength(shape, options.Length, options.Batch));
        if (initial is null) Initialization.Orthogonal(Workspace.Parameters, options.Seed);
        else Workspace.Parameters.CopyFrom(initial);
        Optimizer = Optimizer.Create(options.Optimizer, options.LearningRate, Workspace.OptimizerState);
        Algorithm = lra
            ? Lra.Create(Workspace, LossKind, LraSettings.From(options))
            : new Bptt(Workspace, LossKind, options.Clip);

        Generator = new TaskGenerator(task, options.Length, Math.Max(options.ValidSize, options.Batch), new RandomState(options.Seed));
        Validation = new Evaluator(Generator, options.ValidSize, options.Hidden);
    }

    public TrainingOptions Options { get; }
    public Workspace Workspace { get; }
    public ParameterSet Parameters => Workspace.Parameters;
    public Optimizer Optimizer { get; }
    public IGradientAlgorithm Algorithm { get; }
    public TaskGenerator Generator { get; }
    public GlobalLossKind LossKind { get; }
    public Evaluator Validation { get; }

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

    /// <summary>
    /// Puts the trainer back where a checkpoint left it: parameters (layout order), optimiser state
    /// and step count, the task generator's state and the iteration count.
    /// </summary>
    public void Restore(ReadOnlySpan<float> parameters, ReadOnlySpan<float> optimizerState, long optimizerSteps,
        ReadOnlySpan<uint> generatorKey, int generatorIndex, bool hasGauss, double gauss, long iteration)
    {
        if (parameters.Length != Parameters.Data.Length || optimizerState.Length != Optimizer.State.Length)
            throw new ArgumentException("The checkpoint's parameters or optimiser state do not fit this run.");
        parameters.CopyTo(Parameters.Data);
        optimizerState.CopyTo(Optimizer.State);
        Optimizer.RestoreStepCount(optimizerSteps);
        Generator.Random.SetState(generatorKey, generatorIndex, hasGauss, gauss);
        Iteration = iteration;
    }

    /// <summary>Loss and accuracy on the fixed validation set.</summary>
    public Evaluation Evaluate() => Validation.Evaluate(Parameters, Algorithm.ReferenceValidationStart);
}
