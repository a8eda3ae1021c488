using System.Globalization;
using System.Text;
using System.Text.Json;
using FastLra.IO;

namespace FastLra.Cli.Report;

/// <summary>
/// <c>fastlra report --metrics FILE</c>: one run's figures from the metrics file <c>train
/// --metrics</c> wrote, without a sweep: report.md (the best checks and the last), report.csv (every
/// check's numbers) and SVG figures of validation accuracy (R² for regression on data), training and
/// validation loss and the gradient's norm against iteration, the per-step ||dWhh_t|| and LRA's
/// per-step local losses at the first and last check, and, when the file has them, the learning rate
/// and the gradient's conditioning.
/// </summary>
internal sealed class RunReport
{
    /// <summary>One check: a metrics line's numbers (NaN where the line has none).</summary>
    private sealed class Check(long iteration, double trainLoss, double validLoss, double score, double gradientNorm, double learningRate,
        double cosine, double elapsedSeconds)
    {
        public long Iteration => iteration;
        public double TrainLoss => trainLoss;
        public double ValidLoss => validLoss;

        /// <summary>Validation accuracy, or R² for regression on data.</summary>
        public double Score => score;
        public double GradientNorm => gradientNorm;
        public double LearningRate => learningRate;
        public double Cosine => cosine;
        public double ElapsedSeconds => elapsedSeconds;
    }

    private readonly string _path;
    private readonly List<Check> _checks;
    private readonly bool _regression;
    private readonly float[]? _firstNorms, _lastNorms, _firstLosses, _lastLosses;

    private RunReport(string path, List<Check> checks, bool regression, float[]? firstNorms, float[]? lastNorms, float[]? firstLosses, float[]? lastLosses)
    {
        (_path, _checks, _regression) = (path, checks, regression);
        (_firstNorms, _lastNorms, _firstLosses, _lastLosses) = (firstNorms, lastNorms, firstLosses, lastLosses);
    }

