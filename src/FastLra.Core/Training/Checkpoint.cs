using System.Globalization;
using FastLra.IO;
using FastLra.Model;
using FastLra.Tasks;

namespace FastLra.Training;

/// <summary>
/// A run's complete state as one safetensors file, written atomically: the five parameters (so a
/// checkpoint is also a weight file for <c>eval</c> and <c>--init-from</c>), the optimiser state
/// (<c>optimizer_state</c>, F32), the batch source's position (<c>source_state</c>, U32: a task
/// generator's MT19937 state, a data set's epoch, cursor, generator and order), on data the best
/// check's parameters (<c>best_parameters</c>), and in the metadata the full configuration,
/// iteration, optimiser steps and the loop's best result. Resuming rebuilds the trainer from the
/// configuration (which redraws the same validation set from the seed, or re-reads the data) and
/// then restores all of it, so the run continues bit for bit. Checkpoints written before the batch
/// sources kept the generator's key as <c>generator_key</c> and its position in the metadata;
/// they resume too.
/// </summary>
internal static class Checkpoint
{
    public const string Format = "fastlra-checkpoint";

    public static void Write(string path, Trainer trainer, LoopState loop, IReadOnlyList<KeyValuePair<string, string>>? extra = null)
    {
        var entries = ModelFile.ParameterEntries(trainer.Parameters);
        entries.Add(SafeTensors.Floats("optimizer_state", [trainer.Optimizer.State.Length], trainer.Optimizer.State));
        var state = new uint[trainer.Source.StateLength];
        trainer.Source.SaveState(state);
        entries.Add(SafeTensors.UInt32s("source_state", state));
        if (trainer.BestParameters is { } best) entries.Add(SafeTensors.Floats("best_parameters", [best.Data.Length], best.Data));
        var metadata = Metadata(trainer.Options);
        metadata.Add(new("format", Format));
        metadata.Add(new("iteration", I(trainer.Iteration)));
        metadata.Add(new("optimizer_steps", I(trainer.Optimizer.StepCount)));
        metadata.Add(new("best_valid_accuracy", D(loop.BestValidAccuracy)));
        metadata.Add(new("checks_without_best", I(loop.ChecksWithoutBest)));
        metadata.Add(new("elapsed_seconds", D(loop.ElapsedSeconds)));
        metadata.Add(new("last_evaluation", Numbers(loop.Last)));
        metadata.Add(new("last_train_loss", D(loop.LastTrainLoss)));
        metadata.Add(new("train_loss_window", $"{D(loop.WindowLoss)} {I(loop.WindowCount)}"));
        if (loop.Stopped is { } stopped) metadata.Add(new("stopped", OptionNames.StopReasons.Name(stopped)));
        if (trainer.BestParameters is not null)
        {
            metadata.Add(new("best_valid_loss", D(loop.BestValidLoss)));
            metadata.Add(new("best_iteration", I(loop.BestIteration)));
            metadata.Add(new("best_evaluation", Numbers(loop.Best)));
        }
        if (extra is not null) metadata.AddRange(extra);
        SafeTensors.Write(path, entries, ModelFile.WithShape(trainer.Parameters.Shape, metadata));
    }

