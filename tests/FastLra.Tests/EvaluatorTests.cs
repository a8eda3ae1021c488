using FastLra.Data;
using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// Validation in tiles shared among threads: the same outputs and figures, bit for
/// bit, as the whole set stepped at once, for any number of threads, and no allocation once warm.
/// </summary>
public class EvaluatorTests
{
    public static TheoryData<int, bool> Sets() => new()
    {
        { 1, false }, { 255, true }, { 256, false }, { 1000, true }, { 1000, false }, { 2 * Evaluator.TileRows + 3, true },
    };

    [Theory]
    [MemberData(nameof(Sets))]
    public void A_task_set_gives_the_whole_batch_numbers_for_any_thread_count(int count, bool referenceStart)
    {
        var p = new ParameterSet(new RnnShape(6, 24, 4));
        Initialization.Orthogonal(p, 3);
        var evaluator = new Evaluator(new TaskGenerator(TaskKind.TemporalOrder, 12, count, new RandomState(5)), count, 24);
        var (expected, outputs) = Whole(evaluator, p, referenceStart);
        foreach (int threads in new[] { 1, 2, 3, 8 })
        {
            evaluator.Threads = threads;
            Assert.Equal(expected, evaluator.Evaluate(p, referenceStart));
            Assert.Equal(outputs, evaluator.Outputs.ToArray());
        }
    }

    /// <summary>Per-step outputs after a washout (a data set's layout), regression figures included.</summary>
    [Fact]
    public void A_data_set_with_outputs_at_every_step_gives_the_same_numbers_for_any_thread_count()
    {
        const int n = 600, steps = 9, washout = 3, inputs = 2, outputs = 3;
        var rng = new Random(2);
        var x = new float[n * steps * inputs];
        var y = new float[n * (steps - washout) * outputs];
        foreach (ref float v in x.AsSpan()) v = (float)rng.NextDouble() - 0.5f;
        foreach (ref float v in y.AsSpan()) v = (float)rng.NextDouble();
        using var set = new SequenceDataSet(new SequenceLayout(steps, inputs, outputs, washout, GlobalLossKind.MeanSquaredError), x, y);
        var p = new ParameterSet(new RnnShape(inputs, 16, outputs));
        Initialization.Orthogonal(p, 8);
        var evaluator = new Evaluator(set.InOrder(), n, 16, [2f, 0.5f, 1f]);
        var (expected, outs) = Whole(evaluator, p, referenceStart: false);
        Assert.False(double.IsNaN(expected.R2));
        foreach (int threads in new[] { 2, 4 })
        {
            evaluator.Threads = threads;
            Assert.Equal(expected, evaluator.Evaluate(p, referenceStart: false));
            Assert.Equal(outs, evaluator.Outputs.ToArray());
        }
    }

    [Fact]
    public void A_shared_evaluation_allocates_nothing_once_warm()
    {
        var trainer = TestRuns.Start(TaskKind.Adding, 10, new TrainingOptions { Hidden = 16, Batch = 4 }, validSize: 3 * Evaluator.TileRows);
        trainer.ValidationThreads = 2;
        trainer.Evaluate();
        WarmBlockingWait();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++) trainer.Evaluate();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Throws<ArgumentOutOfRangeException>(() => trainer.ValidationThreads = 0);
    }

    /// <summary>
    /// The caller of a shared job allocates nothing once the pool is started, whether the workers
    /// finish first (the caller's wait returns while it spins) or last (the caller blocks): a wait
    /// that first blocks must not create anything then (a slim event's lazily made lock did, which
    /// made the test above fail about once in twenty runs).
    /// </summary>
    [Fact]
    public void A_caller_that_waits_for_a_slow_worker_allocates_nothing()
    {
        var (fast, slow) = (new SlowWorkers(0), new SlowWorkers(20));
        SharedWorkers.Run(fast, 2);
        WarmBlockingWait();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 3; i++) SharedWorkers.Run(slow, 2);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>
    /// A caller's first wait that blocks makes its thread's wait record once (the runtime's wait
    /// subsystem on Unix, about 3 KB): warm-up, like the first check of a run. A warm-up whose
    /// workers happened to finish first would leave it to the measured calls (it did, under load).
    /// </summary>
    private static void WarmBlockingWait() => SharedWorkers.Run(new SlowWorkers(20), 2);

    private sealed class SlowWorkers(int milliseconds) : IWorkerJob
    {
        public void Run(int worker)
        {
            if (worker > 0) Thread.Sleep(milliseconds);
        }
    }

    /// <summary>The figures and outputs of the set run as one tile of every sequence on one thread: the plain statement.</summary>
    private static (Evaluation, float[]) Whole(Evaluator evaluator, ParameterSet p, bool referenceStart)
    {
        var layout = evaluator.Layout;
        int count = evaluator.Count, hidden = p.Shape.Hidden, rows = layout.OutputSteps * count;
        var (buffer, o) = (new float[Rnn.InferenceLength(p.Shape, hidden, count)], new float[rows * layout.Outputs]);
        Rnn.Infer(p, evaluator.Set.X, layout.Steps, count, 0, count, layout.Washout, referenceStart, buffer, o);
        evaluator.Threads = 1;
        var evaluation = evaluator.Evaluate(p, referenceStart);
        Assert.Equal(o, evaluator.Outputs.ToArray());
        return (evaluation, o);
    }
}
