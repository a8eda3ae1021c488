using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>The README keeps up with the code: every training option is documented in its train table, and its commands exist.</summary>
public class ReadmeTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(Golden.RepositoryRoot, "README.md"));

    [Fact]
    public void Every_training_option_is_in_the_readme()
    {
        var missing = TrainingOptionTable.All.Where(o => !Readme.Contains($"`--{o.Name}", StringComparison.Ordinal)).Select(o => o.Name).ToList();
        Assert.True(missing.Count == 0, $"README.md does not document --{string.Join(", --", missing)}");
    }

    [Fact]
    public void Every_command_has_a_readme_section_and_the_readme_names_no_other()
    {
        foreach (string command in FastLra.Cli.Commands.Names)
            Assert.Contains($"`fastlra {command}", Readme, StringComparison.Ordinal);
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(Readme, @"### `fastlra (\w+)"))
            Assert.Contains(m.Groups[1].Value, FastLra.Cli.Commands.Names);
    }
}
