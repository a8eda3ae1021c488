using System.Globalization;
using System.Text.Json;
using FastLra.Cli.Sweep;
using FastLra.Tasks;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary>What a run on data adds to its report: the best check and the baselines (regression).</summary>
internal sealed class DataOutcome(int steps, long bestIteration, Evaluation valid, bool regression, double baselineR2Mean, double baselineR2Persistence)
{
    public int Steps => steps;
    public long BestIteration => bestIteration;
    public Evaluation Valid => valid;
    public bool Regression => regression;
    public double BaselineR2Mean => baselineR2Mean;
    public double BaselineR2Persistence => baselineR2Persistence;
}

/// <summary>
/// The final report of <c>train --json</c> (and of each sweep run): every option of the table that
/// applies to the run, then the outcome; a run on data adds its best check's metrics and baselines.
/// </summary>
internal sealed record TrainReport(
    RunSpec Spec, long Iterations, double BestValidAccuracy, double FinalValidLoss, double FinalValidAccuracy, double FinalTrainLoss,
    bool Solved, string StopReason, double WallSeconds, double SecondsPerIteration, string? Saved, DataOutcome? Data = null)
{
    /// <summary>The task's name, or the data file's name.</summary>
    public string Task => Spec.Source switch
    {
        TaskSource t => TaskInfo.Name(t.Task),
        DataFileSource f => Path.GetFileName(f.Path),
        _ => "data",
    };

    /// <summary>T: the task's length, or the data's steps per sequence.</summary>
    public int Length => Data?.Steps ?? (Spec.Source as TaskSource)?.Length ?? 0;

    public string Algo => OptionNames.Algorithms.Name(Spec.Options.Algorithm);

    public static TrainReport Create(RunSpec spec, TrainingResult r, string? saved, DataRun? data = null) =>
        new(spec, r.Iterations, r.BestValidAccuracy, r.FinalValidLoss, r.FinalValidAccuracy, r.FinalTrainLoss, r.Solved,
            OptionNames.StopReasons.Name(r.StopReason), r.WallSeconds, r.SecondsPerIteration, saved,
            data is null ? null : new DataOutcome(data.Train.Layout.Steps, r.BestIteration, r.Valid, data.Train.Layout.Loss == GlobalLossKind.MeanSquaredError,
                data.BaselineR2Mean, data.BaselineR2Persistence));

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        foreach (var option in TrainingOptionTable.All)
        {
            if (!option.Reports(Spec)) continue;
            string value = option.Format(Spec);
            if (!option.Numeric) w.WriteString(option.Key, value);
            else if (option.IsFloat) CliJson.Number(w, option.Key, (float)double.Parse(value, CultureInfo.InvariantCulture));
            else if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long integer)) w.WriteNumber(option.Key, integer);
            else CliJson.Number(w, option.Key, double.Parse(value, CultureInfo.InvariantCulture));
        }
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
        if (Data is { } d)
        {
            w.WriteNumber("steps", d.Steps);
            w.WriteNumber("best_iteration", d.BestIteration);
            if (d.Regression)
            {
                CliJson.Number(w, "valid_mse", d.Valid.Mse);
                CliJson.Number(w, "valid_rmse", d.Valid.Rmse);
                CliJson.Number(w, "valid_mae", d.Valid.Mae);
                CliJson.Number(w, "valid_r2", d.Valid.R2);
                CliJson.Number(w, "baseline_r2_mean", d.BaselineR2Mean);
                if (!double.IsNaN(d.BaselineR2Persistence)) CliJson.Number(w, "baseline_r2_persistence", d.BaselineR2Persistence);
            }
            else
            {
                CliJson.Number(w, "valid_accuracy", d.Valid.Accuracy);
            }
        }
        w.WriteEndObject();
    }

    /// <summary>Reads what <see cref="Write"/> wrote (non-finite numbers are the strings NaN, Infinity, -Infinity).</summary>
    public static TrainReport Read(JsonElement r)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in r.EnumerateObject())
            if (TrainingOptionTable.FindKey(p.Name) is not null)
                entries[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
        var spec = TrainingOptionTable.Read(entries);
        string S(string name) => r.GetProperty(name).GetString() ?? throw new FormatException($"'{name}' is null.");
        double D(string name) => CliJson.ReadNumber(r.GetProperty(name));
        double OD(string name) => r.TryGetProperty(name, out var v) ? CliJson.ReadNumber(v) : double.NaN;
        DataOutcome? data = null;
        if (r.TryGetProperty("best_iteration", out var best))
        {
            bool regression = r.TryGetProperty("valid_rmse", out _);
            data = new DataOutcome(r.GetProperty("steps").GetInt32(), best.GetInt64(),
                new Evaluation(D("final_valid_loss"), D("final_valid_accuracy"), 0, 0, OD("valid_mse"), OD("valid_mae"), OD("valid_r2")),
                regression, OD("baseline_r2_mean"), OD("baseline_r2_persistence"));
        }
        return new TrainReport(spec, r.GetProperty("iterations").GetInt64(), D("best_valid_accuracy"), D("final_valid_loss"),
            D("final_valid_accuracy"), D("final_train_loss"), r.GetProperty("solved").GetBoolean(), S("stop_reason"), D("wall_seconds"),
            D("seconds_per_iteration"), r.TryGetProperty("saved", out var saved) ? saved.GetString() : null, data);
    }
}

