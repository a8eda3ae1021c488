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
    private TrainingRun _run = null!;

    [Params(20, 50, 100, 200, 400)]
    public int T { get; set; }

    public double Flops => FlopModel.Bptt(T, 20, 6, 100, 4);

    [GlobalSetup]
    public void Setup() => _run = TemporalOrder(T, new TrainingOptions { Hidden = 100, Batch = 20 });

    /// <summary>A run on temporal order of <paramref name="steps"/> steps, with the smallest validation set (the benchmarks never check).</summary>
    internal static TrainingRun TemporalOrder(int steps, TrainingOptions options) =>
        TrainingRun.Start(new RunSpec(new TaskSource(TaskKind.TemporalOrder, steps) { ValidSize = 1 }) { Options = options });

    [Benchmark]
    public float BpttIteration() => _run.Iterate();
}

/// <summary>
/// A BPTT iteration that also records the per-step norms of the weight-gradient terms (the one
/// before each validation check) beside a plain one, temporal order, T = 20, H = 100: the check
/// iteration must cost at most twice the plain one at every batch size (its norms are linear in B).
/// </summary>
[MemoryDiagnoser]
public class BpttCheckIterationBenchmark
{
    private TrainingRun _run = null!;

    [Params(20, 4000)]
    public int B { get; set; }

    [GlobalSetup]
    public void Setup() => _run = BpttIterationBenchmark.TemporalOrder(20, new TrainingOptions { Hidden = 100, Batch = B });

    [Benchmark(Baseline = true)]
    public float PlainIteration()
    {
        _run.Algorithm.Diagnostics.Detailed = false;
        return _run.Iterate();
    }

    [Benchmark]
    public float CheckIteration()
    {
        _run.Algorithm.Diagnostics.Detailed = true;
        return _run.Iterate();
    }
}

/// <summary>
/// One BPTT iteration (fresh batch, gradients, SGD with clipping) of each cell at the paper's size,
/// temporal order, T = 20, B = 20, H = 100, I = 6, one and two layers: against PyTorch's nn.GRU and
/// nn.LSTM of the same sizes (bench/peers.sh), and against the tanh cell (a GRU should cost about three).
/// </summary>
[MemoryDiagnoser]
public class CellIterationBenchmark
{
    private IGradientAlgorithm _bptt = null!;
    private Optimizer _optimizer = null!;
    private Workspace _ws = null!;
    private TaskGenerator _source = null!;

    [Params(CellKind.Tanh, CellKind.Gru, CellKind.Lstm)]
    public CellKind Cell { get; set; }

    [Params(1, 2)]
    public int Layers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _source = new TaskGenerator(TaskKind.TemporalOrder, 20, 20, new RandomState(1));
        var layout = _source.Layout;
        var shape = new RnnShape(layout.Inputs, 100, layout.Outputs, Cell, Layers);
        _ws = new Workspace(shape, layout, 20, 0, Bptt.ScratchLength(shape, 20, 20));
        Initialization.Default(_ws.Parameters, 1);
        _bptt = Bptt.Create(_ws, 1f);
        _optimizer = Optimizer.Create(OptimizerKind.Sgd, 0.01f, _ws.OptimizerState);
    }

    [Benchmark]
    public float Iteration()
    {
        _source.NextBatch(_ws.Sequences);
        float loss = _bptt.ComputeGradients(_ws.Sequences);
        _optimizer.Step(_ws.Parameters, _ws.Gradients);
        return loss;
    }
}

/// <summary>One streaming step of each cell through <see cref="RnnState"/>: B = 1, H = 100, I = 6, O = 4, output included.</summary>
[MemoryDiagnoser]
public class CellStepBenchmark
{
    private readonly float[] _x = new float[6], _y = new float[4];
    private RnnState _state = null!;

    [Params(CellKind.Tanh, CellKind.Gru, CellKind.Lstm)]
    public CellKind Cell { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var p = new ParameterSet(new RnnShape(6, 100, 4, Cell));
        Initialization.Default(p, 1);
        _state = new RnnState(new RnnModel(p));
        _x[3] = 1f;
    }

    [Benchmark]
    public void Step() => _state.Step(_x, _y);
}

/// <summary>One LRA iteration in local semantics, temporal order, B = 20, H = 100, K = 10, alpha = 0.1, over T (linear in T).</summary>
[MemoryDiagnoser]
public class LraLocalIterationBenchmark : IFlopCount
{
    private TrainingRun _run = null!;

    [Params(20, 50, 100, 200, 400)]
    public int T { get; set; }

    public double Flops => FlopModel.LraLocal(T, 20, 6, 100, 4, 10, omega: true);

    [GlobalSetup]
    public void Setup() => _run = LraRun(T, LraSemantics.Local);

    [Benchmark]
    public float LraIteration() => _run.Iterate();

