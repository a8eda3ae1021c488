using System.Text;
using FastLra.Data;
using FastLra.IO;
using FastLra.Interchange;
using FastLra.Model;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// Hostile input: seeded mutations of valid weight files (bit flips, byte rewrites, truncation,
/// extension, header-length and JSON edits) must each load or fail with a
/// <see cref="WeightFileException"/>; nothing else may escape, and nothing may allocate beyond
/// the file. FASTLRA_FUZZ_CASES raises the count for a longer run (docs/deployment.md).
/// </summary>
[Trait("Category", "Slow")]
public class FuzzTests
{
    private static byte[] Valid(bool metadata)
    {
        var p = new ParameterSet(new RnnShape(3, 4, 2));
        for (int i = 0; i < p.Data.Length; i++) p.Data[i] = i * 0.5f - 2f;
        string path = Path.Combine(Path.GetTempPath(), $"fastlra-fuzz-{Guid.NewGuid():N}.safetensors");
        try
        {
            ModelFile.Save(path, p, null, metadata ? [new("task", "adding"), new("hidden", "4")] : null);
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static readonly string[] JsonTokens = ["{", "}", "[", "]", ",", ":", "\"", "-1", "1e309", "99999999999999999999", "null", "\"F32\"", "\"I64\"", "\\u0000", "__metadata__"];

    private static byte[] Mutate(byte[] original, Random rng)
    {
        var bytes = (byte[])original.Clone();
        int header = (int)BitConverter.ToUInt64(bytes, 0);
        switch (rng.Next(8))
        {
            case 0: // flip bits anywhere
                for (int i = rng.Next(1, 8); i > 0; i--) bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8));
                return bytes;
            case 1: // rewrite header bytes
                for (int i = rng.Next(1, 6); i > 0; i--) bytes[8 + rng.Next(header)] = (byte)rng.Next(256);
                return bytes;
            case 2: // truncate
                return bytes[..rng.Next(bytes.Length)];
            case 3: // extend with junk
                return [.. bytes, .. Enumerable.Range(0, rng.Next(1, 64)).Select(_ => (byte)rng.Next(256))];
            case 4: // lie about the header length
                BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), rng.Next(3) switch { 0 => (ulong)rng.Next(bytes.Length * 2), 1 => ulong.MaxValue - (ulong)rng.Next(100), _ => (ulong)rng.NextInt64() });
                return bytes;
            case 5: // splice a JSON token into the header
            {
                string text = Encoding.UTF8.GetString(bytes, 8, header);
                int at = rng.Next(text.Length);
                text = text[..at] + JsonTokens[rng.Next(JsonTokens.Length)] + text[Math.Clamp(at + rng.Next(0, 4), at, text.Length)..];
                return Rebuild(text, bytes.AsSpan(8 + header));
            }
            case 6: // change a number in the header
            {
                string text = Encoding.UTF8.GetString(bytes, 8, header);
                var digits = Enumerable.Range(0, text.Length).Where(i => char.IsDigit(text[i])).ToArray();
                int at = digits[rng.Next(digits.Length)];
                text = text[..at] + rng.Next(-5, 200).ToString() + text[(at + 1)..];
                return Rebuild(text, bytes.AsSpan(8 + header));
            }
            default: // drop a slice of the data
            {
                int start = 8 + header + rng.Next(Math.Max(1, bytes.Length - 8 - header));
                int length = rng.Next(1, 16);
                return [.. bytes[..Math.Min(start, bytes.Length)], .. bytes[Math.Min(bytes.Length, start + length)..]];
            }
        }
    }

    private static byte[] Rebuild(string header, ReadOnlySpan<byte> data)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Length];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)h.Length);
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes.AsSpan(8 + h.Length));
        return bytes;
    }

    [Fact]
    public void Ten_thousand_mutated_files_load_or_fail_cleanly()
    {
        int cases = int.TryParse(Environment.GetEnvironmentVariable("FASTLRA_FUZZ_CASES"), out int n) ? n : 10_000;
        var originals = new[] { Valid(metadata: true), Valid(metadata: false) };
        var rng = new Random(20261125);
        int loaded = 0, refused = 0;
        long before = GC.GetTotalAllocatedBytes(precise: false);
        for (int i = 0; i < cases; i++)
        {
            byte[] bytes = Mutate(originals[i % 2], rng);
            try
            {
                var (model, _) = ModelFile.Read(new SafeTensors.SafeTensorsFile($"case{i}", bytes));
                Assert.True(model.Weights.Shape.Count > 0);
                loaded++;
            }
            catch (WeightFileException e)
            {
                Assert.StartsWith($"case{i}: ", e.Message);
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"case {i}: {e.GetType().Name} escaped: {e.Message}\nfile: {Convert.ToBase64String(bytes)}");
            }
        }
        long allocated = GC.GetTotalAllocatedBytes(precise: false) - before;
        Assert.Equal(cases, loaded + refused);
        Assert.True(refused > cases / 2, $"only {refused} of {cases} mutations were refused");
        // Bounded work: well under a megabyte per case for files of a few hundred bytes.
        Assert.True(allocated < (long)cases * 1_000_000, $"{allocated} bytes allocated over {cases} cases");
    }
}

