using FastLra.Cli.Report;

namespace FastLra.Cli;

/// <summary><c>fastlra report</c>: tables and figures of a sweep directory.</summary>
internal sealed class ReportCommand : Command
{
    public override string Name => "report";

    public override string Summary => "tables and figures of a sweep directory";

    public override string Usage => "fastlra report DIR --out DIR2 [--max-series N]   (DIR: a directory fastlra sweep wrote into)";

    public override string? Positional => "DIR";

    public override IReadOnlyList<CliFlag> Flags { get; } =
    [
        new("out", "dir", "directory for report.md, report.csv and the figures", required: true),
        new("max-series", "int", "variants drawn per figure, the best ranked first; the tables list every variant", @default: "8") { Max = int.MaxValue },
    ];

    public override int Run(CliArguments a, CancellationToken cancel)
    {
        string dir = a.Positional ?? throw new UsageException("report needs the sweep directory: fastlra report DIR --out DIR2.");
        string @out = a.Required("out");
        long maxSeries = a.Long("max-series", 8);
        if (maxSeries <= 0) throw new UsageException($"--max-series must be positive, got {maxSeries}.");
        CliArguments.CheckOutput("out", @out, directory: true);
        var report = SweepReport.Load(dir, Console.Error);
        var files = report.Write(@out, dir, (int)maxSeries);
        Console.Error.WriteLine($"report: wrote {files.Count} files into {@out} ({Path.Combine(@out, "report.md")})");
        return CliExit.Ok;
    }
}
