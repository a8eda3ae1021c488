using System.Reflection;
using System.Reflection.Emit;
using System.Text.RegularExpressions;
using FastLra.Model;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// The library's namespaces are layers: each may use only those docs/design.md allows it (its
/// "Layers" table), so the layering is a fact the build checks, not a hope. Every reference counts:
/// base types, interfaces, fields, signatures, generic arguments and every type, method and field
/// a method body names (read from its IL).
/// </summary>
public partial class LayerTests
{
    [Fact]
    public void Every_reference_between_namespaces_is_an_edge_the_design_allows()
    {
        var allowed = AllowedEdges();
        var found = References(typeof(RnnShape).Assembly);
        var forbidden = new List<string>();
        foreach (var (from, to, example) in found)
            if (!allowed.TryGetValue(from, out var uses) || !uses.Contains(to)) forbidden.Add($"{from} -> {to} ({example})");
        Assert.True(forbidden.Count == 0, "Edges docs/design.md does not allow:\n" + string.Join("\n", forbidden.Order(StringComparer.Ordinal)));
        // Every namespace of the assembly is in the table.
        foreach (var (from, _, _) in found) Assert.True(allowed.ContainsKey(from), $"{from} is not in docs/design.md's Layers table.");
    }

    /// <summary>The table of docs/design.md's "Layers" section: each row's namespace and the ones it may use.</summary>
    internal static Dictionary<string, HashSet<string>> AllowedEdges()
    {
        string design = File.ReadAllText(Path.Combine(Golden.RepositoryRoot, "docs", "design.md"));
        int section = design.IndexOf("\n## Layers", StringComparison.Ordinal);
        Assert.True(section >= 0, "docs/design.md has no \"## Layers\" section.");
        var edges = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (string line in design[(section + 1)..].Split('\n').Skip(1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal)))
        {
            var match = Row().Match(line);
            if (!match.Success) continue;
            edges[match.Groups[1].Value] = [.. Names().Matches(match.Groups[2].Value).Select(m => m.Groups[1].Value)];
        }
        Assert.NotEmpty(edges);
        return edges;
    }

    [GeneratedRegex(@"^\| `(FastLra[A-Za-z.]*)` \|([^|]*)\|")]
    private static partial Regex Row();

    [GeneratedRegex(@"`(FastLra[A-Za-z.]*)`")]
    private static partial Regex Names();

    /// <summary>Every (namespace, namespace it references, an example) of the assembly's own namespaces.</summary>
    internal static List<(string From, string To, string Example)> References(Assembly assembly)
    {
        var edges = new Dictionary<(string, string), string>();
        foreach (var type in assembly.GetTypes())
        {
            string from = Namespace(type);
            void Use(Type? used, string where)
            {
                if (used is null) return;
                if (used.HasElementType)
                {
                    Use(used.GetElementType(), where);
                    return;
                }
                if (used.IsGenericType && !used.IsGenericTypeDefinition)
                    foreach (var argument in used.GetGenericArguments()) Use(argument, where);
                if (used.IsGenericParameter || used.Assembly != assembly) return;
                string to = Namespace(used);
                // The compiler's own types (<PrivateImplementationDetails>) have none.
                if (to != from && to.Length > 0) edges.TryAdd((from, to), $"{type.FullName} uses {used.FullName} in {where}");
            }
            Use(type.BaseType, "its base type");
            foreach (var i in type.GetInterfaces()) Use(i, "its interfaces");
            const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            foreach (var field in type.GetFields(all)) Use(field.FieldType, field.Name);
            foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
            {
                if (method is MethodInfo info) Use(info.ReturnType, method.Name);
                foreach (var parameter in method.GetParameters()) Use(parameter.ParameterType, method.Name);
                foreach (var (used, _) in BodyReferences(method)) Use(used, method.Name);
            }
        }
        return [.. edges.Select(e => (e.Key.Item1, e.Key.Item2, e.Value))];
    }

    /// <summary>A type's namespace, a nested type's its outermost type's.</summary>
    private static string Namespace(Type type)
    {
        while (type.DeclaringType is not null) type = type.DeclaringType;
        return type.Namespace ?? "";
    }

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    /// <summary>The types a method body names (tokens of types, methods and fields: their declaring types and signatures).</summary>
    private static IEnumerable<(Type Type, int Offset)> BodyReferences(MethodBase method)
    {
        byte[]? il;
        try
        {
            il = method.GetMethodBody()?.GetILAsByteArray();
        }
        catch (InvalidOperationException)
        {
            yield break;
        }
        if (il is null) yield break;
        var module = method.Module;
        Type[]? typeArguments = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        Type[]? methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (int i = 0; i < il.Length;)
        {
            short value = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
            var op = OpCodesByValue[value];
            i += op.Size;
            switch (op.OperandType)
            {
                case OperandType.InlineType or OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineTok:
                    int token = BitConverter.ToInt32(il, i);
                    MemberInfo? member = null;
                    try
                    {
                        member = module.ResolveMember(token, typeArguments, methodArguments);
                    }
                    catch (ArgumentException)
                    {
                    }
                    switch (member)
                    {
                        case Type t: yield return (t, i); break;
                        case FieldInfo f:
                            yield return (f.DeclaringType!, i);
                            yield return (f.FieldType, i);
                            break;
                        case MethodBase m:
                            yield return (m.DeclaringType!, i);
                            if (m is MethodInfo mi) yield return (mi.ReturnType, i);
                            foreach (var p in m.GetParameters()) yield return (p.ParameterType, i);
                            if (m.IsGenericMethod) foreach (var a in m.GetGenericArguments()) yield return (a, i);
                            break;
                    }
                    i += 4;
                    break;
                case OperandType.InlineSwitch:
                    i += 4 + 4 * BitConverter.ToInt32(il, i);
                    break;
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    i += 1;
                    break;
                case OperandType.InlineVar:
                    i += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    i += 8;
                    break;
                default:
                    i += 4;
                    break;
            }
        }
    }
}
