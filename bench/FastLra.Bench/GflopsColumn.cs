using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace FastLra.Bench;

/// <summary>The floating-point operations one invocation of a benchmark performs (an FMA counts 2).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class FlopsAttribute(double flops) : Attribute
{
    public double Flops { get; } = flops;
}

/// <summary>Benchmarks whose FLOP count depends on their parameters report it through this.</summary>
public interface IFlopCount
{
    double Flops { get; }
}

/// <summary>GFLOP/s = FLOPs per invocation / mean time, from [Flops] or <see cref="IFlopCount"/>.</summary>
public sealed class GflopsColumn : IColumn
{
    public string Id => nameof(GflopsColumn);
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Floating-point operations per second (FMA = 2), from the documented FLOP count";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        double? flops = Flops(benchmarkCase);
        if (report?.ResultStatistics is null || flops is null) return "-";
        return (flops.Value / report.ResultStatistics.Mean).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static double? Flops(BenchmarkCase benchmarkCase)
    {
        var method = benchmarkCase.Descriptor.WorkloadMethod;
        if (method.GetCustomAttributes(typeof(FlopsAttribute), false) is [FlopsAttribute attribute]) return attribute.Flops;
        var instance = Activator.CreateInstance(benchmarkCase.Descriptor.Type);
        if (instance is not IFlopCount counter) return null;
        foreach (var parameter in benchmarkCase.Parameters.Items)
            benchmarkCase.Descriptor.Type.GetProperty(parameter.Name)?.SetValue(instance, parameter.Value);
        return counter.Flops;
    }

    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
