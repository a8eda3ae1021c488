using System.Globalization;
using System.Text;
using System.Text.Json;
using FastLra.Model;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary><c>fastlra replay</c>: the learner tick by tick over a recorded series, against the frozen model and persistence.</summary>
public sealed class ReplayTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-replay-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    /// <summary>A driven first-order plant whose gain doubles halfway: u drives, y responds.</summary>
    private string Plant(int rows = 600)
    {
        var csv = new StringBuilder("u,y\n");
        double y = 0;
        for (int t = 0; t < rows; t++)
        {
            double u = Math.Sin(0.11 * t) + 0.5 * Math.Sin(0.027 * t + 1);
            y = 0.8 * y + (t < rows / 2 ? 0.3 : 0.6) * Math.Tanh(u);
            csv.Append(CultureInfo.InvariantCulture, $"{u:R},{y:R}\n");
        }
        string path = Path.Combine(_dir, "plant.csv");
        File.WriteAllText(path, csv.ToString());
        return path;
    }

    private static JsonElement Json(string stdout) => JsonDocument.Parse(stdout).RootElement;

    [Fact]
    public void The_report_counts_ticks_and_updates_and_scores_the_baselines_on_the_same_ticks()
    {
        string plant = Plant();
        var (code, stdout, err) = Run("replay", "--data", plant, "--input-columns", "u,y", "--target-columns", "y", "--hidden", "8", "--algo", "lra",
            "--window", "4", "--update-every", "2", "--lr", "0.05", "--json", "--quiet");
        Assert.True(code == 0, err);
        var r = Json(stdout);
        // Horizon 1: tick t reads row t and predicts row t + 1, so 599 ticks; updates every 2 ticks once 4 are recorded.
        Assert.Equal(599, r.GetProperty("ticks").GetInt32());
        Assert.Equal(298, r.GetProperty("updates").GetInt32());
        Assert.Equal(0, r.GetProperty("skipped_updates").GetInt32());
        foreach (string name in new[] { "rmse", "rmse_frozen", "rmse_persistence", "rmse_last_quarter", "rmse_frozen_last_quarter", "rmse_persistence_last_quarter", "tick_p50_us", "tick_p99_us", "tick_max_us" })
            Assert.True(r.GetProperty(name).GetDouble() > 0, name);
        // Persistence predicts row t's y for row t + 1.
        var rows = File.ReadAllLines(plant).Skip(1).Select(l => double.Parse(l.Split(',')[1], CultureInfo.InvariantCulture)).ToArray();
        double squares = 0;
        for (int t = 0; t + 1 < rows.Length; t++) squares += ((float)rows[t] - (float)rows[t + 1]) * (double)((float)rows[t] - (float)rows[t + 1]);
        Assert.Equal(Math.Sqrt(squares / 599), r.GetProperty("rmse_persistence").GetDouble(), 6);
        // Learning online tracks the plant after its change better than the frozen start does.
        Assert.True(r.GetProperty("rmse_last_quarter").GetDouble() < r.GetProperty("rmse_frozen_last_quarter").GetDouble());
    }

    /// <summary>A gated, stacked learner replays like the tanh one, names its network, and learns the plant's change.</summary>
    [Theory]
    [InlineData("gru", 2)]
    [InlineData("lstm", 1)]
    public void A_gated_stacked_learner_replays_and_names_its_network(string cell, int layers)
    {
        string plant = Plant();
        var (code, stdout, err) = Run("replay", "--data", plant, "--input-columns", "u,y", "--target-columns", "y", "--hidden", "8", "--cell", cell,
            "--layers", layers.ToString(CultureInfo.InvariantCulture), "--window", "4", "--update-every", "2", "--lr", "0.05", "--json");
        Assert.True(code == 0, err);
        var r = Json(stdout);
        Assert.Equal(cell, r.GetProperty("cell").GetString());
        Assert.Equal(layers, r.GetProperty("layers").GetInt32());
        Assert.Equal(298, r.GetProperty("updates").GetInt32());
        Assert.Contains($"{cell} x {layers}, H=8", err, StringComparison.Ordinal);
        Assert.True(r.GetProperty("rmse_last_quarter").GetDouble() < r.GetProperty("rmse_frozen_last_quarter").GetDouble());
    }

    [Fact]
    public void Without_updates_the_learner_predicts_as_the_frozen_model_and_a_saved_learner_loads()
    {
        string plant = Plant(), model = Path.Combine(_dir, "start.safetensors"), saved = Path.Combine(_dir, "learner.safetensors");
        var start = new ParameterSet(new RnnShape(2, 6, 1));
        Initialization.Orthogonal(start, 3);
        ModelFile.Save(model, start, null, null);
        var (code, stdout, err) = Run("replay", "--data", plant, "--input-columns", "u,y", "--target-columns", "y", "--model", model,
            "--update-every", "100000", "--json", "--quiet", "--save", saved);
        Assert.True(code == 0, err);
        var r = Json(stdout);
        Assert.Equal(0, r.GetProperty("updates").GetInt32());
        Assert.Equal(r.GetProperty("rmse_frozen").GetDouble(), r.GetProperty("rmse").GetDouble());
        using var learner = OnlineLearner.Load(saved);
        Assert.Equal(599, learner.Ticks);
        Assert.Equal(start.Data.ToArray(), RnnModel.Load(saved).Parameters.ToArray());
    }

    [Fact]
    public void In_the_background_the_ticks_are_paced_and_updates_happen()
    {
        string plant = Plant(), metrics = Path.Combine(_dir, "m.jsonl");
        var (code, stdout, err) = Run("replay", "--data", plant, "--input-columns", "u,y", "--target-columns", "y", "--hidden", "8",
            "--window", "8", "--mode", "background", "--period-us", "200", "--report-every", "100", "--metrics", metrics, "--json", "--quiet");
        Assert.True(code == 0, err);
        var r = Json(stdout);
        Assert.Equal("background", r.GetProperty("mode").GetString());
        // How many updates the trainer fits in depends on the machine (and, here, on the JIT warming up):
        // at least one, and never more than came due (592: one per tick once 8 are recorded).
        int updates = r.GetProperty("updates").GetInt32(), skipped = r.GetProperty("skipped_updates").GetInt32();
        Assert.True(updates > 0 && updates + skipped <= 592, stdout);
        Assert.Equal(0, r.GetProperty("dropped_ticks").GetInt32());
        var lines = File.ReadAllLines(metrics);
        Assert.Equal(6, lines.Length);
        Assert.Equal(599, Json(lines[^1]).GetProperty("ticks").GetInt32());
    }

    [Theory]
    [InlineData("--hidden 8 --mode sometimes", "unknown --mode 'sometimes' (choose inline or background)")]
    [InlineData("--hidden 8 --window 0", "--window must be an integer in [1, 1000000], got '0'")]
    [InlineData("--hidden 8 --update-every -2", "--update-every must be an integer in [1, 2147483647], got '-2'")]
    [InlineData("--hidden 8 --algo lra --semantics reference", "replay does not take --semantics")]
    [InlineData("--hidden 8 --windw 4", "unknown option --windw (did you mean --window?)")]
    [InlineData("--hidden 8 --max-iter 4", "replay does not take --max-iter")]
    public void Bad_replays_are_one_line_and_exit_2(string flags, string message)
    {
        string plant = Plant(40);
        var (code, stdout, err) = Run(["replay", "--data", plant, "--input-columns", "u,y", "--target-columns", "y", .. flags.Split(' ')]);
        Assert.Equal(2, code);
        Assert.Contains(message, err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(stdout);
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void A_model_of_other_widths_or_hidden_with_a_model_are_refused()
    {
        string plant = Plant(40), model = Path.Combine(_dir, "m.safetensors");
        ModelFile.Save(model, new ParameterSet(new RnnShape(3, 4, 1)), null, null);
        var (code, _, err) = Run("replay", "--data", plant, "--input-columns", "u,y", "--target-columns", "y", "--model", model);
        Assert.Equal(2, code);
        Assert.Contains("has I=3, O=1; the columns give I=2, O=1", err);
        (code, _, err) = Run("replay", "--data", plant, "--input-columns", "u,y", "--target-columns", "y", "--model", model, "--hidden", "4");
        Assert.Equal(2, code);
        Assert.Contains("--model sets the network; --hidden, --cell, --layers and --seed (of a fresh network's initialisation) cannot be given with it", err);
        (code, _, err) = Run("replay", "--data", plant, "--input-columns", "u,y", "--target-columns", "y", "--model", model, "--seed", "3");
        Assert.Equal(2, code);
        Assert.Contains("--model sets the network; --hidden, --cell, --layers and --seed", err);
        (code, _, err) = Run("replay", "--input-columns", "u,y", "--target-columns", "y");
        Assert.Equal(2, code);
        Assert.Contains("replay needs --data", err);
    }

    [Fact]
    public void Replay_metrics_are_never_written_through_a_planted_link()
    {
        string plant = Plant(40), target = Path.Combine(_dir, "precious.txt"), link = Path.Combine(_dir, "m.jsonl");
        File.WriteAllText(target, "keep me");
        File.CreateSymbolicLink(link, target);
        var (code, _, err) = Run("replay", "--data", plant, "--input-columns", "u,y", "--target-columns", "y", "--hidden", "4", "--metrics", link, "--quiet");
        Assert.Equal(2, code);
        Assert.Contains("is a symbolic link", err);
        Assert.Equal("keep me", File.ReadAllText(target));
    }

    /// <summary>
    /// A recorded series with seeded bad cells (NaN, Infinity, -Infinity, 3e38, empty) in inputs
    /// and targets: the replay runs to the end (exit 0) and reports exactly the ticks whose input
    /// (row t) or target (row t + 1) is not finite as rejected; the updates that 3e38 makes
    /// infinite (--clip 0) are rolled back and reported as the library's learner counts them on the
    /// same ticks, whose weights the saved file holds bit for bit; progress lines and the summary
    /// carry the counts, and every error is finite.
    /// </summary>
    [Fact]
    public void Bad_cells_are_rejected_counted_and_the_replay_goes_on()
    {
        const int rows = 600;
        var rng = new Random(25);
        string[] bad = ["NaN", "Infinity", "-Infinity", "3e38", ""];
        var cells = new string[rows, 2];
        double level = 0;
        for (int t = 0; t < rows; t++)
        {
            double u = Math.Sin(0.11 * t) + 0.5 * Math.Sin(0.027 * t + 1);
            level = 0.8 * level + 0.3 * Math.Tanh(u);
            cells[t, 0] = u.ToString("R", CultureInfo.InvariantCulture);
            cells[t, 1] = level.ToString("R", CultureInfo.InvariantCulture);
            if (rng.Next(15) == 0) cells[t, rng.Next(2)] = bad[rng.Next(bad.Length)];
        }
        var csv = new StringBuilder("u,y\n");
        for (int t = 0; t < rows; t++) csv.Append(CultureInfo.InvariantCulture, $"{cells[t, 0]},{cells[t, 1]}\n");
        string plant = Path.Combine(_dir, "bad.csv"), saved = Path.Combine(_dir, "learner.safetensors");
        File.WriteAllText(plant, csv.ToString());
        var (code, stdout, err) = Run("replay", "--data", plant, "--input-columns", "u,y", "--target-columns", "y", "--hidden", "8", "--clip", "0",
            "--window", "4", "--report-every", "100", "--json", "--save", saved);
        Assert.True(code == 0, err);
        var r = Json(stdout);

        // The same ticks through the library's learner, with the replay's defaults.
        float Value(string cell) => cell.Length == 0 ? float.NaN : float.Parse(cell, CultureInfo.InvariantCulture);
        var learner = new OnlineLearner(new TrainingOptions { Hidden = 8, Clip = 0 }, 2, 1, window: 4, updateEvery: 1);
        var prediction = new float[1];
        int rejected = 0;
        for (int t = 0; t + 1 < rows; t++)
        {
            float[] x = [Value(cells[t, 0]), Value(cells[t, 1])], y = [Value(cells[t + 1, 1])];
            learner.Step(x, y, prediction);
            Assert.True(float.IsFinite(prediction[0]));
            if (!float.IsFinite(x[0]) || !float.IsFinite(x[1]) || !float.IsFinite(y[0])) rejected++;
        }
        Assert.Equal(599, r.GetProperty("ticks").GetInt32());
        Assert.Equal(rejected, r.GetProperty("rejected_ticks").GetInt64());
        Assert.Equal(learner.RejectedTicks, r.GetProperty("rejected_ticks").GetInt64());
        Assert.Equal(learner.RejectedUpdates, r.GetProperty("rejected_updates").GetInt64());
        Assert.Equal(learner.Updates, r.GetProperty("updates").GetInt64());
        Assert.False(r.GetProperty("diverged").GetBoolean());
        Assert.True(rejected > 40 && learner.RejectedUpdates > 0 && learner.Updates > 400, $"{rejected} rejected ticks, {learner.RejectedUpdates} rejected updates");
        foreach (string name in new[] { "rmse", "rmse_frozen", "rmse_persistence", "rmse_last_quarter" })
            Assert.True(double.IsFinite(r.GetProperty(name).GetDouble()), name);
        Assert.Equal(learner.Parameters.ToArray(), RnnModel.Load(saved).Parameters.ToArray());
        using (var loaded = OnlineLearner.Load(saved))
            Assert.Equal((learner.RejectedTicks, learner.RejectedUpdates), (loaded.RejectedTicks, loaded.RejectedUpdates));
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains($"rejected ticks {rejected}  rejected updates {learner.RejectedUpdates}", lines[^2]); // the last block's progress line
        Assert.Contains($"{rejected} ticks and {learner.RejectedUpdates} updates rejected as not finite", lines[^1]);
    }

    /// <summary>
    /// Targets of 3e38 make every window's loss infinite: every update is rolled back, the learner
    /// ends diverged, and the replay says so after its report (diverged: true), exit 1; its model,
    /// the starting one, is finite and saved.
    /// </summary>
    [Fact]
    public void A_replay_whose_learner_diverges_reports_it_and_exits_1()
    {
        var csv = new StringBuilder("u,y\n");
        for (int t = 0; t < 100; t++) csv.Append(CultureInfo.InvariantCulture, $"{Math.Sin(0.1 * t):R},3e38\n");
        string plant = Path.Combine(_dir, "huge.csv"), saved = Path.Combine(_dir, "diverged.safetensors");
        File.WriteAllText(plant, csv.ToString());
        var (code, stdout, err) = Run("replay", "--data", plant, "--input-columns", "u", "--target-columns", "y", "--hidden", "8", "--window", "4",
            "--json", "--quiet", "--save", saved);
        Assert.Equal(1, code);
        var r = Json(stdout);
        Assert.True(r.GetProperty("diverged").GetBoolean());
        Assert.Equal(0, r.GetProperty("updates").GetInt32());
        Assert.Equal(99 - 3, r.GetProperty("rejected_updates").GetInt32()); // one due each tick from the fourth
        Assert.Equal(0, r.GetProperty("rejected_ticks").GetInt32());
        Assert.Contains("fastlra: replay: the learner diverged", err.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.True(OnlineLearner.Load(saved).Diverged);
        foreach (float w in RnnModel.Load(saved).Parameters) Assert.True(float.IsFinite(w));
    }
}
