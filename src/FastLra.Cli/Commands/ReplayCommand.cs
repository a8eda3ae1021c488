using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FastLra.Data;
using FastLra.IO;
using FastLra.Kernels;
using FastLra.Model;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary>
/// <c>fastlra replay</c>: a recorded series, tick by tick, through an <see cref="OnlineLearner"/>,
/// predicting first and learning after (prequential), beside two baselines on the same ticks: the
/// frozen starting model and persistence (the last observed target). Errors in original units.
/// Cells that are NaN, infinite or empty (a missing sample) reach the learner, which rejects those
/// ticks; they are not scored, and the run fails (exit 1) only if the learner ends diverged.
/// </summary>
internal sealed class ReplayCommand : Command
{
    public override string Name => "replay";

    public override string Summary => "replay a recorded series tick by tick through an online learner, against the frozen model and persistence";

    public override string Usage =>
        "fastlra replay --data F.csv --input-columns A,B --target-columns C [--model M | --hidden H] [--window W] [--update-every U] [options]";

    public override OptionUse Options => OptionUse.Replay;

    public override IReadOnlyList<CliFlag> Flags { get; } =
    [
        new("model", "file", "start from this model (its network, and its normalisation when it has one); default: a fresh network of --hidden (and --cell, --layers)"),
        .. OnlineOptions.Table.Select(o => new CliFlag(o.Name, o.Value, o.Help, @default: o.Default)),
        new("period-us", "int", "pace the ticks this many microseconds apart, as a control loop would (0: as fast as possible)", @default: "0"),
        new("report-every", "int", "ticks per progress line and --metrics line", @default: "a twentieth of the series"),
        new("save", "file", "write the learner when the replay ends: a model file (loads anywhere) with the learner's whole state"),
        new("metrics", "file", "write one JSON line per report block: the three errors over the block, updates, skipped updates, rejected ticks and updates"),
        new("json", null, "print one JSON object with the result on stdout"),
        new("quiet", null, "no progress lines on stderr"),
    ];

