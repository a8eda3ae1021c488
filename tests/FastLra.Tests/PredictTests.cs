using System.Globalization;
using System.Text;
using FastLra.IO;
using FastLra.Model;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// <c>predict</c> on CSV series: every predicted row labelled with the data row (or time) it
/// predicts, and <c>--forecast N</c> past the series' end, which is the model stepped by hand over
/// the last windows with its own forecasts fed back.
/// </summary>
public sealed class PredictTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-predict-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    private const int Rows = 60;

    /// <summary>Row r: t = 1990 + r, day (a date), u = a sine, y = a damped echo of u.</summary>
    private static double U(int r) => Math.Sin(r * 0.45);

    private static double Y(int r) => 0.6 * Math.Sin((r - 1) * 0.45) + 0.2 * Math.Cos(r * 0.1);

    private string Series()
    {
        var text = new StringBuilder("t,day,u,y\n");
        for (int r = 0; r < Rows; r++)
            text.Append(CultureInfo.InvariantCulture, $"{1990 + r},2024-01-{r % 28 + 1:00},{U(r):R},{Y(r):R}\n");
        string path = Path.Combine(_dir, "s.csv");
        File.WriteAllText(path, text.ToString());
        return path;
    }

    private string Train(string data, params string[] options)
    {
        string model = Path.Combine(_dir, "m.safetensors");
        var (code, _, err) = Run(["train", "--data", data, .. options, "--hidden", "5", "--batch", "4", "--optimizer", "adam", "--lr", "0.02",
            "--max-iter", "30", "--check-every", "10", "--save", model, "--quiet"]);
        Assert.True(code == 0, err);
        return model;
    }

    private static string[][] Csv(string path) => [.. File.ReadAllLines(path).Select(l => l.Split(','))];

    private static float Cell(string text) => float.Parse(text, CultureInfo.InvariantCulture);

    /// <summary>The model's last output over <paramref name="window"/> rows of inputs, from a zero state: what infer gives, fed by hand.</summary>
    private static float[] Last(RnnModel model, IReadOnlyList<float[]> window)
    {
        var state = new RnnState(model);
        var y = new float[model.Shape.Outputs];
        foreach (var x in window) state.Step(x, y);
        return y;
    }

    [Fact]
    public void Each_predicted_row_names_the_data_row_it_predicts_or_its_time()
    {
        string data = Series();
        string model = Train(data, "--input-columns", "u", "--target-columns", "y", "--window", "6", "--washout", "3", "--horizon", "2", "--stride", "3");
        string output = Path.Combine(_dir, "p.csv");
        Assert.Equal(0, Run("predict", "--model", model, "--data", data, "--out", output).Code);
        var rows = Csv(output);
        Assert.Equal(["sequence", "step", "row", "part", "y"], rows[0]);
        // Windows of 6 rows every 3 rows, targets 2 rows on: (60 - 2 - 6) / 3 + 1 = 18 windows of steps 3..5.
        Assert.Equal(1 + 18 * 3, rows.Length);
        var rnn = RnnModel.Load(model);
        foreach (var row in rows.Skip(1))
        {
            int s = int.Parse(row[0], CultureInfo.InvariantCulture), t = int.Parse(row[1], CultureInfo.InvariantCulture);
            Assert.Equal(s * 3 + t + 2, int.Parse(row[2], CultureInfo.InvariantCulture));
        }
        // Row 17's prediction (window 4, step 3: inputs rows 12..15) is the model run over those rows.
        var line = rows.Single(r => r[2] == "17");
        Assert.Equal(["4", "3"], line[..2]);
        Assert.Equal(Last(rnn, [.. Enumerable.Range(12, 4).Select(r => new[] { (float)U(r) })])[0], Cell(line[4]), 1e-5f);

        // --time-column puts that column's cell in the row's place, whatever its text.
        Assert.Equal(0, Run("predict", "--model", model, "--data", data, "--out", output, "--time-column", "t").Code);
        rows = Csv(output);
        Assert.Equal(["sequence", "step", "t", "part", "y"], rows[0]);
        Assert.Equal("2007", rows.Single(r => r[0] == "4" && r[1] == "3")[2]);
        Assert.Equal(0, Run("predict", "--model", model, "--data", data, "--out", output, "--time-column", "day").Code);
        Assert.Equal("2024-01-18", Csv(output).Single(r => r[0] == "4" && r[1] == "3")[2]);
    }

    [Fact]
    public void A_forecast_is_the_model_stepped_by_hand_over_the_last_windows_with_its_forecasts_fed_back()
    {
        string data = Series();
        // Autoregressive: y predicts itself one row on.
        string model = Train(data, "--input-columns", "y", "--target-columns", "y", "--window", "8", "--washout", "4");
        string output = Path.Combine(_dir, "f.csv");
        var (code, _, err) = Run("predict", "--model", model, "--data", data, "--out", output, "--forecast", "5", "--time-column", "t");
        Assert.True(code == 0, err);
        Assert.Contains("a forecast of 5 steps past the end of", err);
        Assert.Contains("(data rows 60-64)", err);
        var rows = Csv(output);
        Assert.Equal(["ahead", "t", "y"], rows[0]);
        Assert.Equal(["1", "2", "3", "4", "5"], rows.Skip(1).Select(r => r[0]));
        // The time column of numbers goes on by its step: 2049 was the last year.
        Assert.Equal(["2050", "2051", "2052", "2053", "2054"], rows.Skip(1).Select(r => r[1]));

        var rnn = RnnModel.Load(model);
        var series = Enumerable.Range(0, Rows).Select(r => (float)Y(r)).ToList();
        for (int k = 0; k < 5; k++)
        {
            // Row 60 + k from the 8 rows before it, the forecasts of the rows past 59 among them.
            float expected = Last(rnn, [.. series.Skip(series.Count - 8).Select(v => new[] { v })])[0];
            Assert.Equal(expected, Cell(rows[1 + k][2]), 1e-6f);
            series.Add(Cell(rows[1 + k][2]));
        }

        // The same numbers as float32 in an .npy; without --time-column the rows are numbered on.
        string npy = Path.Combine(_dir, "f.npy");
        Assert.Equal(0, Run("predict", "--model", model, "--data", data, "--out", npy, "--forecast", "5").Code);
        var array = NumericArray.ParseNpy(File.ReadAllBytes(npy), npy, 1 << 10);
        Assert.Equal([5, 1], array.Shape);
        Assert.Equal(rows.Skip(1).Select(r => Cell(r[2])), array.Data);
        Assert.Equal(0, Run("predict", "--model", model, "--data", data, "--out", output, "--forecast", "2").Code);
        Assert.Equal(["60", "61"], Csv(output).Skip(1).Select(r => r[1]));
        // A time column that is not numbers has nothing to go on by: its cells are left empty.
        Assert.Equal(0, Run("predict", "--model", model, "--data", data, "--out", output, "--forecast", "2", "--time-column", "day").Code);
        Assert.Equal(["", ""], Csv(output).Skip(1).Select(r => r[1]));
    }

    [Fact]
    public void A_forecast_that_needs_an_input_the_model_does_not_predict_goes_no_further_than_the_horizon()
    {
        string data = Series();
        string model = Train(data, "--input-columns", "u,y", "--target-columns", "y", "--window", "6", "--horizon", "2");
        string output = Path.Combine(_dir, "f.csv");
        // Two rows past the end need inputs up to the last row only.
        var (code, _, err) = Run("predict", "--model", model, "--data", data, "--out", output, "--forecast", "2");
        Assert.True(code == 0, err);
        var rows = Csv(output);
        var rnn = RnnModel.Load(model);
        for (int k = 0; k < 2; k++)
        {
            int end = Rows - 2 + k;
            var window = Enumerable.Range(end - 5, 6).Select(r => new[] { (float)U(r), (float)Y(r) }).ToList();
            Assert.Equal(Last(rnn, window)[0], Cell(rows[1 + k][2]), 1e-6f);
        }
        // A third would need u at row 60, which nothing predicts: refused by name, nothing written.
        File.Delete(output);
        (code, _, err) = Run("predict", "--model", model, "--data", data, "--out", output, "--forecast", "3");
        Assert.Equal(2, code);
        Assert.Contains("--forecast 3 needs input 'u' past the end of", err);
        Assert.Contains("(from data row 60 on), and the model does not predict it (it is not a target column); with this model --forecast goes at most --horizon 2 steps past the data.", err);
        Assert.False(File.Exists(output));
    }

    public static TheoryData<string, string> Refusals() => new()
    {
        { "--forecast 0", "--forecast must be at least 1, got 0." },
        { "--forecast -2", "--forecast must be at least 1, got -2." },
        { "--forecast 1000001", "--forecast must be at most 1000000, got 1000001." },
        { "--time-column nope", "no column 'nope' (the header has t, day, u, y)." },
        { "--time-column t --out NPY", "--time-column labels the rows of a .csv; an .npy holds the predictions only." },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Bad_forecast_and_time_column_options_are_usage_errors(string options, string message)
    {
        string data = Series();
        string model = Train(data, "--input-columns", "y", "--target-columns", "y", "--window", "5");
        string output = Path.Combine(_dir, options.Contains("NPY", StringComparison.Ordinal) ? "p.npy" : "p.csv");
        var (code, _, err) = Run(["predict", "--model", model, "--data", data, "--out", output,
            .. options.Replace(" --out NPY", "", StringComparison.Ordinal).Split(' ')]);
        Assert.Equal(2, code);
        Assert.Contains(message, err);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void A_forecast_and_a_time_column_need_a_csv_series()
    {
        string npz = DataTests.Npz(Path.Combine(_dir, "d.npz"), DataTests.Npy("<f4", [6, 3, 1], DataTests.Floats(Enumerable.Range(0, 18).Select(v => v * 0.1f))),
            DataTests.Npy("<f4", [6, 1], DataTests.Floats(Enumerable.Range(0, 6).Select(v => v * 0.3f))));
        string model = Train(npz);
        string output = Path.Combine(_dir, "p.csv");
        var (code, _, err) = Run("predict", "--model", model, "--data", npz, "--out", output, "--forecast", "2");
        Assert.Equal(2, code);
        Assert.Contains($"--forecast continues a CSV series; {npz} is an array file.", err);
        (code, _, err) = Run("predict", "--model", model, "--data", npz, "--out", output, "--time-column", "t");
        Assert.Equal(2, code);
        Assert.Contains("--time-column names a column of a CSV series; this is an array file.", err);
        // Arrays' predictions have no data rows to name.
        Assert.Equal(0, Run("predict", "--model", model, "--data", npz, "--out", output).Code);
        Assert.Equal("sequence,step,part,output 0", File.ReadLines(output).First());
    }

    [Fact]
    public void Time_cells_are_kept_as_written_and_priced_as_they_grow()
    {
        long priced = FastLra.MemoryBudget.Bytes - 10_000;
        var times = new FastLra.Data.RowTexts(rows: 3, priced, "f.csv", "when");
        times.Add("1999");
        times.Add("");
        times.Add("2001-02-03");
        Assert.Equal(["1999", "", "2001-02-03"], Enumerable.Range(0, 3).Select(r => times[r]));
        var big = new FastLra.Data.RowTexts(rows: 3, priced, "f.csv", "when");
        big.Add(new string('x', 2000));
        var e = Assert.Throws<FastLra.Data.DataFormatException>(() => big.Add(new string('y', 4000)));
        Assert.StartsWith("f.csv: reading it with --time-column when would need ", e.Message, StringComparison.Ordinal);
    }
}
