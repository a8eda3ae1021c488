using System.Globalization;
using System.Text;
using System.Text.Json;
using FastLra.Cli.Sweep;
using FastLra.IO;
using FastLra.Tasks;
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
    private sealed class RunData(TrainReport run, List<(double Iteration, double Accuracy)> curve, List<(double Iteration, double Accuracy)> cosines,
        float[]? firstNorms, float[]? lastNorms, float[]? firstLosses, float[]? lastLosses)
    {
        public TrainReport Run => run;
        public List<(double Iteration, double Accuracy)> Curve => curve;

        /// <summary>The gradient cosine at each check that measured it (<c>--conditioning</c>); Accuracy holds the cosine.</summary>
        public List<(double Iteration, double Accuracy)> Cosines => cosines;
        public float[]? FirstNorms => firstNorms;
        public float[]? LastNorms => lastNorms;
        public float[]? FirstLosses => firstLosses;
        public float[]? LastLosses => lastLosses;
    }

    private sealed class Stats(string task, int length, string variant, int runs, int solved, double meanBest, double sdBest,
        double minBest, double maxBest, double medianIterations, double medianSeconds, double secondsPerIteration, int order)
    {
        /// <summary>Where the cell and variant first appear among the runs: the last tie-break, so the order is stable.</summary>
        public int Order => order;
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

    /// <summary>The runs of one variant in one cell (its seeds).</summary>
    private sealed class VariantRuns(string label, List<RunData> runs)
    {
        public string Label => label;
        public List<RunData> Runs => runs;
    }

    /// <summary>A variant's rank over every cell: mean success rate, then mean best score, then first appearance.</summary>
    private sealed class Rank(string label, int order)
    {
        public string Label => label;
        public int Order => order;
        public double SuccessRate { get; set; }
        public double MeanBest { get; set; }
        public int Cells { get; set; }
    }

    // The report sorts with loops and comparisons, not LINQ's OrderBy/GroupBy/Distinct: each of those
    // instantiated over value-type keys costs the Native AOT binary kilobytes.
    private readonly List<RunData> _runs;
    private readonly Dictionary<string, string> _labels;
    private readonly Dictionary<string, string> _colors = [];
    private int _variants;

    private SweepReport(List<RunData> runs)
    {
        _runs = runs;
        _labels = Labels(runs);
    }

    /// <summary>
    /// Reads every run recorded in <paramref name="directory"/>'s <c>runs.jsonl</c>; warnings name
    /// what is damaged.
    /// </summary>
    public static SweepReport Load(string directory, TextWriter warnings)
    {
        if (!Directory.Exists(directory)) throw new InvalidDataException($"no sweep results in {directory}: the directory does not exist.");
        var runs = new Dictionary<string, RunData>(StringComparer.Ordinal);
        foreach (var recorded in SweepStore.ReadAll(directory, warnings).Values)
            runs[recorded.Result.Id] = ReadMetrics(recorded.Result.Run, recorded.Metrics);
        if (runs.Count == 0) throw new InvalidDataException($"no sweep results in {directory} (expected the runs.jsonl fastlra sweep writes).");
        var ids = new List<string>(runs.Keys);
        ids.Sort(StringComparer.Ordinal);
        var ordered = new List<RunData>(ids.Count);
        foreach (string id in ids) ordered.Add(runs[id]);
        return new SweepReport(ordered);
    }

    // A run's curves and profiles from its metrics lines (a JSON array; none when the element is not one).
    private static RunData ReadMetrics(TrainReport run, JsonElement lines)
    {
        var (curve, cosines) = (new List<(double, double)>(), new List<(double, double)>());
        float[]? firstNorms = null, lastNorms = null, firstLosses = null, lastLosses = null;
        if (lines.ValueKind != JsonValueKind.Array) return new RunData(run, curve, cosines, null, null, null, null);
        foreach (var e in lines.EnumerateArray())
        {
            // Regression on data is scored by R², everything else by accuracy; a line without an
            // iteration or a score (damaged) is left out.
            if (e.ValueKind != JsonValueKind.Object || !TryNumber(e, "iteration", out double iteration)
                || !(TryNumber(e, "valid_r2", out double score) || TryNumber(e, "valid_accuracy", out score))) continue;
            curve.Add((iteration, score));
            if (TryNumber(e, "gradient_cosine", out double cosine)) cosines.Add((iteration, cosine));
            var norms = Floats(e, "dWhh_step_norms");
            var losses = Floats(e, "local_losses");
            firstNorms ??= norms;
            firstLosses ??= losses;
            lastNorms = norms ?? lastNorms;
            lastLosses = losses ?? lastLosses;
        }
        return new RunData(run, curve, cosines, firstNorms, lastNorms, firstLosses, lastLosses);
    }

    /// <summary>A metrics line's array of numbers (a value that is none is NaN), or null when absent.</summary>
    internal static float[]? Floats(JsonElement e, string name)
    {
        if (!e.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array) return null;
        var values = new float[array.GetArrayLength()];
        int i = 0;
        foreach (var v in array.EnumerateArray()) values[i++] = v.ValueKind == JsonValueKind.Number && v.TryGetSingle(out float f) ? f : float.NaN;
        return values;
    }

    // A metrics line's number: a JSON number, or a non-finite one written as a string ("NaN"); false when absent or neither.
    internal static bool TryNumber(JsonElement e, string name, out double value)
    {
        value = double.NaN;
        if (!e.TryGetProperty(name, out var v)) return false;
        return v.ValueKind switch
        {
            JsonValueKind.Number => v.TryGetDouble(out value),
            JsonValueKind.String => double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out value),
            _ => false,
        };
    }

    /// <summary>
    /// The options that make a variant, as (name, value) pairs: every option of the table that applies
    /// to the run but its task or data, length and seed (a few under the short names the figures use).
    /// </summary>
    private static List<(string Name, string? Value)> Options(TrainReport r) =>
        [.. TrainingOptionTable.All
            .Where(o => o.Records(r.Spec) && (o.Scope != OptionScope.Task || o.Name == "valid-size") && o.Scope is not (OptionScope.DataFile or OptionScope.Data) && o.Name != "seed")
            .Select(o => (Short(o.Name), (string?)o.Show(r.Spec)))];

    private static string Short(string name) => name switch { "k" => "K", "clip" => "c", "hidden" => "H", "batch" => "B", _ => name };

    private static string Key(TrainReport r) => string.Join(';', Options(r).Select(o => $"{o.Name}={o.Value}"));

    /// <summary>
    /// Each variant's label names its algorithm and the options that differ between the variants of
    /// the report: those of different values, and those some runs record and others leave at their
    /// default (<see cref="TrainingOption.OmittedAtDefault"/>: two layers beside one).
    /// </summary>
    private static Dictionary<string, string> Labels(List<RunData> runs)
    {
        var first = new Dictionary<string, string>(StringComparer.Ordinal);
        var varying = new HashSet<string>(StringComparer.Ordinal);
        foreach (var r in runs)
            foreach (var (name, value) in Options(r.Run))
                if (value is not null && !first.TryAdd(name, value) && first[name] != value)
                    varying.Add(name);
        // An option left out at its default by some runs it applies to and recorded by others varies too.
        foreach (var option in TrainingOptionTable.All)
        {
            if (!option.OmittedAtDefault) continue;
            bool recorded = false, omitted = false;
            foreach (var r in runs)
                if (option.AppliesTo(r.Run.Spec)) (recorded, omitted) = option.Records(r.Run.Spec) ? (true, omitted) : (recorded, true);
            if (recorded && omitted) varying.Add(Short(option.Name));
        }
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var run in runs)
        {
            var r = run.Run;
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

    /// <summary>One row per cell and variant, ordered by cell, then success rate, mean best score and median iterations to solve.</summary>
    private List<Stats> Statistics()
    {
        var groups = new Dictionary<string, List<RunData>>(StringComparer.Ordinal);
        var order = new List<List<RunData>>();
        foreach (var r in _runs)
        {
            string key = $"{r.Run.Task}\n{r.Run.Length}\n{Key(r.Run)}";
            if (!groups.TryGetValue(key, out var group)) order.Add(groups[key] = group = []);
            group.Add(r);
        }
        var stats = new List<Stats>(order.Count);
        foreach (var g in order)
        {
            var best = new List<double>(g.Count);
            var iterations = new List<double>();
            var seconds = new List<double>();
            double sum = 0, secondsPerIteration = 0;
            foreach (var r in g)
            {
                best.Add(Score(r.Run));
                sum += Score(r.Run);
                secondsPerIteration += r.Run.SecondsPerIteration;
                if (!r.Run.Solved) continue;
                iterations.Add(r.Run.Iterations);
                seconds.Add(r.Run.WallSeconds);
            }
            double mean = sum / best.Count, squares = 0;
            foreach (double b in best) squares += (b - mean) * (b - mean);
            var run = g[0].Run;
            stats.Add(new Stats(run.Task, run.Length, _labels[Key(run)], g.Count, iterations.Count, mean,
                best.Count > 1 ? Math.Sqrt(squares / (best.Count - 1)) : 0, Min(best), Max(best),
                Median(iterations), Median(seconds), secondsPerIteration / g.Count, stats.Count));
        }
        stats.Sort(static (a, b) =>
        {
            int c = string.CompareOrdinal(a.Task, b.Task);
            if (c == 0) c = a.Length.CompareTo(b.Length);
            if (c == 0) c = b.SuccessRate.CompareTo(a.SuccessRate);
            if (c == 0) c = b.MeanBest.CompareTo(a.MeanBest);
            if (c == 0) c = a.MedianIterations.CompareTo(b.MedianIterations);
            return c != 0 ? c : a.Order.CompareTo(b.Order);
        });
        return stats;
    }

    private static double Min(List<double> values)
    {
        double min = double.PositiveInfinity;
        foreach (double v in values) min = Math.Min(min, v);
        return min;
    }

    // As Enumerable.Max: NaN only when every value is NaN.
    private static double Max(List<double> values)
    {
        double max = values[0];
        foreach (double v in values)
            if (v > max || double.IsNaN(max)) max = v;
        return max;
    }

    /// <summary>
    /// A run's score. On data, the best check by validation loss (the parameters the run keeps):
    /// its R² for regression, its accuracy for classes. On a synthetic task, the best validation
    /// accuracy of any check.
    /// </summary>
    private static double Score(TrainReport run) => run.Data switch
    {
        { Regression: true } d => d.Valid.R2,
        { } d => d.Valid.Accuracy,
        null => run.BestValidAccuracy,
    };

    private bool Regression(string task, int length) => _runs.Exists(r => r.Run.Task == task && r.Run.Length == length && r.Run.Data is { Regression: true });

    /// <summary>Writes report.md, report.csv and the figures into <paramref name="outDir"/>; returns the files written.</summary>
    public List<string> Write(string outDir, string source, int maxSeries)
    {
        Directory.CreateDirectory(outDir);
        var stats = Statistics();
        // The cells in order, each as the rows of its variants (the rows are sorted by cell first).
        var cells = new List<List<Stats>>();
        foreach (var row in stats)
        {
            if (cells.Count == 0 || cells[^1][0].Task != row.Task || cells[^1][0].Length != row.Length) cells.Add([]);
            cells[^1].Add(row);
        }
        var ranked = RankVariants(stats);
        // The variants some figure draws get the colours, in rank order, so a variant has one
        // colour in every figure and (up to twenty) no two share one.
        var drawn = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < Math.Min(maxSeries, ranked.Count); i++) drawn.Add(ranked[i]);
        foreach (var cell in cells)
            for (int i = 0; i < Math.Min(maxSeries, cell.Count); i++) drawn.Add(cell[i].Variant);
        _variants = ranked.Count;
        foreach (string label in ranked)
            if (drawn.Contains(label)) _colors[label] = SvgChart.Palette[_colors.Count % SvgChart.Palette.Length];

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
        md.Append("Solved: validation error below 0.0001 on the run's validation set (synthetic tasks only). Best accuracy: on a synthetic task the highest validation accuracy of any check; on data the validation accuracy (R² for regression) at the best check by validation loss; over several seeds, mean ± sample sd (min-max). ");
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

        int top = Math.Min(maxSeries, ranked.Count);
        var groups = new List<string>(cells.Count);
        foreach (var cell in cells) groups.Add($"{cell[0].Task} T={cell[0].Length}");
        var bars = new List<BarSeries>(top);
        for (int v = 0; v < top; v++)
        {
            var rates = new double[cells.Count];
            for (int c = 0; c < cells.Count; c++) rates[c] = cells[c].Find(s => s.Variant == ranked[v])?.SuccessRate ?? double.NaN;
            bars.Add(new BarSeries(ranked[v], _colors[ranked[v]], rates));
        }
        Save("success.svg", SvgChart.Bars("Success rate", Subset(top), "runs solved (fraction)", groups, bars, 1.0));
        md.Append("\n![success rate per task and length](success.svg)\n");

        foreach (var rows in cells)
        {
            var (task, length) = (rows[0].Task, rows[0].Length);
            string cell = $"{task}-T{length}";
            // The cell's best variants, each with its runs (seeds).
            var runs = new List<VariantRuns>();
            for (int i = 0; i < Math.Min(maxSeries, rows.Count); i++)
                runs.Add(new VariantRuns(rows[i].Variant, _runs.FindAll(r => r.Run.Task == task && r.Run.Length == length && _labels[Key(r.Run)] == rows[i].Variant)));
            md.Append(CultureInfo.InvariantCulture, $"\n## {task}, T = {length}\n\n");
            bool regression = Regression(task, length);
            if (regression && runs[0].Runs[0].Run.Data is { } baseline)
                md.Append(CultureInfo.InvariantCulture,
                    $"Baselines on the validation set: predicting the training mean, R² {baseline.BaselineR2Mean:F4}{(double.IsNaN(baseline.BaselineR2Persistence) ? "" : $"; persistence (the last observed target), R² {baseline.BaselineR2Persistence:F4}")}.\n\n");

            var xs = Checks(runs, static r => r.Curve);
            var accuracy = new List<Series>(runs.Count);
            foreach (var g in runs) accuracy.Add(Spread(g.Label, _colors[g.Label], g.Runs, static r => r.Curve, xs, hold: true));
            string metric = regression ? "R²" : "accuracy";
            double? chance = !regression && TaskInfo.TryParse(task, out var kind) ? Chance(kind) : null;
            Save($"accuracy-{cell}.svg", SvgChart.Lines($"Validation {metric}: {task}, T = {length}",
                $"mean over seeds, band: min-max (a finished run holds its last value); {Subset(runs.Count)}", "iteration", $"validation {metric}",
                accuracy, logY: false, yMin: regression ? null : 0, yMax: regression ? 1 : 1.02, reference: chance, referenceLabel: "chance"));
            md.Append(CultureInfo.InvariantCulture, $"![validation {metric}](accuracy-{cell}.svg)\n");

            var measured = new List<VariantRuns>();
            foreach (var g in runs)
                foreach (var r in g.Runs)
                    if (r.Cosines.Count > 0)
                    {
                        measured.Add(g);
                        break;
                    }
            if (measured.Count > 0)
            {
                var cx = Checks(measured, static r => r.Cosines);
                var cosine = new List<Series>(measured.Count);
                foreach (var g in measured) cosine.Add(Spread(g.Label, _colors[g.Label], g.Runs, static r => r.Cosines, cx, hold: false));
                Save($"conditioning-{cell}.svg", SvgChart.Lines($"Gradient conditioning: {task}, T = {length}",
                    "cosine of the batch's gradient with its gradient at weights perturbed by 1e-7 (relative); mean over seeds, band: min-max",
                    "iteration", "gradient cosine", cosine, logY: false, yMax: 1.0, reference: 0.99, referenceLabel: "0.99"));
                md.Append(CultureInfo.InvariantCulture, $"![gradient conditioning](conditioning-{cell}.svg)\n\n");
                md.Append("| variant | checks measured | median cosine | lowest | checks below 0.99 |\n| --- | --- | --- | --- | --- |\n");
                foreach (var g in measured)
                {
                    var values = new List<double>();
                    int below = 0;
                    foreach (var r in g.Runs)
                        foreach (var p in r.Cosines)
                        {
                            values.Add(p.Accuracy);
                            if (!(p.Accuracy >= 0.99)) below++;
                        }
                    md.Append(CultureInfo.InvariantCulture,
                        $"| {g.Label} | {values.Count} | {Median(values):F6} | {Min(values):F6} | {below} ({(double)below / values.Count:P0}) |\n");
                }
                md.Append('\n');
            }

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

    /// <summary>
    /// A synthetic task's chance accuracy, the most frequent answer's share (none for adding, a
    /// regression): the temporal-order tasks' labels are uniform over their O classes; random
    /// permutation answers one of two symbols, though it has O = 100 outputs.
    /// </summary>
    internal static double? Chance(TaskKind kind) => kind switch
    {
        TaskKind.Adding => null,
        TaskKind.RandomPermutation => 0.5,
        _ => 1.0 / TaskInfo.Outputs(kind),
    };

    private string Subset(int shown) => shown < _variants ? $"the best {shown} of {_variants} variants" : "every variant";

    /// <summary>The iterations at which any run of the variants has a value, in order: a figure's x values.</summary>
    private static List<double> Checks(List<VariantRuns> variants, Func<RunData, List<(double Iteration, double Accuracy)>> values)
    {
        var iterations = new HashSet<double>();
        foreach (var g in variants)
            foreach (var r in g.Runs)
                foreach (var p in values(r)) iterations.Add(p.Iteration);
        var xs = new List<double>(iterations);
        xs.Sort();
        return xs;
    }

    /// <summary>
    /// The mean over runs of a per-check value at every iteration of the figure, with the band from
    /// its lowest to its highest run; with <paramref name="hold"/> a run that stopped holds its last
    /// value, without it only the runs with a check at that iteration count.
    /// </summary>
    private static Series Spread(string label, string color, List<RunData> runs, Func<RunData, List<(double Iteration, double Accuracy)>> values,
        List<double> xs, bool hold)
    {
        var (points, low, high) = (new List<(double, double)>(xs.Count), new List<double>(xs.Count), new List<double>(xs.Count));
        foreach (double x in xs)
        {
            double sum = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
            int n = 0;
            foreach (var r in runs)
            {
                var curve = values(r);
                int i = curve.FindLastIndex(p => p.Iteration <= x);
                if (i < 0 || (!hold && curve[i].Iteration != x)) continue;
                double v = curve[i].Accuracy;
                (sum, min, max, n) = (sum + v, Math.Min(min, v), Math.Max(max, v), n + 1);
            }
            if (n == 0) continue;
            points.Add((x, sum / n));
            low.Add(min);
            high.Add(max);
        }
        return new Series(label, color, points, low: [.. low], high: [.. high]);
    }

    /// <summary>Variant labels in rank order: mean success rate over their cells, then mean best score, then first appearance.</summary>
    private static List<string> RankVariants(List<Stats> stats)
    {
        var ranks = new Dictionary<string, Rank>(StringComparer.Ordinal);
        var order = new List<Rank>();
        foreach (var s in stats)
        {
            if (!ranks.TryGetValue(s.Variant, out var rank)) order.Add(ranks[s.Variant] = rank = new Rank(s.Variant, order.Count));
            rank.SuccessRate += s.SuccessRate;
            rank.MeanBest += s.MeanBest;
            rank.Cells++;
        }
        order.Sort(static (a, b) =>
        {
            int c = (b.SuccessRate / b.Cells).CompareTo(a.SuccessRate / a.Cells);
            if (c == 0) c = (b.MeanBest / b.Cells).CompareTo(a.MeanBest / a.Cells);
            return c != 0 ? c : a.Order.CompareTo(b.Order);
        });
        var labels = new List<string>(order.Count);
        foreach (var rank in order) labels.Add(rank.Label);
        return labels;
    }

    /// <summary>Per-step profiles (geometric mean over runs), solid at the first check and dashed at the last.</summary>
    private List<Series> Profiles(List<VariantRuns> variants, Func<RunData, float[]?> first, Func<RunData, float[]?> last, int steps)
    {
        var series = new List<Series>();
        foreach (var g in variants)
        {
            var a = GeometricMean(g.Runs, first, steps);
            var b = GeometricMean(g.Runs, last, steps);
            if (a is null || b is null) continue;
            series.Add(new Series(g.Label, _colors[g.Label], a));
            series.Add(new Series(g.Label, _colors[g.Label], b, dashed: true));
        }
        return series;
    }

    private static List<(double, double)>? GeometricMean(List<RunData> runs, Func<RunData, float[]?> profile, int steps)
    {
        var present = new List<float[]>();
        foreach (var r in runs)
            if (profile(r) is { } p && p.Length == steps && Array.Exists(p, v => v > 0)) present.Add(p);
        if (present.Count == 0) return null;
        var points = new List<(double, double)>(steps);
        for (int t = 0; t < steps; t++)
        {
            double logs = 0;
            int n = 0;
            foreach (var p in present)
            {
                double v = p[t];
                if (!(v > 0 && double.IsFinite(v))) continue;
                logs += Math.Log(v);
                n++;
            }
            points.Add((t, n == 0 ? double.NaN : Math.Exp(logs / n)));
        }
        return points;
    }

    private static double Median(List<double> values)
    {
        if (values.Count == 0) return double.NaN;
        values.Sort();
        int m = values.Count / 2;
        return values.Count % 2 == 1 ? values[m] : (values[m - 1] + values[m]) / 2;
    }
}
