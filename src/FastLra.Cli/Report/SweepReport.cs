using System.Globalization;
using System.Text;
using System.Text.Json;
using FastLra.Cli.Sweep;
using FastLra.IO;
using FastLra.Training;

namespace FastLra.Cli.Report;

/// <summary>
/// <c>fastlra report</c>: reads a sweep directory's results and metrics and writes report.md
/// (one table of every cell and variant), report.csv (the same numbers) and SVG figures:
/// validation accuracy (for regression on data: R²) against iteration and the per-step
/// gradient-norm and local-loss profiles for each (task, length) cell, and the success rate of
/// every cell. A cell is a task (or data file) and length; a variant is every other option except
/// the seed, so the runs of a variant in a cell are its seeds.
/// </summary>
internal sealed class SweepReport
{
    /// <summary>What one run's metrics file says: the accuracy (or R²) curve and the first and last per-step profiles.</summary>
    // Classes, not records: nothing compares them, and a record's generated members cost the Native AOT binary.
    private sealed class RunData(TrainReport run, List<(double Iteration, double Accuracy)> curve,
        float[]? firstNorms, float[]? lastNorms, float[]? firstLosses, float[]? lastLosses)
    {
        public TrainReport Run => run;
        public List<(double Iteration, double Accuracy)> Curve => curve;
        public float[]? FirstNorms => firstNorms;
        public float[]? LastNorms => lastNorms;
        public float[]? FirstLosses => firstLosses;
        public float[]? LastLosses => lastLosses;
    }

    private sealed class Stats(string task, int length, string variant, int runs, int solved, double meanBest, double sdBest,
        double minBest, double maxBest, double medianIterations, double medianSeconds, double secondsPerIteration)
    {
        public string Task => task;
        public int Length => length;
        public string Variant => variant;
        public int Runs => runs;
        public int Solved => solved;
        public double MeanBest => meanBest;
        public double SdBest => sdBest;
        public double MinBest => minBest;
        public double MaxBest => maxBest;
        public double MedianIterations => medianIterations;
        public double MedianSeconds => medianSeconds;
        public double SecondsPerIteration => secondsPerIteration;
        public double SuccessRate => (double)solved / runs;
    }

    private readonly List<RunData> _runs;
    private readonly Dictionary<string, string> _labels;
    private readonly Dictionary<string, string> _colors = [];
    private int _variants;

    private SweepReport(List<RunData> runs)
    {
        _runs = runs;
        _labels = Labels(runs.Select(r => r.Run).ToList());
    }

    /// <summary>Reads every sweep result in <paramref name="directory"/>; warnings name files that are not results.</summary>
    public static SweepReport Load(string directory, TextWriter warnings)
    {
        if (!Directory.Exists(directory)) throw new IOException($"no sweep results in {directory}: the directory does not exist.");
        var runs = new List<RunData>();
        foreach (string path in Directory.GetFiles(directory, "*.json").Order(StringComparer.Ordinal))
        {
            SweepResult? result;
            try
            {
                result = SweepRunner.ReadResult(path);
            }
            catch (InvalidDataException e)
            {
                warnings.WriteLine($"fastlra: skipping {e.Message}");
                continue;
            }
            if (result?.Run is null) continue;
            runs.Add(ReadMetrics(result.Run, SweepRunner.MetricsPath(directory, result.Id)));
        }
        if (runs.Count == 0) throw new IOException($"no sweep results in {directory} (expected the ID.json files fastlra sweep writes).");
        return new SweepReport(runs);
    }

    private static RunData ReadMetrics(TrainReport run, string path)
    {
        var curve = new List<(double, double)>();
        float[]? firstNorms = null, lastNorms = null, firstLosses = null, lastLosses = null;
        if (File.Exists(path))
        {
            foreach (string line in File.ReadLines(path))
            {
                using var document = ProgressMonitor.ParseLine(line);
                if (document is null || !document.RootElement.TryGetProperty("iteration", out _)) continue;
                var e = document.RootElement;
                // Regression on data is scored by R², everything else by accuracy.
                var score = e.TryGetProperty("valid_r2", out var r2) ? r2 : e.GetProperty("valid_accuracy");
                curve.Add((e.GetProperty("iteration").GetDouble(), CliJson.ReadNumber(score)));
                var norms = Floats(e, "dWhh_step_norms");
                var losses = Floats(e, "local_losses");
                firstNorms ??= norms;
                firstLosses ??= losses;
                lastNorms = norms ?? lastNorms;
                lastLosses = losses ?? lastLosses;
            }
        }
        return new RunData(run, curve, firstNorms, lastNorms, firstLosses, lastLosses);
    }

