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
    /// Options a run records only away from their defaults (--cell, --layers) still tell variants
    /// apart: one layer and two of the same cell are two labelled rows, not one label twice.
    /// </summary>
    [Fact]
    public void Variants_that_differ_in_an_option_left_at_its_default_have_their_own_labels()
    {
        var tanh = new RunSpec(new TaskSource(Tasks.TaskKind.Adding, 10)) { Options = new TrainingOptions { MaxIterations = 400 } };
        var stacked = tanh with { Options = tanh.Options with { Layers = 2 } };
        var gru = tanh with { Options = tanh.Options with { Cell = Model.CellKind.Gru } };
        float[] norms = [1f];
        Result("t1", Seeded(tanh, 1), 400, 0.5, false, 1.0, (400, 0.5, norms));
        Result("s1", Seeded(stacked, 1), 400, 0.7, false, 1.0, (400, 0.7, norms));
        Result("s2", Seeded(stacked, 2), 400, 0.8, false, 1.0, (400, 0.8, norms));
        Result("g1", Seeded(gru, 1), 400, 0.9, false, 1.0, (400, 0.9, norms));

        SweepReport.Load(_dir, TextWriter.Null).Write(Path.Combine(_dir, "out"), _dir, 8);

        var rows = File.ReadAllLines(Path.Combine(_dir, "out", "report.csv"))[1..].Select(r => r.Split(',')).ToList();
        Assert.Equal(["\"BPTT cell=gru layers=1\"", "\"BPTT cell=tanh layers=2\"", "\"BPTT cell=tanh layers=1\""], rows.Select(r => r[2]));
        Assert.Equal(["1", "2", "1"], rows.Select(r => r[3]));
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

    [Fact]
    public void An_empty_directory_is_an_error_that_says_so()
    {
        var e = Assert.Throws<IOException>(() => SweepReport.Load(_dir, TextWriter.Null));
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
