using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/FastLra.Bench -- --filter '*'            (full runs)
// dotnet run -c Release --project bench/FastLra.Bench -- --filter '*' --job short (quick look)
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
