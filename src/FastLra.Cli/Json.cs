using System.Globalization;
using System.Text.Json;
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

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("task", Task);
        w.WriteNumber("length", Length);
        w.WriteNumber("hidden", Hidden);
        w.WriteNumber("batch", Batch);
        w.WriteNumber("seed", Seed);
        w.WriteString("algo", Algo);
        w.WriteString("optimizer", Optimizer);
        CliJson.Number(w, "lr", Lr);
        CliJson.Number(w, "clip", Clip);
        CliJson.Optional(w, "semantics", Semantics);
        if (K is int k) w.WriteNumber("k", k);
        CliJson.Optional(w, "beta", Beta);
        CliJson.Optional(w, "alpha", Alpha);
        CliJson.Optional(w, "local_loss", LocalLoss);
        CliJson.Optional(w, "clip_mode", ClipMode);
        w.WriteNumber("max_iter", MaxIter);
        w.WriteNumber("check_every", CheckEvery);
        w.WriteNumber("patience", Patience);
        w.WriteNumber("valid_size", ValidSize);
        w.WriteNumber("iterations", Iterations);
        CliJson.Number(w, "best_valid_accuracy", BestValidAccuracy);
        CliJson.Number(w, "final_valid_loss", FinalValidLoss);
        CliJson.Number(w, "final_valid_accuracy", FinalValidAccuracy);
        CliJson.Number(w, "final_train_loss", FinalTrainLoss);
        w.WriteBoolean("solved", Solved);
        w.WriteString("stop_reason", StopReason);
        CliJson.Number(w, "wall_seconds", WallSeconds);
        CliJson.Number(w, "seconds_per_iteration", SecondsPerIteration);
        CliJson.Optional(w, "saved", Saved);
        w.WriteEndObject();
    }
}

/// <summary>The result file of one sweep run: its id, the train command that repeats it, and its report.</summary>
internal sealed record SweepResult(string Id, string Command, TrainReport Run)
{
    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("id", Id);
        w.WriteString("command", Command);
        w.WritePropertyName("run");
        Run.Write(w);
        w.WriteEndObject();
    }

    /// <summary>Reads what <see cref="Write"/> wrote (non-finite numbers are the strings NaN, Infinity, -Infinity).</summary>
    public static SweepResult Read(JsonElement e)
    {
        var r = e.GetProperty("run");
        string S(string name) => r.GetProperty(name).GetString() ?? throw new FormatException($"'{name}' is null.");
        string? OS(string name) => r.TryGetProperty(name, out var v) ? v.GetString() : null;
        double D(string name) => CliJson.ReadNumber(r.GetProperty(name));
        float? OF(string name) => r.TryGetProperty(name, out var v) ? (float)CliJson.ReadNumber(v) : null;
        return new SweepResult(e.GetProperty("id").GetString() ?? "", e.GetProperty("command").GetString() ?? "", new TrainReport(
            S("task"), r.GetProperty("length").GetInt32(), r.GetProperty("hidden").GetInt32(), r.GetProperty("batch").GetInt32(),
            r.GetProperty("seed").GetInt64(), S("algo"), S("optimizer"), (float)D("lr"), (float)D("clip"),
            OS("semantics"), r.TryGetProperty("k", out var k) ? k.GetInt32() : null, OF("beta"), OF("alpha"), OS("local_loss"), OS("clip_mode"),
            r.GetProperty("max_iter").GetInt64(), r.GetProperty("check_every").GetInt32(), r.GetProperty("patience").GetInt32(),
            r.GetProperty("valid_size").GetInt32(), r.GetProperty("iterations").GetInt64(), D("best_valid_accuracy"), D("final_valid_loss"),
            D("final_valid_accuracy"), D("final_train_loss"), r.GetProperty("solved").GetBoolean(), S("stop_reason"), D("wall_seconds"),
            D("seconds_per_iteration"), OS("saved")));
    }
}

/// <summary>
/// One line of the <c>--metrics</c> file, per validation check. The gradient diagnostics are of
/// the check's last iteration; in the per-step arrays index = step t; local losses and Omega
/// values are LRA's only.
/// </summary>
internal sealed record MetricsLine(
    long Iteration, double TrainLoss, double ValidLoss, double ValidAccuracy, double BestValidAccuracy,
    double ElapsedSeconds, double IterationsPerSecond, float GradientNorm,
    float? OutputOmega, float[]? LocalLosses, float[]? DWhhNorms, float[]? DWxhNorms, float[]? OmegaValues)
{
    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteNumber("iteration", Iteration);
        CliJson.Number(w, "train_loss", TrainLoss);
        CliJson.Number(w, "valid_loss", ValidLoss);
        CliJson.Number(w, "valid_accuracy", ValidAccuracy);
        CliJson.Number(w, "best_valid_accuracy", BestValidAccuracy);
        CliJson.Number(w, "elapsed_seconds", ElapsedSeconds);
        CliJson.Number(w, "iterations_per_second", IterationsPerSecond);
        CliJson.Number(w, "gradient_norm", GradientNorm);
        CliJson.Optional(w, "output_omega", OutputOmega);
        CliJson.Array(w, "local_losses", LocalLosses);
        CliJson.Array(w, "dWhh_step_norms", DWhhNorms);
        CliJson.Array(w, "dWxh_step_norms", DWxhNorms);
        CliJson.Array(w, "omega_values", OmegaValues);
        w.WriteEndObject();
    }
}

