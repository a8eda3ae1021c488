using System.Text.Json.Serialization;

namespace FastLra.Cli;

/// <summary>The final report of <c>train --json</c>.</summary>
internal sealed record TrainReport(
    string Task, int Length, int Hidden, int Batch, long Seed, string Algo, string Optimizer, float Lr, float Clip,
    long Iterations, double BestValidAccuracy, double FinalValidLoss, double FinalValidAccuracy, double FinalTrainLoss,
    bool Solved, string StopReason, double WallSeconds, double SecondsPerIteration, string? Saved);

/// <summary>One line of the <c>--metrics</c> file, per validation check.</summary>
internal sealed record MetricsLine(
    long Iteration, double TrainLoss, double ValidLoss, double ValidAccuracy, double BestValidAccuracy,
    double ElapsedSeconds, double IterationsPerSecond);

/// <summary>The report of <c>eval --json</c>.</summary>
internal sealed record EvalReport(
    string Model, string Task, int Length, int Hidden, long Seed, int ValidSize, double Loss, double Accuracy, int Errors, bool Solved);

/// <summary>The report of <c>info --json</c>.</summary>
internal sealed record InfoReport(
    string Version, string Runtime, bool NativeAot, int VectorFloatCount, bool VectorHardwareAccelerated,
    int VectorBits, string[] InstructionSets, int ProcessorCount);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(TrainReport))]
[JsonSerializable(typeof(MetricsLine))]
[JsonSerializable(typeof(EvalReport))]
[JsonSerializable(typeof(InfoReport))]
internal sealed partial class CliJson : JsonSerializerContext;