    public override int Run(CliArguments a, CancellationToken cancel)
    {
        if (!a.Has("data")) throw new UsageException("replay needs --data F (a .csv series) with --input-columns and --target-columns.");
        string? modelPath = a.Flag("model"), save = a.Output("save"), metricsPath = a.Output("metrics");
        if (modelPath is not null && (a.Has("hidden") || a.Has("cell") || a.Has("layers") || a.Has("seed")))
            throw new UsageException("--model sets the network; --hidden, --cell, --layers and --seed (of a fresh network's initialisation) cannot be given with it.");
        var online = new OnlineOptions();
        foreach (var (name, _, _, _) in OnlineOptions.Table)
        {
            if (a.Flag(name) is not { } value) continue;
            try
            {
                online = online.With(name, value);
            }
            catch (OptionException e)
            {
                throw new UsageException(e.Message);
            }
        }
        var (window, every, mode) = (online.Window, online.UpdateEvery, online.Mode);
        long period = a.Long("period-us", 0), reportEvery = a.Long("report-every", 0);
        if (period is < 0 or > 10_000_000) throw new UsageException($"--period-us must be in [0, 10000000], got {period}.");
        if (reportEvery < 0) throw new UsageException($"--report-every must be >= 0, got {reportEvery}.");
        bool quiet = a.Has("quiet");

        var spec = a.Apply(RunSpec.Default);
        var options = spec.Options;
        var source = (DataFileSource)spec.Source;
        var start = modelPath is null ? null : RnnModel.Load(modelPath);
        if (start is not null) options = options with { Hidden = start.Shape.Hidden, Cell = start.Shape.Cell, Layers = start.Shape.Layers };
        // Each tick is a window of one step: row t's inputs, row t + horizon's targets, row t's targets as persistence.
        // Cells that are not finite (or empty) are read as such: the learner rejects those ticks and counts them.
        var file = source.File with { Window = 1, Stride = 1, Outputs = OutputSelection.All, Washout = 0, Classes = 0, AllowNonFinite = true };
        using var series = DataFiles.Read(source.Path, file).Data;
        if (series.Layout.Loss != GlobalLossKind.MeanSquaredError)
            throw new UsageException($"{source.Path}: replay predicts values (regression); its targets read as classes.");
        int inputs = series.Layout.Inputs, outputs = series.Layout.Outputs, ticks = series.Count;
        if (start is not null && (start.Shape.Inputs != inputs || start.Shape.Outputs != outputs))
            throw new UsageException($"--model {modelPath} has I={start.Shape.Inputs}, O={start.Shape.Outputs}; the columns give I={inputs}, O={outputs}.");
        if (reportEvery == 0) reportEvery = Math.Max(1, ticks / 20);

        OnlineLearner learner;
        try
        {
            learner = new OnlineLearner(options, inputs, outputs, window, every, start, errorHalfLife: reportEvery, mode);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        using var metrics = metricsPath is null ? null : MetricsFile.OpenMetrics(metricsPath, resumedAt: null);
        var errors = new Errors();
        var timings = new long[ticks];
        try
        {
            var frozen = new RnnState(start ?? learner.ToModel());
            var (prediction, held, persistence) = (new float[outputs], new float[outputs], new float[outputs]);
            var block = new Errors();
            long periodTicks = period * Stopwatch.Frequency / 1_000_000, next = Stopwatch.GetTimestamp();
            int lastQuarter = ticks - ticks / 4, blockStart = 0;
            if (!quiet)
                Console.Error.WriteLine($"replay: {ticks} ticks of I={inputs}, O={outputs}; {CellNames.Name(options.Cell)} x {options.Layers}, H={options.Hidden}, {OptionNames.Algorithms.Name(options.Algorithm)}, W={window}, U={every}, {(mode == OnlineMode.Inline ? "inline" : "background")}");
            for (int t = 0; t < ticks; t++)
            {
                var x = series.Inputs(t);
                var y = series.Targets(t);
                long begin = Stopwatch.GetTimestamp();
                var result = learner.Step(x, y, prediction);
                timings[t] = Stopwatch.GetTimestamp() - begin;
                frozen.TryStep(x, held);
                // Persistence holds the last finite observation of each target (0 before one).
                var observed = series.Persistence.Slice(t * outputs, outputs);
                for (int j = 0; j < outputs; j++)
                    if (float.IsFinite(observed[j])) persistence[j] = observed[j];
                // The three are scored on the ticks the learner predicted and has a finite target for.
                if (result != TickResult.InputRejected && Reductions.AllFinite(y))
                {
                    errors.Add(prediction, held, persistence, y, t >= lastQuarter);
                    block.Add(prediction, held, persistence, y, false);
                }
                if ((t + 1) % reportEvery == 0 || t + 1 == ticks)
                {
                    if (!quiet)
                        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"ticks {blockStart,7}-{t,7}  rmse {block.Online:F4}  frozen {block.Frozen:F4}  persistence {block.Persistence:F4}  updates {learner.Updates}  skipped {learner.SkippedUpdates}  rejected ticks {learner.RejectedTicks}  rejected updates {learner.RejectedUpdates}{(learner.Diverged ? "  DIVERGED" : "")}"));
                    if (metrics is not null)
                    {
                        metrics.WriteLine(CliJson.Serialize(w =>
                        {
                            w.WriteStartObject();
                            w.WriteNumber("ticks", t + 1);
                            CliJson.Number(w, "rmse", block.Online);
                            CliJson.Number(w, "rmse_frozen", block.Frozen);
                            CliJson.Number(w, "rmse_persistence", block.Persistence);
                            w.WriteNumber("updates", learner.Updates);
                            w.WriteNumber("skipped_updates", learner.SkippedUpdates);
                            w.WriteNumber("rejected_ticks", learner.RejectedTicks);
                            w.WriteNumber("rejected_updates", learner.RejectedUpdates);
                            w.WriteEndObject();
                        }));
                        metrics.Flush();
                    }
                    block = new Errors();
                    blockStart = t + 1;
                }
                if (periodTicks > 0)
                {
                    next += periodTicks;
                    while (Stopwatch.GetTimestamp() < next) Thread.SpinWait(20);
                }
            }
        }
        finally
        {
            learner.Dispose();
        }
        if (save is not null) learner.Save(save);

