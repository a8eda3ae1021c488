using System.Runtime.InteropServices;
using System.Text.Json;
using FastLra.Interchange;
using FastLra.IO;
using FastLra.Model;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// PyTorch state dicts of nn.RNN, nn.GRU and nn.LSTM of any depth, both ways: round trips of every
/// cell at 1 to 3 layers, the committed PyTorch models (tests/torch, made by make_torch_models.py)
/// reproduced step by step, and every inconsistent state dict refused with one line naming the tensor.
/// </summary>
public sealed class TorchInterchangeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-torch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Fixture(string file) => Path.Combine(Golden.RepositoryRoot, "tests", "torch", file);

    private static ParameterSet Sample(CellKind cell, int layers, int seed = 5)
    {
        var p = new ParameterSet(new RnnShape(3, 5, 2, cell, layers));
        var rng = new Random(seed);
        foreach (ref float v in p.Data) v = (float)(rng.NextDouble() - 0.5) * 3;
        return p;
    }

    public static TheoryData<CellKind, int, string> CellsDepthsFormats()
    {
        var data = new TheoryData<CellKind, int, string>();
        foreach (var cell in new[] { CellKind.Tanh, CellKind.Gru, CellKind.Lstm })
            for (int layers = 1; layers <= 3; layers++)
                foreach (string format in new[] { "safetensors", "npz" }) data.Add(cell, layers, format);
        return data;
    }

    [Theory]
    [MemberData(nameof(CellsDepthsFormats))]
    public void Every_cell_and_depth_round_trips_exactly(CellKind cell, int layers, string format)
    {
        var p = Sample(cell, layers);
        var entries = WeightFormats.ToTorch(p, "net.rnn.", "net.fc.");
        // PyTorch's keys and shapes: G x H rows (G = 1, 3, 4), I_k columns, then the readout.
        int g = RnnShape.GatesOf(cell);
        Assert.Equal(4 * layers + 2, entries.Count);
        for (int l = 0; l < layers; l++)
        {
            AssertEntry($"net.rnn.weight_ih_l{l}", [5 * g, l == 0 ? 3 : 5], entries[4 * l]);
            AssertEntry($"net.rnn.weight_hh_l{l}", [5 * g, 5], entries[4 * l + 1]);
            AssertEntry($"net.rnn.bias_ih_l{l}", [5 * g], entries[4 * l + 2]);
            AssertEntry($"net.rnn.bias_hh_l{l}", [5 * g], entries[4 * l + 3]);
        }
        AssertEntry("net.fc.weight", [2, 5], entries[^2]);
        AssertEntry("net.fc.bias", [2], entries[^1]);
        string path = Path.Combine(_dir, "state." + format);
        if (format == "npz") WeightFormats.WriteNpz(path, entries);
        else SafeTensors.Write(path, entries, null);
        var back = WeightFormats.ToParameters(WeightFormats.ReadTensors(path), path, "net.rnn.", "net.fc.");
        Assert.Equal(p.Shape, back.Shape);
        Assert.Equal(p.Data.ToArray(), back.Data.ToArray());
    }

    private static void AssertEntry(string name, int[] shape, SafeTensors.Entry entry)
    {
        Assert.Equal(name, entry.Name);
        Assert.Equal(shape, entry.Shape);
    }

    [Theory]
    [InlineData(CellKind.Tanh, 2)]
    [InlineData(CellKind.Gru, 3)]
    [InlineData(CellKind.Lstm, 2)]
    public void The_cli_exports_and_imports_every_cell_exactly(CellKind cell, int layers)
    {
        var p = Sample(cell, layers, seed: 9);
        string model = Path.Combine(_dir, "model.safetensors");
        ModelFile.Save(model, new RnnModel(p));
        foreach (string format in new[] { "torch", "npz" })
        {
            string state = Path.Combine(_dir, format == "npz" ? "state.npz" : "state.safetensors"), back = Path.Combine(_dir, format + "-back.safetensors");
            var export = CliTests.Run("export", "--model", model, "--format", format, "--out", state);
            Assert.True(export.Code == 0, export.Err);
            var import = CliTests.Run("import", "--from", state, "--out", back);
            Assert.True(import.Code == 0, import.Err);
            Assert.Contains(p.Shape.ToString(), import.Err);
            var loaded = RnnModel.Load(back);
            Assert.Equal(p.Shape, loaded.Shape);
            Assert.Equal(p.Data.ToArray(), loaded.Parameters.ToArray());
        }
    }

    public static TheoryData<string, string> TorchModels() => new()
    {
        { "rnn-L1", "rnn-L1.safetensors" },
        { "gru-L2", "gru-L2.safetensors" },
        { "gru-L2", "gru-L2.npz" },
        { "lstm-L2", "lstm-L2.safetensors" },
    };

    /// <summary>
    /// PyTorch's model, imported and streamed step by step (<see cref="RnnState"/>), gives PyTorch's
    /// readout at every step. Tolerance: |a - e| &lt;= 1e-5 max|e| over the T x O outputs. Both sides
    /// compute in float32 with their own summation order and tanh/exp (unit roundoff 6e-8, a few ulps
    /// per operation, over 6 steps through contracting cells). Measured on these models, FastLra's
    /// outputs differ from PyTorch's float32 ones and from its float64 ones (y_f64) by at most 2e-7
    /// max|e|, as PyTorch's float32 outputs differ from its own float64 ones (1.4e-7 relative): 1e-5
    /// leaves fiftyfold headroom for rounding alone (the float64 comparison, tenfold at 2e-6), while a
    /// misplaced tensor (a transposed matrix, a gate block out of order, a bias in the wrong product)
    /// moves outputs by a thousandth of max|e| or more (Gated_biases_in_the_wrong_product_are_far_outside_the_tolerance).
    /// </summary>
    [Theory]
    [MemberData(nameof(TorchModels))]
    public void PyTorch_models_stream_to_PyTorch_outputs(string name, string file)
    {
        var fixture = LoadFixture(name);
        var model = Import(fixture, file);
        var cell = fixture.GetProperty("cell").GetString() switch { "gru" => CellKind.Gru, "lstm" => CellKind.Lstm, _ => CellKind.Tanh };
        Assert.Equal(new RnnShape(3, 5, 2, cell, fixture.GetProperty("layers").GetInt32()), model.Shape);
        var outputs = Stream(model, fixture.GetProperty("x").Array());
        AssertWithin(fixture.GetProperty("y").Array(), outputs, 1e-5, name);
        AssertWithin(fixture.GetProperty("y_f64").Array(), outputs, 2e-6, name + " (float64)");
    }

    [Fact]
    public void Gated_biases_in_the_wrong_product_are_far_outside_the_tolerance()
    {
        // GRU's bh_n is multiplied by r, so bias_ih and bias_hh are not interchangeable: the test
        // above would catch them swapped.
        var fixture = LoadFixture("gru-L2");
        var tensors = WeightFormats.ReadTensors(Fixture("gru-L2.safetensors"));
        (tensors["rnn.bias_ih_l0"], tensors["rnn.bias_hh_l0"]) = (tensors["rnn.bias_hh_l0"], tensors["rnn.bias_ih_l0"]);
        var swapped = Stream(new RnnModel(WeightFormats.ToParameters(tensors, "swapped")), fixture.GetProperty("x").Array());
        var expected = fixture.GetProperty("y").Array();
        double worst = 0;
        for (int k = 0; k < expected.Length; k++) worst = Math.Max(worst, Math.Abs(swapped[k] - expected[k]));
        Assert.True(worst > 1e-3 * expected.Max(Math.Abs), $"swapped biases moved the outputs by only {worst}");
    }

    [Theory]
    [InlineData("gru-L2")]
    [InlineData("lstm-L2")]
    public void A_gated_PyTorch_model_exports_back_to_its_own_state_dict(string name)
    {
        var fixture = LoadFixture(name);
        string rnn = fixture.GetProperty("rnn_prefix").GetString()!, fc = fixture.GetProperty("fc_prefix").GetString()!;
        var original = WeightFormats.ReadTensors(Fixture(name + ".safetensors"));
        var entries = WeightFormats.ToTorch(WeightFormats.ToParameters(original, name, rnn, fc), rnn, fc);
        Assert.Equal(original.Count, entries.Count);
        foreach (var entry in entries)
        {
            var (shape, data) = original[entry.Name];
            Assert.Equal(shape, entry.Shape);
            Assert.Equal(data, MemoryMarshal.Cast<byte, float>(entry.Data).ToArray());
        }
    }

    private static JsonElement LoadFixture(string name)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Fixture(name + ".json")));
        return document.RootElement.Clone();
    }

    private static RnnModel Import(JsonElement fixture, string file)
    {
        string path = Fixture(file);
        return new RnnModel(WeightFormats.ToParameters(WeightFormats.ReadTensors(path), path,
            fixture.GetProperty("rnn_prefix").GetString()!, fixture.GetProperty("fc_prefix").GetString()!));
    }

    // Every step's readout of one sequence x (T x I), streamed from a zero state.
    private static float[] Stream(RnnModel model, float[] x)
    {
        int inputs = model.Shape.Inputs, outputs = model.Shape.Outputs, steps = x.Length / inputs;
        var state = new RnnState(model);
        var y = new float[steps * outputs];
        for (int t = 0; t < steps; t++) state.Step(x.AsSpan(t * inputs, inputs), y.AsSpan(t * outputs, outputs));
        return y;
    }

    private static void AssertWithin(float[] expected, float[] actual, double relative, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(Math.Abs), worst = 0;
        for (int k = 0; k < expected.Length; k++) worst = Math.Max(worst, Math.Abs(actual[k] - (double)expected[k]));
        Assert.True(worst <= relative * scale, $"{what}: largest difference {worst:G3} against {relative:G2} x {scale:G3}");
    }

    public static TheoryData<string, string> Inconsistent() => new()
    {
        { "hh-gates", "tensor 'rnn.weight_hh_l0' has shape [10, 5], expected [15, 5] for nn.GRU" },
        { "ih-gates", "tensor 'rnn.weight_ih_l0' has 10 rows, not 1, 3 or 4 times the hidden width 5" },
        { "ih-columns", "tensor 'rnn.weight_ih_l1' has shape [15, 4], expected [15, 5]" },
        { "missing-bias", "tensor 'rnn.bias_hh_l1' is missing" },
        { "layer-gap", "tensor 'rnn.weight_ih_l1' is missing, but 'rnn.weight_hh_l1' is there" },
        { "stray-layer", "tensor 'rnn.weight_ih_l2' is missing, but 'rnn.bias_ih_l2' is there" },
        { "bias-shape", "tensor 'rnn.bias_ih_l0' has shape [14], expected [15]" },
        { "bias-matrix", "tensor 'rnn.bias_hh_l1' has shape [15, 1], expected [15]" },
        { "fc-width", "tensor 'fc.weight' has shape [2, 4], expected [2, 5]" },
        { "fc-bias", "tensor 'fc.bias' has shape [3], expected [2]" },
        { "bidirectional", "tensor 'rnn.weight_ih_l0_reverse' is a bidirectional module's" },
        { "projection", "tensor 'rnn.weight_hr_l0' is a projected LSTM's" },
        { "not-finite", "tensor 'rnn.weight_hh_l1' holds NaN at index 7" },
    };

    [Theory]
    [MemberData(nameof(Inconsistent))]
    public void Inconsistent_state_dicts_are_refused_naming_the_tensor(string kind, string message)
    {
        var tensors = WeightFormats.ReadTensors(Fixture("gru-L2.safetensors"));
        Break(tensors, kind);
        var e = Assert.Throws<WeightFileException>(() => WeightFormats.ToParameters(tensors, "state.safetensors"));
        Assert.StartsWith("state.safetensors: ", e.Message);
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    private static void Break(Dictionary<string, (int[] Shape, float[] Data)> t, string kind)
    {
        switch (kind)
        {
            case "hh-gates": t["rnn.weight_hh_l0"] = ([10, 5], new float[50]); break;
            case "ih-gates": t["rnn.weight_ih_l0"] = ([10, 3], new float[30]); break;
            case "ih-columns": t["rnn.weight_ih_l1"] = ([15, 4], new float[60]); break;
            case "missing-bias": t.Remove("rnn.bias_hh_l1"); break;
            case "layer-gap": t.Remove("rnn.weight_ih_l1"); break;
            case "stray-layer": t["rnn.bias_ih_l2"] = ([15], new float[15]); break;
            case "bias-shape": t["rnn.bias_ih_l0"] = ([14], new float[14]); break;
            case "bias-matrix": t["rnn.bias_hh_l1"] = ([15, 1], new float[15]); break;
            case "fc-width": t["fc.weight"] = ([2, 4], new float[8]); break;
            case "fc-bias": t["fc.bias"] = ([3], new float[3]); break;
            case "bidirectional": t["rnn.weight_ih_l0_reverse"] = t["rnn.weight_ih_l0"]; break;
            case "projection": t["rnn.weight_hr_l0"] = ([2, 5], new float[10]); break;
            default: t["rnn.weight_hh_l1"].Data[7] = float.NaN; break;
        }
    }

    [Fact]
    public void Keys_under_another_prefix_are_named()
    {
        string path = Fixture("lstm-L2.safetensors");
        var e = Assert.Throws<WeightFileException>(() => WeightFormats.ToParameters(WeightFormats.ReadTensors(path), path));
        Assert.Contains("tensor 'rnn.weight_ih_l0' is missing; the file has 'lstm.weight_ih_l0' (key prefix 'lstm.')", e.Message);
    }

    [Fact]
    public void The_cli_refuses_an_inconsistent_state_dict_in_one_line_with_exit_2()
    {
        var tensors = WeightFormats.ReadTensors(Fixture("gru-L2.safetensors"));
        Break(tensors, "hh-gates");
        string path = Path.Combine(_dir, "bad.safetensors"), @out = Path.Combine(_dir, "out.safetensors");
        var entries = new List<SafeTensors.Entry>();
        foreach (var (name, (shape, data)) in tensors) entries.Add(SafeTensors.Floats(name, shape, data));
        SafeTensors.Write(path, entries, null);
        foreach (string[] args in new[] { new[] { "import", "--from", path, "--out", @out }, ["export", "--model", path, "--format", "c", "--out", @out] })
        {
            var (code, _, err) = CliTests.Run(args);
            Assert.Equal(2, code);
            Assert.Equal($"fastlra: {path}: tensor 'rnn.weight_hh_l0' has shape [10, 5], expected [15, 5] for nn.GRU with I=3, H=5, O=2, gru x 2.", err.TrimEnd('\n'));
            Assert.False(File.Exists(@out));
        }
    }
}
