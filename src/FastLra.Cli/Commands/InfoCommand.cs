using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using FastLra.Kernels;

namespace FastLra.Cli;

/// <summary><c>fastlra info</c>: the version, the runtime, the vector width and instruction sets, the cores and the memory in force.</summary>
internal sealed class InfoCommand : Command
{
    public override string Name => "info";

    public override string Summary => "version, vector width and instruction sets";

    public override string Usage => "fastlra info [--json]";

    public override IReadOnlyList<CliFlag> Flags { get; } = [new("json", null, "print one JSON object on stdout")];

    public override int Run(CliArguments a, CancellationToken cancel)
    {
        var report = new InfoReport(
            Version,
            System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
            System.Runtime.JitInfo.GetCompiledILBytes() == 0,
            Vector<float>.Count,
            Vector.IsHardwareAccelerated,
            SimdWidth.Bits,
            SimdWidth.HasFma,
            InstructionSets(),
            Environment.ProcessorCount,
            MemoryBudget.Available);
        if (a.Has("json"))
        {
            Console.Out.WriteLine(CliJson.Serialize(report.Write));
            return CliExit.Ok;
        }
        Console.Out.WriteLine(report.Text());
        return CliExit.Ok;
    }

    internal static string[] InstructionSets()
    {
        var sets = new List<string>();
        if (Sse42.IsSupported) sets.Add("SSE4.2");
        if (Avx.IsSupported) sets.Add("AVX");
        if (Avx2.IsSupported) sets.Add("AVX2");
        if (Fma.IsSupported) sets.Add("FMA");
        if (Avx512F.IsSupported) sets.Add("AVX-512F");
        if (Vector512.IsHardwareAccelerated) sets.Add("Vector512");
        if (AdvSimd.IsSupported) sets.Add("AdvSIMD");
        return [.. sets];
    }
}