/// <summary>The report of <c>eval --json</c>.</summary>
internal sealed record EvalReport(
    string Model, string Task, int Length, int Hidden, long Seed, int ValidSize, double Loss, double Accuracy, int Errors, bool Solved)
{
    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("model", Model);
        w.WriteString("task", Task);
        w.WriteNumber("length", Length);
        w.WriteNumber("hidden", Hidden);
        w.WriteNumber("seed", Seed);
        w.WriteNumber("valid_size", ValidSize);
        CliJson.Number(w, "loss", Loss);
        CliJson.Number(w, "accuracy", Accuracy);
        w.WriteNumber("errors", Errors);
        w.WriteBoolean("solved", Solved);
        w.WriteEndObject();
    }
}

/// <summary>The report of <c>info --json</c>. VectorBits is the width the kernels run at (FastLra.Kernels.SimdWidth), which can exceed Vector&lt;float&gt;'s.</summary>
internal sealed record InfoReport(
    string Version, string Runtime, bool NativeAot, int VectorFloatCount, bool VectorHardwareAccelerated,
    int VectorBits, string[] InstructionSets, int ProcessorCount)
{
    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("version", Version);
        w.WriteString("runtime", Runtime);
        w.WriteBoolean("native_aot", NativeAot);
        w.WriteNumber("vector_float_count", VectorFloatCount);
        w.WriteBoolean("vector_hardware_accelerated", VectorHardwareAccelerated);
        w.WriteNumber("vector_bits", VectorBits);
        CliJson.Strings(w, "instruction_sets", InstructionSets);
        w.WriteNumber("processor_count", ProcessorCount);
        w.WriteEndObject();
    }
}

/// <summary>The report of <c>bench --json</c>.</summary>
internal sealed record BenchReport(
    string Algo, string? Semantics, string Task, int Length, int Hidden, int Batch, int? K, float? Alpha, int Iterations,
    double MedianSecondsPerIteration, double SecondsPerIteration, double IterationsPerSecond, double P99SecondsPerIteration,
    double AllocatedBytesPerIteration, int Gen0Collections, int VectorBits, string[] InstructionSets, bool NativeAot)
{
    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("algo", Algo);
        CliJson.Optional(w, "semantics", Semantics);
        w.WriteString("task", Task);
        w.WriteNumber("length", Length);
        w.WriteNumber("hidden", Hidden);
        w.WriteNumber("batch", Batch);
        if (K is int k) w.WriteNumber("k", k);
        CliJson.Optional(w, "alpha", Alpha);
        w.WriteNumber("iterations", Iterations);
        CliJson.Number(w, "median_seconds_per_iteration", MedianSecondsPerIteration);
        CliJson.Number(w, "seconds_per_iteration", SecondsPerIteration);
        CliJson.Number(w, "iterations_per_second", IterationsPerSecond);
        CliJson.Number(w, "p99_seconds_per_iteration", P99SecondsPerIteration);
        CliJson.Number(w, "allocated_bytes_per_iteration", AllocatedBytesPerIteration);
        w.WriteNumber("gen0_collections", Gen0Collections);
        w.WriteNumber("vector_bits", VectorBits);
        CliJson.Strings(w, "instruction_sets", InstructionSets);
        w.WriteBoolean("native_aot", NativeAot);
        w.WriteEndObject();
    }
}

/// <summary>
/// The JSON the CLI prints and writes, with snake_case names, absent values left out and
/// non-finite numbers as the strings NaN, Infinity and -Infinity. Written by hand with
/// Utf8JsonWriter: System.Text.Json's serializer (even source-generated) would cost the Native
/// AOT binary several hundred kilobytes.
/// </summary>
internal static class CliJson
{
    /// <summary>One compact JSON object as a string.</summary>
    public static string Serialize(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            write(w);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteString(name, value.ToString(CultureInfo.InvariantCulture));
    }

    public static void Number(Utf8JsonWriter w, string name, float value)
    {
        w.WritePropertyName(name);
        NumberValue(w, value);
    }

    private static void NumberValue(Utf8JsonWriter w, float value)
    {
        if (float.IsFinite(value)) w.WriteNumberValue(value);
        else w.WriteStringValue(value.ToString(CultureInfo.InvariantCulture));
    }

    public static void Optional(Utf8JsonWriter w, string name, float? value)
    {
        if (value is float v) Number(w, name, v);
    }

    public static void Optional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null) w.WriteString(name, value);
    }

    public static void Array(Utf8JsonWriter w, string name, float[]? values)
    {
        if (values is null) return;
        w.WriteStartArray(name);
        foreach (float v in values) NumberValue(w, v);
        w.WriteEndArray();
    }

    public static void Strings(Utf8JsonWriter w, string name, string[] values)
    {
        w.WriteStartArray(name);
        foreach (string v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    /// <summary>A number written by <see cref="Number(Utf8JsonWriter, string, double)"/>.</summary>
    public static double ReadNumber(JsonElement e) =>
        e.ValueKind == JsonValueKind.String
            ? double.Parse(e.GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture)
            : e.GetDouble();
}
