using System.Globalization;
using System.Text;
using FastLra.IO;
using FastLra.Kernels;
using FastLra.Model;
using FastLra.Tasks;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// Every cell and depth streams and evaluates as it trains (the same outputs from each path, the
/// fixtures' among them), allocates nothing when warm, and goes wherever a model goes: model files,
/// validation on several threads, the command line's commands.
/// </summary>
public sealed class CellTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-cells-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The gated cells at one and two layers, and a stack of tanh layers.</summary>
    public static TheoryData<CellKind, int> Networks() => new() { { CellKind.Gru, 1 }, { CellKind.Gru, 2 }, { CellKind.Lstm, 1 }, { CellKind.Lstm, 3 }, { CellKind.Tanh, 2 } };

    private static TrainingRun Start(CellKind cell, int layers, OptimizerKind optimizer = OptimizerKind.Adam) =>
        TestRuns.Start(TaskKind.Adding, 12, new TrainingOptions { Hidden = 16, Batch = 5, Cell = cell, Layers = layers, Optimizer = optimizer, CheckEvery = 10 });

    [Theory]
    [MemberData(nameof(Networks))]
    public void Training_evaluation_and_streaming_allocate_nothing(CellKind cell, int layers)
    {
        var run = Start(cell, layers);
        for (int i = 0; i < 3; i++) run.Iterate();
        run.Evaluate();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            run.Algorithm.Diagnostics.Detailed = i % 2 == 0;
            run.Iterate();
        }
        run.Evaluate();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        var state = new RnnState(run.Model);
        var x = new float[] { 0.5f, 1f };
        var y = new float[1];
        state.Step(x, y);
        state.TryStep(x, y);
        before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            state.Step(x, y);
            state.TryStep(x, y);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>Every optimiser trains every cell: finite, and a step moves the weights.</summary>
    [Theory]
    [InlineData(CellKind.Gru, OptimizerKind.Sgd)]
    [InlineData(CellKind.Gru, OptimizerKind.Nesterov)]
    [InlineData(CellKind.Lstm, OptimizerKind.RmsProp)]
    [InlineData(CellKind.Lstm, OptimizerKind.Adagrad)]
    [InlineData(CellKind.Gru, OptimizerKind.Adam)]
    public void Every_optimiser_trains_a_gated_stack(CellKind cell, OptimizerKind optimizer)
    {
        var run = Start(cell, 2, optimizer);
        var start = run.Parameters.Data.ToArray();
        float first = run.Iterate(), last = first;
        for (int i = 0; i < 20; i++) last = run.Iterate();
        Assert.True(float.IsFinite(first) && float.IsFinite(last));
        Assert.True(Reductions.AllFinite(run.Parameters.Data));
        Assert.NotEqual(start, run.Parameters.Data.ToArray());
    }

    /// <summary>A model file keeps the cell and the depth: it loads as the same network and streams the same outputs.</summary>
    [Theory]
    [MemberData(nameof(Networks))]
    public void A_model_file_keeps_its_cell_and_depth(CellKind cell, int layers)
    {
        var run = Start(cell, layers);
        for (int i = 0; i < 5; i++) run.Iterate();
        var model = run.Model;
        string path = Path.Combine(_dir, "model.safetensors");
        model.Save(path);
        var loaded = RnnModel.Load(path);
        Assert.Equal(model.Shape, loaded.Shape);
        Assert.Equal(model.Parameters, loaded.Parameters);
        var (a, b) = (new RnnState(model), new RnnState(loaded));
        var (ya, yb) = (new float[1], new float[1]);
        for (int t = 0; t < 8; t++)
        {
            float[] x = [t * 0.1f, t % 2];
            a.Step(x, ya);
            b.Step(x, yb);
            Assert.Equal(ya, yb);
        }
    }

    /// <summary>A model file whose cell or depth FastLra does not know is refused with one line naming the file and the key.</summary>
    [Theory]
    [InlineData("\"cell\":\"gru\"", "\"cell\":\"xyz\"", "metadata 'cell' is 'xyz'; FastLra knows tanh, gru, lstm.")]
    [InlineData("\"layers\":\"2\"", "\"layers\":\"0\"", "metadata 'layers' is '0'; a network has 1 to")]
    public void A_model_file_of_an_unknown_cell_or_depth_is_refused(string good, string bad, string message)
    {
        var run = Start(CellKind.Gru, 2);
        string path = Path.Combine(_dir, "model.safetensors");
        run.Model.Save(path);
        byte[] bytes = File.ReadAllBytes(path);
        string text = Encoding.Latin1.GetString(bytes);
        Assert.Contains(good, text, StringComparison.Ordinal);
        File.WriteAllBytes(path, Encoding.Latin1.GetBytes(text.Replace(good, bad, StringComparison.Ordinal)));
        var e = Assert.Throws<WeightFileException>(() => RnnModel.Load(path));
        Assert.StartsWith($"{path}: {message}", e.Message, StringComparison.Ordinal);

        var (code, _, err) = CliTests.Run("eval", "--model", path, "--task", "adding", "--length", "12", "--valid-size", "10");
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains(message, err, StringComparison.Ordinal);
    }

    /// <summary>
    /// A run is priced with its gates and layers: the workspace a GRU needs is about three times a
    /// tanh layer's, an LSTM's four (weights, gradients, optimiser state and the gates of every step),
    /// and each layer adds its own; validation buffers count LSTM's second state block.
    /// </summary>
    [Fact]
    public void The_price_of_a_run_counts_gates_and_layers()
    {
        var layout = SequenceLayout.LastStep(20, 6, 4, GlobalLossKind.SoftmaxCrossEntropy);
        long Floats(CellKind cell, int layers)
        {
            var o = new TrainingOptions { Hidden = 128, Batch = 20, Cell = cell, Layers = layers, Optimizer = OptimizerKind.Adam };
            return Workspace.Floats(o, o.Shape(6, 4), layout, 20);
        }
        long tanh = Floats(CellKind.Tanh, 1), gru = Floats(CellKind.Gru, 1), lstm = Floats(CellKind.Lstm, 1);
        Assert.InRange(gru / (double)tanh, 2.5, 4.5);
        Assert.InRange(lstm / (double)gru, 1.2, 1.6);
        Assert.InRange(Floats(CellKind.Gru, 2) / (double)gru, 1.8, 2.6);
        var lstmShape = new RnnShape(6, 128, 4, CellKind.Lstm);
        Assert.True(Evaluator.Floats(lstmShape, layout, 1000, 1) > Evaluator.Floats(new RnnShape(6, 128, 4), layout, 1000, 1));
    }

    /// <summary>Validation of a gated stack gives the same figures, bit for bit, on one thread or several.</summary>
    [Theory]
    [InlineData(CellKind.Gru, 2)]
    [InlineData(CellKind.Lstm, 2)]
    public void Validation_on_several_threads_gives_the_same_figures(CellKind cell, int layers)
    {
        var run = TestRuns.Start(TaskKind.TemporalOrder, 12, new TrainingOptions { Hidden = 16, Batch = 5, Cell = cell, Layers = layers }, validSize: 700);
        for (int i = 0; i < 5; i++) run.Iterate();
        run.ValidationThreads = 1;
        var one = run.Evaluate();
        run.ValidationThreads = 2;
        Assert.Equal(one, run.Evaluate());
    }

    /// <summary>
    /// Through the command line: a GRU stack trains on a task and is evaluated; an LSTM stack trains on
    /// a CSV series, then predicts, evaluates and infers the same numbers as streaming it does; LRA
    /// refuses both, naming the cell, with nothing written.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void Gated_stacks_go_through_every_command()
    {
        string gru = Path.Combine(_dir, "gru.safetensors"), lstm = Path.Combine(_dir, "lstm.safetensors");
        var (code, stdout, err) = CliTests.Run("train", "--task", "adding", "--length", "10", "--cell", "gru", "--layers", "2", "--hidden", "12",
            "--max-iter", "40", "--check-every", "20", "--valid-size", "50", "--save", gru, "--json", "--quiet");
        Assert.True(code == 0, err);
        Assert.Contains("\"cell\":\"gru\",\"layers\":2", stdout, StringComparison.Ordinal);
        (code, _, err) = CliTests.Run("eval", "--model", gru, "--task", "adding", "--length", "10", "--valid-size", "50");
        Assert.True(code == 0, err);

        string csv = Path.Combine(_dir, "series.csv");
        var text = new StringBuilder("u,y\n");
        for (int t = 0; t < 200; t++) text.Append(CultureInfo.InvariantCulture, $"{Math.Sin(t * 0.1):R},{Math.Sin(t * 0.1 + 0.5):R}\n");
        File.WriteAllText(csv, text.ToString());
        string[] data = ["--data", csv, "--input-columns", "u", "--target-columns", "y"];
        (code, _, err) = CliTests.Run(["train", .. data, "--window", "10", "--cell", "lstm", "--layers", "2", "--hidden", "8", "--max-iter", "30", "--quiet", "--save", lstm]);
        Assert.True(code == 0, err);
        string predictions = Path.Combine(_dir, "p.csv");
        (code, _, err) = CliTests.Run(["predict", "--model", lstm, .. data, "--out", predictions]);
        Assert.True(code == 0, err);
        (code, _, err) = CliTests.Run(["eval", "--model", lstm, .. data]);
        Assert.True(code == 0, err);

        // infer streams the first window's inputs: its outputs are the model's, step by step.
        var model = RnnModel.Load(lstm);
        var inputs = new float[10];
        for (int t = 0; t < 10; t++) inputs[t] = (float)Math.Sin(t * 0.1);
        string xPath = Path.Combine(_dir, "x.bin"), yPath = Path.Combine(_dir, "y.bin");
        File.WriteAllBytes(xPath, System.Runtime.InteropServices.MemoryMarshal.AsBytes(inputs.AsSpan()).ToArray());
        (code, _, err) = CliTests.Run("infer", "--model", lstm, "--inputs", xPath, "--outputs", yPath);
        Assert.True(code == 0, err);
        var inferred = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(yPath)).ToArray();
        var state = new RnnState(model);
        var expected = new float[10];
        for (int t = 0; t < 10; t++) state.Step(inputs.AsSpan(t, 1), expected.AsSpan(t, 1));
        Assert.Equal(expected, inferred);
        // predict's first sequence is that window: its outputs from step 0 on (washout 0) are the same.
        var lines = File.ReadLines(predictions).Take(2).Select(l => l.Split(',')).ToArray();
        Assert.Equal(expected[0], float.Parse(lines[1][Array.IndexOf(lines[0], "y")], CultureInfo.InvariantCulture), 5);

        foreach (var (cell, layers) in new[] { ("gru", "1"), ("tanh", "2") })
        {
            string refused = Path.Combine(_dir, "refused.safetensors");
            (code, _, err) = CliTests.Run("train", "--task", "adding", "--length", "10", "--cell", cell, "--layers", layers, "--algo", "lra", "--save", refused);
            Assert.Equal(2, code);
            Assert.Contains($"--cell {cell} with --layers {layers} trains with --algo bptt", err, StringComparison.Ordinal);
            Assert.False(File.Exists(refused));
        }
    }

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
