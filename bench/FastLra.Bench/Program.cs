using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.NativeAot;
using FastLra.Bench;

// dotnet run -c Release --project bench/FastLra.Bench -- --filter '*'              full runs (JIT)
// dotnet run -c Release --project bench/FastLra.Bench -- --filter '*' --job short   quick look
// ... -- --filter '*Product*' --aot                                                 JIT and Native AOT side by side
var config = DefaultConfig.Instance.AddColumn(new GflopsColumn());
if (args.Contains("--aot"))
{
    args = [.. args.Where(a => a != "--aot")];
    // Native AOT otherwise targets SSE4.2-era CPUs (no FMA); build for the instruction sets of this machine.
    var aot = NativeAotToolchain.CreateBuilder().UseNuGet().IlcInstructionSet("native").TargetFrameworkMoniker("net10.0").ToToolchain();
    config = config
        .AddJob(Job.ShortRun.WithId("JIT"))
        .AddJob(Job.ShortRun.WithToolchain(aot).WithId("NativeAOT"));
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
