using System.Globalization;
using System.Text.Json;
using System.Text;
using FastLra.Data;
using FastLra.IO;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary><c>fastlra train --data</c>, <c>eval --data</c>, <c>predict</c> and their refusals of bad data, as a user meets them.</summary>
public sealed class DataCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-datacli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The committed forecasting series (docs/data.md): yearly sunspot numbers, 1700-2008.</summary>
    private static string Sunspots => Path.Combine(Golden.RepositoryRoot, "docs", "data", "sunspots.csv");

    private static (int Code, string Out, string Err) Run(IDictionary<string, string>? environment, params string[] args) =>
        CliTests.RunWith(environment, args);

    private static string Series(int rows, Func<int, string> row)
    {
        var text = new StringBuilder("t,u,y\n");
        for (int r = 0; r < rows; r++) text.Append(row(r)).Append('\n');
        return text.ToString();
    }

    private static string Good(int r) => string.Create(CultureInfo.InvariantCulture, $"{r},{Math.Sin(r * 0.3)},{Math.Cos(r * 0.2)}");

    public static TheoryData<string, string, string> BadData() => new()
    {
        { "empty-cell", "--input-columns u --target-columns y --window 5", ":4: column 'u' is empty" },
        { "text-cell", "--input-columns u --target-columns y --window 5", ":4: column 'u' holds 'high', not a number" },
        { "nan-cell", "--input-columns u --target-columns y --window 5", ":4: column 'u' is NaN" },
        { "ragged", "--input-columns u --target-columns y --window 5", ":4: the row has 4 cells, the header 3" },
        { "good", "--input-columns speed --target-columns y --window 5", "no column 'speed' (the header has t, u, y)" },
        { "good", "--input-columns u --target-columns y --window 50", "--window 50 with --horizon 1 needs at least 51 rows; the series has 40" },
        { "good", "--input-columns u --target-columns y --window 5 --valid-fraction 0.01", "leaves no validation sequence" },
        { "good", "--input-columns u --target-columns y --window 5 --valid-fraction 1", "--valid-fraction must be in (0, 1)" },
        { "constant", "--input-columns u,t --target-columns y --window 5", "input 'u' is constant" },
        { "labels", "--input-columns u --target-columns y --window 5 --classes 3", "holds 7, not a class label in [0, 3)" },
        { "good", "--input-columns u --target-columns y --window 5 --task adding", "--task is a synthetic task's option; it does not combine with --data" },
        { "good", "--input-columns u --target-columns y --windw 5", "unknown option --windw (did you mean --window?)" },
        { "good", "--input-columns u --target-columns y --window 5 --outputs some", "unknown --outputs 'some' (choose auto, last or all)" },
        { "good", "--input-columns u --target-columns y --window 5 --algo lra --semantics reference --batch 2", "the reference semantics has no per-step outputs" },
        { "nul-cell", "--input-columns u --target-columns y --window 5", ":4: column 'u' holds a NUL character" },
        { "duplicate", "--input-columns u --target-columns y --window 5", ":1: the header names two columns 'u' (columns 2 and 4); rename one" },
        { "big-label", "--input-columns u --target-columns y --window 5 --classes 3", ":4: column 'y' holds 16777217, not a class label in [0, 3)" },
        { "good", "--input-columns u --target-columns y --window 5 --decimal-comma true", "--decimal-comma needs cells separated by ';' or tabs; the header row is separated by ','" },
        { "good", "--input-columns u --target-columns y --window 5 --delimiter |", "unknown --delimiter '|' (choose auto, ',', ';' or tab)" },
        { "good", "--input-columns u --target-columns y --window 5 --decimal-comma yes", "unknown --decimal-comma 'yes' (choose true or false)" },
        { "folder", "--input-columns u --target-columns y --window 5", "folder: cannot read (it is a directory, not a file)" },
        { "mismatch.npz", "", "x has 4 sequences but y has shape [3]" },
        { "data.parquet", "", "unknown data format '.parquet'" },
    };

    private string Write(string kind)
    {
        string path = Path.Combine(_dir, kind.Contains('.', StringComparison.Ordinal) ? kind : kind + ".csv");
        switch (kind)
        {
            case "mismatch.npz":
                DataTests.Npz(path, DataTests.Npy("<f4", [4, 3, 2], new byte[96]), DataTests.Npy("<i8", [3], new byte[24]));
                break;
            case "data.parquet":
                File.WriteAllText(path, "PAR1");
                break;
            case "folder":
                path = Path.Combine(_dir, kind);
                Directory.CreateDirectory(path);
                break;
            case "duplicate":
                File.WriteAllText(path, Series(40, r => $"{Good(r)},{r}").Replace("t,u,y\n", "t,u,y,u\n", StringComparison.Ordinal));
                break;
            default:
                File.WriteAllText(path, Series(40, r => (kind, r) switch
                {
                    ("empty-cell", 2) => "2,,1",
                    ("text-cell", 2) => "2,high,1",
                    ("nan-cell", 2) => "2,NaN,1",
                    ("ragged", 2) => "2,1,1,9",
                    ("nul-cell", 2) => "2,1\0,1",
                    ("big-label", _) => $"{r},{r},{(r == 2 ? 16_777_217 : r % 3)}",
                    ("constant", _) => $"{r},3,{r % 2}",
                    ("labels", _) => $"{r},{r},{(r == 20 ? 7 : r % 3)}",
                    _ => Good(r),
                }));
                break;
        }
        return path;
    }

    [Theory]
    [MemberData(nameof(BadData))]
    public void Bad_data_is_one_line_exit_2_and_nothing_written(string kind, string flags, string message)
    {
        string data = Write(kind);
        string model = Path.Combine(_dir, "m.safetensors"), metrics = Path.Combine(_dir, "m.jsonl"), checkpoint = Path.Combine(_dir, "c.safetensors");
        var before = Directory.GetFiles(_dir).Order().ToArray();
        var (code, stdout, stderr) = Run(null, ["train", "--data", data, .. flags.Split(' ', StringSplitOptions.RemoveEmptyEntries),
            "--hidden", "4", "--max-iter", "5", "--save", model, "--metrics", metrics, "--checkpoint", checkpoint, "--json"]);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(stdout);
        Assert.Equal(before, Directory.GetFiles(_dir).Order().ToArray());
    }

    [Fact]
    [Trait("Category", "Bounds")]
    public void A_file_larger_than_the_memory_it_would_need_is_refused_saying_how_much()
    {
        string data = Path.Combine(_dir, "big.csv");
        File.WriteAllText(data, Series(400_000, Good));
        var (code, _, stderr) = Run(CliTests.Heap(64),
            "train", "--data", data, "--input-columns", "u", "--target-columns", "y", "--window", "20", "--max-iter", "1");
        Assert.Equal(2, code);
        Assert.Matches(@"reading it would need \d+ MB, more than half of the \d+ MB this process may use", stderr);
    }

    /// <summary>
    /// What a CSV read costs is priced before it is paid, in a 64 MB heap (32 MB of budget): a file of
    /// many small cells reads into its selected values (the string-per-cell reader this replaced was
    /// priced at four times the file and refused it); a row of three million cells is refused saying
    /// what Sep's buffers for it would need; a row beyond what Sep holds is refused by line. Never an
    /// OutOfMemoryException.
    /// </summary>
    [Fact]
    [Trait("Category", "Bounds")]
    public void A_csv_of_many_small_cells_reads_in_a_small_heap_or_is_refused_saying_how_much()
    {
        var heap = CliTests.Heap(64);
        string wide = Path.Combine(_dir, "wide.csv");
        using (var writer = new StreamWriter(wide))
        {
            writer.Write(string.Join(',', Enumerable.Range(0, 20).Select(c => $"c{c}")) + "\n");
            var row = new StringBuilder();
            for (int r = 0; r < 300_000; r++)
            {
                row.Clear();
                for (int c = 0; c < 20; c++) row.Append((char)('0' + (r * 7 + c * 3) % 10)).Append(c == 19 ? '\n' : ',');
                writer.Write(row);
            }
        }
        var (code, _, stderr) = Run(heap, "train", "--data", wide, "--input-columns", "c3", "--target-columns", "c7", "--window", "1", "--horizon", "0",
            "--hidden", "4", "--max-iter", "1", "--quiet");
        Assert.True(code == 0, stderr);

        string line = Path.Combine(_dir, "line.csv");
        File.WriteAllText(line, "u,y," + string.Concat(Enumerable.Repeat("1,", 3_000_000)) + "1\n" + string.Concat(Enumerable.Repeat("1,", 3_000_002)) + "1\n");
        (code, _, stderr) = Run(heap, "train", "--data", line, "--input-columns", "u", "--target-columns", "y", "--window", "1", "--max-iter", "1");
        Assert.Equal(2, code);
        Assert.Matches(@"line\.csv: reading it would need \d+ MB, more than half of the \d+ MB this process may use", stderr);

        File.WriteAllText(line, "u,y\n1,2\n" + string.Concat(Enumerable.Repeat("1,", 4_200_000)) + "1\n");
        (code, _, stderr) = Run(heap, "train", "--data", line, "--input-columns", "u", "--target-columns", "y", "--window", "1", "--max-iter", "1");
        Assert.Equal(2, code);
        Assert.Contains("line.csv:3: the row that starts here is longer than 8388608 bytes", stderr);
    }

    /// <summary>A ';'-separated file with decimal commas trains; the model records how it was read (and a default run records neither option), so eval reads it again untold.</summary>
    [Fact]
    public void A_semicolon_file_with_decimal_commas_trains_and_the_model_remembers_how_to_read_it()
    {
        string data = Path.Combine(_dir, "comma.csv"), model = Path.Combine(_dir, "m.safetensors");
        File.WriteAllText(data, Series(40, r => Good(r).Replace(',', ';').Replace('.', ',')).Replace("t,u,y", "t;u;y", StringComparison.Ordinal));
        string[] read = ["--data", data, "--input-columns", "u", "--target-columns", "y", "--window", "5"];
        var (code, stdout, stderr) = Run(null, ["train", .. read, "--decimal-comma", "true", "--hidden", "4", "--max-iter", "5", "--save", model, "--json", "--quiet"]);
        Assert.True(code == 0, stderr);
        using (var report = JsonDocument.Parse(stdout))
        {
            Assert.Equal("true", report.RootElement.GetProperty("decimal_comma").GetString());
            Assert.False(report.RootElement.TryGetProperty("delimiter", out _));
        }
        var (evalCode, evalOut, evalErr) = Run(null, "eval", "--model", model, "--data", data, "--json");
        Assert.True(evalCode == 0, evalErr);
        using (var eval = JsonDocument.Parse(evalOut))
            Assert.True(double.IsFinite(eval.RootElement.GetProperty("r2").GetDouble()));

        (code, stdout, stderr) = Run(null, ["train", .. read, "--hidden", "4", "--max-iter", "5", "--json", "--quiet"]);
        Assert.Equal(2, code);
        // Row 0's u is 0, row 1's 0,2955...: without --decimal-comma it is refused at line 3, with the hint.
        Assert.Contains("comma.csv:3: column 'u' holds '0,29", stderr);
        Assert.Contains("not a number (a decimal comma? add --decimal-comma)", stderr);

        string plain = Path.Combine(_dir, "plain.csv");
        File.WriteAllText(plain, Series(40, Good));
        (code, stdout, stderr) = Run(null, "train", "--data", plain, "--input-columns", "u", "--target-columns", "y", "--window", "5", "--hidden", "4", "--max-iter", "5", "--json", "--quiet");
        Assert.True(code == 0, stderr);
        using (var report = JsonDocument.Parse(stdout))
        {
            Assert.False(report.RootElement.TryGetProperty("decimal_comma", out _));
            Assert.False(report.RootElement.TryGetProperty("delimiter", out _));
        }
    }

    /// <summary>On data with --epochs, the progress line's ETA is to the epochs' budget and names it.</summary>
    [Fact]
    public void The_eta_of_a_run_on_data_names_its_epochs()
    {
        var (code, _, stderr) = Run(null, "train", "--data", Sunspots, "--input-columns", "SUNACTIVITY", "--target-columns", "SUNACTIVITY",
            "--window", "20", "--hidden", "8", "--epochs", "2", "--check-every", "5", "--patience", "7");
        Assert.True(code == 0, stderr);
        var progress = stderr.Split('\n').Where(l => l.StartsWith("it ", StringComparison.Ordinal)).ToList();
        Assert.Matches(@"ETA (≤ \d+s|< 1s) \(2 epochs; sooner after [67] checks without a new best\)", progress[1]);
        // The epochs beside the iterations, as Keras shows them: 231 training windows, batches of 20.
        Assert.StartsWith(FormattableString.Invariant($"it       5/24 epoch {5 * 20 / 231.0:F1}/2 "), progress[0], StringComparison.Ordinal);
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void Sunspots_forecasting_beats_both_baselines_and_predict_and_eval_use_the_saved_model()
    {
        string model = Path.Combine(_dir, "sun.safetensors"), predictions = Path.Combine(_dir, "p.csv"), metrics = Path.Combine(_dir, "m.jsonl");
        var (code, stdout, stderr) = Run(null, "train", "--data", Sunspots, "--input-columns", "SUNACTIVITY", "--target-columns", "SUNACTIVITY",
            "--window", "20", "--washout", "10", "--hidden", "32", "--batch", "16", "--optimizer", "adam", "--lr", "0.003", "--max-iter", "1500",
            "--check-every", "50", "--save", model, "--metrics", metrics, "--json", "--quiet");
        Assert.True(code == 0, stderr);
        using var report = JsonDocument.Parse(stdout);
        var r = report.RootElement;
        double r2 = r.GetProperty("valid_r2").GetDouble(), mean = r.GetProperty("baseline_r2_mean").GetDouble(),
            persistence = r.GetProperty("baseline_r2_persistence").GetDouble();
        Assert.True(r2 > persistence + 0.05 && persistence > mean, $"R² {r2}, persistence {persistence}, mean {mean}");
        Assert.True(r.GetProperty("valid_rmse").GetDouble() > 0);
        Assert.Equal(Sunspots, r.GetProperty("data").GetString());
        Assert.Equal(20, r.GetProperty("window").GetInt32());
        long best = r.GetProperty("best_iteration").GetInt64();
        Assert.True(best > 0 && best % 50 == 0);
        using (var line = JsonDocument.Parse(File.ReadLines(metrics).First()))
            Assert.True(line.RootElement.TryGetProperty("valid_r2", out _));

        // eval reads the window, columns and washout from the model, and the normalisation with it; on
        // the training file its figures are the validation windows', the training run's own.
        var (evalCode, evalOut, evalErr) = Run(null, "eval", "--model", model, "--data", Sunspots, "--json");
        Assert.True(evalCode == 0, evalErr);
        using var eval = JsonDocument.Parse(evalOut);
        Assert.True(eval.RootElement.GetProperty("training_file").GetBoolean());
        Assert.Equal(r2, eval.RootElement.GetProperty("r2").GetDouble(), 1e-12);
        Assert.True(eval.RootElement.GetProperty("r2").GetDouble() > eval.RootElement.GetProperty("baseline_r2_persistence").GetDouble());

        var (predictCode, _, predictErr) = Run(null, "predict", "--model", model, "--data", Sunspots, "--out", predictions);
        Assert.True(predictCode == 0, predictErr);
        var rows = File.ReadAllLines(predictions);
        Assert.Equal("sequence,step,row,part,SUNACTIVITY", rows[0]);
        // 309 years: 309 - 20 - 1 + 1 = 289 windows of steps 10..19, the last round(0.2 x 289) = 58 held out in training.
        Assert.Equal(1 + 289 * 10, rows.Length);
        Assert.StartsWith("0,10,11,train,", rows[1], StringComparison.Ordinal);
        Assert.StartsWith("231,10,242,valid,", rows[1 + 231 * 10], StringComparison.Ordinal);
        // In original units: sunspot numbers, not standardised values.
        var values = rows.Skip(1).Select(l => double.Parse(l.Split(',')[4], CultureInfo.InvariantCulture)).ToArray();
        Assert.InRange(values.Average(), 30, 80);

        // The streaming API (and through it the C ABI) applies the model's normalisation: window 0
        // stepped year by year gives predict's numbers.
        var state = new FastLra.Model.RnnState(FastLra.Model.RnnModel.Load(model));
        var series = File.ReadLines(Sunspots).Skip(1).Select(l => float.Parse(l.Split(',')[1], CultureInfo.InvariantCulture)).ToArray();
        var output = new float[1];
        for (int t = 0; t < 20; t++)
        {
            state.Step([series[t]], output);
            if (t >= 10) Assert.Equal(values[t - 10], output[0], 1e-3 * Math.Max(1, Math.Abs(output[0])));
        }

        string npy = Path.Combine(_dir, "p.npy");
        Assert.Equal(0, Run(null, "predict", "--model", model, "--data", Sunspots, "--out", npy).Code);
        var array = NumericArray.ParseNpy(File.ReadAllBytes(npy), npy, 1 << 20);
        Assert.Equal(new[] { 289, 10, 1 }, array.Shape);
        Assert.Equal(values[0], array.Data[0], 1e-3);
    }

    /// <summary>A regression run that diverges before its first check has no validation figures: nothing that reads as RMSE 0, a perfect fit.</summary>
    [Fact]
    public void A_diverged_regression_run_reports_no_figures_that_look_like_a_perfect_fit()
    {
        string[] run = ["--data", Sunspots, "--input-columns", "SUNACTIVITY", "--target-columns", "SUNACTIVITY", "--window", "20", "--hidden", "8",
            "--optimizer", "sgd", "--lr", "1e30", "--clip", "0", "--max-iter", "300", "--check-every", "100"];
        var (code, stdout, stderr) = Run(null, ["train", .. run, "--json"]);
        Assert.Equal(1, code);
        Assert.Empty(stdout);
        Assert.Matches(@"^data: .*\nfastlra: training diverged at iteration \d+: the loss became (Infinity|NaN); try a smaller --lr or a --clip bound\.\n$", stderr);

        // A library run says so too, and its figures are NaN, not zeros.
        var spec = FastLra.Cli.CliArguments.Parse(FastLra.Cli.Command.Find("train")!, [.. run]).Apply(FastLra.Training.RunSpec.Default);
        var fit = Trainer.Fit(spec);
        Assert.Equal(StopReason.Diverged, fit.Result.StopReason);
        Assert.True(double.IsNaN(fit.Result.Valid.R2) && double.IsNaN(fit.Result.Valid.Mse) && double.IsNaN(fit.Result.FinalValidLoss));
        Assert.Equal(0, fit.Result.Valid.Count);
        Assert.EndsWith("no validation check ran", fit.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("RMSE", fit.ToString(), StringComparison.Ordinal);

        // A sweep records NaN and says no check ran.
        string sweep = Path.Combine(_dir, "sweep");
        string grid = JsonSerializer.Serialize(new Dictionary<string, object[]>
        {
            ["data"] = [Sunspots], ["input-columns"] = ["SUNACTIVITY"], ["target-columns"] = ["SUNACTIVITY"], ["window"] = [20], ["hidden"] = [8],
            ["optimizer"] = ["sgd"], ["lr"] = [1e30], ["clip"] = [0], ["max-iter"] = [300],
        });
        var (sweepCode, _, sweepErr) = Run(null, "sweep", "--grid", grid, "--out", sweep, "--workers", "1");
        Assert.True(sweepCode == 0, sweepErr);
        Assert.Matches(@": diverged at iteration \d+, no validation check ran, ", sweepErr);
        using var line = JsonDocument.Parse(File.ReadLines(Path.Combine(sweep, "runs.jsonl")).Single());
        var result = line.RootElement.GetProperty("run");
        Assert.Equal("NaN", result.GetProperty("valid_rmse").GetString());
        Assert.Equal("NaN", result.GetProperty("valid_r2").GetString());
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void Infer_refuses_npy_and_csv_inputs_instead_of_misreading_them()
    {
        string model = Path.Combine(_dir, "m.safetensors");
        Assert.Equal(0, Run(null, "train", "--task", "adding", "--length", "10", "--hidden", "4", "--max-iter", "1", "--valid-size", "5", "--save", model, "--quiet").Code);
        string npy = Path.Combine(_dir, "x.npy"), csv = Path.Combine(_dir, "x.csv"), output = Path.Combine(_dir, "y.bin");
        File.WriteAllBytes(npy, DataTests.Npy("<f4", [2, 2], new byte[16]));
        File.WriteAllText(csv, "a,b\n0.5,1\n0.25,0\n");
        var (code, _, err) = Run(null, "infer", "--model", model, "--inputs", npy, "--outputs", output);
        Assert.Equal(2, code);
        Assert.Contains("is an .npy array, not raw float32", err);
        (code, _, err) = Run(null, "infer", "--model", model, "--inputs", csv, "--outputs", output);
        Assert.Equal(2, code);
        Assert.Contains("looks like text (CSV?)", err);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void A_data_run_resumes_bit_for_bit_best_check_included()
    {
        string data = Path.Combine(_dir, "series.csv");
        File.WriteAllText(data, Series(120, Good));
        string path = Path.Combine(_dir, "c.safetensors");
        RunSpec Spec(long max) => new(new DataFileSource(data) { File = new DataFileOptions { InputColumns = "u", TargetColumns = "y", Window = 8, Washout = 2 } })
        {
            Options = new TrainingOptions { Hidden = 8, Batch = 5, CheckEvery = 7, MaxIterations = max, Optimizer = OptimizerKind.Adam },
        };
        var straight = TrainingRun.Start(Spec(40));
        var straightResult = straight.Run();

        TrainingRun.Start(Spec(20) with { Checkpoint = new CheckpointPolicy(path, 0) }).Run();
        var resumed = TrainingRun.Resume(path, maxIterations: 40);
        var resumedResult = resumed.Run();
        Assert.Equal(straight.Parameters.Data.ToArray(), resumed.Parameters.Data.ToArray());
        Assert.Equal(straight.BestParameters!.Data.ToArray(), resumed.BestParameters!.Data.ToArray());
        Assert.Equal(straightResult.BestIteration, resumedResult.BestIteration);
        Assert.Equal(straightResult.Valid, resumedResult.Valid);
        Assert.Equal(straight.Spec with { Checkpoint = new CheckpointPolicy(path) }, resumed.Spec);
    }
}
