using System.Reflection;
using System.Text;
using FastLra.IO;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// The library's public surface is curated: this test lists every public type and
/// member and compares the list with PublicApi.txt, so a change to the surface is a reviewed
/// change to that file. FASTLRA_UPDATE_API=1 rewrites the file instead.
/// </summary>
public class PublicApiTests
{
    private static readonly string ApprovedPath = Path.Combine(Golden.RepositoryRoot, "tests", "FastLra.Tests", "PublicApi.txt");

    [Fact]
    public void The_public_surface_is_the_approved_one()
    {
        string actual = Describe(typeof(FastLra.Model.RnnModel).Assembly);
        if (Environment.GetEnvironmentVariable("FASTLRA_UPDATE_API") == "1") File.WriteAllText(ApprovedPath, actual);
        string approved = File.ReadAllText(ApprovedPath).ReplaceLineEndings("\n");
        var added = Lines(actual).Except(Lines(approved)).ToList();
        var removed = Lines(approved).Except(Lines(actual)).ToList();
        Assert.True(added.Count == 0 && removed.Count == 0,
            $"Public API changed (run with FASTLRA_UPDATE_API=1 to approve).\nadded:\n  {string.Join("\n  ", added)}\nremoved:\n  {string.Join("\n  ", removed)}");
    }

    [Fact]
    public void No_public_type_is_a_scalar_reference_or_a_helper()
    {
        var exposed = typeof(FastLra.Model.RnnModel).Assembly.GetExportedTypes()
            .Where(t => t.Name.EndsWith("Reference", StringComparison.Ordinal) || t.Name is "SimdWidth" or "Carver" or "Workspace" or "AtomicFile")
            .Select(t => t.FullName).ToList();
        Assert.Empty(exposed);
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static string Describe(Assembly assembly)
    {
        var sb = new StringBuilder();
        foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            sb.Append(Kind(type)).Append(' ').Append(Name(type)).Append('\n');
            const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            var members = type.GetMembers(flags)
                .Where(m => m is not MethodInfo { IsSpecialName: true } && !(type.IsEnum && m.Name == "value__"))
                .Select(m => "  " + Member(m)).Distinct().OrderBy(s => s, StringComparer.Ordinal);
            foreach (string m in members) sb.Append(m).Append('\n');
        }
        return sb.ToString();
    }

    private static string Kind(Type t) =>
        t.IsEnum ? "enum" : t.IsInterface ? "interface" : t.IsValueType ? "struct" : t.IsAbstract && t.IsSealed ? "static class" : "class";

    private static string Name(Type t)
    {
        if (!t.IsGenericType) return (t.FullName ?? t.Name).Replace('+', '.');
        string name = (t.GetGenericTypeDefinition().FullName ?? t.Name).Replace('+', '.');
        name = name[..name.IndexOf('`', StringComparison.Ordinal)];
        return $"{name}<{string.Join(", ", t.GetGenericArguments().Select(Name))}>";
    }

    private static string Member(MemberInfo m) => m switch
    {
        ConstructorInfo c => $"ctor({Parameters(c)})",
        MethodInfo mi => $"{(mi.IsStatic ? "static " : "")}{Name(mi.ReturnType)} {mi.Name}({Parameters(mi)})",
        PropertyInfo p => $"{Name(p.PropertyType)} {p.Name} {{{(p.GetMethod?.IsPublic == true ? " get;" : "")}{(p.SetMethod?.IsPublic == true ? " set;" : "")} }}",
        FieldInfo f => $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{Name(f.FieldType)} {f.Name}",
        EventInfo e => $"event {e.Name}",
        Type nested => $"nested {Name(nested)}",
        _ => m.ToString() ?? m.Name,
    };

    private static string Parameters(MethodBase m) =>
        string.Join(", ", m.GetParameters().Select(p => $"{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : "")}"));
}