/// <summary>The .npz reader under the same kind of seeded mutation (FASTLRA_FUZZ_CASES scales it too).</summary>
[Trait("Category", "Slow")]
public class NpzFuzzTests
{
    [Fact]
    public void Mutated_npz_archives_load_or_fail_cleanly()
    {
        int cases = int.TryParse(Environment.GetEnvironmentVariable("FASTLRA_FUZZ_CASES"), out int n) ? n / 10 : 1_000;
        var p = new ParameterSet(new RnnShape(3, 4, 2));
        for (int i = 0; i < p.Data.Length; i++) p.Data[i] = i;
        string dir = Directory.CreateTempSubdirectory("fastlra-npzfuzz-").FullName;
        try
        {
            string valid = Path.Combine(dir, "valid.npz");
            WeightFormats.WriteNpz(valid, WeightFormats.ToTorch(p));
            byte[] original = File.ReadAllBytes(valid);
            var rng = new Random(7);
            string path = Path.Combine(dir, "case.npz");
            for (int c = 0; c < cases; c++)
            {
                var bytes = (byte[])original.Clone();
                if (rng.Next(4) == 0) bytes = bytes[..rng.Next(bytes.Length)];
                else for (int k = rng.Next(1, 6); k > 0; k--) bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8));
                File.WriteAllBytes(path, bytes);
                try
                {
                    WeightFormats.ToParameters(WeightFormats.ReadTensors(path), path);
                }
                catch (WeightFileException)
                {
                }
                catch (Exception e)
                {
                    Assert.Fail($"case {c}: {e.GetType().Name} escaped: {e.Message}\nfile: {Convert.ToBase64String(bytes)}");
                }
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

/// <summary>
/// The data readers (.npz, .safetensors, CSV) under seeded mutation: each file loads or fails with
/// a <see cref="DataFormatException"/> naming it; nothing else escapes (FASTLRA_FUZZ_CASES scales it).
/// </summary>
[Trait("Category", "Slow")]
public class DataFuzzTests
{
    private static readonly string[] CsvTokens =
    [
        ",", "\n", "\r\n", "\r", "\"", "\"\"", "\",\"", "NaN", "inf", "-", "1e39", "abc", "", " ", "\t", ";", "7", "0.5", "1,5", ",,", "\n\n", "\0", "\uFEFF", "16777217",
        "\"\n\"", "é",
    ];

    private static void Fuzz(string extension, byte[] original, Func<byte[], Random, byte[]> mutate, DataFileOptions options, int cases)
    {
        string dir = Directory.CreateTempSubdirectory("fastlra-datafuzz-").FullName;
        try
        {
            string path = Path.Combine(dir, "case" + extension);
            var rng = new Random(20261207);
            int refused = 0;
            for (int c = 0; c < cases; c++)
            {
                byte[] bytes = mutate(original, rng);
                File.WriteAllBytes(path, bytes);
                try
                {
                    using var data = DataFiles.Read(path, options).Data;
                    Assert.True(data.Count > 0);
                    foreach (float v in data.X)
                        if (!float.IsFinite(v) && !options.AllowNonFinite) Assert.Fail($"{extension} case {c}: a non-finite input was accepted");
                }
                catch (DataFormatException e)
                {
                    Assert.StartsWith(path, e.Message);
                    refused++;
                }
                catch (Exception e)
                {
                    Assert.Fail($"{extension} case {c}: {e.GetType().Name} escaped: {e.Message}\nfile: {Convert.ToBase64String(bytes)}");
                }
            }
            Assert.True(refused > 0, $"no {extension} mutation was refused");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    internal static int Cases(int share) =>
        int.TryParse(Environment.GetEnvironmentVariable("FASTLRA_FUZZ_CASES"), out int n) ? n / share : 10_000 / share;

    internal static byte[] FlipOrCut(byte[] original, Random rng)
    {
        var bytes = (byte[])original.Clone();
        if (rng.Next(4) == 0) return bytes[..rng.Next(bytes.Length)];
        for (int k = rng.Next(1, 6); k > 0; k--) bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8));
        return bytes;
    }

    [Fact]
    public void Mutated_npz_data_loads_or_fails_cleanly()
    {
        var x = DataTests.Npy("<f4", [6, 3, 2], DataTests.Floats(Enumerable.Range(0, 36).Select(v => v * 0.25f)));
        var y = DataTests.Npy("<i8", [6], DataTests.Longs([0, 1, 2, 1, 0, 2]));
        using var stream = new MemoryStream();
        Zip.Write(stream, [("x.npy", x), ("y.npy", y)]);
        Fuzz(".npz", stream.ToArray(), FlipOrCut, new DataFileOptions(), Cases(10));
    }

    [Fact]
    public void Mutated_safetensors_data_loads_or_fails_cleanly()
    {
        string path = Path.Combine(Path.GetTempPath(), $"fastlra-datafuzz-{Guid.NewGuid():N}.safetensors");
        SafeTensors.Write(path, [new SafeTensors.Entry("x", "F32", [6, 3, 2], DataTests.Floats(Enumerable.Range(0, 36).Select(v => v * 0.25f))),
            new SafeTensors.Entry("y", "F32", [6, 3, 1], DataTests.Floats(Enumerable.Range(0, 18).Select(v => (float)v)))], null);
        byte[] original = File.ReadAllBytes(path);
        File.Delete(path);
        Fuzz(".safetensors", original, FlipOrCut, new DataFileOptions { Washout = 1 }, Cases(10));
    }

    [Fact]
    public void Mutated_csv_series_load_or_fail_cleanly()
    {
        var text = new StringBuilder("t,u,y\n");
        for (int r = 0; r < 30; r++) text.Append(System.Globalization.CultureInfo.InvariantCulture, $"{r},{Math.Sin(r * 0.3):F4},{r % 3}\n");
        byte[] original = Encoding.UTF8.GetBytes(text.ToString());
        byte[] Mutate(byte[] bytes, Random rng)
        {
            string s = Encoding.UTF8.GetString(bytes);
            for (int k = rng.Next(1, 4); k > 0; k--)
            {
                int at = rng.Next(s.Length);
                s = s[..at] + CsvTokens[rng.Next(CsvTokens.Length)] + s[Math.Min(s.Length, at + rng.Next(0, 3))..];
            }
            return rng.Next(8) == 0 ? Encoding.UTF8.GetBytes(s)[..rng.Next(s.Length)] : Encoding.UTF8.GetBytes(s);
        }
        Fuzz(".csv", original, Mutate, new DataFileOptions { InputColumns = "u", TargetColumns = "y", Window = 5, Classes = 3 }, Cases(10));
        Fuzz(".csv", original, Mutate, new DataFileOptions { InputColumns = "u,t", TargetColumns = "y", Window = 4, Horizon = 2, Stride = 3 }, Cases(10));

        // A quoted, ';'-separated series with decimal commas, read with the separator found and given, and with the replay's non-finite switch.
        var semicolons = new StringBuilder("\"t\";\"u\";y\r\n");
        for (int r = 0; r < 30; r++)
            semicolons.Append(System.Globalization.CultureInfo.InvariantCulture, $"{r};\"{Math.Sin(r * 0.3):F4}\";{r % 3}\r\n");
        byte[] quoted = Encoding.UTF8.GetBytes(semicolons.Replace('.', ',').ToString());
        Fuzz(".csv", quoted, Mutate, new DataFileOptions { InputColumns = "u", TargetColumns = "y", Window = 5, DecimalComma = true }, Cases(10));
        Fuzz(".csv", quoted, Mutate, new DataFileOptions { InputColumns = "u,t", TargetColumns = "y", Window = 3, Delimiter = ';', DecimalComma = true, Classes = 3 }, Cases(10));
        Fuzz(".csv", quoted, Mutate, new DataFileOptions { InputColumns = "u", TargetColumns = "t", Window = 1, DecimalComma = true, AllowNonFinite = true }, Cases(10));
    }
}

/// <summary>
/// Saved online learners under the same seeded mutation: each loads and predicts finite numbers
/// (through a few ticks, updates among them, and as a plain model), or fails with one message
/// naming the file. Before the loaders checked finiteness, a flip in an exponent could load NaN
/// weights, state or optimiser moments, and every prediction after was NaN.
/// </summary>
[Trait("Category", "Slow")]
public class LearnerFuzzTests
{
    private static bool Finite(ReadOnlySpan<float> values)
    {
        foreach (float v in values)
            if (!float.IsFinite(v)) return false;
        return true;
    }

    [Fact]
    public void Mutated_learner_files_load_and_predict_finite_or_fail_cleanly()
    {
        string dir = Directory.CreateTempSubdirectory("fastlra-learnerfuzz-").FullName;
        try
        {
            string path = Path.Combine(dir, "learner.safetensors");
            var start = new ParameterSet(new RnnShape(2, 4, 1));
            Initialization.Orthogonal(start, 3);
            var model = new RnnModel(start, new Normalization([0.1f, -0.2f], [1.5f, 0.5f], [0.2f], [0.4f]));
            var options = new TrainingOptions { Hidden = 4, Algorithm = AlgorithmKind.Lra, K = 2, Optimizer = OptimizerKind.Adam };
            using (var learner = new OnlineLearner(options, 2, 1, window: 3, updateEvery: 2, model))
            {
                var prediction = new float[1];
                for (int t = 0; t < 10; t++) learner.Step([t * 0.1f, -t * 0.2f], [t * 0.05f], prediction);
                learner.Save(path);
            }
            byte[] original = File.ReadAllBytes(path);
            var rng = new Random(20261208);
            int refused = 0, loaded = 0, cases = DataFuzzTests.Cases(10);
            var (output, y) = (new float[1], new float[1]);
            for (int c = 0; c < cases; c++)
            {
                byte[] bytes = DataFuzzTests.FlipOrCut(original, rng);
                File.WriteAllBytes(path, bytes);
                try
                {
                    using var learner = OnlineLearner.Load(path);
                    for (int t = 0; t < 6; t++)
                    {
                        learner.Step([MathF.Sin(t), MathF.Cos(t)], [0.3f * t], output);
                        Assert.True(Finite(output), $"learner case {c}: tick {t} predicted {output[0]}\nfile: {Convert.ToBase64String(bytes)}");
                    }
                    Assert.True(Finite(learner.Parameters), $"learner case {c}: weights not finite\nfile: {Convert.ToBase64String(bytes)}");
                    var state = new RnnState(RnnModel.Load(path));
                    for (int t = 0; t < 3; t++)
                    {
                        state.Step([MathF.Sin(t), MathF.Cos(t)], y);
                        Assert.True(Finite(y), $"model case {c}: step {t} gave {y[0]}\nfile: {Convert.ToBase64String(bytes)}");
                    }
                    loaded++;
                }
                catch (WeightFileException e)
                {
                    Assert.StartsWith(path, e.Message);
                    refused++;
                }
                catch (Exception e) when (e is not Xunit.Sdk.XunitException)
                {
                    Assert.Fail($"learner case {c}: {e.GetType().Name} escaped: {e.Message}\nfile: {Convert.ToBase64String(bytes)}");
                }
            }
            Assert.True(refused > 0 && loaded > 0, $"{loaded} loaded, {refused} refused");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}


/// <summary>
/// A sweep's runs.jsonl under seeded mutation (bit flips and cuts, which tear lines and break
/// their JSON): every reader (the sweep's store, the report) keeps the lines it can read and
/// names the others; nothing escapes, and an append after the damage reads back.
/// </summary>
[Trait("Category", "Slow")]
public class SweepStoreFuzzTests
{
    [Fact]
    public void Mutated_sweep_files_read_or_skip_cleanly()
    {
        string dir = Directory.CreateTempSubdirectory("fastlra-sweepfuzz-").FullName;
        try
        {
            var store = new FastLra.Cli.Sweep.SweepStore(dir);
            var spec = new RunSpec(new TaskSource(FastLra.Tasks.TaskKind.TemporalOrder, 20)) { Options = new TrainingOptions { Algorithm = AlgorithmKind.Lra, Alpha = 0.5f } };
            for (int seed = 1; seed <= 4; seed++)
            {
                var outcome = new TrainingResult(200, 0.5, 0.7, 0.5, false, StopReason.MaxIterations, 1, 0.8);
                var result = new FastLra.Cli.SweepResult($"run{seed}", "fastlra train", FastLra.Cli.TrainReport.Create(spec with { Options = spec.Options with { Seed = (uint)seed } }, outcome, null));
                store.Append(result, [.. Enumerable.Range(1, 2).Select(c => FastLra.Cli.CliJson.Serialize(new FastLra.Cli.MetricsLine(100 * c, 1, 1, 0.5, 0.5, 1, 1, 1,
                    0.1f, [0.1f, 0.2f], [0.3f, 0.4f], [0.5f, 0.6f], [0.7f, 0.8f], GradientCosine: 0.9).Write))]);
            }
            byte[] original = File.ReadAllBytes(store.Path);
            var rng = new Random(20261207);
            int damaged = 0, cases = DataFuzzTests.Cases(10);
            for (int c = 0; c < cases; c++)
            {
                byte[] bytes = DataFuzzTests.FlipOrCut(original, rng);
                File.WriteAllBytes(store.Path, bytes);
                var warnings = new StringWriter();
                try
                {
                    int read = FastLra.Cli.Sweep.SweepStore.ReadAll(dir, warnings).Count;
                    var fresh = new FastLra.Cli.Sweep.SweepStore(dir);
                    fresh.Refresh(warnings);
                    Assert.Equal(read, fresh.Results.Count);
                    Assert.InRange(read, 0, 4);
                    if (read < 4) damaged++;
                    try
                    {
                        FastLra.Cli.Report.SweepReport.Load(dir, warnings);
                    }
                    catch (InvalidDataException e) when (read == 0)
                    {
                        Assert.Contains("no sweep results", e.Message, StringComparison.Ordinal);
                    }
                }
                catch (Exception e)
                {
                    Assert.Fail($"sweep case {c}: {e.GetType().Name} escaped: {e.Message}\nfile: {Convert.ToBase64String(bytes)}");
                }
            }
            Assert.True(damaged > 0, "no mutation damaged a line");
            // After the damage, a new line is whole: the torn tail is cut and the record reads back.
            var last = new FastLra.Cli.SweepResult("after", "fastlra train", FastLra.Cli.TrainReport.Create(spec, new TrainingResult(1, 0, 0, 0, false, StopReason.MaxIterations, 0, 0), null));
            store.Append(last, []);
            Assert.True(FastLra.Cli.Sweep.SweepStore.ReadAll(dir, TextWriter.Null).ContainsKey("after"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
