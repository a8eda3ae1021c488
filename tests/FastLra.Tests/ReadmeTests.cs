using System.Diagnostics;
using System.Text.RegularExpressions;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// The README keeps up with the code: every command's options are the table's,
/// its commands exist, its shell blocks run, and its C# blocks are code CI compiles and runs.
/// </summary>
[Trait("Category", "Slow")]
public class ReadmeTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(Golden.RepositoryRoot, "README.md"));

    private static readonly Regex OptionBlock = new(@"<!-- options: (\w+) -->\n(.*?)<!-- /options -->", RegexOptions.Singleline);

    /// <summary>
    /// Every command's usage and option table in the README is what the option table and the
    /// command's flags generate (<see cref="FastLra.Cli.Command.Markdown"/>), so a default, a choice
    /// or a help text is written once; FASTLRA_UPDATE_README=1 rewrites the README's tables instead.
    /// </summary>
    [Fact]
    public void Each_commands_options_in_the_readme_are_generated_from_the_table()
    {
        string generated = OptionBlock.Replace(Readme, m =>
            $"<!-- options: {m.Groups[1].Value} -->\n{FastLra.Cli.Command.Find(m.Groups[1].Value)?.Markdown() ?? "unknown command\n"}<!-- /options -->");
        if (Environment.GetEnvironmentVariable("FASTLRA_UPDATE_README") == "1")
            File.WriteAllText(Path.Combine(Golden.RepositoryRoot, "README.md"), generated);
        var blocks = OptionBlock.Matches(Readme).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(FastLra.Cli.Command.Registry.Select(c => c.Name).Order(), blocks.Order());
        Assert.True(generated == Readme, "README.md's option tables differ from what the option table generates: run the README tests with FASTLRA_UPDATE_README=1.");
    }

    [Fact]
    public void Every_command_has_a_readme_section_and_the_readme_names_no_other()
    {
        foreach (string command in FastLra.Cli.Command.Registry.Select(c => c.Name))
            Assert.Contains($"`fastlra {command}", Readme, StringComparison.Ordinal);
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(Readme, @"### `fastlra (\w+)"))
            Assert.Contains(m.Groups[1].Value, FastLra.Cli.Command.Registry.Select(c => c.Name));
    }

    /// <summary>The README's fenced blocks of one language, in order.</summary>
    private static List<string> Blocks(string language) =>
        Regex.Matches(Readme, $"^```{language}\n(.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToList();

    public static TheoryData<int> ShellBlocks() => [.. Enumerable.Range(0, Blocks("sh").Count)];

    /// <summary>
    /// Every <c>fastlra</c> command of a shell block runs, in order, in a fresh folder that sees
    /// the repository's docs/, and exits 0; a block's later commands read what its earlier ones
    /// wrote. A training run without --max-iter is capped at 1,000 iterations (this checks that the
    /// commands are right, not how long they take), and the quick start must still solve its task,
    /// as the README says. Package and test commands are left to CI, which runs them.
    /// </summary>
    [Theory]
    [MemberData(nameof(ShellBlocks))]
    public void The_commands_of_each_shell_block_run(int block)
    {
        string dir = Directory.CreateTempSubdirectory("fastlra-readme-").FullName;
        try
        {
            Directory.CreateSymbolicLink(Path.Combine(dir, "docs"), Path.Combine(Golden.RepositoryRoot, "docs"));
            string text = Blocks("sh")[block].Replace("\\\n", " ", StringComparison.Ordinal);
            foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var args = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
                if (line.StartsWith("dotnet run -c Release --project src/FastLra.Cli -- ", StringComparison.Ordinal)) args.RemoveRange(0, 7);
                else if (args[0] != "fastlra") continue;
                else args.RemoveAt(0);
                bool quickStart = block == 0 && args[0] == "train";
                if (args[0] == "train" && !args.Contains("--max-iter")) args.AddRange(["--max-iter", "1000"]);
                var (code, _, err) = RunIn(dir, args);
                Assert.True(code == 0, $"README block {block}: `{line}` exited {code}: {err}");
                if (quickStart) Assert.Contains("solved:", err, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static (int Code, string Out, string Err) RunIn(string directory, List<string> args)
    {
        using var process = CliTests.Start(null, [.. args], directory);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(300_000), "fastlra did not finish in 5 minutes");
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// Every line of the README's C# blocks (less its trailing comment) is a line of an example
    /// program under docs/examples, which CI builds and runs against the project and the package;
    /// so the README shows code that compiles and works, as Sep's ReadMeTest keeps its README.
    /// </summary>
    [Fact]
    public void Every_line_of_each_csharp_block_is_in_an_example_that_ci_runs()
    {
        var examples = Directory.GetFiles(Path.Combine(Golden.RepositoryRoot, "docs", "examples"), "Program.cs", SearchOption.AllDirectories)
            .SelectMany(File.ReadAllLines).Select(Code).ToHashSet();
        var blocks = Blocks("csharp");
        Assert.NotEmpty(blocks);
        foreach (string line in blocks.SelectMany(b => b.Split('\n')).Select(Code).Where(l => l.Length > 0))
            Assert.True(examples.Contains(line), $"README C# line not in any docs/examples Program.cs: {line}");
    }

    /// <summary>A line without its trailing comment and surrounding white space.</summary>
    private static string Code(string line)
    {
        int comment = line.IndexOf("//", StringComparison.Ordinal);
        return (comment >= 0 ? line[..comment] : line).Trim();
    }
}
