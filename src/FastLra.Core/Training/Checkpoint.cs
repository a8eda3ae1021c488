using System.Globalization;
using FastLra.IO;
using FastLra.Model;

namespace FastLra.Training;

/// <summary>
/// A run's complete state as one safetensors file, written atomically: the network's tensors (so
/// a checkpoint is also a weight file for <c>eval</c> and <c>--init-from</c>), the optimiser state
/// (<c>optimizer_state</c>, F32), the batch source's position (<c>source_state</c>, U32: a task
/// generator's MT19937 state, a data set's epoch, cursor, generator and order), on data the best
/// check's parameters (<c>best_parameters</c>), and in the metadata the format and its version, the
/// full configuration (<see cref="TrainingOptionTable.Describe(RunSpec)"/>), the iteration, optimiser steps
/// and the loop's state. Resuming rebuilds the run from the configuration (which redraws the same
/// validation set from the seed, or re-reads the data) and then restores all of it, so the run
/// continues bit for bit.
/// </summary>
internal static class Checkpoint
{
    public const string Format = "fastlra-checkpoint";

    /// <summary>The version of the layout this code writes and reads.</summary>
    public const string Version = "1";

    /// <summary>Writes <paramref name="run"/>'s whole state to <paramref name="path"/>, atomically.</summary>
    public static void Write(string path, TrainingRun run)
    {
        var loop = run.Loop;
        var entries = ModelFile.ParameterEntries(run.Parameters);
        entries.Add(SafeTensors.Floats("optimizer_state", [run.Optimizer.State.Length], run.Optimizer.State));
        var state = new uint[run.Source.StateLength];
        run.Source.SaveState(state);
        entries.Add(SafeTensors.UInt32s("source_state", state));
        if (run.BestParameters is { } best) entries.Add(SafeTensors.Floats("best_parameters", [best.Data.Length], best.Data));
        var metadata = TrainingOptionTable.Describe(run.Spec);
        metadata.Add(new("format", Format));
        metadata.Add(new("format_version", Version));
        metadata.Add(new("iteration", I(run.Iteration)));
        metadata.Add(new("optimizer_steps", I(run.Optimizer.StepCount)));
        metadata.Add(new("best_valid_accuracy", D(loop.BestValidAccuracy)));
        metadata.Add(new("checks_without_best", I(loop.ChecksWithoutBest)));
        metadata.Add(new("elapsed_seconds", D(loop.ElapsedSeconds)));
        metadata.Add(new("last_evaluation", Numbers(loop.Last)));
        metadata.Add(new("last_train_loss", D(loop.LastTrainLoss)));
        metadata.Add(new("train_loss_window", $"{D(loop.WindowLoss)} {I(loop.WindowCount)}"));
        if (run.Spec.Options.Schedule == LearningRateSchedule.Plateau)
            metadata.Add(new("lr_plateau", $"{D(loop.Plateau.Rate)} {D(loop.Plateau.Best)} {I(loop.Plateau.BadChecks)}"));
        // A diverged run is not resumed: only the stops a resumed run reports again are recorded.
        if (loop.Stopped is { } stopped and not StopReason.Diverged) metadata.Add(new("stopped", OptionNames.StopReasons.Name(stopped)));
        if (run.BestParameters is not null)
        {
            metadata.Add(new("best_valid_loss", D(loop.BestValidLoss)));
            metadata.Add(new("best_iteration", I(loop.BestIteration)));
            metadata.Add(new("best_evaluation", Numbers(loop.Best)));
        }
        SafeTensors.Write(path, entries, ModelFile.WithShape(run.Parameters.Shape, metadata));
    }

    /// <summary>The checkpoint at <paramref name="path"/>, parsed; a file that is not one of this version is refused by name.</summary>
    public static SafeTensors.SafeTensorsFile Open(string path)
    {
        var file = new SafeTensors.SafeTensorsFile(path);
        var m = file.Metadata;
        if (!m.TryGetValue("format", out string? format) || format != Format)
            throw new WeightFileException($"{path}: not a FastLra checkpoint (its metadata has no format '{Format}').");
        if (!m.TryGetValue("format_version", out string? version) || version != Version)
            throw new WeightFileException($"{path}: a checkpoint of format version {version ?? "(none)"}; this FastLra reads version {Version}.");
        return file;
    }

