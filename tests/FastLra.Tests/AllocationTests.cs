using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>After warm-up nothing on the training or inference path allocates.</summary>
public class AllocationTests
{
    internal static readonly (TaskKind Task, OptimizerKind Optimizer)[] TrainingCases =
    [
        (TaskKind.TemporalOrder, OptimizerKind.Sgd), (TaskKind.TemporalOrder3Bit, OptimizerKind.Nesterov), (TaskKind.RandomPermutation, OptimizerKind.Adam),
        (TaskKind.Adding, OptimizerKind.RmsProp), (TaskKind.Adding, OptimizerKind.Adagrad),
    ];

    internal static readonly (LraSemantics Semantics, LocalLossKind LocalLoss, float Alpha)[] LraCases =
    [
        (LraSemantics.Local, LocalLossKind.LogPenalty, 0f), (LraSemantics.Local, LocalLossKind.Mse, 0.1f),
        (LraSemantics.Reference, LocalLossKind.LogPenalty, 0.1f), (LraSemantics.Reference, LocalLossKind.Mse, 0f),
    ];

    public static TheoryData<TaskKind, OptimizerKind> Training()
    {
        var data = new TheoryData<TaskKind, OptimizerKind>();
        foreach (var (task, optimizer) in TrainingCases) data.Add(task, optimizer);
        return data;
    }

    public static TheoryData<LraSemantics, LocalLossKind, float> Lra()
    {
        var data = new TheoryData<LraSemantics, LocalLossKind, float>();
        foreach (var (semantics, localLoss, alpha) in LraCases) data.Add(semantics, localLoss, alpha);
        return data;
    }

    [Theory]
    [MemberData(nameof(Training))]
    public void Training_iterations_and_evaluation_allocate_nothing(TaskKind task, OptimizerKind optimizer)
    {
        var trainer = TestRuns.Start(task, 12, new TrainingOptions { Hidden = 16, Batch = 5, Optimizer = optimizer });
        for (int i = 0; i < 3; i++) trainer.Iterate();
        trainer.Evaluate();

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
        {
            // Every other iteration records the per-step diagnostics, as before a check.
            trainer.Algorithm.Diagnostics.Detailed = i % 2 == 0;
            trainer.Iterate();
        }
        trainer.Evaluate();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }

    [Theory]
    [MemberData(nameof(Lra))]
    public void Lra_iterations_allocate_nothing(LraSemantics semantics, LocalLossKind localLoss, float alpha)
    {
        var trainer = TestRuns.Start(TaskKind.TemporalOrder, 12, new TrainingOptions
        {
            Hidden = 16, Batch = 5, Algorithm = AlgorithmKind.Lra, Semantics = semantics, LocalLoss = localLoss, Alpha = alpha, K = 3, Optimizer = OptimizerKind.Adam,
        });
        for (int i = 0; i < 3; i++) trainer.Iterate();
        trainer.Evaluate();

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) trainer.Iterate();
        trainer.Evaluate();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>Steps with their checks, where the plateau schedule decides the rate, allocate nothing.</summary>
    [Fact]
    public void Steps_and_checks_of_the_plateau_schedule_allocate_nothing()
    {
        var run = TestRuns.Start(TaskKind.Adding, 12, new TrainingOptions
        {
            Hidden = 16, Batch = 5, Schedule = LearningRateSchedule.Plateau, LearningRatePatience = 0, LearningRateThreshold = 0.5, CheckEvery = 2, Patience = 1000,
        });
        for (int i = 0; i < 4; i++) run.Step();

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) run.Step();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(run.Loop.Plateau.Rate < run.Spec.Options.LearningRate, "no check reduced the rate");
    }

    [Fact]
    public void An_inference_step_allocates_nothing()
    {
        var p = new ParameterSet(new RnnShape(6, 100, 4));
        Initialization.Orthogonal(p, 1);
        var x = new float[6];
        x[2] = 1f;
        var h = new float[100];
        var next = new float[100];
        var o = new float[4];
        Rnn.StepForward(p, x, h, 1, next, next);
        Rnn.OutputForward(p, next, 1, o);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            Rnn.StepForward(p, x, h, 1, next, next);
            next.CopyTo(h, 0);
        }
        Rnn.OutputForward(p, h, 1, o);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
