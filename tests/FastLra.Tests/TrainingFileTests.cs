using System.Globalization;
using System.Text;
using System.Text.Json;
using FastLra.Data;
using FastLra.IO;
using FastLra.Model;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// <c>eval</c> and <c>predict</c> on the file a model was trained on: the model records the file's
/// length and CRC-32C, eval reports the validation part (the training run's own figures, exactly)
/// apart from the in-sample rest, and predict marks every row.
/// </summary>
public sealed class TrainingFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-trainingfile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    /// <summary>A CSV series of 120 rows: t, u (a sine) and y (u two rows later, plus a slower cosine).</summary>
    private string Series(string name, int rows = 120)
    {
        var text = new StringBuilder("t,u,y\n");
        for (int r = 0; r < rows; r++)
            text.Append(CultureInfo.InvariantCulture, $"{1990 + r},{Math.Sin(r * 0.37):R},{Math.Sin((r + 2) * 0.37) + 0.3 * Math.Cos(r * 0.05):R}\n");
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text.ToString());
        return path;
    }

    private static readonly string[] SeriesOptions = ["--input-columns", "u", "--target-columns", "y", "--window", "8", "--washout", "2"];

    /// <summary>Trains a small model on <paramref name="data"/> and returns its path and train's JSON report.</summary>
    private (string Model, JsonElement Report) Train(string data, params string[] more)
    {
        string model = Path.Combine(_dir, "m.safetensors");
        var (code, stdout, stderr) = Run(["train", "--data", data, .. more, "--hidden", "6", "--batch", "8", "--optimizer", "adam", "--lr", "0.01",
            "--max-iter", "60", "--check-every", "20", "--save", model, "--json", "--quiet"]);
        Assert.True(code == 0, stderr);
        return (model, JsonDocument.Parse(stdout).RootElement.Clone());
    }

    private static JsonElement Eval(string model, string data, params string[] more)
    {
        var (code, stdout, stderr) = Run(["eval", "--model", model, "--data", data, .. more, "--json"]);
        Assert.True(code == 0, stderr);
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    [Fact]
    public void The_model_records_its_training_files_length_and_crc32c()
    {
        string data = Series("s.csv");
        var (model, _) = Train(data, SeriesOptions);
        var (_, metadata) = ModelFile.Read(new SafeTensors.SafeTensorsFile(model));
        var bytes = File.ReadAllBytes(data);
        Assert.Equal(bytes.Length.ToString(CultureInfo.InvariantCulture), metadata["data_bytes"]);
        Assert.Equal(FileChecksum.Of(bytes).Hex, metadata["data_crc32c"]);
    }

    [Fact]
    public void Eval_on_the_training_csv_reports_the_validation_windows_as_training_did_and_the_rest_as_in_sample()
    {
        string data = Series("s.csv");
        var (model, train) = Train(data, SeriesOptions);
        // 120 rows, window 8, horizon 1: 112 windows; round(0.2 x 112) = 22 held out, the last ones.
        var eval = Eval(model, data);
        Assert.True(eval.GetProperty("training_file").GetBoolean());
        Assert.False(eval.GetProperty("in_sample").GetBoolean());
        Assert.Equal(22, eval.GetProperty("valid_size").GetInt32());
        Assert.Equal(90, eval.GetProperty("train_sequences").GetInt32());
        // The validation part's figures are the training run's best check's, to the last digit.
        Assert.Equal(train.GetProperty("valid_r2").GetDouble(), eval.GetProperty("r2").GetDouble(), 1e-12);
        Assert.Equal(train.GetProperty("valid_rmse").GetDouble(), eval.GetProperty("rmse").GetDouble(), 1e-9);
        Assert.Equal(train.GetProperty("baseline_r2_persistence").GetDouble(), eval.GetProperty("baseline_r2_persistence").GetDouble(), 1e-12);
        double inSample = eval.GetProperty("train").GetProperty("r2").GetDouble();
        Assert.NotEqual(eval.GetProperty("r2").GetDouble(), inSample);

        var (code, text, err) = Run("eval", "--model", model, "--data", data);
        Assert.True(code == 0, err);
        var lines = text.TrimEnd().Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Equal($"{data} (112 sequences, T=8) is the file the model was trained on: sequences 0-89 were its training data and 90-111 its validation data " +
            "(training held out its windows from data row 90 on, the last 20%).", lines[0]);
        Assert.StartsWith("  validation, 22 sequences: loss ", lines[1], StringComparison.Ordinal);
        Assert.Contains(FormattableString.Invariant($"R² {train.GetProperty("valid_r2").GetDouble():F4}"), lines[1]);
        Assert.StartsWith("  training, 90 sequences (in-sample, not a measure of the model): ", lines[2], StringComparison.Ordinal);

        // Known by content: a copy elsewhere is the same file; one changed cell makes another.
        string copy = Path.Combine(_dir, "copy.csv");
        File.Copy(data, copy);
        Assert.True(Eval(model, copy).GetProperty("training_file").GetBoolean());
        var changed = File.ReadAllLines(data);
        changed[11] = "2000,0.125,0.5";
        File.WriteAllLines(copy, changed);
        var other = Eval(model, copy);
        Assert.False(other.GetProperty("training_file").GetBoolean());
        Assert.Equal(112, other.GetProperty("valid_size").GetInt32());
        Assert.False(other.TryGetProperty("train", out _));
    }

    [Fact]
    public void Eval_with_other_windows_splits_the_training_file_at_the_same_row()
    {
        string data = Series("s.csv");
        var (model, _) = Train(data, SeriesOptions);
        // Training held out the windows from data row 90 on; windows of stride 4 start at 0, 4, ..., so those from 92 on (k >= 23) are held out.
        var eval = Eval(model, data, "--stride", "4");
        int windows = (120 - 1 - 8) / 4 + 1;
        Assert.Equal(windows - 23, eval.GetProperty("valid_size").GetInt32());
        Assert.Equal(23, eval.GetProperty("train_sequences").GetInt32());
    }

    [Fact]
    public void Predict_on_the_training_file_marks_each_row_train_or_valid()
    {
        string data = Series("s.csv");
        var (model, _) = Train(data, SeriesOptions);
        string output = Path.Combine(_dir, "p.csv");
        var (code, _, err) = Run("predict", "--model", model, "--data", data, "--out", output);
        Assert.True(code == 0, err);
        Assert.Contains("is the file the model was trained on: sequences 0-89 were its training data and 90-111 its validation data", err);
        var rows = File.ReadAllLines(output);
        Assert.Equal("sequence,step,row,part,y", rows[0]);
        Assert.Equal(1 + 112 * 6, rows.Length);
        foreach (string row in rows.Skip(1))
        {
            var cells = row.Split(',');
            Assert.Equal(int.Parse(cells[0], CultureInfo.InvariantCulture) >= 90 ? "valid" : "train", cells[3]);
        }

        // Another file (the series one row shorter) is not the training file: no part column.
        var lines = File.ReadAllLines(data);
        string shorter = Path.Combine(_dir, "shorter.csv");
        File.WriteAllLines(shorter, lines[..^1]);
        (code, _, err) = Run("predict", "--model", model, "--data", shorter, "--out", output);
        Assert.True(code == 0, err);
        Assert.DoesNotContain("trained on", err);
        Assert.Equal("sequence,step,row,y", File.ReadLines(output).First());
    }

    [Fact]
    public void Eval_on_a_training_npz_finds_the_seeded_random_validation_subset()
    {
        // 50 independent sequences of 4 steps, one regression output each.
        var random = new Random(7);
        var xs = Enumerable.Range(0, 50 * 4 * 2).Select(_ => (float)random.NextDouble()).ToArray();
        var ys = Enumerable.Range(0, 50).Select(n => xs[n * 8] + xs[n * 8 + 7]).ToArray();
        string data = DataTests.Npz(Path.Combine(_dir, "d.npz"), DataTests.Npy("<f4", [50, 4, 2], DataTests.Floats(xs)), DataTests.Npy("<f4", [50, 1], DataTests.Floats(ys)));
        var (model, train) = Train(data, "--seed", "11");
        var eval = Eval(model, data);
        Assert.True(eval.GetProperty("training_file").GetBoolean());
        Assert.Equal(10, eval.GetProperty("valid_size").GetInt32());
        Assert.Equal(40, eval.GetProperty("train_sequences").GetInt32());
        Assert.Equal(train.GetProperty("valid_r2").GetDouble(), eval.GetProperty("r2").GetDouble(), 1e-12);

        // The held-out sequences are the ones DataFiles.Split held out with that seed.
        var loaded = DataFiles.Read(data, new DataFileOptions());
        var held = DataFiles.HeldOut(50, timeSeries: false, 0.2, 11);
        var (_, valid) = DataFiles.Split(loaded, 0.2, 11);
        var expected = Enumerable.Range(0, 50).Where(k => held[k]).SelectMany(k => loaded.Data.Inputs(k).ToArray()).ToArray();
        Assert.Equal(expected, valid.X.ToArray());
        string output = Path.Combine(_dir, "p.csv");
        Assert.Equal(0, Run("predict", "--model", model, "--data", data, "--out", output).Code);
        var parts = File.ReadLines(output).Skip(1).Select(l => l.Split(',')[2]).ToArray();
        Assert.Equal(Enumerable.Range(0, 50).Select(k => held[k] ? "valid" : "train"), parts);
    }

    [Fact]
    public void With_valid_data_every_sequence_of_the_training_file_is_in_sample()
    {
        string data = Series("s.csv"), valid = Series("v.csv", rows: 40);
        var (model, _) = Train(data, [.. SeriesOptions, "--valid-data", valid]);
        var eval = Eval(model, data);
        Assert.True(eval.GetProperty("training_file").GetBoolean());
        Assert.True(eval.GetProperty("in_sample").GetBoolean());
        Assert.Equal(112, eval.GetProperty("train_sequences").GetInt32());
        Assert.False(eval.TryGetProperty("train", out _));
        var (_, text, _) = Run("eval", "--model", model, "--data", data);
        Assert.Contains($"every sequence was its training data (it was validated on {valid})", text);
        Assert.Contains("  training, 112 sequences (in-sample, not a measure of the model): ", text);
        Assert.DoesNotContain("validation,", text);
        // The validation file is not the training file: its figures are plain.
        Assert.False(Eval(model, valid).GetProperty("training_file").GetBoolean());
    }

    [Fact]
    public void A_model_saved_before_the_checksum_still_loads_and_knows_its_file_by_path()
    {
        string data = Series("s.csv");
        var (model, train) = Train(data, SeriesOptions);
        var (rnn, metadata) = ModelFile.Read(new SafeTensors.SafeTensorsFile(model));
        string old = Path.Combine(_dir, "old.safetensors");
        ModelFile.Save(old, rnn, [.. metadata.Where(e => e.Key is not ("data_bytes" or "data_crc32c"))]);
        var eval = Eval(old, data);
        Assert.True(eval.GetProperty("training_file").GetBoolean());
        Assert.Equal(train.GetProperty("valid_r2").GetDouble(), eval.GetProperty("r2").GetDouble(), 1e-12);
        var (_, text, _) = Run("eval", "--model", old, "--data", data);
        Assert.Contains("is the file the model was trained on (known by its path: the model records no checksum of its data)", text);
        string copy = Path.Combine(_dir, "copy.csv");
        File.Copy(data, copy);
        Assert.False(Eval(old, copy).GetProperty("training_file").GetBoolean());
    }

    [Fact]
    public void Eval_on_data_refuses_a_seed_the_model_already_records()
    {
        var (code, _, err) = Run("eval", "--model", "m.safetensors", "--data", "d.csv", "--seed", "3");
        Assert.Equal(2, code);
        Assert.Contains("eval --data takes no --seed", err);
    }

    [Fact]
    public void Crc32c_is_the_standard_one_however_the_bytes_arrive()
    {
        Assert.Equal(0xe3069283u, FileChecksum.Of("123456789"u8).Crc32C);
        Assert.Equal("00000000", FileChecksum.Of([]).Hex);
        var bytes = Enumerable.Range(0, 1000).Select(k => (byte)(k * 7919 >> 3)).ToArray();
        var pieces = new FileChecksum();
        foreach (int size in new[] { 1, 7, 8, 9, 100, 875 }) pieces.Append(bytes.AsSpan((int)pieces.Bytes, size));
        Assert.Equal(FileChecksum.Of(bytes).Crc32C, pieces.Crc32C);
        Assert.Equal(1000, pieces.Bytes);
    }
}