    /// <summary>
    /// Reads the metrics file at <paramref name="path"/>: every whole line must be a check of one run
    /// (a JSON object with an iteration after the previous line's, a validation loss and accuracy);
    /// a last line a crash cut short is left out. A missing file, one that is not a regular file, a
    /// line that is not a check, or no check at all is refused in one line naming the file (and the line).
    /// </summary>
    public static RunReport Load(string path)
    {
        try
        {
            BoundedFile.Open(path, long.MaxValue).Dispose();
        }
        catch (FileNotFoundException)
        {
            throw new FileNotFoundException($"--metrics {path}: no such file; give the file train --metrics wrote.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"--metrics {path}: cannot read ({e.Message}).");
        }
        var checks = new List<Check>();
        bool regression = false;
        float[]? firstNorms = null, lastNorms = null, firstLosses = null, lastLosses = null;
        int number = 0;
        string? problem = null;
        var (_, skipped) = LineLog.Read(path, 0, MetricsFile.MaxLineBytes, line =>
        {
            number++;
            if (problem is not null) return;
            using var document = MetricsFile.ParseLine(line);
            var e = document?.RootElement;
            if (e is not { ValueKind: JsonValueKind.Object } o || !o.TryGetProperty("iteration", out var it) || !it.TryGetInt64(out long iteration)
                || !SweepReport.TryNumber(o, "valid_loss", out double validLoss) || !SweepReport.TryNumber(o, "valid_accuracy", out double accuracy))
            {
                problem = $"line {number} is not a metrics line (a JSON object with iteration, valid_loss and valid_accuracy, as train --metrics writes)";
                return;
            }
            if (checks.Count > 0 && iteration <= checks[^1].Iteration)
            {
                problem = $"line {number} is of iteration {iteration}, not after the {checks[^1].Iteration} before it: not the metrics of one run";
                return;
            }
            bool r2 = SweepReport.TryNumber(o, "valid_r2", out double score);
            if (checks.Count > 0 && r2 != regression)
            {
                problem = $"line {number} {(r2 ? "has" : "lacks")} valid_r2 and the lines before it do not: not the metrics of one run";
                return;
            }
            regression = r2;
            SweepReport.TryNumber(o, "train_loss", out double trainLoss);
            SweepReport.TryNumber(o, "gradient_norm", out double gradientNorm);
            SweepReport.TryNumber(o, "lr", out double rate);
            SweepReport.TryNumber(o, "gradient_cosine", out double cosine);
            SweepReport.TryNumber(o, "elapsed_seconds", out double seconds);
            checks.Add(new Check(iteration, trainLoss, validLoss, r2 ? score : accuracy, gradientNorm, rate, cosine, seconds));
            var norms = SweepReport.Floats(o, "dWhh_step_norms");
            var losses = SweepReport.Floats(o, "local_losses");
            firstNorms ??= norms;
            firstLosses ??= losses;
            lastNorms = norms ?? lastNorms;
            lastLosses = losses ?? lastLosses;
        });
        if (skipped > 0 && problem is null) problem = $"{skipped} line(s) longer than {MetricsFile.MaxLineBytes} bytes, which no metrics line is";
        if (problem is not null) throw new InvalidDataException($"--metrics {path}: {problem}.");
        if (checks.Count == 0) throw new InvalidDataException($"--metrics {path}: no checks in it (expected the JSON lines train --metrics writes, one per check).");
        return new RunReport(path, checks, regression, firstNorms, lastNorms, firstLosses, lastLosses);
    }

    /// <summary>Writes report.md, report.csv and the figures into <paramref name="outDir"/>; returns the files written.</summary>
    public List<string> Write(string outDir)
    {
        Directory.CreateDirectory(outDir);
        var written = new List<string>();
        void Save(string name, string text)
        {
            AtomicFile.WriteAllText(Path.Combine(outDir, name), text);
            written.Add(name);
        }

        string metric = _regression ? "R²" : "accuracy", file = Path.GetFileName(_path);
        var (first, last) = (_checks[0], _checks[^1]);
        Check best = first, lowest = first;
        foreach (var c in _checks)
        {
            if (c.Score > best.Score || double.IsNaN(best.Score)) best = c;
            if (c.ValidLoss < lowest.ValidLoss || double.IsNaN(lowest.ValidLoss)) lowest = c;
        }

        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# Run report: {file}\n\n");
        md.Append(CultureInfo.InvariantCulture,
            $"{_checks.Count} checks, iterations {first.Iteration} to {last.Iteration}{(double.IsNaN(last.ElapsedSeconds) ? "" : $", {last.ElapsedSeconds:F1} s")}, from {_path}. ");
        md.Append("Training loss: the mean over the iterations since the previous check; gradient norm: that of the gradient of the check's last iteration (BPTT: before its global clip); ");
        md.Append("learning rate: the rate the iterations after the check take. Every check's numbers are in report.csv.\n\n");
        md.Append(CultureInfo.InvariantCulture, $"| check | iteration | training loss | validation loss | validation {metric} | gradient norm | learning rate |\n");
        md.Append("| --- | --- | --- | --- | --- | --- | --- |\n");
        Row(md, $"highest validation {metric}", best);
        Row(md, "lowest validation loss", lowest);
        Row(md, "last", last);
        md.Append('\n');

        Save("accuracy.svg", SvgChart.Lines($"Validation {metric}: {file}", "at each check", "iteration", $"validation {metric}",
            [Line("validation", 0, c => c.Score)], logY: false, yMin: _regression ? null : 0, yMax: _regression ? 1 : 1.02));
        md.Append(CultureInfo.InvariantCulture, $"![validation {metric}](accuracy.svg)\n");
        Save("loss.svg", SvgChart.Lines($"Loss: {file}", "training: mean since the previous check; validation: at the check", "iteration", "loss",
            [Line("training", 1, c => c.TrainLoss), Line("validation", 0, c => c.ValidLoss)], logY: true));
        md.Append("![training and validation loss](loss.svg)\n");
        Save("gradient-norm-per-check.svg", SvgChart.Lines($"Gradient norm: {file}", "the gradient of each check's last iteration (BPTT: before its global clip)", "iteration",
            "||gradient||", [Line("gradient", 0, c => c.GradientNorm)], logY: true));
        md.Append("![gradient norm at each check](gradient-norm-per-check.svg)\n");
        if (Profiles("||dWhh_t||", _firstNorms, _lastNorms) is { } norms)
        {
            Save("gradient-norm.svg", SvgChart.Lines($"Per-step ||dWhh_t||: {file}", "solid: first check, dashed: last check", "step t",
                "||dWhh_t|| (Frobenius)", norms, logY: true));
            md.Append("![per-step gradient norms](gradient-norm.svg)\n");
        }
        if (Profiles("local loss", _firstLosses, _lastLosses) is { } losses)
        {
            Save("local-loss.svg", SvgChart.Lines($"Per-step local loss (LRA): {file}", "solid: first check, dashed: last check", "step t",
                "local loss", losses, logY: true));
            md.Append("![per-step local losses](local-loss.svg)\n");
        }
        if (_checks.Exists(c => !double.IsNaN(c.LearningRate)))
        {
            Save("learning-rate.svg", SvgChart.Lines($"Learning rate: {file}", "the rate the iterations after each check take", "iteration",
                "learning rate", [Steps("lr", c => c.LearningRate)], logY: true));
            md.Append("![learning rate](learning-rate.svg)\n");
        }
        if (_checks.Exists(c => !double.IsNaN(c.Cosine)))
        {
            Save("conditioning.svg", SvgChart.Lines($"Gradient conditioning: {file}",
                "cosine of the batch's gradient with its gradient at weights perturbed by 1e-7 (relative)", "iteration", "gradient cosine",
                [Line("cosine", 0, c => c.Cosine)], logY: false, yMax: 1.0, reference: 0.99, referenceLabel: "0.99"));
            md.Append("![gradient conditioning](conditioning.svg)\n");
        }

        var csv = new StringBuilder($"iteration,train_loss,valid_loss,{(_regression ? "valid_r2" : "valid_accuracy")},gradient_norm,lr,elapsed_seconds\n");
        foreach (var c in _checks)
            csv.Append(CultureInfo.InvariantCulture,
                $"{c.Iteration},{Cell(c.TrainLoss)},{Cell(c.ValidLoss)},{Cell(c.Score)},{Cell(c.GradientNorm)},{Cell(c.LearningRate)},{Cell(c.ElapsedSeconds)}\n");
        Save("report.csv", csv.ToString());
        Save("report.md", md.ToString());
        return written;
    }

    private void Row(StringBuilder md, string label, Check c)
    {
        string score = double.IsNaN(c.Score) ? "-" : c.Score.ToString(_regression ? "F4" : "P2", CultureInfo.InvariantCulture);
        md.Append(CultureInfo.InvariantCulture,
            $"| {label} | {c.Iteration} | {G(c.TrainLoss)} | {G(c.ValidLoss)} | {score} | {G(c.GradientNorm)} | {G(c.LearningRate)} |\n");
    }

    private static string G(double v) => double.IsNaN(v) ? "-" : v.ToString("G5", CultureInfo.InvariantCulture);

    // A CSV cell: the number in its round-trip form, empty where the line has none.
    private static string Cell(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    private Series Line(string label, int color, Func<Check, double> value)
    {
        var points = new List<(double X, double Y)>(_checks.Count);
        foreach (var c in _checks) points.Add((c.Iteration, value(c)));
        return new Series(label, SvgChart.Palette[color], points);
    }

    // A value that holds from one check to the next (the rate a check decides): drawn as steps.
    private Series Steps(string label, Func<Check, double> value)
    {
        var points = new List<(double X, double Y)>(2 * _checks.Count);
        for (int i = 0; i < _checks.Count; i++)
        {
            if (i > 0) points.Add((_checks[i].Iteration, value(_checks[i - 1])));
            points.Add((_checks[i].Iteration, value(_checks[i])));
        }
        return new Series(label, SvgChart.Palette[0], points);
    }

    // A per-step profile at the first check (solid) and the last (dashed, which legends leave out), or null when the lines have none.
    private static List<Series>? Profiles(string label, float[]? first, float[]? last)
    {
        if (first is null || last is null) return null;
        static List<(double X, double Y)> Points(float[] values)
        {
            var points = new List<(double X, double Y)>(values.Length);
            for (int t = 0; t < values.Length; t++) points.Add((t, values[t]));
            return points;
        }
        return [new Series(label, SvgChart.Palette[0], Points(first)), new Series(label, SvgChart.Palette[0], Points(last), dashed: true)];
    }
}
