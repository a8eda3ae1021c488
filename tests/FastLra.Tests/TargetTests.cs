using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// Whole trainers at every target this machine can run besides its own (which the plain tests
/// cover), by forcing the process's target (<see cref="SimdWidth.Force"/>): padded rows, every
/// kernel and the optimiser then run at it, as on a machine of that kind.
/// </summary>
[Collection(ForcedTargetGroup.Name)]
public class TargetTests
{
    /// <summary>Every target but the machine's.</summary>
    private static IEnumerable<Target> Others()
    {
        foreach (var target in Targets.All())
            if (target.Value != SimdWidth.Machine) yield return target;
    }

    /// <summary>
    /// The golden fixtures whose numbers depend on the target (all but rng and tasks) at every other
    /// target; families this build does not implement are skipped by name, as in <see cref="GoldenTests"/>.
    /// </summary>
    public static TheoryData<string, Target> Fixtures()
    {
        var data = new TheoryData<string, Target>();
        foreach (string file in Golden.Files())
        {
            if (Golden.Family(file) is "rng" or "tasks") continue;
            foreach (var target in Others()) data.Add(file, target);
        }
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Fixtures))]
    public void Golden_fixture_at_target(string file, Target target)
    {
        using var forced = SimdWidth.Force(target.Value);
        new GoldenTests().Fixture(file);
    }

    public static TheoryData<Target, TaskKind, OptimizerKind> Training()
    {
        var data = new TheoryData<Target, TaskKind, OptimizerKind>();
        foreach (var target in Others())
            foreach (var (task, optimizer) in AllocationTests.TrainingCases) data.Add(target, task, optimizer);
        return data;
    }

    [Theory]
    [MemberData(nameof(Training))]
    public void Training_allocates_nothing_at_target(Target target, TaskKind task, OptimizerKind optimizer)
    {
        using var forced = SimdWidth.Force(target.Value);
        new AllocationTests().Training_iterations_and_evaluation_allocate_nothing(task, optimizer);
    }

    public static TheoryData<Target, LraSemantics, LocalLossKind, float> Lra()
    {
        var data = new TheoryData<Target, LraSemantics, LocalLossKind, float>();
        foreach (var target in Others())
            foreach (var (semantics, localLoss, alpha) in AllocationTests.LraCases) data.Add(target, semantics, localLoss, alpha);
        return data;
    }

    [Theory]
    [MemberData(nameof(Lra))]
    public void Lra_allocates_nothing_at_target(Target target, LraSemantics semantics, LocalLossKind localLoss, float alpha)
    {
        using var forced = SimdWidth.Force(target.Value);
        new AllocationTests().Lra_iterations_allocate_nothing(semantics, localLoss, alpha);
    }

    public static TheoryData<Target> OtherTargets() => [.. Others()];

    [Theory]
    [MemberData(nameof(OtherTargets))]
    public void Inference_allocates_nothing_at_target(Target target)
    {
        using var forced = SimdWidth.Force(target.Value);
        new AllocationTests().An_inference_step_allocates_nothing();
    }

    /// <summary>A forced target pads rows to its own width and ends with its scope; a target the machine cannot run is refused.</summary>
    [Fact]
    public void Force_sets_the_target_for_its_scope_only()
    {
        var machine = SimdWidth.Machine;
        Assert.Equal(machine, SimdWidth.Current);
        using (SimdWidth.Force(new SimdTarget(128, 16, false)))
        {
            Assert.Equal(new SimdTarget(128, 16, false), SimdWidth.Current);
            Assert.Equal(104, PaddedParameters.StrideOf(100)); // whole vectors, and whole groups of eight
            Assert.Equal(128, SimdWidth.Bits);
        }
        Assert.Equal(machine, SimdWidth.Current);
        Assert.Throws<ArgumentException>(() => SimdWidth.Force(new SimdTarget(1024, 32, true)));
    }
}
