using System.Text.RegularExpressions;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// The .NET examples under docs/examples read as a user's programs: they use the public API alone
/// (no friend assembly's name, no access-check tricks), and .ci/run builds and runs each one that
/// uses the library against the packed package, which would refuse anything else.
/// </summary>
public class ExampleTests
{
    private static readonly string Examples = Path.Combine(Golden.RepositoryRoot, "docs", "examples");

    /// <summary>The example projects that use the library.</summary>
    public static TheoryData<string> LibraryExamples() => [.. Library()];

    private static List<string> Library() =>
        [.. Directory.GetFiles(Examples, "*.csproj", SearchOption.AllDirectories)
            .Where(p => File.ReadAllText(p).Contains("FastLra.Core.csproj", StringComparison.Ordinal))
            .Select(p => Path.GetFileNameWithoutExtension(p)).Order()];

    [Fact]
    public void The_library_examples_are_found()
    {
        Assert.Equal(["Exported", "Forecast", "Resume"], Library());
    }

    [Theory]
    [MemberData(nameof(LibraryExamples))]
    public void Each_library_example_uses_the_public_api_alone_and_ci_runs_it_on_the_package(string name)
    {
        string folder = Path.Combine(Examples, name), project = File.ReadAllText(Path.Combine(folder, $"{name}.csproj"));
        var friends = Regex.Matches(File.ReadAllText(Path.Combine(Golden.RepositoryRoot, "src", "FastLra.Core", "FastLra.Core.csproj")),
            @"<InternalsVisibleTo Include=""([^""]+)""").Select(m => m.Groups[1].Value).ToList();
        Assert.Contains("FastLra.Tests", friends);
        // The assembly is named after the project (no AssemblyName below), never after a friend of the library.
        Assert.DoesNotContain(name, friends, StringComparer.OrdinalIgnoreCase);
        foreach (string source in Directory.GetFiles(folder, "*.cs").Append(Path.Combine(folder, $"{name}.csproj")))
            foreach (string trick in new[] { "InternalsVisibleTo", "IgnoresAccessChecksTo", "UnsafeAccessor", "NonPublic", "AssemblyName" })
                Assert.False(File.ReadAllText(source).Contains(trick, StringComparison.Ordinal), $"{Path.GetFileName(source)} uses {trick}");
        Assert.Contains("<PackageReference Include=\"FastLra\"", project, StringComparison.Ordinal);
        Assert.Matches($@"for example in [A-Za-z ]*\b{name}\b|--project docs/examples/{name} --no-restore -p:UseFastLraPackage=true",
            File.ReadAllText(Path.Combine(Golden.RepositoryRoot, ".ci", "run")));
    }

    /// <summary>Resume shows what its name says: a run cancelled through its token, then the same call resuming it.</summary>
    [Fact]
    public void Resume_cancels_a_run_and_resumes_it()
    {
        string program = File.ReadAllText(Path.Combine(Examples, "Resume", "Program.cs"));
        Assert.Contains("new CancellationTokenSource()", program, StringComparison.Ordinal);
        Assert.Contains(".Cancel()", program, StringComparison.Ordinal);
        Assert.Contains("Trainer.Fit(spec, stopAtThird, cancel.Token)", program, StringComparison.Ordinal);
        Assert.Contains("var resumed = Trainer.Fit(spec,", program, StringComparison.Ordinal);
    }
}
