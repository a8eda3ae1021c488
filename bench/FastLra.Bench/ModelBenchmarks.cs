using BenchmarkDotNet.Attributes;
using FastLra.Model;
using FastLra.Tasks;
using FastLra.Training;

namespace FastLra.Bench;

/// <summary>One inference step of a deployed model through <see cref="RnnState"/>: B = 1, H = 100, I = 6, O = 4, output included.</summary>
[MemoryDiagnoser]
public class InferenceStepBenchmark
{
    private readonly float[] _x = new float[6], _y = new float[4];
    private RnnState _state = null!;

    [GlobalSetup]
    public void Setup()
    {
        var p = new ParameterSet(new RnnShape(6, 100, 4));
        Initialization.Orthogonal(p, 1);
        _state = new RnnState(new RnnModel(p));
        _x[3] = 1f;
    }

    [Benchmark]
    public void Step() => _state.Step(_x, _y);
}

/// <summary>
/// One BPTT iteration (fresh batch, gradients, optimiser step), temporal order, B = 20, H = 100,
/// over T: its cost should be linear in T.
/// </summary>
[MemoryDiagnoser]
public class BpttIterationBenchmark : IFlopCount
{
    private Trainer _trainer = null!;

    [Params(20, 50, 100, 200, 400)]
    public int T { get; set; }

    public double Flops => FlopModel.Bptt(T, 20, 6, 100, 4);

    [GlobalSetup]
    public void Setup() =>
        _trainer = new Trainer(new TrainingOptions { Task = TaskKind.TemporalOrder, Length = T, Hidden = 100, Batch = 20, ValidSize = 1 });

    [Benchmark]
    public float BpttIteration() => _trainer.Step();
}

/// <summary>One LRA iteration in local semantics, temporal order, B = 20, H = 100, K = 10, alpha = 0.1, over T (linear in T).</summary>
[MemoryDiagnoser]
public class LraLocalIterationBenchmark : IFlopCount
{
    private Trainer _trainer = null!;

    [Params(20, 50, 100, 200, 400)]
    public int T { get; set; }

    public double Flops => FlopModel.LraLocal(T, 20, 6, 100, 4, 10, omega: true);

    [GlobalSetup]
    public void Setup() => _trainer = LraTrainer(T, LraSemantics.Local);

    [Benchmark]
    public float LraIteration() => _trainer.Step();

    internal static Trainer LraTrainer(int steps, LraSemantics semantics) =>
        new(new TrainingOptions
        {
            Task = TaskKind.TemporalOrder, Length = steps, Hidden = 100, Batch = 20, ValidSize = 1,
            Algorithm = AlgorithmKind.Lra, Semantics = semantics, K = 10, Alpha = 0.1f,
        });
}

/// <summary>One LRA iteration in reference semantics (the published code's O(T²) computation), same setting.</summary>
[MemoryDiagnoser]
public class LraReferenceIterationBenchmark : IFlopCount
{
    private Trainer _trainer = null!;

    [Params(20, 50)]
    public int T { get; set; }

    public double Flops => FlopModel.LraReference(T, 20, 6, 100, 4, 10, omega: true);

    [GlobalSetup]
    public void Setup() => _trainer = LraLocalIterationBenchmark.LraTrainer(T, LraSemantics.Reference);

    [Benchmark]
    public float LraIteration() => _trainer.Step();
}
