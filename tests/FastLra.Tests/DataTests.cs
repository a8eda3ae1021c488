using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using FastLra.Data;
using FastLra.IO;
using FastLra.Interchange;
using FastLra.Kernels;
using FastLra.Model;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>In-memory data sets as batch sources, normalisation, and the readers of .npz, .safetensors and CSV data.</summary>
public sealed class DataTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-data-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>N sequences whose every value encodes (sequence, step, feature), so a gather can be checked exactly.</summary>
    private static SequenceDataSet Coded(int n, int steps, int inputs, int outputs, int washout)
    {
        var layout = new SequenceLayout(steps, inputs, outputs, washout, GlobalLossKind.MeanSquaredError);
        var x = new float[n * steps * inputs];
        var y = new float[n * layout.OutputSteps * outputs];
        for (int k = 0; k < x.Length; k++) x[k] = k;
        for (int k = 0; k < y.Length; k++) y[k] = -k;
        return new SequenceDataSet(layout, x, y);
    }

    [Fact]
    public void Batches_visit_every_sequence_once_per_epoch_in_a_new_order_and_gather_them_time_major()
    {
        using var data = Coded(n: 7, steps: 4, inputs: 3, outputs: 2, washout: 1);
        var source = data.Batches(seed: 5);
        var batch = new SequenceBatch(data.Layout, 7);
        var orders = new List<int[]>();
        for (int epoch = 0; epoch < 3; epoch++)
        {
            source.NextBatch(batch);
            var order = new int[7];
            for (int b = 0; b < 7; b++)
            {
                // x[t, b, i] is sequence n's x[t, i]; y[r, b, j] its y[r, j].
                int n = (int)batch.X[b * 3] / (4 * 3);
                order[b] = n;
                for (int t = 0; t < 4; t++)
                    for (int i = 0; i < 3; i++) Assert.Equal(data.Inputs(n)[t * 3 + i], batch.X[(t * 7 + b) * 3 + i]);
                for (int r = 0; r < 3; r++)
                    for (int j = 0; j < 2; j++) Assert.Equal(data.Targets(n)[r * 2 + j], batch.Y[(r * 7 + b) * 2 + j]);
            }
            Assert.Equal(Enumerable.Range(0, 7), order.Order());
            orders.Add(order);
        }
        Assert.Equal(3, source.Epoch);
        Assert.NotEqual(orders[0], orders[1]);
        Assert.NotEqual(orders[1], orders[2]);

        // In order: the validation set is the data set as it is.
        var inOrder = data.InOrder();
        inOrder.NextBatch(batch);
        for (int b = 0; b < 7; b++) Assert.Equal(data.Inputs(b)[0], batch.X[b * 3]);
    }

    [Fact]
    public void A_restored_source_draws_the_same_batches_and_a_foreign_state_is_refused()
    {
        using var data = Coded(n: 10, steps: 3, inputs: 2, outputs: 1, washout: 2);
        var a = data.Batches(seed: 9);
        var batch = new SequenceBatch(data.Layout, 4);
        for (int i = 0; i < 5; i++) a.NextBatch(batch); // mid-epoch, after two reshuffles
        var state = new uint[a.StateLength];
        a.SaveState(state);
        var b = data.Batches(seed: 1);
        b.RestoreState(state);
        var other = new SequenceBatch(data.Layout, 4);
        for (int i = 0; i < 7; i++)
        {
            a.NextBatch(batch);
            b.NextBatch(other);
            Assert.Equal(batch.X.ToArray(), other.X.ToArray());
            Assert.Equal(batch.Y.ToArray(), other.Y.ToArray());
        }
        Assert.Throws<ArgumentException>(() => b.RestoreState(state.AsSpan(1)));
        var broken = (uint[])state.Clone();
        broken[^1] = broken[^2]; // a repeated sequence: not a permutation
        Assert.Throws<ArgumentException>(() => b.RestoreState(broken));
        broken = (uint[])state.Clone();
        broken[2] = 10; // cursor past the end
        Assert.Throws<ArgumentException>(() => b.RestoreState(broken));
    }

    [Theory]
    [InlineData(AlgorithmKind.Bptt, 19)]
    [InlineData(AlgorithmKind.Bptt, 0)]
    [InlineData(AlgorithmKind.Lra, 19)]
    [InlineData(AlgorithmKind.Lra, 5)]
    public void Training_on_a_data_set_allocates_nothing_shuffles_included(AlgorithmKind algorithm, int washout)
    {
        var (train, valid) = (Coded(13, 20, 3, 2, washout), Coded(5, 20, 3, 2, washout));
        var trainer = TrainingRun.Start(new RunSpec(new DataSetSource(train, valid))
        {
            Options = new TrainingOptions { Hidden = 16, Batch = 4, Algorithm = algorithm, K = 3, Alpha = 0.1f },
        });
        for (int i = 0; i < 4; i++) trainer.Iterate();
        trainer.Evaluate();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) trainer.Iterate(); // over six epochs of 13 sequences
        trainer.Evaluate();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(((DataSetBatches)trainer.Source).Epoch >= 6);
    }

    [Fact]
    public void Normalization_standardises_and_names_a_constant_feature()
    {
        using var data = Coded(6, 5, 3, 2, 0);
        var n = Normalization.Fit(data, targets: true);
        n.Apply(data);
        for (int j = 0; j < 3; j++)
        {
            var column = Enumerable.Range(0, data.X.Length / 3).Select(r => (double)data.X[r * 3 + j]).ToArray();
            Assert.Equal(0, column.Average(), 1e-5);
            Assert.Equal(1, Math.Sqrt(column.Average(v => v * v)), 1e-5);
        }
        var output = new float[] { 0f, 1f };
        n.DenormalizeOutputs(output);
        Assert.Equal(n.TargetMean[0], output[0]);
        Assert.Equal(n.TargetMean[1] + n.TargetStd[1], output[1], 1e-4f);

        var layout = SequenceLayout.LastStep(2, 2, 1, GlobalLossKind.MeanSquaredError);
        using var constant = new SequenceDataSet(layout, [1, 7, 2, 7, 3, 7, 4, 7], [1, 2]);
        var e = Assert.Throws<ArgumentException>(() => Normalization.Fit(constant, false, ["speed", "gear"]));
        Assert.Contains("input 'gear' is constant", e.Message);
    }

    [Fact]
    public void A_model_with_a_normalisation_streams_in_original_units()
    {
        var shape = new RnnShape(2, 8, 1);
        var p = new ParameterSet(shape);
        Initialization.Orthogonal(p, 3);
        var n = new Normalization([10f, -2f], [4f, 0.5f], [100f], [20f]);
        var raw = new RnnState(new RnnModel(p));
        var scaled = new RnnState(new RnnModel(p, n));
        var y = new float[1];
        var expected = new float[1];
        for (int t = 0; t < 5; t++)
        {
            float a = 10f + t, b = -2f + 0.1f * t;
            raw.Step([(a - 10f) / 4f, (b + 2f) / 0.5f], expected);
            scaled.Step([a, b], y);
            Assert.Equal(expected[0] * 20f + 100f, y[0], 1e-4f);
        }
    }

    /// <summary>An .npy file of <paramref name="descr"/> values (little-endian bytes as given).</summary>
    internal static byte[] Npy(string descr, int[] shape, byte[] data) => WeightFormats.Npy(descr, shape, data);

    internal static byte[] Floats(IEnumerable<float> values) => [.. values.SelectMany(BitConverter.GetBytes)];

    internal static byte[] Doubles(IEnumerable<double> values) => [.. values.SelectMany(BitConverter.GetBytes)];

    internal static byte[] Longs(IEnumerable<long> values) => [.. values.SelectMany(BitConverter.GetBytes)];

    /// <summary>An .npz archive of x and y.</summary>
    internal static string Npz(string path, byte[] x, byte[] y)
    {
        using var stream = File.Create(path);
        Zip.Write(stream, [("x.npy", x), ("y.npy", y)]);
        return path;
    }

    [Fact]
    public void Arrays_read_as_labels_one_hot_values_or_per_step_targets()
    {
        // x: 4 sequences of 3 steps of 2 inputs, float64.
        var xs = Enumerable.Range(0, 24).Select(v => v * 0.5).ToArray();
        byte[] x = Npy("<f8", [4, 3, 2], Doubles(xs));
        var plain = new DataFileOptions();

        var labels = DataFiles.Read(Npz(Path.Combine(_dir, "labels.npz"), x, Npy("<i8", [4], Longs([2, 0, 1, 2]))), plain).Data;
        Assert.Equal(new SequenceLayout(3, 2, 3, 2, GlobalLossKind.SoftmaxCrossEntropy), labels.Layout);
        Assert.Equal(new float[] { 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1 }, labels.Y.ToArray());
        Assert.Equal(xs.Select(v => (float)v), labels.X.ToArray());

        var oneHot = DataFiles.Read(Npz(Path.Combine(_dir, "onehot.npz"), x, Npy("<f4", [4, 2], Floats([0, 1, 1, 0, 1, 0, 0, 1]))), plain).Data;
        Assert.Equal(GlobalLossKind.SoftmaxCrossEntropy, oneHot.Layout.Loss);

        var values = DataFiles.Read(Npz(Path.Combine(_dir, "values.npz"), x, Npy("<f4", [4, 2], Floats([0, 1, 1, 0, 1, 0.5f, 0, 1]))), plain).Data;
        Assert.Equal(GlobalLossKind.MeanSquaredError, values.Layout.Loss);

        // Per-step targets: every step by default, from the washout with --washout, the last with --outputs last.
        var perStepY = Npy("<f4", [4, 3, 1], Floats(Enumerable.Range(0, 12).Select(v => (float)v)));
        string perStep = Npz(Path.Combine(_dir, "perstep.npz"), x, perStepY);
        var all = DataFiles.Read(perStep, plain).Data;
        Assert.Equal(new SequenceLayout(3, 2, 1, 0, GlobalLossKind.MeanSquaredError), all.Layout);
        var washed = DataFiles.Read(perStep, plain with { Washout = 1 }).Data;
        Assert.Equal(new float[] { 1, 2, 4, 5, 7, 8, 10, 11 }, washed.Y.ToArray());
        var last = DataFiles.Read(perStep, plain with { Outputs = OutputSelection.Last }).Data;
        Assert.Equal(2, last.Layout.Washout);
        Assert.Equal(new float[] { 2, 5, 8, 11 }, last.Y.ToArray());

        // Per-step labels in a safetensors file, uint8.
        string st = Path.Combine(_dir, "steps.safetensors");
        SafeTensors.Write(st, [new SafeTensors.Entry("x", "F64", [4, 3, 2], Doubles(xs)), new SafeTensors.Entry("y", "U8", [4, 3], [0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1])], null);
        var stepLabels = DataFiles.Read(st, plain).Data;
        Assert.Equal(new SequenceLayout(3, 2, 2, 0, GlobalLossKind.SoftmaxCrossEntropy), stepLabels.Layout);
        Assert.Equal(new float[] { 1, 0, 0, 1, 0, 1 }, stepLabels.Y[..6].ToArray());
    }

    private string Csv(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_csv_series_is_cut_into_windows_in_time_order_with_persistence_beside_the_targets()
    {
        var text = new StringBuilder("time,u,y\n");
        for (int r = 0; r < 10; r++) text.Append(CultureInfo.InvariantCulture, $"{r},{r * 10},{r * 100}\n");
        string path = Csv("series.csv", text.ToString());
        var options = new DataFileOptions { InputColumns = "u,y", TargetColumns = "y", Window = 4, Horizon = 2, Stride = 3 };
        var loaded = DataFiles.Read(path, options);
        var data = loaded.Data;
        // Windows start at rows 0 and 3 (row 6 would need rows up to 6 + 3 + 2 = 11).
        Assert.Equal(2, data.Count);
        Assert.Equal(new SequenceLayout(4, 2, 1, 0, GlobalLossKind.MeanSquaredError), data.Layout);
        Assert.Equal(new float[] { 30, 300, 40, 400, 50, 500, 60, 600 }, data.Inputs(1).ToArray());
        Assert.Equal(new float[] { 500, 600, 700, 800 }, data.Targets(1).ToArray());
        Assert.Equal(new float[] { 300, 400, 500, 600 }, data.Persistence[4..].ToArray());
        Assert.Equal(["u", "y"], loaded.InputNames);

        // The validation set is the last windows, never a random pick of a series.
        var (train, valid) = DataFiles.Split(loaded, 0.5, 1);
        Assert.Equal(data.Inputs(0).ToArray(), train.Inputs(0).ToArray());
        Assert.Equal(data.Inputs(1).ToArray(), valid.Inputs(0).ToArray());

        var classes = DataFiles.Read(Csv("labels.csv", "a,label\n1,0\n2,2\n3,1\n4,2\n"),
            new DataFileOptions { InputColumns = "a", TargetColumns = "label", Classes = 3, Window = 2, Outputs = OutputSelection.Last, Horizon = 0 }).Data;
        Assert.Equal(3, classes.Count);
        Assert.Equal(new float[] { 0, 0, 1, 0, 1, 0, 0, 0, 1 }, classes.Y.ToArray());
    }

    public static TheoryData<string, string, string> BadCsv() => new()
    {
        { "a,b\n1,2\n,4\n3,5\n", "a", ":3: column 'a' is empty" },
        { "a,b\n1,2\nx,4\n3,5\n", "a", ":3: column 'a' holds 'x', not a number" },
        { "a,b\n1,2\nNaN,4\n3,5\n", "a", ":3: column 'a' is NaN" },
        { "a,b\n1,2\n3,4,5\n3,5\n", "a", ":3: the row has 3 cells, the header 2" },
        { "a,b\n1,2\n3,4\n", "c", "no column 'c' (the header has a, b)" },
        { "a,b\n1,2\n3,4\n5,6\n", "a", "--window 5 with --horizon 1 needs at least 6 rows; the series has 3" },
        { "", "a", "the file is empty" },
    };

    [Theory]
    [MemberData(nameof(BadCsv))]
    public void Bad_csv_data_is_named_by_file_line_and_column(string text, string input, string message)
    {
        string path = Csv("bad.csv", text);
        var e = Assert.Throws<DataFormatException>(() =>
            DataFiles.Read(path, new DataFileOptions { InputColumns = input, TargetColumns = "b", Window = message.Contains("--window") ? 5 : 1 }));
        Assert.Contains(message, e.Message);
        Assert.StartsWith(path, e.Message);
    }

    /// <summary>The values of column <paramref name="input"/> as the reader gives them: window 1, stride 1, so sequence k is row k.</summary>
    private static float[] Column(string path, string input, DataFileOptions? options = null)
    {
        using var data = DataFiles.Read(path, (options ?? new DataFileOptions()) with { InputColumns = input, TargetColumns = input, Window = 1, Horizon = 0 }).Data;
        return data.X.ToArray();
    }

    public static TheoryData<string, string, float[]> GoodCsv() => new()
    {
        // RFC 4180 quoting: separators, line ends and doubled quotes inside quotes are text; numbers may be quoted.
        { "note,u\n\"hello, world\",1.5\n\"two\nlines, \"\"quoted\"\"\",\"2.5\"\n x ,  3 \n", "", [1.5f, 2.5f, 3f] },
        // ';' and tab found in the header; a byte-order mark and CRLF line ends.
        { "note;u\n1,5;4\n2;5\n", "", [4f, 5f] },
        { "note\tu\n1,5\t4\n2\t-5\n", "", [4f, -5f] },
        { "\uFEFFu,v\r\n1,2\r\n3,4\r\n\r\n", "", [1f, 3f] },
        // Blank and blank-looking lines are skipped; a lone CR ends a line.
        { "u,v\n\n1,2\n   \n3,4\r5,6", "", [1f, 3f, 5f] },
        // Decimal comma, with ';' or tab.
        { "u;v\n1,5;2\n-0,25;3\n1e3;4\n", "decimal-comma", [1.5f, -0.25f, 1000f] },
        { "u\tv\n\"1,5\"\t2\n", "decimal-comma", [1.5f] },
        // An explicit --delimiter overrides the header's majority; the other characters are text.
        { "u;a,b,c\n7;x,y\n", "semicolon", [7f] },
        // A column name the header holds twice is fine while no one asks for it.
        { "x,u,x\n1,2,3\n", "", [2f] },
    };

    [Theory]
    [MemberData(nameof(GoodCsv))]
    public void Csv_cells_are_read_with_quoting_separators_and_decimal_commas(string text, string flags, float[] expected)
    {
        string path = Csv("good.csv", text);
        var options = new DataFileOptions { DecimalComma = flags == "decimal-comma", Delimiter = flags == "semicolon" ? ';' : null };
        Assert.Equal(expected, Column(path, "u", options));
    }

    public static TheoryData<string, string, string> BadCsvCells() => new()
    {
        { "a,b\n1,2\n3\0,4\n", "", ":3: column 'a' holds a NUL character" },
        { "a,b,c\n1,2,3\n3,4,\0\n", "", ":3: column 3 holds a NUL character" },
        { "a,b\0\n1,2\n", "", ":1: column 2 of the header holds a NUL character" },
        { "a,b,a\n1,2,3\n", "", ":1: the header names two columns 'a' (columns 1 and 3); rename one" },
        { "a,b\n", "", "the file has a header row and no data rows" },
        { "\n \n", "", "the file is empty; a CSV needs a header row" },
        { "a,b,c\n1,2,\"x\ny\"\n3,4\n", "", ":4: the row has 2 cells, the header 3" },
        { "a;b\n1,5;2\n", "", ":2: column 'a' holds '1,5', not a number (a decimal comma? add --decimal-comma)" },
        { "a;b\n1.5;2\n", "decimal-comma", ":2: column 'a' holds '1.5', not a number (with --decimal-comma the decimal separator is ',')" },
        { "a,b\n1,2\n", "decimal-comma", "--decimal-comma needs cells separated by ';' or tabs; the header row is separated by ','" },
        { "a,b\n1,2\n-inf,3\n", "", ":3: column 'a' is -inf; every value must be finite" },
        { "a,b\n1,2\n1e39,3\n", "", ":3: column 'a' is 1e39; every value must be finite" },
        { "a,b\n1,2\n2,16777217\n", "classes", ":3: column 'b' holds 16777217, not a class label in [0, 3)" },
        { "a,b\n1,2\n2,1.5\n", "classes", ":3: column 'b' holds 1.5, not a class label in [0, 3)" },
        { "a,b\n1,-1\n", "classes", ":2: column 'b' holds -1, not a class label in [0, 3)" },
        { "a,b\n1,\n", "classes", ":2: column 'b' is empty" },
    };

    [Theory]
    [MemberData(nameof(BadCsvCells))]
    public void Bad_csv_cells_and_headers_are_named_by_line_and_column(string text, string flags, string message)
    {
        string path = Csv("bad.csv", text);
        var options = new DataFileOptions
        {
            InputColumns = "a", TargetColumns = "b", Window = 1, DecimalComma = flags == "decimal-comma", Classes = flags == "classes" ? 3 : 0,
        };
        var e = Assert.Throws<DataFormatException>(() => DataFiles.Read(path, options));
        Assert.Contains(message, e.Message);
        Assert.StartsWith(path, e.Message);
    }

    /// <summary>Labels are integers read as written (see <see cref="BadCsvCells"/> for 16,777,217, which a float would round); an integral decimal is one too.</summary>
    [Fact]
    public void Class_labels_read_as_integers()
    {
        string path = Csv("labels.csv", "a,label\n0,2.0\n1, 1 \n2,\"0\"\n3,1e0\n");
        using var data = DataFiles.Read(path, new DataFileOptions { InputColumns = "a", TargetColumns = "label", Classes = 3, Window = 1, Horizon = 0 }).Data;
        Assert.Equal(new float[] { 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 0 }, data.Y.ToArray());
    }

    [Fact]
    public void Options_a_csv_cannot_be_read_with_are_refused_before_the_file_is_opened()
    {
        string missing = Path.Combine(_dir, "missing.csv");
        var e = Assert.Throws<DataFormatException>(() => DataFiles.Read(missing,
            new DataFileOptions { InputColumns = "a", TargetColumns = "b", Window = 1, Delimiter = ',', DecimalComma = true }));
        Assert.Contains("--decimal-comma needs cells separated by ';' or tabs; with --delimiter ','", e.Message);
        e = Assert.Throws<DataFormatException>(() => DataFiles.Read(missing, new DataFileOptions { InputColumns = "a", TargetColumns = "b", Window = 1, Delimiter = '|' }));
        Assert.Contains("--delimiter must be ',', ';' or tab, got '|'", e.Message);
    }

    [Fact]
    public void A_row_longer_than_sep_holds_and_utf16_text_are_refused_by_name()
    {
        // A quote never closed makes the rest of the file one cell: refused at the row's first line, not read into memory.
        string path = Path.Combine(_dir, "unclosed.csv");
        File.WriteAllText(path, "a,b\n1,2\n\"3,4\n" + new string('5', CsvData.MaxRowBytes));
        var options = new DataFileOptions { InputColumns = "a", TargetColumns = "b", Window = 1 };
        Assert.Contains(":3: the row that starts here is longer than 8388608 bytes (a quote never closed?)",
            Assert.Throws<DataFormatException>(() => DataFiles.Read(path, options)).Message);
        File.WriteAllText(path, "a,b\n1,2\n", Encoding.Unicode);
        Assert.Contains("the file is UTF-16 or UTF-32 text; save it as UTF-8", Assert.Throws<DataFormatException>(() => DataFiles.Read(path, options)).Message);
    }

    /// <summary>The replay's switch: a sensor log's gaps (empty cells) and non-finite readings read as such instead of being refused.</summary>
    [Fact]
    public void Non_finite_cells_read_as_such_only_when_allowed()
    {
        string path = Csv("gaps.csv", "a,b\n1,2\nnan,-inf\n,INF\nInfinity,-NaN\n1e39,0\n");
        var allowed = Column(path, "a", new DataFileOptions { AllowNonFinite = true });
        Assert.Equal(1f, allowed[0]);
        Assert.True(float.IsNaN(allowed[1]));
        Assert.True(float.IsNaN(allowed[2])); // the empty cell
        Assert.Equal(float.PositiveInfinity, allowed[3]);
        Assert.Equal(float.PositiveInfinity, allowed[4]);
        Assert.Equal([2f, float.NegativeInfinity, float.PositiveInfinity, float.NaN, 0f], Column(path, "b", new DataFileOptions { AllowNonFinite = true }));
        Assert.Contains(":3: column 'a' is nan; every value must be finite", Assert.Throws<DataFormatException>(() => Column(path, "a")).Message);
        Assert.Contains(":3: column 'b' is -inf; every value must be finite", Assert.Throws<DataFormatException>(() => Column(path, "b")).Message);
        // Text is still refused.
        Assert.Contains(":2: column 'a' holds 'x', not a number", Assert.Throws<DataFormatException>(() =>
            Column(Csv("text.csv", "a\nx\n"), "a", new DataFileOptions { AllowNonFinite = true })).Message);
    }

    /// <summary>
    /// A file of many small cells costs the selected values and the windows, not the file: 40 columns
    /// of one digit, two of them read. A reader that makes a string of every cell allocated about
    /// 28 times the file (here about 220 MB).
    /// </summary>
    [Fact]
    public void A_csv_of_many_small_cells_allocates_its_selected_values_not_its_file()
    {
        const int rows = 100_000, columns = 40;
        string path = Path.Combine(_dir, "wide.csv");
        using (var writer = new StreamWriter(path))
        {
            writer.Write(string.Join(',', Enumerable.Range(0, columns).Select(c => $"c{c}")) + "\n");
            var row = new StringBuilder();
            for (int r = 0; r < rows; r++)
            {
                row.Clear();
                for (int c = 0; c < columns; c++) row.Append((char)('0' + (r + c) % 10)).Append(c == columns - 1 ? '\n' : ',');
                writer.Write(row);
            }
        }
        long file = new FileInfo(path).Length;
        var options = new DataFileOptions { InputColumns = "c3", TargetColumns = "c7", Window = 1, Horizon = 0 };
        long before = GC.GetAllocatedBytesForCurrentThread();
        using var data = DataFiles.Read(path, options).Data;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // Two selected floats a row (800 KB), the data set's x, y and persistence in one pooled buffer
        // (300,000 floats in a 2^19-float array: 2 MB), and Sep's buffers (about 130 KB).
        long values = 4L * rows * (2 + 3);
        Assert.True(allocated < 2 * values, $"{allocated} bytes allocated for {values} bytes of selected values and windows ({file} bytes of file)");
        Assert.True(allocated < file / 2, $"{allocated} bytes allocated for a file of {file} bytes");
        Assert.Equal(rows, data.Count);
        Assert.Equal(new float[] { 3, 4, 5 }, new[] { data.Inputs(0)[0], data.Inputs(1)[0], data.Inputs(2)[0] });
        Assert.Equal(new float[] { 7, 8 }, new[] { data.Targets(0)[0], data.Targets(1)[0] });
    }

    public static TheoryData<string, string> BadArrays() => new()
    {
        { "nan", "x[1, 2, 0] is NaN" },
        { "count", "x has 4 sequences but y has shape [3]" },
        { "label", "y[2] = 7 is outside [0, 3) classes" },
        { "steps", "y has 2 steps per sequence, x has T = 3" },
        { "dtype", "dtype <c8 is not a float or integer type" },
        { "xint", "x has dtype <i8; inputs must be float32 or float64" },
        { "huge", "the array is too large" },
        { "missing", "needs arrays named x (N x T x I) and y; it has no y" },
    };

    [Theory]
    [MemberData(nameof(BadArrays))]
    public void Bad_arrays_are_named_by_array_and_index(string kind, string message)
    {
        var xs = Enumerable.Range(0, 24).Select(v => kind == "nan" && v == 10 ? float.NaN : v).ToArray();
        byte[] x = kind == "xint" ? Npy("<i8", [4, 3, 2], Longs(xs.Select(v => (long)v))) : Npy("<f4", [4, 3, 2], Floats(xs));
        byte[] y = kind switch
        {
            "count" => Npy("<i8", [3], Longs([0, 1, 2])),
            "label" => Npy("<i8", [4], Longs([0, 1, 7, 2])),
            "steps" => Npy("<f4", [4, 2, 1], Floats(new float[8])),
            "dtype" => Npy("<c8", [4], new byte[32]),
            "huge" => Npy("<f4", [1 << 20, 1 << 10], []),
            _ => Npy("<i8", [4], Longs([0, 1, 2, 1])),
        };
        string path = Path.Combine(_dir, kind + ".npz");
        using (var stream = File.Create(path))
            Zip.Write(stream, kind == "missing" ? [("x.npy", x)] : [("x.npy", x), ("y.npy", y)]);
        var e = Assert.Throws<DataFormatException>(() => DataFiles.Read(path, new DataFileOptions { Classes = kind == "label" ? 3 : 0 }));
        Assert.Contains(message, e.Message);
        Assert.StartsWith(path, e.Message);
    }

    [Fact]
    public void A_validation_fraction_must_leave_both_sets_a_sequence()
    {
        var loaded = new LoadedData(Coded(3, 2, 1, 1, 1), ["a"], ["b"], timeSeries: false);
        Assert.Contains("leaves no validation sequence", Assert.Throws<DataFormatException>(() => DataFiles.Split(loaded, 0.1, 1)).Message);
        Assert.Contains("leaves no training sequence", Assert.Throws<DataFormatException>(() => DataFiles.Split(loaded, 0.9, 1)).Message);
        var (train, valid) = DataFiles.Split(loaded, 0.34, 1);
        Assert.Equal((2, 1), (train.Count, valid.Count));
    }

    [Fact]
    public void Epochs_set_the_budget_to_whole_passes_over_the_training_data()
    {
        var trainer = TrainingRun.Start(new RunSpec(new DataSetSource(Coded(13, 5, 2, 1, 4), Coded(3, 5, 2, 1, 4)) { Normalize = false, Epochs = 3 })
        {
            Options = new TrainingOptions { Hidden = 4, Batch = 4 },
        });
        Assert.Equal(3 * 4, trainer.MaxIterations); // ceil(13 / 4) batches per epoch
        trainer.Run();
        Assert.Equal(12, trainer.Iteration);
        Assert.True(((DataSetBatches)trainer.Source).Epoch >= 3);
    }

    [Fact]
    public void A_compressed_npz_is_refused_saying_how_to_save_it()
    {
        string path = Npz(Path.Combine(_dir, "compressed.npz"), Npy("<f4", [2, 2, 1], Floats(new float[4])), Npy("<i8", [2], Longs([0, 1])));
        var bytes = File.ReadAllBytes(path);
        // Mark every entry deflated (method 8) in its local header and its central directory record.
        for (int at = 0; at + 4 <= bytes.Length; at++)
        {
            uint signature = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at));
            if (signature == 0x04034b50) bytes[at + 8] = 8;
            else if (signature == 0x02014b50) bytes[at + 10] = 8;
        }
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<DataFormatException>(() => DataFiles.Read(path, new DataFileOptions()));
        Assert.Contains("numpy.savez, not savez_compressed", e.Message);
        Assert.StartsWith(path, e.Message);
    }

    /// <summary>
    /// A central directory that points several entries at one stored file is refused: the copies
    /// could otherwise reach many times the archive's size.
    /// </summary>
    [Fact]
    public void Npz_entries_that_overlap_are_refused()
    {
        string path = Npz(Path.Combine(_dir, "overlap.npz"), Npy("<f4", [2, 2, 1], Floats(new float[4])), Npy("<i8", [2], Longs([0, 1])));
        var bytes = File.ReadAllBytes(path);
        int eocd = bytes.Length - 22;
        int count = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(eocd + 10));
        int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(eocd + 12));
        int offset = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(eocd + 16));
        // The directory again and again: every copy names the same local headers.
        var directory = bytes.AsSpan(offset, size).ToArray();
        var hostile = new List<byte>(bytes[..(offset + size)]);
        for (int k = 0; k < 50; k++) hostile.AddRange(directory);
        var end = bytes[eocd..];
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(8), (ushort)(count * 51));
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(10), (ushort)(count * 51));
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(12), (uint)(size * 51));
        hostile.AddRange(end);
        File.WriteAllBytes(path, [.. hostile]);
        var e = Assert.Throws<DataFormatException>(() => DataFiles.Read(path, new DataFileOptions()));
        Assert.Contains("overlap", e.Message);
        Assert.Contains("overlap", Assert.Throws<WeightFileException>(() => WeightFormats.ReadTensors(path)).Message);
    }
}
