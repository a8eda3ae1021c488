using FastLra.Kernels;
using Xunit;
using Xunit.Abstractions;

namespace FastLra.Tests;

/// <summary>
/// A <see cref="SimdTarget"/> as a theory argument: serialisable, so each target is a test case
/// of its own, named by it ("256-bit, 16 registers, no FMA").
/// </summary>
public sealed class Target : IXunitSerializable
{
    /// <summary>For xunit's deserialiser.</summary>
    public Target()
    {
    }

    internal Target(SimdTarget value) => Value = value;

    internal SimdTarget Value { get; private set; }

    public void Deserialize(IXunitSerializationInfo info) =>
        Value = new SimdTarget(info.GetValue<int>("bits"), info.GetValue<int>("registers"), info.GetValue<bool>("fma"));

    public void Serialize(IXunitSerializationInfo info)
    {
        info.AddValue("bits", Value.Bits);
        info.AddValue("registers", Value.Registers);
        info.AddValue("fma", Value.Fma);
    }

    public override string ToString() => Value.ToString();
}

/// <summary>The targets kernel tests run at: every one this machine can run, in one process.</summary>
public static class Targets
{
    /// <summary>Every target (<see cref="SimdTarget.Supported"/>): for the products, whose blocking depends on the registers.</summary>
    public static IEnumerable<Target> All()
    {
        foreach (var target in SimdTarget.Supported()) yield return new Target(target);
    }

    /// <summary>
    /// One target per width and FMA setting (the first of <see cref="SimdTarget.Supported"/> with
    /// each): for every kernel but the products, as the registers change only the products' blocking.
    /// </summary>
    public static IEnumerable<Target> Lanes()
    {
        var seen = new HashSet<(int, bool)>();
        foreach (var target in SimdTarget.Supported())
            if (seen.Add((target.Bits, target.Fma))) yield return new Target(target);
    }

    /// <summary><paramref name="targets"/> crossed with <paramref name="values"/>, for [MemberData].</summary>
    public static TheoryData<Target, T> Cross<T>(IEnumerable<Target> targets, IEnumerable<T> values)
    {
        var data = new TheoryData<Target, T>();
        foreach (var target in targets)
            foreach (var value in values) data.Add(target, value);
        return data;
    }
}

/// <summary>
/// Tests that force the whole process's kernel target (<see cref="SimdWidth.Force"/>) to run
/// whole trainers at it: they run in this collection, after the parallel tests and alone, so no
/// other test sees the forced target.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ForcedTargetGroup
{
    public const string Name = "Forced target";
}
