using System.Text.Json.Serialization;
using FastLra.Tasks;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary>The final report of <c>train --json</c> (and of each sweep run): the configuration, then the outcome.</summary>
internal sealed record TrainReport(
    string Task, int Length, int Hidden, int Batch, long Seed, string Algo, string Optimizer, float Lr, float Clip,
    string? Semantics, int? K, float? Beta, float? Alpha, string? LocalLoss, string? ClipMode,
    long MaxIter, int CheckEvery, int Patience, int ValidSize,
    long Iterations, double BestValidAccuracy, double FinalValidLoss, double FinalValidAccuracy, double FinalTrainLoss,
    bool Solved, string StopReason, double WallSeconds, double SecondsPerIteration, string? Saved)
{
    public static TrainReport Create(TrainingOptions o, TrainingResult r, string? saved)
    {
        bool lra = o.Algorithm == AlgorithmKind.Lra;
        return new TrainReport(TaskInfo.Name(o.Task), o.Length, o.Hidden, o.Batch, o.Seed,
            OptionNames.Algorithms.Name(o.Algorithm), Training.Optimizer.Names[(int)o.Optimizer], o.LearningRate, o.Clip,
            lra ? OptionNames.Semantics.Name(o.Semantics) : null, lra ? o.K : null, lra ? o.Beta : null, lra ? o.Alpha : null,
            lra ? OptionNames.LocalLosses.Name(o.LocalLoss) : null, lra ? OptionNames.ClipModes.Name(o.ClipMode) : null,
            o.MaxIterations, o.CheckEvery, o.Patience, o.ValidSize,
            r.Iterations, r.BestValidAccuracy, r.FinalValidLoss, r.FinalValidAccuracy, r.FinalTrainLoss, r.Solved,
            Commands.StopReasonName(r.StopReason), r.WallSeconds, r.SecondsPerIteration, saved);
    }
}

/// <summary>The result file of one sweep run: its id, the train command that repeats it, and its report.</summary>
internal sealed record SweepResult(string Id, string Command, TrainReport Run);

/// <summary>
/// One line of the <c>--metrics</c> file, per validation check. The gradient diagnostics are of
/// the check's last iteration; in the per-step arrays index = step t; local losses and Omega
/// values are LRA's only.
/// </summary>
internal sealed record MetricsLine(
    long Iteration, double TrainLoss, double ValidLoss, double ValidAccuracy, double BestValidAccuracy,
    double ElapsedSeconds, double IterationsPerSecond, float GradientNorm,
    float? OutputOmega, float[]? LocalLosses,
    [property: JsonPropertyName("dWhh_step_norms")] float[]? DWhhNorms,
    [property: JsonPropertyName("dWxh_step_norms")] float[]? DWxhNorms,
    float[]? OmegaValues);

/// <summary>The report of <c>eval --json</c>.</summary>
internal sealed record EvalReport(
    string Model, string Task, int Length, int Hidden, long Seed, int ValidSize, double Loss, double Accuracy, int Errors, bool Solved);

/// <summary>The report of <c>info --json</c>.</summary>
internal sealed record InfoReport(
    string Version, string Runtime, bool NativeAot, int VectorFloatCount, bool VectorHardwareAccelerated,
    int VectorBits, string[] InstructionSets, int ProcessorCount);
// VectorBits is the width the kernels run at (FastLra.Kernels.SimdWidth), which can exceed Vector<float>'s.

/// <summary>The report of <c>bench --json</c>.</summary>
internal sealed record BenchReport(
    string Algo, string? Semantics, string Task, int Length, int Hidden, int Batch, int? K, float? Alpha, int Iterations,
    double MedianSecondsPerIteration, double SecondsPerIteration, double IterationsPerSecond, double P99SecondsPerIteration,
    double AllocatedBytesPerIteration, int Gen0Collections, int VectorBits, string[] InstructionSets, bool NativeAot);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(TrainReport))]
[JsonSerializable(typeof(SweepResult))]
[JsonSerializable(typeof(MetricsLine))]
[JsonSerializable(typeof(EvalReport))]
[JsonSerializable(typeof(InfoReport))]
[JsonSerializable(typeof(BenchReport))]
internal sealed partial class CliJson : JsonSerializerContext;
