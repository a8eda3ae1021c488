using System.Text;
using System.Text.RegularExpressions;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// fastlra.h lists the learner's name=value options as the option table and <see cref="OnlineOptions"/>
/// give them (the C ABI's parser reads the same two tables), so the header cannot drift from what
/// the library accepts; FASTLRA_UPDATE_HEADER=1 rewrites the list instead.
/// </summary>
public class HeaderTests
{
    private static readonly string HeaderPath = Path.Combine(Golden.RepositoryRoot, "src", "FastLra.Native", "fastlra.h");

    private static readonly Regex OptionList = new(@"( *)options:\n.*?\1/options", RegexOptions.Singleline);

    [Fact]
    public void The_learner_options_of_fastlra_h_are_the_tables()
    {
        string header = File.ReadAllText(HeaderPath);
        Assert.Matches(OptionList, header);
        string generated = OptionList.Replace(header, m => List(m.Groups[1].Value), 1);
        if (Environment.GetEnvironmentVariable("FASTLRA_UPDATE_HEADER") == "1") File.WriteAllText(HeaderPath, generated);
        Assert.True(generated == header, "fastlra.h's learner options differ from the option table: run this test with FASTLRA_UPDATE_HEADER=1.");
    }

    /// <summary>The list: one option per line, name=values (default).</summary>
    private static string List(string indent)
    {
        var text = new StringBuilder($"{indent}options:\n");
        foreach (var option in TrainingOptionTable.All)
            if ((option.Use & OptionUse.Learner) != 0)
                Line(text, indent, option.Name, option.ValueName, option.Default);
        foreach (var (name, value, @default, _) in OnlineOptions.Table)
            Line(text, indent, name, value, @default);
        return text.Append($"{indent}/options").ToString();
    }

    private static void Line(StringBuilder text, string indent, string name, string value, string @default) =>
        text.Append($"{indent}  {$"{name}={value}",-50} ({@default})\n");
}
