using System.Text.RegularExpressions;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// Each package carries a README of its own, PACKAGE.md beside its project, whose every link is
/// absolute: a package page resolves no link into the repository. (.ci/run checks the packed
/// files too, and compiles and runs the library's C# blocks on the packed library.)
/// </summary>
public class PackageReadmeTests
{
    /// <summary>Every project under src/ that packs: the library and the tool.</summary>
    public static TheoryData<string> PackableProjects() => [.. Packable()];

    private static List<string> Packable() =>
        [.. Directory.GetFiles(Path.Combine(Golden.RepositoryRoot, "src"), "*.csproj", SearchOption.AllDirectories)
            .Where(p => File.ReadAllText(p).Contains("<IsPackable>true</IsPackable>", StringComparison.Ordinal))
            .Select(p => Path.GetRelativePath(Golden.RepositoryRoot, p)).Order()];

    /// <summary>The links of a markdown text that are not absolute (http or https): inline, reference and HTML.</summary>
    internal static List<string> RelativeLinks(string markdown) =>
        [.. Regex.Matches(markdown, @"\]\(\s*<?([^)\s>]*)|^\s*\[[^\]]+\]:\s*<?(\S*?)>?\s*$|\b(?:href|src)\s*=\s*[""']([^""']*)", RegexOptions.Multiline)
            .Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value)
            .Where(target => !Regex.IsMatch(target, "^https?://", RegexOptions.IgnoreCase))];

    [Fact]
    public void Both_packages_are_found()
    {
        Assert.Equal(["src/FastLra.Cli/FastLra.Cli.csproj", "src/FastLra.Core/FastLra.Core.csproj"], Packable());
    }

    [Theory]
    [MemberData(nameof(PackableProjects))]
    public void Each_package_packs_its_own_readme_and_it_has_no_relative_link(string project)
    {
        string folder = Path.GetDirectoryName(Path.Combine(Golden.RepositoryRoot, project))!;
        Assert.Contains("<None Include=\"PACKAGE.md\" Pack=\"true\" PackagePath=\"\\\" />", File.ReadAllText(Path.Combine(Golden.RepositoryRoot, project)), StringComparison.Ordinal);
        Assert.Contains("<PackageReadmeFile>PACKAGE.md</PackageReadmeFile>", File.ReadAllText(Path.Combine(Golden.RepositoryRoot, "Directory.Build.props")), StringComparison.Ordinal);
        string readme = File.ReadAllText(Path.Combine(folder, "PACKAGE.md"));
        Assert.Empty(RelativeLinks(readme));
        Assert.DoesNotContain("docs/", readme, StringComparison.Ordinal);
    }

    [Fact]
    public void Relative_links_are_found_in_every_form()
    {
        const string text = """
            [a](docs/data.md) [b](https://example.org/x) ![c](figure.svg) [d](#anchor) [e]( <../x.md> )
            [ref]: docs/online.md
            [abs]: http://example.org
            <a href="docs/x.md">x</a> <img src='y.png'>
            """;
        Assert.Equal(["docs/data.md", "figure.svg", "#anchor", "../x.md", "docs/online.md", "docs/x.md", "y.png"], RelativeLinks(text));
    }
}