        Array.Sort(timings);
        double Micros(long stopwatchTicks) => stopwatchTicks * 1e6 / Stopwatch.Frequency;
        double p50 = Micros(timings[timings.Length / 2]), p99 = Micros(timings[(int)(timings.Length * 0.99)]);
        double p999 = Micros(timings[(int)(timings.Length * 0.999)]), max = Micros(timings[^1]);
        string saved = save is null ? "" : $", saved {save}";
        string rejected = learner.RejectedTicks + learner.RejectedUpdates == 0 ? "" : $", {learner.RejectedTicks} ticks and {learner.RejectedUpdates} updates rejected as not finite";
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"replay: {ticks} ticks, {learner.Updates} updates ({learner.SkippedUpdates} skipped{rejected}); RMSE {errors.Online:F4} (frozen {errors.Frozen:F4}, persistence {errors.Persistence:F4}), last quarter {errors.OnlineLate:F4} (frozen {errors.FrozenLate:F4}, persistence {errors.PersistenceLate:F4}); tick p50 {p50:F1} us, p99 {p99:F1} us, p99.9 {p999:F1} us, max {max:F1} us{saved}"));
        if (a.Has("json"))
        {
            Console.Out.WriteLine(CliJson.Serialize(w =>
            {
                w.WriteStartObject();
                w.WriteString("data", source.Path);
                w.WriteString("algo", OptionNames.Algorithms.Name(options.Algorithm));
                w.WriteString("mode", mode == OnlineMode.Inline ? "inline" : "background");
                w.WriteNumber("hidden", options.Hidden);
                w.WriteString("cell", CellNames.Name(options.Cell));
                w.WriteNumber("layers", options.Layers);
                w.WriteNumber("window", window);
                w.WriteNumber("update_every", every);
                w.WriteNumber("ticks", ticks);
                w.WriteNumber("updates", learner.Updates);
                w.WriteNumber("skipped_updates", learner.SkippedUpdates);
                w.WriteNumber("dropped_ticks", learner.DroppedTicks);
                w.WriteNumber("rejected_ticks", learner.RejectedTicks);
                w.WriteNumber("rejected_updates", learner.RejectedUpdates);
                w.WriteBoolean("diverged", learner.Diverged);
                CliJson.Number(w, "rmse", errors.Online);
                CliJson.Number(w, "rmse_frozen", errors.Frozen);
                CliJson.Number(w, "rmse_persistence", errors.Persistence);
                CliJson.Number(w, "rmse_last_quarter", errors.OnlineLate);
                CliJson.Number(w, "rmse_frozen_last_quarter", errors.FrozenLate);
                CliJson.Number(w, "rmse_persistence_last_quarter", errors.PersistenceLate);
                CliJson.Number(w, "tick_p50_us", p50);
                CliJson.Number(w, "tick_p99_us", p99);
                CliJson.Number(w, "tick_p999_us", p999);
                CliJson.Number(w, "tick_max_us", max);
                long attempts = learner.Updates + learner.RejectedUpdates;
                CliJson.Number(w, "update_mean_us", attempts == 0 ? double.NaN : learner.UpdateSeconds * 1e6 / attempts);
                if (save is not null) w.WriteString("saved", save);
                w.WriteEndObject();
            }));
        }
        // A run succeeds only with a finite final model (the learner keeps it so) that is still learning.
        if (learner.Diverged || !Reductions.AllFinite(learner.Parameters))
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"fastlra: replay: the learner diverged: its last {OnlineLearner.DivergedAfterWindows} windows' updates were all rejected as not finite ({learner.RejectedUpdates} rejected in all); its last good weights are finite{(save is null ? "" : " and saved")}."));
            return CliExit.Failure;
        }
        return CliExit.Ok;
    }

    /// <summary>Sums of squared errors of the three predictors, over every tick and over the last quarter.</summary>
    private sealed class Errors
    {
        private double _online, _frozen, _persistence, _onlineLate, _frozenLate, _persistenceLate;
        private long _count, _late;

        public long Count => _count;

        public void Add(ReadOnlySpan<float> online, ReadOnlySpan<float> frozen, ReadOnlySpan<float> persistence, ReadOnlySpan<float> target, bool late)
        {
            double a = OnlineLearner.MeanSquaredError(online, target), b = OnlineLearner.MeanSquaredError(frozen, target),
                c = OnlineLearner.MeanSquaredError(persistence, target);
            (_online, _frozen, _persistence) = (_online + a, _frozen + b, _persistence + c);
            _count++;
            if (!late) return;
            (_onlineLate, _frozenLate, _persistenceLate) = (_onlineLate + a, _frozenLate + b, _persistenceLate + c);
            _late++;
        }

        public double Online => Rmse(_online, _count);
        public double Frozen => Rmse(_frozen, _count);
        public double Persistence => Rmse(_persistence, _count);
        public double OnlineLate => Rmse(_onlineLate, _late);
        public double FrozenLate => Rmse(_frozenLate, _late);
        public double PersistenceLate => Rmse(_persistenceLate, _late);

        private static double Rmse(double squares, long count) => count == 0 ? double.NaN : Math.Sqrt(squares / count);
    }
}