    internal static TrainingRun LraRun(int steps, LraSemantics semantics) =>
        BpttIterationBenchmark.TemporalOrder(steps, new TrainingOptions
        {
            Hidden = 100, Batch = 20, Algorithm = AlgorithmKind.Lra, Semantics = semantics, K = 10, Alpha = 0.1f,
        });
}

/// <summary>One LRA iteration in reference semantics (the published code's O(T²) computation), same setting.</summary>
[MemoryDiagnoser]
public class LraReferenceIterationBenchmark : IFlopCount
{
    private TrainingRun _run = null!;

    [Params(20, 50)]
    public int T { get; set; }

    public double Flops => FlopModel.LraReference(T, 20, 6, 100, 4, 10, omega: true);

    [GlobalSetup]
    public void Setup() => _run = LraLocalIterationBenchmark.LraRun(T, LraSemantics.Reference);

    [Benchmark]
    public float LraIteration() => _run.Iterate();
}

/// <summary>
/// Training on an in-memory data set against the synthetic generator, and outputs at every step
/// against one, at the paper's sizes (T = 20, B = 20, H = 100, temporal order's I = 6, O = 4): a
/// data set of the task's own sequences (drawn by its generator) is shuffled and gathered where the
/// generator would draw; the per-step layout reads an output (and a loss) at every step.
/// </summary>
[MemoryDiagnoser]
public class DataIterationBenchmark
{
    private TrainingRun _run = null!;

    /// <summary>synthetic, data-last (a data set, one output per sequence) or data-all (an output at every step).</summary>
    [Params("synthetic", "data-last", "data-all")]
    public string Source { get; set; } = "synthetic";

    [Params(AlgorithmKind.Bptt, AlgorithmKind.Lra)]
    public AlgorithmKind Algorithm { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var options = new TrainingOptions { Hidden = 100, Batch = 20, Algorithm = Algorithm, K = 10, Alpha = 0.1f };
        _run = Source == "synthetic"
            ? BpttIterationBenchmark.TemporalOrder(20, options)
            : TrainingRun.Start(new RunSpec(new DataSetSource(Sequences(2000, 1), Sequences(20, 2)) { Normalize = false }) { Options = options });
    }

    /// <summary>N temporal-order sequences, sequence-major; with every step's output, the class label repeated at each step.</summary>
    private FastLra.Data.SequenceDataSet Sequences(int n, uint seed)
    {
        const int steps = 20, inputs = 6, outputs = 4;
        var generator = new TaskGenerator(TaskKind.TemporalOrder, steps, n, new RandomState(seed));
        var x = new float[n * steps * inputs];
        var y = new float[n * outputs];
        generator.Generate(n, x, y);
        var xs = new float[x.Length];
        for (int b = 0; b < n; b++)
            for (int t = 0; t < steps; t++) x.AsSpan((t * n + b) * inputs, inputs).CopyTo(xs.AsSpan((b * steps + t) * inputs, inputs));
        if (Source == "data-last")
            return new FastLra.Data.SequenceDataSet(SequenceLayout.LastStep(steps, inputs, outputs, GlobalLossKind.SoftmaxCrossEntropy), xs, y);
        var ys = new float[n * steps * outputs];
        for (int b = 0; b < n; b++)
            for (int t = 0; t < steps; t++) y.AsSpan(b * outputs, outputs).CopyTo(ys.AsSpan((b * steps + t) * outputs, outputs));
        return new FastLra.Data.SequenceDataSet(new SequenceLayout(steps, inputs, outputs, 0, GlobalLossKind.SoftmaxCrossEntropy), xs, ys);
    }

    [Benchmark]
    public float Iteration() => _run.Iterate();
}

/// <summary>
/// One control tick of an <see cref="OnlineLearner"/> (I = 4, O = 2, W = 16): without learning, and
/// inline with an update every tick (the due tick's whole cost), BPTT and LRA local (K = 3), at
/// H = 32 and 100. The latency distribution over a million ticks, background mode included, is
/// docs/online/latency.sh's.
/// </summary>
[MemoryDiagnoser]
public class OnlineTickBenchmark
{
    private readonly float[] _x = [0.1f, -0.3f, 0.5f, 0.2f], _target = [0.4f, -0.1f], _prediction = new float[2];
    private OnlineLearner _learner = null!;

    [Params(32, 100)]
    public int H { get; set; }

    [Params("none", "bptt", "lra")]
    public string Learning { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var options = new TrainingOptions { Hidden = H, Algorithm = Learning == "lra" ? AlgorithmKind.Lra : AlgorithmKind.Bptt, K = 3, Beta = 1f };
        _learner = new OnlineLearner(options, 4, 2, window: 16, updateEvery: Learning == "none" ? int.MaxValue : 1);
        for (int t = 0; t < 32; t++) _learner.Step(_x, _target, _prediction);
    }

    [Benchmark]
    public void Tick() => _learner.Step(_x, _target, _prediction);
}
