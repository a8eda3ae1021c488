using System.Text.Json;
using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// One test case per fixture file in the golden folder, dispatched on its family, so a case
/// dropped into the folder is checked with no code change. A family this build does not
/// implement is reported as skipped, by name.
/// </summary>
public class GoldenTests
{
    [Fact]
    public void GoldenFolderHoldsFixtures() =>
        Assert.True(Golden.Files().Count > 0, $"No *.json fixtures in {Golden.Directory} (set FASTLRA_GOLDEN_DIR).");

    /// <summary>
    /// Every fixture published in ../shared/golden is in the repository's copy, byte for byte, so
    /// a case published there is noticed here and copied in (cp ../shared/golden/* tests/golden/).
    /// </summary>
    [Fact]
    public void VendoredCopyHoldsEverySharedFixture()
    {
        if (!Directory.Exists(Golden.SharedDirectory)) return; // a bare clone: nothing to compare with
        var stale = new List<string>();
        foreach (string shared in Directory.GetFiles(Golden.SharedDirectory, "*.json"))
        {
            string own = Path.Combine(Golden.VendoredDirectory, Path.GetFileName(shared));
            if (!File.Exists(own)) stale.Add($"{Path.GetFileName(shared)} (missing)");
            else if (!File.ReadAllBytes(own).AsSpan().SequenceEqual(File.ReadAllBytes(shared))) stale.Add($"{Path.GetFileName(shared)} (differs)");
        }
        Assert.True(stale.Count == 0,
            $"tests/golden lacks fixtures published in {Golden.SharedDirectory}: {string.Join(", ", stale)}; copy them in.");
    }

    /// <summary>The order the fixtures' workspaces sum in: both must pass.</summary>
    private Summation _summation = Summation.Fixed;

    [SkippableTheory]
    [MemberData(nameof(Golden.Files), MemberType = typeof(Golden))]
    public void Fixture(string file) => Check(file, Summation.Fixed);

    /// <summary>Every fixture also with the dot products in the width's own order (<c>--deterministic false</c>).</summary>
    [SkippableTheory]
    [MemberData(nameof(Golden.Files), MemberType = typeof(Golden))]
    public void Fixture_in_the_native_order(string file) => Check(file, Summation.Native);

    internal void Check(string file, Summation summation)
    {
        _summation = summation;
        var json = Golden.Load(file);
        switch (Golden.Family(file))
        {
            case "rng": CheckRng(json); break;
            case "tasks": CheckTasks(json); break;
            case "bptt" or "local" or "reference" or "seq": CheckGradients(json); break;
            case "trajectory-bptt" or "trajectory-local" or "trajectory-reference": CheckTrajectory(json); break;
            case "cell": CheckCell(json); break;
            default:
                Skip.If(true, $"{file}: family '{Golden.Family(file)}' is not implemented in this build.");
                break;
        }
    }

    private static void CheckRng(JsonElement json)
    {
        foreach (var c in json.GetProperty("cases").EnumerateArray())
        {
            var rng = new RandomState(c.GetProperty("seed").GetUInt32());
            foreach (var (name, n) in new[] { ("randint_4", 4), ("randint_98", 98), ("randint_1000", 1000) })
                foreach (var expected in c.GetProperty(name).EnumerateArray())
                    Assert.Equal(expected.GetInt32(), rng.RandInt(n));
            foreach (var expected in c.GetProperty("uniform").EnumerateArray())
                Assert.Equal(expected.GetDouble(), rng.Uniform());
        }
    }

    private static void CheckTasks(JsonElement json)
    {
        Assert.True(TaskInfo.TryParse(json.GetProperty("task").GetString(), out var task));
        int length = json.GetProperty("length").GetInt32(), batch = json.GetProperty("batch").GetInt32();
        var generator = new TaskGenerator(task, length, batch, new RandomState(json.GetProperty("seed").GetUInt32()));
        var x = new float[length * batch * generator.Inputs];
        var y = new float[batch * generator.Outputs];
        foreach (var expected in json.GetProperty("batches").EnumerateArray())
        {
            generator.Generate(batch, x, y);
            Assert.Equal(new[] { length, batch, generator.Inputs }, expected.GetProperty("x").ShapeOf());
            Assert.Equal(new[] { batch, generator.Outputs }, expected.GetProperty("y").ShapeOf());
            Assert.Equal(expected.GetProperty("x").Array(), x); // bit for bit
            Assert.Equal(expected.GetProperty("y").Array(), y);
        }
    }

