using FastLra.Kernels;
using FastLra.Model;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>Every cell and depth streams and evaluates as it trains: the same outputs from each path, the fixtures' among them.</summary>
public class CellTests
{
    public static TheoryData<string> CellFixtures()
    {
        var data = new TheoryData<string>();
        foreach (string file in Golden.Files())
            if (file.StartsWith("cell-", StringComparison.Ordinal) && !file.StartsWith("cell-trajectory-", StringComparison.Ordinal)) data.Add(file);
        return data;
    }

    /// <summary>
    /// A fixture's network stepped one sequence at a time through <see cref="RnnState"/>, and its batch
    /// through the evaluator, give the outputs the trainer's forward pass gives, and PyTorch's: bit
    /// for bit with one output per sequence (the same kernels, whose per-element sums do not depend
    /// on the rows or the padding); with outputs at every step the trainer reads them in dot form
    /// (o = z Whyᵀᵀ, faster for a few outputs), which rounds differently.
    /// </summary>
    [Theory]
    [MemberData(nameof(CellFixtures))]
    public void Streaming_evaluation_and_training_give_the_same_outputs(string file)
    {
        var json = Golden.Load(file);
        var cell = CellNames.TryParse(json.GetProperty("cell").GetString(), out var kind) ? kind : throw new InvalidDataException(file);
        var shape = new RnnShape(json.GetProperty("inputs").GetInt32(), json.GetProperty("hidden").GetInt32(), json.GetProperty("outputs").GetInt32(),
            cell, json.GetProperty("layers").GetInt32());
        int steps = json.GetProperty("T").GetInt32(), batch = json.GetProperty("batch").GetInt32(), washout = json.GetProperty("washout").GetInt32();
        var loss = json.GetProperty("global_loss_kind").GetString() == "mse" ? GlobalLossKind.MeanSquaredError : GlobalLossKind.SoftmaxCrossEntropy;
        var layout = new SequenceLayout(steps, shape.Inputs, shape.Outputs, washout, loss);
        var ws = new Workspace(shape, layout, batch, 2, Bptt.ScratchLength(shape, steps, batch));
        Golden.LoadCellParameters(json.GetProperty("params"), ws.Parameters);
        var harness = new FixtureHarness(ws, Bptt.Create(ws, 0f));
        harness.SetBatch(json.GetProperty("x"), json.GetProperty("y"));
        harness.Algorithm.ComputeGradients(ws.Sequences);
        var trained = ws.O.ToArray();
        var x = ws.X.ToArray();

        // One stream per sequence, step by step.
        var model = new RnnModel(ws.Parameters);
        var streamed = new float[trained.Length];
        var y = new float[shape.Outputs];
        for (int b = 0; b < batch; b++)
        {
            var state = new RnnState(model);
            for (int t = 0; t < steps; t++)
            {
                state.Step(x.AsSpan((t * batch + b) * shape.Inputs, shape.Inputs), y);
                if (t >= washout) y.CopyTo(streamed.AsSpan(((t - washout) * batch + b) * shape.Outputs));
            }
        }
        if (layout.PerStep) Golden.AssertClose(trained, streamed, "outputs of the trainer", atol: 0, rtol: 1e-6);
        else Assert.Equal(trained, streamed);

        // The whole batch through the validation path.
        var buffer = new float[Rnn.InferenceLength(shape, shape.Hidden, batch)];
        var evaluated = new float[trained.Length];
        Rnn.Infer(ws.Parameters, x, steps, batch, 0, batch, washout, false, buffer, evaluated);
        Assert.Equal(streamed, evaluated);

        var expected = json.GetProperty("expect").GetProperty("outputs").Array();
        Golden.AssertClose(expected.AsSpan(expected.Length - trained.Length), streamed, "outputs");
    }
}
