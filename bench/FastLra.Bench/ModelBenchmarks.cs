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
