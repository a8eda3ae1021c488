using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using FastLra.Bench;

// dotnet run -c Release --project bench/FastLra.Bench -- --filter '*'            (full runs)
// dotnet run -c Release --project bench/FastLra.Bench -- --filter '*' --job short (quick look)
var config = DefaultConfig.Instance.AddColumn(new GflopsColumn());
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