    /// <summary>The run a checkpoint records (<paramref name="inMemory"/>: the data sets of a run on data in memory).</summary>
    public static RunSpec Spec(SafeTensors.SafeTensorsFile file, DataSetSource? inMemory = null)
    {
        try
        {
            return TrainingOptionTable.Read(file.Metadata, inMemory);
        }
        catch (OptionException e)
        {
            throw new WeightFileException($"{file.Path}: the checkpoint's configuration is invalid: {e.Message}");
        }
    }

    /// <summary>Puts <paramref name="run"/>, built from the checkpoint's configuration, where the checkpoint left it; every value is checked first.</summary>
    public static void Restore(SafeTensors.SafeTensorsFile file, TrainingRun run, LoopState loop)
    {
        string path = file.Path;
        var m = file.Metadata;
        var parameters = new ParameterSet(run.Parameters.Shape);
        ModelFile.Read(file, parameters);
        ModelFile.CheckFinite(path, parameters);
        var optimizerState = new float[run.Optimizer.State.Length];
        file.ReadFloats(Find(file, "optimizer_state"), optimizerState);
        CheckOptimizerState(path, run.Spec.Options.Optimizer, optimizerState, parameters.Data.Length);
        // Each iteration takes one optimiser step.
        long iteration = Count(m, "iteration", path, MaxCount);
        long steps = Count(m, "optimizer_steps", path, iteration, "the iterations");
        var source = new uint[run.Source.StateLength];
        var tensor = Find(file, "source_state");
        if (tensor.Shape.Length != 1 || tensor.Shape[0] != source.Length)
            throw new WeightFileException($"{path}: source_state has {string.Join(" x ", tensor.Shape)} words; this run's source keeps {source.Length}.");
        file.ReadUInt32s(tensor, source);
        try
        {
            run.Restore(parameters.Data, optimizerState, steps, source, iteration);
        }
        catch (ArgumentException e)
        {
            throw new WeightFileException($"{path}: the checkpoint's state does not fit its run: {e.Message}");
        }
        loop.BestValidAccuracy = Double(m, "best_valid_accuracy", path);
        loop.ChecksWithoutBest = (int)Count(m, "checks_without_best", path, Math.Min(iteration, int.MaxValue), "the iterations");
        loop.ElapsedSeconds = NonNegative(m, "elapsed_seconds", path);
        loop.Last = ReadEvaluation(m, "last_evaluation", path);
        loop.LastTrainLoss = Double(m, "last_train_loss", path);
        string[] parts = Text(m, "train_loss_window", path).Split(' ');
        if (parts.Length != 2 || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double sum) || !double.IsFinite(sum)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count > run.Spec.Options.CheckEvery || count > iteration)
            throw Bad(path, "train_loss_window");
        (loop.WindowLoss, loop.WindowCount) = (sum, count);
        if (run.Spec.Options.Schedule == LearningRateSchedule.Plateau) RestorePlateau(m, path, run.Spec.Options, loop.Plateau);
        if (m.TryGetValue("stopped", out string? stopped))
            loop.Stopped = OptionNames.StopReasons.TryParse(stopped, out var reason) && reason is StopReason.Solved or StopReason.Patience or StopReason.MaxIterations
                ? reason
                : throw Bad(path, "stopped");
        if (run.BestParameters is { } best)
        {
            file.ReadFloats(Find(file, "best_parameters"), best.Data);
            ModelFile.CheckFinite(path, "best_parameters", best.Data);
            loop.BestValidLoss = Double(m, "best_valid_loss", path);
            loop.BestIteration = Count(m, "best_iteration", path, iteration, "the iterations");
            loop.Best = ReadEvaluation(m, "best_evaluation", path);
        }
    }

    /// <summary>
    /// The plateau schedule's state, "rate best bad-checks": a rate in [--lr-min, --lr] and above 0,
    /// a best loss that is a number (+∞ before the first check), at most --lr-patience bad checks.
    /// </summary>
    private static void RestorePlateau(Dictionary<string, string> m, string path, TrainingOptions o, Plateau plateau)
    {
        string[] parts = Text(m, "lr_plateau", path).Split(' ');
        if (parts.Length != 3
            || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double rate) || !(rate > 0 && rate >= o.MinLearningRate && rate <= o.LearningRate)
            || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double best) || double.IsNaN(best)
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int bad) || bad > o.LearningRatePatience)
            throw Bad(path, "lr_plateau");
        (plateau.Rate, plateau.Best, plateau.BadChecks) = (rate, best, bad);
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
