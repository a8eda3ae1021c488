using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Text;
using FastLra.IO;
using FastLra.Interchange;
using FastLra.Model;
using Xunit;

namespace FastLra.Tests;

public sealed class WeightFormatTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-formats-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ParameterSet Sample(int inputs = 3, int hidden = 5, int outputs = 2, CellKind cell = CellKind.Tanh, int layers = 1)
    {
        var p = new ParameterSet(new RnnShape(inputs, hidden, outputs, cell, layers));
        var rng = new Random(11);
        foreach (ref float v in p.Data) v = (float)(rng.NextDouble() - 0.5) * 3;
        return p;
    }

    [Theory]
    [InlineData("torch.safetensors")]
    [InlineData("torch.npz")]
    public void Torch_export_imports_back_exactly(string file)
    {
        var p = Sample();
        string path = Path.Combine(_dir, file);
        var entries = WeightFormats.ToTorch(p, "model.rnn.", "model.head.");
        if (file.EndsWith(".npz")) WeightFormats.WriteNpz(path, entries);
        else SafeTensors.Write(path, entries, null);
        var back = WeightFormats.ToParameters(WeightFormats.ReadTensors(path), path, "model.rnn.", "model.head.");
        Assert.Equal(p.Shape, back.Shape);
        Assert.Equal(p.Data.ToArray(), back.Data.ToArray());
        // With the default prefixes the tensors are not found, by name.
        var e = Assert.Throws<WeightFileException>(() => WeightFormats.ToParameters(WeightFormats.ReadTensors(path), path));
        Assert.Contains("'rnn.weight_ih_l0' is missing", e.Message);
    }

    [Fact]
    public void Torch_layout_is_transposed_and_its_two_biases_summed()
    {
        // nn.RNN: h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh); nn.Linear: y = h Wᵀ + b.
        float[] ih = [1, 2, 3, 4, 5, 6];           // H = 2 x I = 3
        float[] hh = [7, 8, 9, 10];                // 2 x 2
        float[] fc = [11, 12];                     // O = 1 x H = 2
        var tensors = new Dictionary<string, (int[] Shape, float[] Data)>
        {
            ["rnn.weight_ih_l0"] = ([2, 3], ih),
            ["rnn.weight_hh_l0"] = ([2, 2], hh),
            ["rnn.bias_ih_l0"] = ([2], [0.5f, 1.5f]),
            ["rnn.bias_hh_l0"] = ([2], [0.25f, -1f]),
            ["fc.weight"] = ([1, 2], fc),
            ["fc.bias"] = ([1], [9f]),
        };
        var p = WeightFormats.ToParameters(tensors, "t");
        Assert.Equal(new RnnShape(3, 2, 1), p.Shape);
        Assert.Equal([1f, 4f, 2f, 5f, 3f, 6f], p.Wxh.ToArray());
        Assert.Equal([7f, 9f, 8f, 10f], p.Whh.ToArray());
        Assert.Equal([0.75f, 0.5f], p.Bh.ToArray());
        Assert.Equal([11f, 12f], p.Why.ToArray());
        Assert.Equal([9f], p.By.ToArray());
    }

    [Fact]
    public void Npz_with_float64_arrays_converts()
    {
        var p = Sample(2, 3, 1);
        string path = Path.Combine(_dir, "plain64.npz");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
            for (int t = 0; t < RnnShape.Names.Length; t++)
            {
                var (_, _, rows, cols) = p.Shape.Slot(t);
                string shape = rows > 0 ? $"({rows}, {cols})" : $"({cols},)";
                string header = $"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}".PadRight(117) + "\n";
                using var s = zip.CreateEntry(RnnShape.Names[t] + ".npy", CompressionLevel.NoCompression).Open();
                s.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, 0]);
                s.Write(Encoding.ASCII.GetBytes(header));
                foreach (float v in p.Tensor(t)) s.Write(BitConverter.GetBytes((double)v));
            }
        var back = WeightFormats.ToParameters(WeightFormats.ReadTensors(path), path);
        Assert.Equal(p.Data.ToArray(), back.Data.ToArray());
    }

    public static TheoryData<string, string> BadNpz() => new()
    {
        { "not-a-zip", "not a readable .npz" },
        { "bad-magic", "not an .npy array" },
        { "fortran", "Fortran-ordered" },
        { "big-endian", "dtype >f4" },
        { "short-data", "need" },
        { "compressed", "savez_compressed" },
    };

    [Theory]
    [MemberData(nameof(BadNpz))]
    public void Broken_npz_files_fail_with_a_message(string kind, string message)
    {
        string path = Path.Combine(_dir, kind + ".npz");
        if (kind == "not-a-zip")
        {
            File.WriteAllText(path, "this is not a zip file");
        }
        else
        {
            using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
            using var s = zip.CreateEntry("Wxh.npy", kind == "compressed" ? CompressionLevel.Optimal : CompressionLevel.NoCompression).Open();
            string header = kind switch
            {
                "fortran" => "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1), }",
                "big-endian" => "{'descr': '>f4', 'fortran_order': False, 'shape': (1, 1), }",
                _ => "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
            };
            s.Write(kind == "bad-magic" ? "NOTNPY"u8.ToArray() : [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
            s.Write([(byte)header.Length, 0]);
            s.Write(Encoding.ASCII.GetBytes(header));
            s.Write(new byte[4]);
        }
        var e = Assert.Throws<WeightFileException>(() => WeightFormats.ReadTensors(path));
        Assert.Contains(message, e.Message);
    }

    public static TheoryData<bool, CellKind, int> SourceExports()
    {
        var data = new TheoryData<bool, CellKind, int>();
        foreach (bool csharp in new[] { false, true })
        {
            data.Add(csharp, CellKind.Tanh, 1);
            data.Add(csharp, CellKind.Tanh, 3);
            data.Add(csharp, CellKind.Gru, 2);
            data.Add(csharp, CellKind.Lstm, 2);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(SourceExports))]
    public void Source_exports_hold_every_value_exactly(bool csharp, CellKind cell, int layers)
    {
        var p = Sample(4, 6, 3, cell, layers);
        p.Data[0] = 3f;      // integral: C needs "3.0f"
        p.Data[1] = 1e-20f;  // exponent form
        string text = csharp ? WeightFormats.ToCSharp(p, null, "demo", "Acme.Models") : WeightFormats.ToC(p, null, "demo");
        for (int t = 0; t < p.Shape.TensorCount; t++)
        {
            string name = p.Shape.TensorName(t);
            var block = Regex.Match(text, csharp ? $@" {name} => \[(.*?)\];" : $@"demo_{name}\[\d+\] = \{{(.*?)\}};", RegexOptions.Singleline);
            Assert.True(block.Success, name);
            var values = block.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(v => float.Parse(v.TrimEnd('f'), CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(p.Tensor(t).ToArray(), values);
            if (csharp) Assert.Contains($"        {name}.CopyTo(parameters.Tensor({t}));\n", text);
            else if (t < layers * p.Shape.TensorsPerLayer && t % p.Shape.TensorsPerLayer == 0)
                Assert.Contains($"demo_layer(demo_{name}, ", text); // every layer is stepped, from its own arrays
        }
        if (!csharp) Assert.Contains("3.0f", text);
        Assert.Contains(csharp ? "namespace Acme.Models;" : "#ifndef DEMO_H", text);
        Assert.Contains(csharp ? "public static RnnModel Create()" : "static inline void demo_step(demo_state *state, const float *x, float *y)", text);
        string shape = p.Shape.IsSimpleTanh ? "new RnnShape(4, 6, 3)" : $"new RnnShape(4, 6, 3, CellKind.{cell}, {layers})";
        if (csharp) Assert.Contains(shape, text);
        else Assert.Contains($"#define DEMO_LAYERS {layers}\n", text);
        // libm: tanhf always, expf for the gated cells' sigmoid, nothing else.
        if (!csharp) Assert.Equal(cell != CellKind.Tanh, text.Contains("expf(", StringComparison.Ordinal));
        if (!csharp) Assert.Equal(cell == CellKind.Lstm, text.Contains("float c[DEMO_LAYERS * DEMO_HIDDEN];", StringComparison.Ordinal));
    }
}
