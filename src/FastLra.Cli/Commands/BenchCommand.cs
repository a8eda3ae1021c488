using System.Diagnostics;
using FastLra.Data;
using FastLra.Kernels;
using FastLra.Tasks;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary><c>fastlra bench</c>: times training iterations of one configuration in this binary (GFLOP/s against the FMA peak measured right after).</summary>
internal sealed class BenchCommand : Command
{
    /// <summary>The most timed or warm-up iterations (a double of timing each).</summary>
    public const long MaxIterations = 1_000_000;

    public override string Name => "bench";

    public override string Summary => "time training iterations of one configuration in this binary";

    public override string Usage => "fastlra bench [--algo bptt|lra] [--cell C --layers L] [--data F ...] [model options] [--iters N] [--warmup W] [--json]";

    public override OptionUse Options => OptionUse.Bench;

    public override IReadOnlyList<CliFlag> Flags { get; } =
    [
        new("iters", "int", "timed iterations", @default: "200") { Max = MaxIterations },
        new("warmup", "int", "untimed iterations first, and at least one second of them", @default: "20") { Max = MaxIterations },
        new("json", null, "print one JSON object on stdout"),
    ];

    public override int Run(CliArguments a, CancellationToken cancel)
    {
        long iters = a.Long("iters", 200), warmup = a.Long("warmup", 20);
        if (iters <= 0) throw new UsageException($"--iters must be positive, got {iters}.");
        if (warmup < 0) throw new UsageException($"--warmup must be >= 0, got {warmup}.");
        // The paper's temporal-order setting by default; no validation to speak of.
        var bare = new RunSpec(new TaskSource(TaskKind.TemporalOrder, 20) { ValidSize = 1 }) { Options = new TrainingOptions { MaxIterations = 1, CheckEvery = 1, Patience = 1 } };
        var spec = a.Apply(bare);
        var run = TrainingRun.Start(spec);
        // At least a second too: the JIT re-compiles hot methods at full optimisation after ~100 ms.
        long warmStart = Stopwatch.GetTimestamp();
        for (long i = 0; i < warmup || (warmup > 0 && Stopwatch.GetElapsedTime(warmStart).TotalSeconds < 1); i++) run.Iterate();
        var seconds = new double[iters];
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        int collections = GC.CollectionCount(0);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < iters; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            run.Iterate();
            seconds[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        double total = Stopwatch.GetElapsedTime(start).TotalSeconds;
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        collections = GC.CollectionCount(0) - collections;
        // The peak right after the timed iterations, at the kernels' width: the machine's speed drifts.
        double peak = SimdWidth.Bits == 0 ? double.NaN : FmaPeak.Gflops(SimdWidth.Bits);
        Array.Sort(seconds);
        var o = spec.Options;
        bool lra = o.Algorithm == AlgorithmKind.Lra;
        var layout = run.Source.Layout;
        string task = spec.Source is DataFileSource d ? Path.GetFileName(d.Path) : TaskInfo.Name(((TaskSource)spec.Source).Task);
        var report = new BenchReport(OptionNames.Algorithms.Name(o.Algorithm), lra ? OptionNames.Semantics.Name(o.Semantics) : null, task,
            layout.Steps, o.Hidden, o.Batch, lra ? o.K : null, lra ? o.Alpha : null,
            (int)iters, seconds[iters / 2], total / iters, iters / total, seconds[Math.Min(iters - 1, (int)(iters * 0.99))],
            (double)allocated / iters, collections, SimdWidth.Bits, InfoCommand.InstructionSets(), System.Runtime.JitInfo.GetCompiledILBytes() == 0,
            FlopModel.Iteration(o, layout) / seconds[iters / 2] / 1e9, peak)
        {
            Cell = o.Cell, Layers = o.Layers,
        };
        if (a.Has("json"))
        {
            Console.Out.WriteLine(CliJson.Serialize(report.Write));
            return CliExit.Ok;
        }
        Console.Out.WriteLine(report.Text(layout.PerStep ? $" (outputs at steps {layout.Washout}..{layout.Steps - 1})" : ""));
        return CliExit.Ok;
    }
}
