using System.Diagnostics;
using System.Text.RegularExpressions;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// The README keeps up with the code: every command's options are the table's, its commands
/// exist and its shell blocks run as written (its C# blocks are compiled and run verbatim by
/// .ci/run's packages step, on the packed library).
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

    /// <summary>
    /// The README's shell blocks run as written, in order, by one bash in a fresh folder that sees
    /// the repository's docs/ and src/, with nothing on the PATH but the system's folders and
    /// <c>dotnet</c>: so <c>fastlra</c> is found only where the README's own install step put it.
    /// <c>dotnet</c> is a stand-in for the commands that would rebuild this repository inside its
    /// own test run: <c>dotnet run --project src/FastLra.Cli -- ...</c> runs the build under test,
    /// <c>dotnet pack</c> packs that build (no rebuild), <c>dotnet test</c> is this suite and is
    /// skipped; everything else, <c>dotnet tool install</c> included, is the real dotnet. A
    /// <c>dotnet run</c> training without --max-iter is capped at 1,000 iterations (this checks that
    /// the commands are right, not how long they take), and the quick start must still solve its
    /// task, as the README says; the <c>fastlra</c> commands run exactly as written.
    /// </summary>
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void The_shell_blocks_run_in_order_from_a_fresh_folder()
    {
        string root = Directory.CreateTempSubdirectory("fastlra-readme-").FullName;
        try
        {
            string clone = Path.Combine(root, "fastlra"), bin = Path.Combine(root, "bin");
            Directory.CreateDirectory(clone);
            Directory.CreateDirectory(bin);
            foreach (string folder in new[] { "docs", "src" })
                Directory.CreateSymbolicLink(Path.Combine(clone, folder), Path.Combine(Golden.RepositoryRoot, folder));
            string dotnet = Path.Combine(bin, "dotnet");
            File.WriteAllText(dotnet, DotnetStandIn());
            File.SetUnixFileMode(dotnet, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var blocks = Blocks("sh");
            string script = "trap 'echo \"README: $BASH_COMMAND exited $?\" >&2' ERR\n"
                + "if command -v fastlra >/dev/null; then echo \"fastlra is on the PATH before the README installs it: $(command -v fastlra)\" >&2; exit 3; fi\n"
                + string.Concat(blocks.Select((b, i) => $"echo '@@ block {i}' >&2\n{b}"));
            File.WriteAllText(Path.Combine(root, "readme.sh"), script);

            var (code, stdout, err) = Bash(clone, Path.Combine(root, "readme.sh"), $"{bin}:/usr/local/bin:/usr/bin:/bin");
            Assert.True(code == 0, $"the README's shell blocks exited {code}:\n{err}");
            var sections = err.Split("@@ block ");
            Assert.Equal(blocks.Count + 1, sections.Length);
            Assert.Contains("solved:", sections[1], StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(clone, "forecast.csv")), $"the README's predict wrote no forecast.csv:\n{stdout}");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Runs a bash script under <c>set -euo pipefail</c> in a folder, with this PATH and nothing else changed.</summary>
    private static (int Code, string Out, string Err) Bash(string directory, string script, string path)
    {
        var start = new ProcessStartInfo("/bin/bash", ["-euo", "pipefail", script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        start.Environment["PATH"] = path;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(900_000), "the README's shell blocks did not finish in 15 minutes");
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>The <c>dotnet</c> the README's blocks see in <see cref="The_shell_blocks_run_in_order_from_a_fresh_folder"/>.</summary>
    private static string DotnetStandIn()
    {
        string real = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
            : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "dotnet")).FirstOrDefault(File.Exists) ?? "dotnet";
        string cli = CliTests.Executable is { } executable ? $"'{executable}'" : $"'{real}' '{Path.Combine(AppContext.BaseDirectory, "fastlra.dll")}'";
        string src = Path.Combine(Golden.RepositoryRoot, "src");
        // The configuration this suite was built in (bin/<configuration>/<framework>/), whose build the pack takes.
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
        return $$"""
            #!/bin/bash
            set -euo pipefail
            case "$*" in
              "run -c Release --project src/FastLra.Cli -- "*)
                [ -f src/FastLra.Cli/FastLra.Cli.csproj ] || { echo "no src/FastLra.Cli here" >&2; exit 1; }
                shift 6
                if [ "$1" = train ] && [[ " $* " != *" --max-iter "* ]]; then set -- "$@" --max-iter 1000; fi
                exec {{cli}} "$@" ;;
              "test -c Release"*)
                echo "(dotnet test: the suite this runs in)" >&2 ;;
              "pack -c Release -o "*)
                for project in FastLra.Core FastLra.Cli; do
                  '{{real}}' pack '{{src}}'/$project -c {{configuration}} --no-build --nologo -v quiet -o "$5"
                done ;;
              *)
                exec '{{real}}' "$@" ;;
            esac

            """;
    }
}