    private static float[]? Floats(JsonElement e, string name)
    {
        if (!e.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array) return null;
        var values = new float[array.GetArrayLength()];
        int i = 0;
        foreach (var v in array.EnumerateArray()) values[i++] = v.ValueKind == JsonValueKind.Number ? v.GetSingle() : float.NaN;
        return values;
    }

    /// <summary>
    /// The options that make a variant, as (name, value) pairs: every option of the table that applies
    /// to the run but its task or data, length and seed (a few under the short names the figures use).
    /// </summary>
    private static List<(string Name, string? Value)> Options(TrainReport r) =>
        [.. TrainingOptionTable.All
            .Where(o => o.AppliesTo(r.Options) && (o.Scope != OptionScope.Synthetic || o.Name == "valid-size") && o.Scope != OptionScope.Data && o.Name != "seed")
            .Select(o => (Short(o.Name), (string?)Shown(o, r.Options)))];

    private static string Short(string name) => name switch { "k" => "K", "clip" => "c", "hidden" => "H", "batch" => "B", _ => name };

    /// <summary>An option's value as a reader writes it: floats at float precision (0.01).</summary>
    private static string Shown(TrainingOption option, TrainingOptions o)
    {
        string value = option.Format(o);
        return option.IsFloat ? ((float)double.Parse(value, CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture) : value;
    }

    private static string Key(TrainReport r) => string.Join(';', Options(r).Select(o => $"{o.Name}={o.Value}"));

    /// <summary>Each variant's label names its algorithm and the options that differ between the variants of the report.</summary>
    private static Dictionary<string, string> Labels(List<TrainReport> runs)
    {
        var varying = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in runs.SelectMany(Options).GroupBy(o => o.Name))
            if (group.Select(o => o.Value).Where(v => v is not null).Distinct().Count() > 1) varying.Add(group.Key);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var r in runs)
        {
            var parts = new List<string> { r.Algo == "bptt" ? "BPTT" : "LRA" };
            foreach (var (name, value) in Options(r))
            {
                if (name == "algo" || value is null || !varying.Contains(name)) continue;
                parts.Add(name switch
                {
                    "semantics" => value,
                    "beta" => $"β={value}",
                    "alpha" => $"α={value}",
                    _ => $"{name}={value}",
                });
            }
            labels[Key(r)] = string.Join(' ', parts);
        }
        return labels;
    }

    private List<Stats> Statistics() =>
        [.. _runs.GroupBy(r => (r.Run.Task, r.Run.Length, Key(r.Run))).Select(g =>
        {
            var best = g.Select(r => Score(r.Run)).ToList();
            double mean = best.Average();
            double sd = best.Count > 1 ? Math.Sqrt(best.Sum(b => (b - mean) * (b - mean)) / (best.Count - 1)) : 0;
            var solved = g.Where(r => r.Run.Solved).ToList();
            return new Stats(g.Key.Task, g.Key.Length, _labels[g.Key.Item3], g.Count(), solved.Count, mean, sd, best.Min(), best.Max(),
                Median(solved.Select(r => (double)r.Run.Iterations)), Median(solved.Select(r => r.Run.WallSeconds)),
                g.Average(r => r.Run.SecondsPerIteration));
        })
        .OrderBy(s => s.Task, StringComparer.Ordinal).ThenBy(s => s.Length)
        .ThenByDescending(s => s.SuccessRate).ThenByDescending(s => s.MeanBest).ThenBy(s => s.MedianIterations)];

    /// <summary>A run's score: the best check's R² for regression on data, else its best validation accuracy.</summary>
    private static double Score(TrainReport run) => run.Data is { Regression: true } d ? d.Valid.R2 : run.BestValidAccuracy;

    private bool Regression(string task, int length) => _runs.Exists(r => r.Run.Task == task && r.Run.Length == length && r.Run.Data is { Regression: true });

    /// <summary>Writes report.md, report.csv and the figures into <paramref name="outDir"/>; returns the files written.</summary>
    public List<string> Write(string outDir, string source, int maxSeries)
    {
        Directory.CreateDirectory(outDir);
        var stats = Statistics();
        var cells = stats.Select(s => (s.Task, s.Length)).Distinct().ToList();
        // Variants in overall rank order; the ones some figure draws get the colours, in that
        // order, so a variant has one colour in every figure and (up to twenty) no two share one.
        var ranked = stats.GroupBy(s => s.Variant).OrderByDescending(g => g.Average(s => s.SuccessRate))
            .ThenByDescending(g => g.Average(s => s.MeanBest)).Select(g => g.Key).ToList();
        var drawn = ranked.Take(maxSeries)
            .Concat(stats.GroupBy(s => (s.Task, s.Length)).SelectMany(cell => cell.Take(maxSeries).Select(s => s.Variant))).ToHashSet();
        _variants = ranked.Count;
        foreach (string label in ranked.Where(drawn.Contains)) _colors[label] = SvgChart.Palette[_colors.Count % SvgChart.Palette.Length];

        var written = new List<string>();
        void Save(string name, string text)
        {
            AtomicFile.WriteAllText(Path.Combine(outDir, name), text);
            written.Add(name);
        }

        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# Sweep report: {source}\n\n");
        md.Append(CultureInfo.InvariantCulture,
            $"{_runs.Count} runs, {cells.Count} cells (task and length), {ranked.Count} variants (every option but the seed). ");
        md.Append("Solved: validation error below 0.0001 on the run's validation set (synthetic tasks only). Best accuracy (R² for regression on data, at the best check by validation loss): over several seeds, mean ± sample sd (min-max). ");
        md.Append("Iterations and seconds to solve: medians over the solved runs. Rows are ranked by success rate, then mean best accuracy.\n\n");
        md.Append("| task | T | variant | runs | solved | best valid accuracy (R²) | iterations to solve | seconds to solve | ms/iteration |\n");
        md.Append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        foreach (var s in stats)
        {
            string f = Regression(s.Task, s.Length) ? "F4" : "P2";
            string best = s.Runs == 1
                ? s.MeanBest.ToString(f, CultureInfo.InvariantCulture)
                : $"{s.MeanBest.ToString(f, CultureInfo.InvariantCulture)} ± {s.SdBest.ToString(f, CultureInfo.InvariantCulture)} ({s.MinBest.ToString(f, CultureInfo.InvariantCulture)}-{s.MaxBest.ToString(f, CultureInfo.InvariantCulture)})";
            md.Append(CultureInfo.InvariantCulture, $"| {s.Task} | {s.Length} | {s.Variant} | {s.Runs} | {s.Solved}/{s.Runs} | {best} | ");
            md.Append(CultureInfo.InvariantCulture,
                $"{(s.Solved == 0 ? "-" : s.MedianIterations.ToString("F0", CultureInfo.InvariantCulture))} | {(s.Solved == 0 ? "-" : s.MedianSeconds.ToString("F1", CultureInfo.InvariantCulture))} | {s.SecondsPerIteration * 1e3:F2} |\n");
        }

        var top = ranked.Take(maxSeries).ToList();
        var groups = cells.Select(c => $"{c.Task} T={c.Length}").ToList();
        var bars = top.Select(v => new BarSeries(v, _colors[v], [.. cells.Select(c =>
            stats.FirstOrDefault(s => s.Task == c.Task && s.Length == c.Length && s.Variant == v)?.SuccessRate ?? double.NaN)])).ToList();
        Save("success.svg", SvgChart.Bars("Success rate", Subset(top.Count), "runs solved (fraction)", groups, bars, 1.0));
        md.Append("\n![success rate per task and length](success.svg)\n");

        foreach (var (task, length) in cells)
        {
            string cell = $"{task}-T{length}";
            var shown = stats.Where(s => s.Task == task && s.Length == length).Select(s => s.Variant).Take(maxSeries).ToList();
            var runs = _runs.Where(r => r.Run.Task == task && r.Run.Length == length).GroupBy(r => _labels[Key(r.Run)])
                .Where(g => shown.Contains(g.Key)).OrderBy(g => shown.IndexOf(g.Key)).ToList();
            md.Append(CultureInfo.InvariantCulture, $"\n## {task}, T = {length}\n\n");
            bool regression = Regression(task, length);
            if (regression && runs.SelectMany(g => g).FirstOrDefault()?.Run.Data is { } baseline)
                md.Append(CultureInfo.InvariantCulture,
                    $"Baselines on the validation set: predicting the training mean, R² {baseline.BaselineR2Mean:F4}{(double.IsNaN(baseline.BaselineR2Persistence) ? "" : $"; persistence (the last observed target), R² {baseline.BaselineR2Persistence:F4}")}.\n\n");

            var xs = runs.SelectMany(g => g.SelectMany(r => r.Curve.Select(p => p.Iteration))).Distinct().Order().ToList();
            var accuracy = runs.Select(g => new Series(g.Key, _colors[g.Key], MeanCurve(g.ToList(), xs))).ToList();
            string metric = regression ? "R²" : "accuracy";
            Save($"accuracy-{cell}.svg", SvgChart.Lines($"Validation {metric}: {task}, T = {length}",
                $"mean over seeds (a finished run holds its last value); {Subset(shown.Count)}", "iteration", $"validation {metric}",
                accuracy, logY: false, yMin: regression ? null : 0, yMax: regression ? 1 : 1.02));
            md.Append(CultureInfo.InvariantCulture, $"![validation {metric}](accuracy-{cell}.svg)\n");

            var norms = Profiles(runs, r => r.FirstNorms, r => r.LastNorms, length);
            if (norms.Count > 0)
            {
                Save($"gradient-norm-{cell}.svg", SvgChart.Lines($"Per-step ||dWhh_t||: {task}, T = {length}",
                    "geometric mean over seeds; solid: first check, dashed: last check", "step t", "||dWhh_t|| (Frobenius)", norms, logY: true));
                md.Append(CultureInfo.InvariantCulture, $"![per-step gradient norms](gradient-norm-{cell}.svg)\n");
            }
            var losses = Profiles(runs, r => r.FirstLosses, r => r.LastLosses, length);
            if (losses.Count > 0)
            {
                Save($"local-loss-{cell}.svg", SvgChart.Lines($"Per-step local loss (LRA): {task}, T = {length}",
                    "geometric mean over seeds; solid: first check, dashed: last check", "step t", "local loss", losses, logY: true));
                md.Append(CultureInfo.InvariantCulture, $"![per-step local losses](local-loss-{cell}.svg)\n");
            }
        }

        var csv = new StringBuilder("task,length,variant,runs,solved,success_rate,best_accuracy_mean,best_accuracy_sd,best_accuracy_min,best_accuracy_max,");
        csv.Append("iterations_to_solve_median,seconds_to_solve_median,seconds_per_iteration\n");
        foreach (var s in stats)
            csv.Append(CultureInfo.InvariantCulture,
                $"{s.Task},{s.Length},\"{s.Variant}\",{s.Runs},{s.Solved},{s.SuccessRate:R},{s.MeanBest:R},{s.SdBest:R},{s.MinBest:R},{s.MaxBest:R},{s.MedianIterations:R},{s.MedianSeconds:R},{s.SecondsPerIteration:R}\n");
        Save("report.csv", csv.ToString());
        Save("report.md", md.ToString());
        return written;
    }

    private string Subset(int shown) => shown < _variants ? $"the best {shown} of {_variants} variants" : "every variant";

    /// <summary>Mean accuracy over runs at every check iteration of the figure, each run holding its last value after it stopped.</summary>
    private static List<(double X, double Y)> MeanCurve(List<RunData> runs, List<double> xs)
    {
        var curve = new List<(double, double)>(xs.Count);
        foreach (double x in xs)
        {
            double sum = 0;
            int n = 0;
            foreach (var r in runs)
            {
                int i = r.Curve.FindLastIndex(p => p.Iteration <= x);
                if (i < 0) continue;
                sum += r.Curve[i].Accuracy;
                n++;
            }
            if (n > 0) curve.Add((x, sum / n));
        }
        return curve;
    }

    /// <summary>Per-step profiles (geometric mean over runs), solid at the first check and dashed at the last.</summary>
    private List<Series> Profiles(List<IGrouping<string, RunData>> variants, Func<RunData, float[]?> first, Func<RunData, float[]?> last, int steps)
    {
        var series = new List<Series>();
        foreach (var g in variants)
        {
            var a = GeometricMean(g.Select(first), steps);
            var b = GeometricMean(g.Select(last), steps);
            if (a is null || b is null) continue;
            series.Add(new Series(g.Key, _colors[g.Key], a));
            series.Add(new Series(g.Key, _colors[g.Key], b, dashed: true));
        }
        return series;
    }

    private static List<(double, double)>? GeometricMean(IEnumerable<float[]?> profiles, int steps)
    {
        var present = profiles.Where(p => p is not null && p.Length == steps && p.Any(v => v > 0)).ToList();
        if (present.Count == 0) return null;
        var points = new List<(double, double)>(steps);
        for (int t = 0; t < steps; t++)
        {
            var logs = present.Select(p => (double)p![t]).Where(v => v > 0 && double.IsFinite(v)).Select(v => Math.Log(v)).ToList();
            points.Add((t, logs.Count == 0 ? double.NaN : Math.Exp(logs.Average())));
        }
        return points;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        if (sorted.Count == 0) return double.NaN;
        int m = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    }


}
