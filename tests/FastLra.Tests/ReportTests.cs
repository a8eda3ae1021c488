using System.Globalization;
using FastLra.Cli;
using FastLra.Cli.Report;
using FastLra.Cli.Sweep;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>The sweep report's numbers, from a directory of hand-made results.</summary>
public sealed class ReportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-report-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void Result(string id, RunSpec spec, long iterations, double best, bool solved, double seconds, params (long It, double Acc, float[] Norms)[] checks)
    {
        var outcome = new TrainingResult(iterations, best, 0.1, best, solved, solved ? StopReason.Solved : StopReason.MaxIterations, seconds, 0.2);
        new SweepStore(_dir).Append(new SweepResult(id, "fastlra train", TrainReport.Create(spec, outcome, null)), checks.Select(c =>
            CliJson.Serialize(new MetricsLine(c.It, 1, 1, c.Acc, c.Acc, 1, 1, 1, null, null, c.Norms, c.Norms, null).Write)));
    }

    private static RunSpec Seeded(RunSpec spec, uint seed) => spec with { Options = spec.Options with { Seed = seed } };

    [Fact]
    public void Statistics_are_over_seeds_per_task_length_and_variant()
    {
        var bptt = new RunSpec(new TaskSource(Tasks.TaskKind.Adding, 10)) { Options = new TrainingOptions { MaxIterations = 400 } };
        var lra = bptt with { Options = bptt.Options with { Algorithm = AlgorithmKind.Lra, Alpha = 0.5f } };
        float[] norms = [0f, 1e-3f, 1e-2f, 1e-2f, 1e-2f, 1e-2f, 1e-2f, 1e-2f, 1e-2f, 1e-1f];
        Result("b1", Seeded(bptt, 1), 100, 1.0, true, 2.0, (100, 1.0, norms));
        Result("b2", Seeded(bptt, 2), 300, 1.0, true, 4.0, (100, 0.5, norms), (200, 0.9, norms), (300, 1.0, norms));
        File.AppendAllText(Path.Combine(_dir, "runs.jsonl"), "{\"not\": \"a result\"}\n");
        Result("b3", Seeded(bptt, 3), 400, 0.8, false, 5.0, (400, 0.8, norms));
        Result("l1", Seeded(lra, 1), 400, 0.6, false, 9.0, (400, 0.6, norms));
        Result("l2", Seeded(lra, 2), 400, 0.7, false, 9.0, (400, 0.7, norms));
        var warnings = new StringWriter();

        var files = SweepReport.Load(_dir, warnings).Write(Path.Combine(_dir, "out"), _dir, 8);
        Assert.Contains("runs.jsonl", warnings.ToString(), StringComparison.Ordinal);
        Assert.Contains("report.md", files);
        Assert.Contains("accuracy-adding-T10.svg", files);
        Assert.Contains("gradient-norm-adding-T10.svg", files);
        Assert.DoesNotContain("local-loss-adding-T10.svg", files); // no LRA local losses in these metrics

        var rows = File.ReadAllLines(Path.Combine(_dir, "out", "report.csv"));
        Assert.Equal(3, rows.Length);
        var header = rows[0].Split(',');
        string[] Row(int i) => rows[i].Split(',');
        double Get(string[] row, string name) => double.Parse(row[Array.IndexOf(header, name)], CultureInfo.InvariantCulture);
        // Ranked by success rate: BPTT first, 2 of 3 solved, best 1, 1, 0.8; solved in 100 and 300 iterations, 2 and 4 s.
        var b = Row(1);
        Assert.Equal("\"BPTT\"", b[2]);
        Assert.Equal((3, 2), ((int)Get(b, "runs"), (int)Get(b, "solved")));
        Assert.Equal(2.0 / 3, Get(b, "success_rate"), 12);
        Assert.Equal(2.8 / 3, Get(b, "best_accuracy_mean"), 12);
        Assert.Equal(Math.Sqrt((2 * Math.Pow(1 - 2.8 / 3, 2) + Math.Pow(0.8 - 2.8 / 3, 2)) / 2), Get(b, "best_accuracy_sd"), 12);
        Assert.Equal((0.8, 1.0), (Get(b, "best_accuracy_min"), Get(b, "best_accuracy_max")));
        Assert.Equal((200.0, 3.0), (Get(b, "iterations_to_solve_median"), Get(b, "seconds_to_solve_median")));
        var l = Row(2);
        Assert.Equal("\"LRA\"", l[2]);
        Assert.Equal(0.0, Get(l, "success_rate"));
        Assert.Equal(0.65, Get(l, "best_accuracy_mean"), 12);
        Assert.True(double.IsNaN(Get(l, "iterations_to_solve_median")));

        string md = File.ReadAllText(Path.Combine(_dir, "out", "report.md"));
        Assert.Contains("| adding | 10 | BPTT | 3 | 2/3 | 93.33 % ± 11.55 % (80.00 %-100.00 %) | 200 | 3.0 |", md, StringComparison.Ordinal);
        Assert.Contains("| adding | 10 | LRA | 2 | 0/2 | 65.00 % ± 7.07 % (60.00 %-70.00 %) | - | - |", md, StringComparison.Ordinal);
    }

    /// <summary>
    /// Cells and depths are variants of their own, labelled by what differs: an option a run at its
    /// default leaves out of its record (layers = 1, the tanh cell) still tells its runs apart from
    /// those that set it.
    /// </summary>
    [Fact]
    public void Cells_and_depths_are_variants_labelled_by_what_differs()
    {
        var tanh = new RunSpec(new TaskSource(Tasks.TaskKind.Adding, 10)) { Options = new TrainingOptions { MaxIterations = 400 } };
        float[] norms = [1e-2f];
        int i = 0;
        foreach (var cell in new[] { Model.CellKind.Tanh, Model.CellKind.Gru })
            foreach (int layers in new[] { 1, 2 })
                Result($"r{i}", tanh with { Options = tanh.Options with { Cell = cell, Layers = layers } }, 400, 0.5 + 0.1 * i++, false, 1.0, (400, 0.5, norms));
        SweepReport.Load(_dir, TextWriter.Null).Write(Path.Combine(_dir, "out"), _dir, 8);
        var labels = File.ReadAllLines(Path.Combine(_dir, "out", "report.csv")).Skip(1).Select(r => r.Split(',')[2]).Order().ToList();
        Assert.Equal(["\"BPTT cell=gru layers=2\"", "\"BPTT cell=gru\"", "\"BPTT layers=2\"", "\"BPTT\""], labels);
    }

    /// <summary>
    /// From a sweep's runs.jsonl: the accuracy figure shows the seeds' spread and the chance level
    /// (1/4 on temporal order); runs measured with --conditioning get a conditioning figure and table.
    /// </summary>
    [Fact]
    public void Accuracy_figures_show_the_spread_and_chance_and_conditioning_is_reported()
    {
        var store = new SweepStore(_dir);
        var local = new RunSpec(new TaskSource(Tasks.TaskKind.TemporalOrder, 20)) { Options = new TrainingOptions { Algorithm = AlgorithmKind.Lra, MaxIterations = 300 } };
        double[][] accuracies = [[0.3, 0.6, 0.9], [0.25, 0.5, 0.7]];
        double[][] cosines = [[1.0, 0.97, 0.5], [1.0, 0.999, 0.999]];
        for (int seed = 0; seed < 2; seed++)
        {
            var outcome = new TrainingResult(300, accuracies[seed][2], 0.1, accuracies[seed][2], false, StopReason.MaxIterations, 3, 0.2);
            var result = new SweepResult($"run{seed}", "fastlra train", TrainReport.Create(Seeded(local, (uint)seed + 1), outcome, null));
            store.Append(result, Enumerable.Range(0, 3).Select(c => CliJson.Serialize(new MetricsLine(100 * (c + 1), 1, 1, accuracies[seed][c],
                accuracies[seed][c], 1, 1, 1, null, null, null, null, null, GradientCosine: cosines[seed][c]).Write)));
        }
        var files = SweepReport.Load(_dir, TextWriter.Null).Write(Path.Combine(_dir, "out"), "sweep", 8);
        Assert.Contains("conditioning-temporal-order-T20.svg", files);
        string accuracy = File.ReadAllText(Path.Combine(_dir, "out", "accuracy-temporal-order-T20.svg"));
        Assert.Contains("fill-opacity=\"0.15\"", accuracy, StringComparison.Ordinal);
        Assert.Contains(">chance</text>", accuracy, StringComparison.Ordinal);
        string md = File.ReadAllText(Path.Combine(_dir, "out", "report.md"));
        // Six checks measured: median of {0.5, 0.97, 0.999, 0.999, 1, 1} = 0.999, two below 0.99.
        Assert.Matches(@"\| 6 \| 0\.999000 \| 0\.500000 \| 2 \(33 %\) \|", md);
    }

    /// <summary>Chance is the most frequent answer's share: random permutation answers one of two symbols, whatever its 100 outputs.</summary>
    [Fact]
    public void Chance_is_the_most_frequent_answers_share() =>
        Assert.Equal([0.25, 0.125, 0.5, null], new[] { Tasks.TaskKind.TemporalOrder, Tasks.TaskKind.TemporalOrder3Bit, Tasks.TaskKind.RandomPermutation, Tasks.TaskKind.Adding }
            .Select(SweepReport.Chance));

    /// <summary>
    /// On data the score is the best check by validation loss, the parameters the run keeps: its
    /// accuracy (80 % and 82 % here), not the highest accuracy of any check (84 %).
    /// </summary>
    [Fact]
    public void On_data_the_score_is_the_accuracy_at_the_best_check_by_loss()
    {
        var spec = new RunSpec(new DataFileSource("FASHION/fashion-train.npz")) { Options = new TrainingOptions { MaxIterations = 400 } };
        for (int seed = 1; seed <= 2; seed++)
        {
            double atBest = 0.78 + 0.02 * seed;
            var run = new TrainReport(Seeded(spec, (uint)seed), 400, 0.84, 0.5, atBest, 0.4, false, "max-iter", 1, 0.01, null,
                new DataOutcome(28, 300, new Evaluation(0.5, atBest, 0, 0, double.NaN, double.NaN, double.NaN), false, double.NaN, double.NaN));
            new SweepStore(_dir).Append(new SweepResult($"d{seed}", "fastlra train", run),
                [CliJson.Serialize(new MetricsLine(300, 1, 0.5, atBest, atBest, 1, 1, 1, null, null, null, null, null).Write),
                 CliJson.Serialize(new MetricsLine(400, 1, 0.6, 0.84, 0.84, 1, 1, 1, null, null, null, null, null).Write)]);
        }
        SweepReport.Load(_dir, TextWriter.Null).Write(Path.Combine(_dir, "out"), "sweep", 8);
        string md = File.ReadAllText(Path.Combine(_dir, "out", "report.md"));
        Assert.Contains("| fashion-train.npz | 28 | BPTT | 2 | 0/2 | 81.00 % ± 1.41 % (80.00 %-82.00 %) |", md, StringComparison.Ordinal);
        Assert.Contains("on data the validation accuracy (R² for regression) at the best check by validation loss", md, StringComparison.Ordinal);
    }

    private static string Line(long iteration, double train, double valid, double accuracy, float norm, float lr, float[]? steps = null,
        float[]? local = null, Evaluation? regression = null) =>
        CliJson.Serialize(new MetricsLine(iteration, train, valid, accuracy, accuracy, iteration / 100.0, 100, norm, null, local, steps, steps, null,
            regression, LearningRate: lr).Write);

    private static int Points(string svg, string color)
    {
        // The one line of that colour: its points are its M and L commands.
        var path = System.Text.RegularExpressions.Regex.Match(svg, $"<path d=\"([^\"]*)\" fill=\"none\" stroke=\"{color}\"");
        Assert.True(path.Success, "no line of " + color);
        return path.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
    }

    /// <summary>
    /// One run's report from its metrics file: every check's numbers in report.csv as written,
    /// the highest accuracy, the lowest loss and the last check in report.md, one point per check
    /// in the figures (the learning rate as steps), and the per-step figures LRA's lines make.
    /// </summary>
    [Fact]
    public void A_run_report_draws_every_check_of_its_metrics_file()
    {
        string metrics = Path.Combine(_dir, "m.jsonl"), outDir = Path.Combine(_dir, "run");
        File.WriteAllLines(metrics,
        [
            Line(100, 1.5, 1.25, 0.5, 2f, 0.1f, [1f, 2f, 3f], [0.5f, 0.25f, 0.125f]),
            Line(200, 1.0, 0.75, 0.875, 1f, 0.05f, [1f, 2f, 3f], [0.5f, 0.25f, 0.125f]),
            Line(300, 0.5, 0.875, 0.75, 0.5f, 0.025f, [2f, 4f, 8f], [0.25f, 0.125f, 0.0625f]),
        ]);
        File.AppendAllText(metrics, "{\"iteration\": 400, \"train"); // a last line a crash cut short is no check

        var files = RunReport.Load(metrics).Write(outDir);
        Assert.Equal(["accuracy.svg", "loss.svg", "gradient-norm-per-check.svg", "gradient-norm.svg", "local-loss.svg", "learning-rate.svg", "report.csv", "report.md"], files);
        Assert.All(files, f => Assert.True(File.Exists(Path.Combine(outDir, f)), f));
        Assert.Equal(
        [
            "iteration,train_loss,valid_loss,valid_accuracy,gradient_norm,lr,elapsed_seconds",
            "100,1.5,1.25,0.5,2,0.1,1", "200,1,0.75,0.875,1,0.05,2", "300,0.5,0.875,0.75,0.5,0.025,3",
        ], File.ReadAllLines(Path.Combine(outDir, "report.csv")));
        string md = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.Contains("3 checks, iterations 100 to 300, 3.0 s", md, StringComparison.Ordinal);
        Assert.Contains("| highest validation accuracy | 200 | 1 | 0.75 | 87.50 % | 1 | 0.05 |", md, StringComparison.Ordinal);
        Assert.Contains("| lowest validation loss | 200 | 1 | 0.75 | 87.50 % | 1 | 0.05 |", md, StringComparison.Ordinal);
        Assert.Contains("| last | 300 | 0.5 | 0.875 | 75.00 % | 0.5 | 0.025 |", md, StringComparison.Ordinal);
        foreach (string svg in files.Where(f => f.EndsWith(".svg", StringComparison.Ordinal))) Assert.Contains($"]({svg})", md, StringComparison.Ordinal);

        string Svg(string name) => File.ReadAllText(Path.Combine(outDir, name));
        Assert.Equal(3, Points(Svg("accuracy.svg"), SvgChart.Palette[0]));
        Assert.Equal((3, 3), (Points(Svg("loss.svg"), SvgChart.Palette[0]), Points(Svg("loss.svg"), SvgChart.Palette[1])));
        Assert.Equal(5, Points(Svg("learning-rate.svg"), SvgChart.Palette[0])); // three levels, two steps down
        Assert.Contains(">local loss</text>", Svg("local-loss.svg"), StringComparison.Ordinal);
        Assert.Contains("stroke-dasharray", Svg("gradient-norm.svg"), StringComparison.Ordinal); // the last check's profile
    }

    /// <summary>A regression run's metrics (valid_r2) are scored by R²; lines without lr or per-step arrays draw no learning-rate or per-step figure.</summary>
    [Fact]
    public void A_regression_run_report_is_scored_by_r_squared()
    {
        string metrics = Path.Combine(_dir, "r.jsonl"), outDir = Path.Combine(_dir, "run");
        File.WriteAllLines(metrics,
        [
            Line(50, 0.5, 0.625, 0, 0.25f, float.NaN, regression: new Evaluation(0.625, 0, 0, 10, 4, 1.5, 0.5)),
            Line(100, 0.25, 0.375, 0, 0.125f, float.NaN, regression: new Evaluation(0.375, 0, 0, 10, 1, 0.75, 0.875)),
        ]);
        var files = RunReport.Load(metrics).Write(outDir);
        Assert.Equal(["accuracy.svg", "loss.svg", "gradient-norm-per-check.svg", "report.csv", "report.md"], files);
        Assert.Equal(["iteration,train_loss,valid_loss,valid_r2,gradient_norm,lr,elapsed_seconds", "50,0.5,0.625,0.5,0.25,,0.5", "100,0.25,0.375,0.875,0.125,,1"],
            File.ReadAllLines(Path.Combine(outDir, "report.csv")));
        Assert.Contains("| highest validation R² | 100 | 0.25 | 0.375 | 0.8750 | 0.125 | - |", File.ReadAllText(Path.Combine(outDir, "report.md")), StringComparison.Ordinal);
        Assert.Contains("Validation R²", File.ReadAllText(Path.Combine(outDir, "accuracy.svg")), StringComparison.Ordinal);
    }

    /// <summary>A file that is not one run's metrics is refused in one line that names it and the line.</summary>
    [Theory]
    [InlineData("", "no checks in it")]
    [InlineData("{\"iteration\": 1}\n", "line 1 is not a metrics line")]
    [InlineData("GOOD\nnot json\n", "line 2 is not a metrics line")]
    [InlineData("[1, 2]\n", "line 1 is not a metrics line")]
    [InlineData("GOOD\nGOOD\n", "line 2 is of iteration 100, not after the 100 before it: not the metrics of one run")]
    [InlineData("GOOD\nR2\n", "line 2 has valid_r2 and the lines before it do not: not the metrics of one run")]
    public void A_file_that_is_not_a_runs_metrics_is_refused(string text, string message)
    {
        string metrics = Path.Combine(_dir, "bad.jsonl");
        File.WriteAllText(metrics, text.Replace("GOOD", Line(100, 1, 1, 0.5, 1f, 0.1f), StringComparison.Ordinal)
            .Replace("R2", Line(200, 1, 1, 0, 1f, 0.1f, regression: new Evaluation(1, 0, 0, 1, 1, 1, 0.5)), StringComparison.Ordinal));
        var e = Assert.Throws<InvalidDataException>(() => RunReport.Load(metrics));
        Assert.StartsWith($"--metrics {metrics}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void An_empty_directory_is_an_error_that_says_so()
    {
        var e = Assert.Throws<InvalidDataException>(() => SweepReport.Load(_dir, TextWriter.Null));
        Assert.Contains("no sweep results", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 1.02, "0 0.2 0.4 0.6 0.8 1")]
    [InlineData(100, 4000, "1000 2000 3000 4000")]
    [InlineData(0, 19, "0 5 10 15")]
    [InlineData(-1, 1, "-1 -0.5 0 0.5 1")]
    public void Axis_ticks_are_round_numbers_covering_the_range(double lo, double hi, string expected) =>
        Assert.Equal(expected, string.Join(' ', SvgChart.Ticks(lo, hi).Select(t => t.ToString(CultureInfo.InvariantCulture))));

    [Fact]
    public void Labels_are_escaped_for_xml() =>
        Assert.Equal("LRA &lt;a&gt; &amp; &quot;b&quot;", SvgChart.Escape("LRA <a> & \"b\""));
}