/// <summary>
/// The result of one sweep run: its id, the train command that repeats it, the SHA-256 of its data
/// files (a run on data; what its id was made from), and its report.
/// </summary>
internal sealed record SweepResult(string Id, string Command, TrainReport Run, DataDigests? Digests = null)
{
    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        WriteHead(w);
        w.WritePropertyName("run");
        Run.Write(w);
        w.WriteEndObject();
    }

    /// <summary>The fields before the report: id, command and the data files' digests.</summary>
    public void WriteHead(Utf8JsonWriter w)
    {
        w.WriteString("id", Id);
        w.WriteString("command", Command);
        CliJson.Optional(w, "data_sha256", Digests?.Data);
        CliJson.Optional(w, "valid_data_sha256", Digests?.ValidData);
    }

    /// <summary>
    /// Whether <paramref name="e"/>, thrown by <see cref="Read"/>, says the JSON is not a result
    /// (malformed, a key missing, a value of the wrong kind or out of range, an option that does
    /// not parse): the one list every reader of results catches.
    /// </summary>
    public static bool IsDamaged(Exception e) =>
        e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or OverflowException or OptionException;

    /// <summary>Reads what <see cref="Write"/> wrote.</summary>
    public static SweepResult Read(JsonElement e)
    {
        string? Digest(string name) => e.TryGetProperty(name, out var d) ? d.GetString() : null;
        var (data, valid) = (Digest("data_sha256"), Digest("valid_data_sha256"));
        return new(e.GetProperty("id").GetString() ?? "", e.GetProperty("command").GetString() ?? "", TrainReport.Read(e.GetProperty("run")),
            data is null && valid is null ? null : new DataDigests(data, valid));
    }
}

// The reports below are classes, not records: they are only written, and a record's generated
// equality and printing would cost the Native AOT binary kilobytes each.

