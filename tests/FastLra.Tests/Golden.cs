using System.Text.Json;
using FastLra.Model;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// The golden fixtures: every *.json in FASTLRA_GOLDEN_DIR (default tests/golden, the repository's
/// own copy of ../shared/golden, so a bare clone runs them), and their comparison rule from the
/// fixtures' README.
/// </summary>
public static class Golden
{
    public static string Directory
    {
        get
        {
            string? fromEnvironment = Environment.GetEnvironmentVariable("FASTLRA_GOLDEN_DIR");
            if (!string.IsNullOrEmpty(fromEnvironment)) return Path.GetFullPath(fromEnvironment);
            return VendoredDirectory;
        }
    }

    /// <summary>The repository's copy of the fixtures, tests/golden.</summary>
    public static string VendoredDirectory => Path.Combine(RepositoryRoot, "tests", "golden");

    /// <summary>Where new fixtures are published: ../shared/golden beside the repository (absent on a bare clone).</summary>
    public static string SharedDirectory => Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "golden"));

    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FastLra.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("FastLra.sln not found above the test binaries.");
        }
    }

    /// <summary>Every fixture file name, for [MemberData].</summary>
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        if (!System.IO.Directory.Exists(Directory)) return data;
        foreach (string path in System.IO.Directory.GetFiles(Directory, "*.json").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(path));
        return data;
    }

    /// <summary>The family of a fixture: its name up to the first '-' ("trajectory-bptt" for trajectories).</summary>
    public static string Family(string file)
    {
        string stem = Path.GetFileNameWithoutExtension(file);
        string[] parts = stem.Split('-');
        return parts[0] == "trajectory" && parts.Length > 1 ? $"trajectory-{parts[1]}" : parts[0];
    }

    public static JsonElement Load(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Directory, file)));
        return document.RootElement.Clone();
    }

    public static float[] Array(this JsonElement element) =>
        element.GetProperty("data").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();

    public static int[] ShapeOf(this JsonElement element) =>
        element.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();

    public static double[] Doubles(this JsonElement element) =>
        element.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    public static float Single(this JsonElement element, string name) => (float)element.GetProperty(name).GetDouble();

    /// <summary>Loads the five tensors of a "params" object into a parameter set.</summary>
    public static void LoadParameters(JsonElement parameters, ParameterSet p)
    {
        for (int i = 0; i < RnnShape.Names.Length; i++)
        {
            var tensor = parameters.GetProperty(RnnShape.Names[i]);
            var data = tensor.Array();
            Assert.Equal(p.Tensor(i).Length, data.Length);
            data.CopyTo(p.Tensor(i));
        }
    }

    /// <summary>
    /// Loads a cell fixture's "params" (Wx0, Wh0, bx0, bh0, ..., Why, by) into a parameter set of its
    /// shape; a tanh layer's one bias is the sum of the two PyTorch keeps.
    /// </summary>
    public static void LoadCellParameters(JsonElement parameters, ParameterSet p)
    {
        var shape = p.Shape;
        for (int l = 0; l < shape.Layers; l++)
        {
            Fill(parameters, $"Wx{l}", p.InputWeights(l));
            Fill(parameters, $"Wh{l}", p.RecurrentWeights(l));
            if (shape.HasInputBias)
            {
                Fill(parameters, $"bx{l}", p.InputBias(l));
                Fill(parameters, $"bh{l}", p.HiddenBias(l));
                continue;
            }
            var bx = parameters.GetProperty($"bx{l}").GetProperty("data").Doubles();
            var bh = parameters.GetProperty($"bh{l}").GetProperty("data").Doubles();
            for (int j = 0; j < bx.Length; j++) p.HiddenBias(l)[j] = (float)(bx[j] + bh[j]);
        }
        Fill(parameters, "Why", p.Why);
        Fill(parameters, "by", p.By);
    }

    private static void Fill(JsonElement parameters, string name, Span<float> tensor)
    {
        var data = parameters.GetProperty(name).Array();
        Assert.True(data.Length == tensor.Length, $"{name}: {data.Length} values, the network's tensor has {tensor.Length}");
        data.CopyTo(tensor);
    }

    /// <summary>
    /// Compares a cell fixture's tensors named prefix + Wx0, ... (gradients "d", parameters "")
    /// with a set's; a tanh layer's one bias is compared with bh (for gradients, equal to bx's; for
    /// parameters, with the sum of the two).
    /// </summary>
    public static void AssertCellTensors(JsonElement expect, string prefix, ParameterSet p, string what = "")
    {
        var shape = p.Shape;
        for (int l = 0; l < shape.Layers; l++)
        {
            AssertClose(expect.GetProperty($"{prefix}Wx{l}").Array(), p.InputWeights(l), $"{what}{prefix}Wx{l}");
            AssertClose(expect.GetProperty($"{prefix}Wh{l}").Array(), p.RecurrentWeights(l), $"{what}{prefix}Wh{l}");
            if (shape.HasInputBias) AssertClose(expect.GetProperty($"{prefix}bx{l}").Array(), p.InputBias(l), $"{what}{prefix}bx{l}");
            var bh = expect.GetProperty($"{prefix}bh{l}").Array();
            if (!shape.HasInputBias && prefix.Length == 0)
            {
                var bx = expect.GetProperty($"bx{l}").Array();
                for (int j = 0; j < bh.Length; j++) bh[j] += bx[j];
            }
            AssertClose(bh, p.HiddenBias(l), $"{what}{prefix}bh{l}");
        }
        AssertClose(expect.GetProperty($"{prefix}Why").Array(), p.Why, $"{what}{prefix}Why");
        AssertClose(expect.GetProperty($"{prefix}by").Array(), p.By, $"{what}{prefix}by");
    }

    /// <summary>
    /// The README's rule, |a - e| &lt;= atol + rtol * max|e| entry-wise, tightened: the README
    /// allows 1e-5 + 2e-3 max|e|; every fixture agrees within 2e-5 max|e|, so 1e-6 + 1e-4 max|e|
    /// keeps a 5x margin. Reports the worst entry.
    /// </summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what,
        double atol = 1e-6, double rtol = 1e-4)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        double scale = 0;
        foreach (float e in expected) scale = Math.Max(scale, Math.Abs(e));
        double bound = atol + rtol * scale, worst = 0;
        int worstIndex = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs((double)actual[i] - expected[i]);
            if (!(error <= worst)) // NaN counts as worst
            {
                worst = double.IsNaN(error) ? double.PositiveInfinity : error;
                worstIndex = i;
            }
        }
        Assert.True(worst <= bound,
            $"{what}: entry {worstIndex} is {(worstIndex >= 0 ? actual[worstIndex] : 0)}, expected {(worstIndex >= 0 ? expected[worstIndex] : 0)} (error {worst:G3} > bound {bound:G3})");
    }

    /// <summary>Scalars: relative 1e-5 (the README allows 1e-3), absolute 1e-6 near zero.</summary>
    public static void AssertClose(double expected, double actual, string what, double rtol = 1e-5)
    {
        double bound = Math.Max(rtol * Math.Abs(expected), 1e-6);
        Assert.True(Math.Abs(actual - expected) <= bound, $"{what}: {actual}, expected {expected} (bound {bound:G3})");
    }
}
