using FastLra.Cli.Report;

namespace FastLra.Cli;

/// <summary><c>fastlra report</c>: tables and figures of a sweep directory, or of one run's metrics file.</summary>
internal sealed class ReportCommand : Command
{
    public override string Name => "report";

    public override string Summary => "tables and figures of a sweep directory, or of one run's metrics file";

    public override string Usage => "fastlra report (DIR | --metrics FILE) --out DIR2 [--max-series N]   (DIR: a directory fastlra sweep wrote into)";

    public override string? Positional => "DIR";

    public override IReadOnlyList<CliFlag> Flags { get; } =
    [
        new("out", "dir", "directory for report.md, report.csv and the figures", required: true),
        new("metrics", "file", "instead of a sweep directory, the file train --metrics wrote: one run's figures"),
        new("max-series", "int", "variants drawn per figure, the best ranked first; the tables list every variant", @default: "8") { Max = int.MaxValue },
    ];

    public override int Run(CliArguments a, CancellationToken cancel)
    {
        string? dir = a.Positional, metrics = a.Flag("metrics");
        if (dir is not null && metrics is not null) throw new UsageException($"report takes a sweep directory or --metrics FILE, not both (got {dir} and --metrics {metrics}).");
        if (dir is null && metrics is null) throw new UsageException("report needs the sweep directory or --metrics FILE: fastlra report DIR --out DIR2.");
        if (metrics is not null && a.Has("max-series")) throw new UsageException("--max-series is a sweep report's (it has variants to rank); one run's report draws the one run.");
        string @out = a.Required("out");
        long maxSeries = a.Long("max-series", 8);
        if (maxSeries <= 0) throw new UsageException($"--max-series must be positive, got {maxSeries}.");
        CliArguments.CheckOutput("out", @out, directory: true);
        var files = metrics is not null
            ? RunReport.Load(metrics).Write(@out)
            : SweepReport.Load(dir!, Console.Error).Write(@out, dir!, (int)maxSeries);
        Console.Error.WriteLine($"report: wrote {files.Count} files into {@out} ({Path.Combine(@out, "report.md")})");
        return CliExit.Ok;
    }
}