/// <summary>
/// One line of the <c>--metrics</c> file, per validation check. The gradient diagnostics are of
/// the check's last iteration; lr is the rate the next iteration takes (after the check's plateau
/// decision, if any); in the per-step arrays index = step t; local losses and Omega
/// values are LRA's only; a regression run on data adds its validation RMSE, MAE and R² in original units.
/// </summary>
internal sealed class MetricsLine(
    long Iteration, double TrainLoss, double ValidLoss, double ValidAccuracy, double BestValidAccuracy,
    double ElapsedSeconds, double IterationsPerSecond, float GradientNorm,
    float? OutputOmega, float[]? LocalLosses, float[]? DWhhNorms, float[]? DWxhNorms, float[]? OmegaValues, Evaluation? Regression = null,
    double GradientCosine = double.NaN, float LearningRate = float.NaN)
{
    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteNumber("iteration", Iteration);
        CliJson.Number(w, "train_loss", TrainLoss);
        CliJson.Number(w, "valid_loss", ValidLoss);
        CliJson.Number(w, "valid_accuracy", ValidAccuracy);
        CliJson.Number(w, "best_valid_accuracy", BestValidAccuracy);
        if (Regression is { } r)
        {
            CliJson.Number(w, "valid_rmse", r.Rmse);
            CliJson.Number(w, "valid_mae", r.Mae);
            CliJson.Number(w, "valid_r2", r.R2);
        }
        CliJson.Number(w, "elapsed_seconds", ElapsedSeconds);
        CliJson.Number(w, "iterations_per_second", IterationsPerSecond);
        CliJson.Number(w, "gradient_norm", GradientNorm);
        if (!float.IsNaN(LearningRate)) CliJson.Number(w, "lr", LearningRate);
        if (!double.IsNaN(GradientCosine)) w.WriteNumber("gradient_cosine", GradientCosine);
        CliJson.Optional(w, "output_omega", OutputOmega);
        CliJson.Array(w, "local_losses", LocalLosses);
        CliJson.Array(w, "dWhh_step_norms", DWhhNorms);
        CliJson.Array(w, "dWxh_step_norms", DWxhNorms);
        CliJson.Array(w, "omega_values", OmegaValues);
        w.WriteEndObject();
    }
}

/// <summary>
/// The report of <c>eval --json</c>: loss and accuracy, and for regression on data the errors in
/// original units and the baselines' R². On data it says whether the file is the one the model was
/// trained on (<c>training_file</c>); when it is, the figures are those of its validation part and
/// <c>train</c> holds the in-sample figures of the rest, or, when every sequence was trained on, the
/// figures are in-sample (<c>in_sample</c>).
/// </summary>
internal sealed class EvalReport(
    string Model, string Task, int Length, int Hidden, long Seed, int ValidSize, Evaluation Result, bool Solved,
    double BaselineR2Mean, double BaselineR2Persistence, bool Regression = false)
{
    /// <summary>On data: whether the file is the model's training file (null on a task: not written).</summary>
    public bool? TrainingFile { get; init; }

    /// <summary>Whether the figures are of sequences the model was trained on.</summary>
    public bool InSample { get; init; }

    /// <summary>The training file's sequences the model was trained on (0 when it is not its training file).</summary>
    public int TrainCount { get; init; }

    /// <summary>The in-sample figures of the training part, beside the validation part's.</summary>
    public Evaluation? Train { get; init; }

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("model", Model);
        w.WriteString("task", Task);
        w.WriteNumber("length", Length);
        w.WriteNumber("hidden", Hidden);
        w.WriteNumber("seed", Seed);
        w.WriteNumber("valid_size", ValidSize);
        Figures(w, Result);
        w.WriteBoolean("solved", Solved);
        if (Regression)
        {
            if (!double.IsNaN(BaselineR2Mean)) CliJson.Number(w, "baseline_r2_mean", BaselineR2Mean);
            if (!double.IsNaN(BaselineR2Persistence)) CliJson.Number(w, "baseline_r2_persistence", BaselineR2Persistence);
        }
        if (TrainingFile is { } training)
        {
            w.WriteBoolean("training_file", training);
            w.WriteBoolean("in_sample", InSample);
            if (training) w.WriteNumber("train_sequences", TrainCount);
        }
        if (Train is { } train)
        {
            w.WritePropertyName("train");
            w.WriteStartObject();
            Figures(w, train);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private void Figures(Utf8JsonWriter w, Evaluation r)
    {
        CliJson.Number(w, "loss", r.Loss);
        CliJson.Number(w, "accuracy", r.Accuracy);
        w.WriteNumber("errors", r.Errors);
        if (!Regression) return;
        CliJson.Number(w, "mse", r.Mse);
        CliJson.Number(w, "rmse", r.Rmse);
        CliJson.Number(w, "mae", r.Mae);
        CliJson.Number(w, "r2", r.R2);
    }
}

/// <summary>The report of <c>info --json</c>. VectorBits is the width the kernels run at (FastLra.Kernels.SimdWidth), which can exceed Vector&lt;float&gt;'s.</summary>
internal sealed class InfoReport(
    string Version, string Runtime, bool NativeAot, int VectorFloatCount, bool VectorHardwareAccelerated,
    int VectorBits, bool Fma, string[] InstructionSets, int ProcessorCount, long MemoryBytes)
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
        w.WriteBoolean("fma", Fma);
        CliJson.Strings(w, "instruction_sets", InstructionSets);
        w.WriteNumber("processor_count", ProcessorCount);
        w.WriteNumber("memory_bytes", MemoryBytes);
        w.WriteEndObject();
    }

    /// <summary>The report as lines of text.</summary>
    public string Text() =>
        $"fastlra {Version} on {Runtime}{(NativeAot ? " (Native AOT)" : " (JIT)")}\n" +
        $"Vector<float>: {VectorFloatCount} lanes, hardware accelerated: {VectorHardwareAccelerated}\n" +
        $"kernels: {VectorBits}-bit vectors, {(Fma ? "fused multiply-add" : "no fused multiply-add (results differ in their last bits from an FMA machine's)")}\n" +
        "sums: one order at every vector width, so a run gives the same bits on any FMA machine (--deterministic false: the width's own)\n" +
        $"instruction sets: {string.Join(' ', InstructionSets)}\n" +
        $"processors: {ProcessorCount}\n" +
        $"memory: {MemoryBytes >> 20} MB this process may use (its heap limit, container limit or the machine's memory), half of it for one job";
}

