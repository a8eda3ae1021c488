using BenchmarkDotNet.Attributes;
using FastLra.Model;
using FastLra.Tasks;
using FastLra.Training;

namespace FastLra.Bench;

/// <summary>One inference step of a deployed model: B = 1, H = 100, I = 6 (temporal order).</summary>
[MemoryDiagnoser]
public class InferenceStepBenchmark
{
    private readonly ParameterSet _p = new(new RnnShape(6, 100, 4));
    private readonly float[] _x = new float[6], _h = new float[100], _next = new float[100];

    [GlobalSetup]
    public void Setup()
    {
        Initialization.Orthogonal(_p, 1);
        _x[3] = 1f;
    }

    [Benchmark]
    public void Step()
    {
        Rnn.StepForward(_p, _x, _h, 1, _next, _next);
        _next.CopyTo(_h, 0);
    }
}

/// <summary>One training iteration (fresh batch, gradients, optimiser step), temporal order, B = 20, H = 100.</summary>
[MemoryDiagnoser]
public class TrainingIterationBenchmark
{
    private Trainer _trainer = null!;

    [Params(20, 100)]
    public int T { get; set; }

    [GlobalSetup]
    public void Setup() =>
        _trainer = new Trainer(new TrainingOptions { Task = TaskKind.TemporalOrder, Length = T, Hidden = 100, Batch = 20, ValidSize = 1 });

    [Benchmark]
    public float BpttIteration() => _trainer.Step();
}

/// <summary>
/// One LRA iteration, temporal order, B = 20, H = 100, K = 10, alpha = 0.1. Local semantics should
/// cost time linear in T; the reference semantics adds the O(T²) full-graph passes.
/// </summary>
[MemoryDiagnoser]
public class LraIterationBenchmark
{
    private Trainer _trainer = null!;

    [Params(LraSemantics.Local, LraSemantics.Reference)]
    public LraSemantics Semantics { get; set; }

    [Params(20, 50, 100, 200)]
    public int T { get; set; }

    [GlobalSetup]
    public void Setup() =>
        _trainer = new Trainer(new TrainingOptions
        {
            Task = TaskKind.TemporalOrder, Length = T, Hidden = 100, Batch = 20, ValidSize = 1,
            Algorithm = AlgorithmKind.Lra, Semantics = Semantics, K = 10, Alpha = 0.1f,
        });

    [Benchmark]
    public float LraIteration() => _trainer.Step();
}