    private void CheckGradients(JsonElement json)
    {
        var harness = FixtureHarness.Create(json, _summation);
        Golden.LoadParameters(json.GetProperty("params"), harness.Workspace.Parameters);
        harness.SetBatch(json.GetProperty("x"), json.GetProperty("y"));
        harness.Algorithm.Diagnostics.Detailed = true;
        float loss = harness.Algorithm.ComputeGradients(harness.Workspace.Sequences);
        var expect = json.GetProperty("expect");
        Golden.AssertClose(expect.GetProperty("global_loss").GetDouble(), loss, "global_loss");
        var g = harness.Workspace.Gradients;
        string[] names = ["dWxh", "dWhh", "dbh", "dWhy", "dby"];
        for (int i = 0; i < names.Length; i++)
            Golden.AssertClose(expect.GetProperty(names[i]).Array(), g.Tensor(i), names[i]);
        var diagnostics = harness.Algorithm.Diagnostics;
        if (expect.TryGetProperty("local_losses", out var losses))
            Golden.AssertClose(losses.Doubles().Select(v => (float)v).ToArray(), diagnostics.LocalLosses, "local_losses");
        if (expect.TryGetProperty("dWhh_step_norms", out var whhNorms))
            Golden.AssertClose(whhNorms.Doubles().Select(v => (float)v).ToArray(), diagnostics.DWhhNorms, "dWhh_step_norms");
        if (expect.TryGetProperty("dWxh_step_norms", out var wxhNorms))
            Golden.AssertClose(wxhNorms.Doubles().Select(v => (float)v).ToArray(), diagnostics.DWxhNorms, "dWxh_step_norms");
    }

    private void CheckTrajectory(JsonElement json)
    {
        var harness = FixtureHarness.Create(json, _summation);
        var ws = harness.Workspace;
        Golden.LoadParameters(json.GetProperty("params"), ws.Parameters);
        Assert.True(Optimizer.TryParse(json.GetProperty("optimizer").GetString(), out var kind));
        var optimizer = Optimizer.Create(kind, json.Single("lr"), ws.OptimizerState);
        var expect = json.GetProperty("expect");
        var losses = expect.GetProperty("global_losses").Doubles();
        var after = expect.GetProperty("params_after_each_step").EnumerateArray().ToArray();
        int step = 0;
        foreach (var batch in json.GetProperty("batches").EnumerateArray())
        {
            harness.SetBatch(batch.GetProperty("x"), batch.GetProperty("y"));
            float loss = harness.Algorithm.ComputeGradients(harness.Workspace.Sequences);
            optimizer.Step(ws.Parameters, ws.Gradients);
            Golden.AssertClose(losses[step], loss, $"step {step} loss");
            for (int i = 0; i < RnnShape.Names.Length; i++)
                Golden.AssertClose(after[step].GetProperty(RnnShape.Names[i]).Array(), ws.Parameters.Tensor(i), $"step {step} {RnnShape.Names[i]}");
            step++;
        }
        Assert.Equal(losses.Length, step);
    }
    /// <summary>
    /// A gated or stacked network trained by BPTT (docs/algorithm.md, "Gated and stacked cells"): one
    /// gradient computation (loss, every output from the washout on, every gradient), or with
    /// "batches" several optimiser steps with global-norm clipping.
    /// </summary>
    private void CheckCell(JsonElement json)
    {
        var cell = json.GetProperty("cell").GetString() switch
        {
            "tanh" => CellKind.Tanh,
            "gru" => CellKind.Gru,
            "lstm" => CellKind.Lstm,
            var other => throw new InvalidDataException($"unknown cell '{other}'"),
        };
        var shape = new RnnShape(json.GetProperty("inputs").GetInt32(), json.GetProperty("hidden").GetInt32(), json.GetProperty("outputs").GetInt32(),
            cell, json.GetProperty("layers").GetInt32());
        int steps = json.GetProperty("T").GetInt32(), batch = json.GetProperty("batch").GetInt32();
        var loss = json.GetProperty("global_loss_kind").GetString() == "mse" ? GlobalLossKind.MeanSquaredError : GlobalLossKind.SoftmaxCrossEntropy;
        var layout = new SequenceLayout(steps, shape.Inputs, shape.Outputs, json.GetProperty("washout").GetInt32(), loss);
        var ws = new Workspace(shape, layout, batch, 2, Bptt.ScratchLength(shape, steps, batch), _summation);
        var harness = new FixtureHarness(ws, Bptt.Create(ws, json.TryGetProperty("clip", out var clip) ? (float)clip.GetDouble() : 0f));
        Golden.LoadCellParameters(json.GetProperty("params"), ws.Parameters);
        var expect = json.GetProperty("expect");
        if (!json.TryGetProperty("batches", out var batches))
        {
            harness.SetBatch(json.GetProperty("x"), json.GetProperty("y"));
            float value = harness.Algorithm.ComputeGradients(ws.Sequences);
            Golden.AssertClose(expect.GetProperty("global_loss").GetDouble(), value, "global_loss");
            var outputs = expect.GetProperty("outputs").Array();
            Golden.AssertClose(outputs.AsSpan(outputs.Length - ws.O.Length), ws.O, "outputs");
            Golden.AssertCellTensors(expect, "d", ws.Gradients);
            return;
        }
        Assert.True(Optimizer.TryParse(json.GetProperty("optimizer").GetString(), out var kind));
        var optimizer = Optimizer.Create(kind, json.Single("lr"), ws.OptimizerState);
        var losses = expect.GetProperty("losses").Doubles();
        var after = expect.GetProperty("params_after").EnumerateArray().ToArray();
        int step = 0;
        foreach (var b in batches.EnumerateArray())
        {
            harness.SetBatch(b.GetProperty("x"), b.GetProperty("y"));
            float value = harness.Algorithm.ComputeGradients(ws.Sequences);
            optimizer.Step(ws.Parameters, ws.Gradients);
            Golden.AssertClose(losses[step], value, $"step {step} loss");
            Golden.AssertCellTensors(after[step], "", ws.Parameters, $"step {step} ");
            step++;
        }
        Assert.Equal(losses.Length, step);
    }
}