/// <summary>The report of <c>bench --json</c>.</summary>
internal sealed class BenchReport(
    string Algo, string? Semantics, string Task, int Length, int Hidden, int Batch, int? K, float? Alpha, int Iterations,
    double MedianSecondsPerIteration, double SecondsPerIteration, double IterationsPerSecond, double P99SecondsPerIteration,
    double AllocatedBytesPerIteration, int Gen0Collections, int VectorBits, string[] InstructionSets, bool NativeAot,
    double Gflops, double PeakGflops)
{
    /// <summary>The median iteration's share of the FMA peak at the kernels' width, measured in the same process.</summary>
    public double PercentOfPeak => 100 * Gflops / PeakGflops;

    /// <summary>The cell of every layer.</summary>
    public FastLra.Model.CellKind Cell { get; init; }

    /// <summary>The layers.</summary>
    public int Layers { get; init; } = 1;

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("algo", Algo);
        CliJson.Optional(w, "semantics", Semantics);
        w.WriteString("cell", FastLra.Model.CellNames.Name(Cell));
        w.WriteNumber("layers", Layers);
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
        if (double.IsFinite(Gflops)) CliJson.Number(w, "gflops", Gflops);
        CliJson.Number(w, "peak_gflops", PeakGflops);
        if (double.IsFinite(Gflops)) CliJson.Number(w, "percent_of_peak", PercentOfPeak);
        w.WriteEndObject();
    }

    /// <summary>The report as one line of text; <paramref name="outputs"/> describes per-step outputs, if any.</summary>
    public string Text(string outputs) => string.Create(CultureInfo.InvariantCulture,
        $"{Algo}{(Semantics is null ? "" : $" ({Semantics}, K={K}, alpha={Alpha})")} {Task} T={Length} B={Batch} H={Hidden}" +
        $"{(Cell == FastLra.Model.CellKind.Tanh && Layers == 1 ? "" : $" {FastLra.Model.CellNames.Name(Cell)} x {Layers}")}{outputs}: " +
        $"median {MedianSecondsPerIteration * 1e3:F3} ms/it, mean {SecondsPerIteration * 1e3:F3} ms/it, " +
        $"{IterationsPerSecond:F0} it/s, p99 {P99SecondsPerIteration * 1e3:F3} ms, " +
        $"{AllocatedBytesPerIteration:F0} B/it allocated, {Gen0Collections} GCs; " +
        $"{(double.IsFinite(Gflops) ? $"{Gflops:F1} GFLOP/s, {PercentOfPeak:F0}% of " : "")}" +
        $"the {VectorBits}-bit FMA peak measured now ({PeakGflops:F1} GFLOP/s); " +
        $"{VectorBits}-bit vectors ({string.Join(' ', InstructionSets)}), {(NativeAot ? "Native AOT" : "JIT")}");
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
