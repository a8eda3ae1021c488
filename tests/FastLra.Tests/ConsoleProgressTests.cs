using System.Text.RegularExpressions;
using FastLra.Tasks;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// The progress line's ETA: none before a pace has been measured, the iterations left at the pace
/// since the first check, never more than the whole budget at the run's pace so far, none at the budget.
/// </summary>
public class ConsoleProgressTests
{
    private const long Budget = 100_000;

    private static readonly TrainingRun Run = TrainingRun.Start(new RunSpec(new TaskSource(TaskKind.Adding, 10) { ValidSize = 10 })
    {
        Options = new TrainingOptions { Hidden = 4, MaxIterations = Budget },
    });

    /// <summary>The ETA each check's line shows (null when it shows none), for checks at (iteration, elapsed seconds).</summary>
    private static List<string?> Etas(params (long Iteration, double Seconds)[] checks)
    {
        using var lines = new StringWriter();
        var progress = new ConsoleProgress(lines);
        foreach (var (iteration, seconds) in checks)
            progress.OnCheck(Run, new CheckReport(iteration, 1.0, new Evaluation(1.0, 0.5, 5, 10, double.NaN, double.NaN, double.NaN), 0.5, seconds, 0));
        return [.. lines.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => Regex.Match(l, @"ETA ([^(]+) \(") is { Success: true } m ? m.Groups[1].Value : null)];
    }

    [Fact]
    public void The_first_check_shows_no_eta_however_long_its_warm_up()
    {
        Assert.Equal([null], Etas((100, 0.01)));
        Assert.Equal([null], Etas((100, 60)));
    }

    /// <summary>
    /// The quick start as a busy machine runs it: a warm-up of 2 s, then 100 iterations in 0.1 s
    /// (1 ms each): 99,800 iterations left at 1 ms is 100 s, not the 1,000 s the warm-up's pace gives.
    /// </summary>
    [Fact]
    public void From_the_second_check_the_eta_is_the_iterations_left_at_the_pace_since_the_first()
    {
        var etas = Etas((100, 2.0), (200, 2.1), (300, 2.2));
        Assert.Null(etas[0]);
        Assert.Equal("≤ 100s", etas[1]);
        Assert.Equal("≤ 100s", etas[2]); // 99,700 x 1 ms
    }

    /// <summary>One slow interval (1 s for 100 iterations after two of 0.1 s) is averaged with the others, not projected alone.</summary>
    [Fact]
    public void One_slow_interval_is_averaged_with_the_others()
    {
        var etas = Etas((100, 1.0), (200, 1.1), (300, 1.2), (400, 2.2));
        // 1.2 s over 300 iterations since the first check: 99,600 x 4 ms = 398 s (the last interval alone: 996 s).
        Assert.Equal("≤ 7m", etas[3]);
    }

    /// <summary>
    /// Never above the whole budget at the run's pace so far: checks 100 iterations apart that
    /// slow from 1 ms to 100 ms per iteration would project 9,980 s; the run's pace (10.1 s over 200
    /// iterations) puts the whole budget at 5,050 s.
    /// </summary>
    [Fact]
    public void The_eta_is_never_above_the_whole_budget_at_the_runs_pace()
    {
        var etas = Etas((100, 0.1), (200, 10.1));
        Assert.Equal(ConsoleProgress.Time(Budget * 10.1 / 200), etas[1]![2..]);
        Assert.Equal("≤ 84m", etas[1]);
    }

    [Fact]
    public void Under_a_second_reads_so_and_the_budgets_last_check_shows_none()
    {
        var etas = Etas((100, 0.5), (99_900, 0.6), (Budget, 0.7));
        Assert.Equal([null, "< 1s", null], etas);
    }
}
