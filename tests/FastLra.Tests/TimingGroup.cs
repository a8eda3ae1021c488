using Xunit;

namespace FastLra.Tests;

/// <summary>
/// Tests whose threads must keep pace with each other (a background trainer and its control
/// loop) run in this collection, after the parallel tests and alone, so other tests' load cannot starve them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingGroup
{
    public const string Name = "Timing";
}