    /// <summary>
    /// Rebuilds the run of a checkpoint. <paramref name="maxIterations"/>, when given, replaces the
    /// budget (still counted from the run's start). Throws <see cref="WeightFileException"/> naming the problem.
    /// </summary>
    public static (Trainer Trainer, LoopState Loop) Resume(string path, long? maxIterations = null)
    {
        var file = new SafeTensors.SafeTensorsFile(path);
        var m = file.Metadata;
        if (!m.TryGetValue("format", out string? format) || format != Format)
            throw new WeightFileException($"{path}: not a FastLra checkpoint (its metadata has no format '{Format}').");
        var options = Options(m, path);
        if (maxIterations is long max) options = options with { MaxIterations = max };
        string? problem = options.Data is null ? options.Validate() : options.ValidateTraining();
        if (problem is not null) throw new WeightFileException($"{path}: the checkpoint's configuration is invalid: {problem}");
        var trainer = TrainerFactory.Create(options);
        var parameters = new ParameterSet(trainer.Parameters.Shape);
        ModelFile.Read(file, parameters);
        ModelFile.CheckFinite(path, parameters);
        var optimizerState = new float[trainer.Optimizer.State.Length];
        file.ReadFloats(Find(file, "optimizer_state"), optimizerState);
        CheckOptimizerState(path, options.Optimizer, optimizerState, parameters.Data.Length);
        // Each iteration takes one optimiser step.
        long iteration = Count(m, "iteration", path, MaxCount);
        long steps = Count(m, "optimizer_steps", path, iteration, "the iterations");
        try
        {
            trainer.Restore(parameters.Data, optimizerState, steps, SourceState(file, trainer.Source), iteration);
        }
        catch (ArgumentException e)
        {
            throw new WeightFileException($"{path}: the checkpoint's state does not fit its run: {e.Message}");
        }
        var loop = new LoopState
        {
            BestValidAccuracy = Double(m, "best_valid_accuracy", path),
            ChecksWithoutBest = (int)Count(m, "checks_without_best", path, Math.Min(iteration, int.MaxValue), "the iterations"),
            ElapsedSeconds = NonNegative(m, "elapsed_seconds", path),
        };
        // Checkpoints from before stopped runs were recorded have neither key: such a run goes on.
        if (m.ContainsKey("last_evaluation"))
        {
            loop.Last = ReadEvaluation(m, "last_evaluation", path);
            loop.LastTrainLoss = Double(m, "last_train_loss", path);
        }
        // Checkpoints from before the window was recorded lack it: their next check averages fewer losses.
        if (m.TryGetValue("train_loss_window", out string? window))
        {
            string[] parts = window.Split(' ');
            if (parts.Length != 2 || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double sum) || !double.IsFinite(sum)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count > options.CheckEvery || count > trainer.Iteration)
                throw Bad(path, "train_loss_window");
            (loop.WindowLoss, loop.WindowCount) = (sum, count);
        }
        if (m.TryGetValue("stopped", out string? stopped))
            loop.Stopped = OptionNames.StopReasons.TryParse(stopped, out var reason) && reason is StopReason.Solved or StopReason.Patience or StopReason.MaxIterations
                ? reason
                : throw Bad(path, "stopped");
        if (trainer.BestParameters is { } best)
        {
            file.ReadFloats(Find(file, "best_parameters"), best.Data);
            ModelFile.CheckFinite(path, "best_parameters", best.Data);
            loop.BestValidLoss = Double(m, "best_valid_loss", path);
            loop.BestIteration = Count(m, "best_iteration", path, iteration, "the iterations");
            loop.Best = ReadEvaluation(m, "best_evaluation", path);
        }
        return (trainer, loop);
    }

    /// <summary>An evaluation as seven numbers: loss, accuracy, errors, count, MSE, MAE, R².</summary>
    private static string Numbers(Evaluation e) =>
        $"{D(e.Loss)} {D(e.Accuracy)} {I(e.Errors)} {I(e.Count)} {D(e.Mse)} {D(e.Mae)} {D(e.R2)}";

    private static Evaluation ReadEvaluation(Dictionary<string, string> m, string key, string path)
    {
        var e = Text(m, key, path).Split(' ');
        if (e.Length != 7) throw Bad(path, key);
        double V(int k) => double.TryParse(e[k], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : throw Bad(path, key);
        return new Evaluation(V(0), V(1), (int)V(2), (int)V(3), V(4), V(5), V(6));
    }

    /// <summary>The source's position: <c>source_state</c>, or an older checkpoint's generator key and metadata.</summary>
    private static uint[] SourceState(SafeTensors.SafeTensorsFile file, IBatchSource source)
    {
        var state = new uint[source.StateLength];
        var tensor = file.Find("source_state");
        if (tensor is not null)
        {
            if (tensor.Shape.Length != 1 || tensor.Shape[0] != state.Length)
                throw new WeightFileException($"{file.Path}: source_state has {string.Join(" x ", tensor.Shape)} words; this run's source keeps {state.Length}.");
            file.ReadUInt32s(tensor, state);
            return state;
        }
        var m = file.Metadata;
        string path = file.Path;
        if (source is not TaskGenerator || state.Length != RandomState.StateLength)
            throw new WeightFileException($"{path}: tensor 'source_state' is missing.");
        var key = state.AsSpan(0, RandomState.StateLength - 4);
        file.ReadUInt32s(Find(file, "generator_key"), key);
        long index = Long(m, "generator_index", path);
        if (index is < 0 or > 624) throw new WeightFileException($"{path}: generator_index {index} is out of range.");
        ulong gauss = BitConverter.DoubleToUInt64Bits(Double(m, "generator_gauss", path));
        state[^4] = (uint)index;
        state[^3] = Text(m, "generator_has_gauss", path) == "1" ? 1u : 0u;
        state[^2] = (uint)gauss;
        state[^1] = (uint)(gauss >> 32);
        return state;
    }

    /// <summary>The run configuration as metadata strings (also what saved models carry): <see cref="TrainingOptionTable.Describe"/>.</summary>
    public static List<KeyValuePair<string, string>> Metadata(TrainingOptions o) => TrainingOptionTable.Describe(o);

    private static TrainingOptions Options(Dictionary<string, string> m, string path)
    {
        if (!m.ContainsKey("data") && !m.ContainsKey("task")) throw new WeightFileException($"{path}: metadata 'task' is missing.");
        try
        {
            return TrainingOptionTable.Read(m);
        }
        catch (OptionException e)
        {
            throw new WeightFileException($"{path}: the checkpoint's configuration is invalid: {e.Message}");
        }
    }

    internal static SafeTensors.TensorInfo Find(SafeTensors.SafeTensorsFile file, string name) =>
        file.Find(name) ?? throw new WeightFileException($"{file.Path}: tensor '{name}' is missing.");

    internal static string Text(Dictionary<string, string> m, string key, string path) =>
        m.TryGetValue(key, out string? value) ? value : throw new WeightFileException($"{path}: metadata '{key}' is missing.");

    internal static long Long(Dictionary<string, string> m, string key, string path) =>
        long.TryParse(Text(m, key, path), NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) ? value : throw Bad(path, key);

    internal static double Double(Dictionary<string, string> m, string key, string path) =>
        double.TryParse(Text(m, key, path), NumberStyles.Float | NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out double value) ? value : throw Bad(path, key);

    internal static WeightFileException Bad(string path, string key) => new($"{path}: metadata '{key}' has an invalid value.");

    /// <summary>
    /// The largest count a file may hold (2^53): far beyond any run (285 years of ticks at 1 MHz),
    /// exact in a double and in JSON, and never near wrapping when incremented.
    /// </summary>
    internal const long MaxCount = 1L << 53;

    /// <summary>A count in [0, <paramref name="max"/>], or one line naming the key, its value and the range.</summary>
    internal static long Count(Dictionary<string, string> m, string key, string path, long max, string? bound = null) =>
        Count(Long(m, key, path), key, path, max, bound);

    /// <summary>As <see cref="Count(Dictionary{string, string}, string, string, long, string?)"/>; a key older files lack reads as <paramref name="missing"/>.</summary>
    internal static long Count(Dictionary<string, string> m, string key, string path, long max, long missing, string? bound = null) =>
        m.ContainsKey(key) ? Count(m, key, path, max, bound) : missing;

    private static long Count(long value, string key, string path, long max, string? bound) =>
        value >= 0 && value <= max
            ? value
            : throw new WeightFileException(string.Concat(path, ": metadata '", key, "' is ", I(value), ", outside [0, ", I(max), bound is null ? "]." : "] (" + bound + ")."));

    /// <summary>A statistic that is finite and not negative (a sum of squares, a weight, a duration).</summary>
    internal static double NonNegative(Dictionary<string, string> m, string key, string path) =>
        Double(m, key, path) is var value && double.IsFinite(value) && value >= 0
            ? value
            : throw new WeightFileException(string.Concat(path, ": metadata '", key, "' is ", D(value), "; it must be finite and not negative."));

    /// <summary>Refuses an optimiser state no run can hold (<see cref="Optimizer.FirstInvalidState"/>), naming the index.</summary>
    internal static void CheckOptimizerState(string path, OptimizerKind kind, ReadOnlySpan<float> state, int parameters)
    {
        int k = Optimizer.FirstInvalidState(kind, state, parameters);
        if (k >= 0)
            throw ModelFile.Refused(path, "optimizer_state", state, k,
                float.IsFinite(state[k]) ? "a sum of squared gradients cannot be negative" : "every value must be finite");
    }

    internal static string I(long value) => value.ToString(CultureInfo.InvariantCulture);

    internal static string D(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