/// <summary>A workspace and gradient algorithm configured from a fixture's hyper-parameters.</summary>
internal sealed class FixtureHarness
{
    internal FixtureHarness(Workspace workspace, IGradientAlgorithm algorithm)
    {
        Workspace = workspace;
        Algorithm = algorithm;
    }

    public Workspace Workspace { get; }
    public IGradientAlgorithm Algorithm { get; }

    public static FixtureHarness Create(JsonElement json, Summation summation = Summation.Fixed)
    {
        var shape = new RnnShape(json.GetProperty("inputs").GetInt32(), json.GetProperty("hidden").GetInt32(), json.GetProperty("outputs").GetInt32());
        int steps = json.GetProperty("T").GetInt32(), batch = json.GetProperty("batch").GetInt32();
        var loss = json.GetProperty("global_loss_kind").GetString() == "mse" ? GlobalLossKind.MeanSquaredError : GlobalLossKind.SoftmaxCrossEntropy;
        // seq-* fixtures read an output at every step from their washout on; the others after the last step.
        int washout = json.TryGetProperty("washout", out var w) ? w.GetInt32() : steps - 1;
        var layout = new SequenceLayout(steps, shape.Inputs, shape.Outputs, washout, loss);
        string semantics = json.GetProperty("semantics").GetString()!;
        if (semantics == "bptt")
        {
            var bpttWorkspace = new Workspace(shape, layout, batch, 2, Bptt.ScratchLength(shape, steps, batch), summation);
            return new FixtureHarness(bpttWorkspace, Bptt.Create(bpttWorkspace, json.Single("c")));
        }
        var settings = new LraSettings(
            semantics switch
            {
                "local" => LraSemantics.Local,
                "reference" => LraSemantics.Reference,
                _ => throw new InvalidDataException($"unknown semantics '{semantics}'"),
            },
            json.GetProperty("K").GetInt32(), json.Single("beta"), json.Single("c"),
            json.TryGetProperty("clip_mode", out var mode) && mode.GetString() == "always" ? ClipMode.Always : ClipMode.Above,
            json.Single("alpha"),
            json.GetProperty("local_loss_kind").GetString() switch
            {
                "mse" => LocalLossKind.Mse,
                "log-penalty" => LocalLossKind.LogPenalty,
                var other => throw new InvalidDataException($"unknown local loss '{other}'"),
            });
        var ws = new Workspace(shape, layout, batch, 2, Lra.ScratchLength(shape, steps, batch, settings.Semantics), summation);
        return new FixtureHarness(ws, Lra.Create(ws, settings));
    }

    /// <summary>The fixture's x and y into the workspace batch; y's rows before the washout are dropped (they carry no loss).</summary>
    public void SetBatch(JsonElement x, JsonElement y)
    {
        var xs = x.Array();
        var ys = y.Array();
        ys = ys[(ys.Length - Workspace.Y.Length)..];
        Assert.Equal(Workspace.X.Length, xs.Length);
        Assert.Equal(Workspace.Y.Length, ys.Length);
        xs.CopyTo(Workspace.X);
        ys.CopyTo(Workspace.Y);
    }
}
