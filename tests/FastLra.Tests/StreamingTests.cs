using FastLra.Model;
using Xunit;

namespace FastLra.Tests;

public class StreamingTests
{
    private static ParameterSet Random(RnnShape shape, int seed)
    {
        var p = new ParameterSet(shape);
        var rng = new Random(seed);
        foreach (ref float v in p.Data) v = (float)(rng.NextDouble() - 0.5);
        return p;
    }

    [Theory]
    [InlineData(6, 100, 4, 20, 7)]
    [InlineData(2, 17, 1, 9, 5)]
    [InlineData(100, 33, 100, 4, 3)]
    public void Steps_equal_the_trainer_batch_forward_bit_for_bit(int inputs, int hidden, int outputs, int steps, int batch)
    {
        var shape = new RnnShape(inputs, hidden, outputs);
        var p = Random(shape, 1);
        var rng = new Random(2);
        var x = Enumerable.Range(0, steps * batch * inputs).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();
        var a = new float[steps * batch * hidden];
        var z = new float[steps * batch * hidden];
        var o = new float[batch * outputs];
        Rnn.Forward(p, x, default, steps, batch, steps - 1, a, z, o);

        var model = new RnnModel(p);
        var y = new float[outputs];
        for (int b = 0; b < batch; b++)
        {
            var state = new RnnState(model);
            for (int t = 0; t < steps; t++) state.Step(x.AsSpan((t * batch + b) * inputs, inputs), y);
            Assert.Equal(o.AsSpan(b * outputs, outputs).ToArray(), y);
            Assert.Equal(z.AsSpan(((steps - 1) * batch + b) * hidden, hidden).ToArray(), state.Hidden.ToArray());
        }
    }

    [Fact]
    public void States_sharing_a_model_are_independent_and_reset_snapshot_restore_work()
    {
        var model = new RnnModel(Random(new RnnShape(3, 8, 2), 3));
        var one = new RnnState(model);
        var two = new RnnState(model);
        var y = new float[2];
        float[] x1 = [1f, 0f, 0f], x2 = [0f, 0f, 1f];
        one.Step(x1, y);
        var snapshot = new float[8];
        one.Snapshot(snapshot);
        two.Step(x2, y);
        Assert.NotEqual(one.Hidden.ToArray(), two.Hidden.ToArray());

        one.Step(x1, y);
        var after = y.ToArray();
        one.Restore(snapshot);
        one.Step(x1, y);
        Assert.Equal(after, y); // replaying from a snapshot repeats the stream

        one.Reset();
        Assert.All(one.Hidden.ToArray(), v => Assert.Equal(0f, v));
        one.Reset(snapshot);
        Assert.Equal(snapshot, one.Hidden.ToArray());
        Assert.Throws<ArgumentException>(() => one.Restore(new float[7]));
        Assert.Throws<ArgumentException>(() => one.Step(new float[2], y));
        Assert.Throws<ArgumentException>(() => one.Step(new RnnModel(Random(new RnnShape(3, 9, 2), 4)), x1, y));
    }

    /// <summary>
    /// TryStep refuses a step whose input is NaN or infinite (or standardises to infinity, as 3e38
    /// over a deviation below 1 does): it returns false, keeps the state, and gives the last output
    /// again; every other step is Step's, bit for bit, as if the refused ones had never come. Seeded
    /// random bad steps; nothing allocates.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TryStep_refuses_a_step_that_is_not_finite_and_keeps_the_state(bool normalized)
    {
        var normalization = normalized ? new Normalization([0.5f, -1f, 0f], [0.5f, 2f, 1.5f], [0.1f, -0.1f], [3f, 0.5f]) : null;
        var model = new RnnModel(Random(new RnnShape(3, 16, 2), 7), normalization);
        var (state, clean) = (new RnnState(model), new RnnState(model));
        var (y, expected, last) = (new float[2], new float[2], new float[2]);
        var rng = new Random(normalized ? 11 : 12);
        float[] bad = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 3e38f];
        int refused = 0;
        for (int t = 0; t < 2000; t++)
        {
            float[] x = [MathF.Sin(0.3f * t), MathF.Cos(0.17f * t), 0.5f];
            if (rng.Next(8) == 0) x[rng.Next(3)] = bad[rng.Next(bad.Length)];
            bool finite = true;
            for (int i = 0; i < 3; i++) finite &= float.IsFinite(normalization is null ? x[i] : (x[i] - normalization.InputMean[i]) / normalization.InputStd[i]);
            Assert.Equal(finite, state.TryStep(x, y));
            if (finite)
            {
                clean.Step(x, expected);
                Assert.Equal(expected, y);
                y.CopyTo(last, 0);
            }
            else
            {
                refused++;
                Assert.Equal(last, y);
            }
            Assert.Equal(clean.Hidden.ToArray(), state.Hidden.ToArray());
        }
        Assert.True(refused > 150, $"{refused} refused");
        float[] good = [0.1f, 0.2f, 0.3f], nan = [0.1f, float.NaN, 0.3f];
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) state.TryStep(i % 3 == 0 ? nan : good, y);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        // A weight so large that a finite input overflows the output: refused too, the state kept.
        var huge = new ParameterSet(new RnnShape(1, 2, 1));
        huge.Wxh.Fill(10f); // h = tanh(10) twice, then y = 2 h 3e38 = Infinity
        huge.Why.Fill(3e38f);
        var overflow = new RnnState(new RnnModel(huge));
        Assert.False(overflow.TryStep([1f], new float[1]));
        Assert.Equal(new float[2], overflow.Hidden.ToArray());
    }

    /// <summary>
    /// A model file holding a NaN is refused by every command that reads one (and by the library's
    /// loaders underneath): one line naming the file, the tensor and the index, exit 2, as bad data.
    /// </summary>
    [Fact]
    public void A_model_file_holding_a_value_that_is_not_finite_is_refused_by_every_reader()
    {
        string dir = Directory.CreateTempSubdirectory("fastlra-nonfinite-").FullName;
        try
        {
            string model = Path.Combine(dir, "m.safetensors"), inputs = Path.Combine(dir, "x.bin"), csv = Path.Combine(dir, "s.csv");
            var p = Random(new RnnShape(2, 8, 1), 9);
            p.Whh[4] = float.NaN;
            ModelFile.Save(model, p, null, null);
            File.WriteAllBytes(inputs, new byte[16]);
            File.WriteAllLines(csv, ["a,b,c", .. Enumerable.Range(0, 20).Select(r => $"{r % 3},{r % 5},{r % 7}")]);
            string expected = $"fastlra: {model}: tensor 'Whh' holds NaN at index 4; every value must be finite.";
            string[][] commands =
            [
                ["infer", "--model", model, "--inputs", inputs, "--outputs", Path.Combine(dir, "y.bin")],
                ["eval", "--model", model, "--task", "adding", "--length", "10", "--valid-size", "10"],
                ["train", "--task", "adding", "--length", "10", "--hidden", "8", "--max-iter", "1", "--valid-size", "10", "--init-from", model],
                ["replay", "--data", csv, "--input-columns", "a,b", "--target-columns", "c", "--model", model, "--quiet"],
                ["export", "--model", model, "--format", "c", "--out", Path.Combine(dir, "m.h")],
                ["import", "--from", model, "--out", Path.Combine(dir, "copy.safetensors")],
            ];
            foreach (var command in commands)
            {
                var (code, stdout, err) = CliTests.Run(command);
                Assert.True(code == 2 && err.TrimEnd() == expected && stdout.Length == 0, $"{command[0]}: exit {code}, {err}");
            }
            Assert.Equal(expected["fastlra: ".Length..], Assert.Throws<FastLra.IO.WeightFileException>(() => RnnModel.Load(model)).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_step_allocates_nothing()
    {
        var model = new RnnModel(Random(new RnnShape(6, 100, 4), 5));
        var state = new RnnState(model);
        var x = new float[6];
        var y = new float[4];
        x[2] = 1f;
        state.Step(x, y);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) state.Step(x, y);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>
    /// A trainer thread publishes versions whose every parameter equals the version number; the
    /// control thread steps with whatever it acquires and checks each model is whole (all values
    /// equal) and never older than the last one it saw, allocating nothing.
    /// </summary>
    [Fact]
    public void Publication_never_shows_a_half_written_model_and_the_reader_never_allocates()
    {
        var shape = new RnnShape(6, 64, 4);
        var publisher = new ModelPublisher(new RnnModel(shape, new float[shape.Count]));
        const int versions = 3000;
        using var done = new ManualResetEventSlim();
        // The writer starts once the reader is in its loop, so the two overlap however the
        // threads are scheduled (on a loaded machine the writer could otherwise finish first).
        using var readerRunning = new ManualResetEventSlim();
        var writer = new Thread(() =>
        {
            var values = new float[shape.Count];
            readerRunning.Wait();
            for (int v = 1; v <= versions; v++)
            {
                Array.Fill(values, v);
                publisher.Publish(values);
            }
            done.Set();
        });
        string? failure = null;
        long readerAllocated = -1;
        int acquisitions = 0;
        float lastSeen = 0;
        var reader = new Thread(() =>
        {
            var state = new RnnState(publisher.Acquire());
            var x = new float[6];
            var y = new float[4];
            long before = GC.GetAllocatedBytesForCurrentThread();
            while (failure is null)
            {
                bool finished = done.IsSet;
                var model = publisher.Acquire();
                var p = model.Parameters;
                float first = p[0];
                for (int i = 1; i < p.Length; i++)
                    if (p[i] != first) { failure = $"half-written model: {first} and {p[i]}"; break; }
                if (first < lastSeen) failure = $"went back from version {lastSeen} to {first}";
                lastSeen = first;
                state.Step(model, x, y);
                acquisitions++;
                readerRunning.Set();
                if (finished && lastSeen == versions) break;
            }
            readerAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
        });
        reader.Start();
        writer.Start();
        Assert.True(writer.Join(60_000) && reader.Join(60_000), "threads did not finish");
        Assert.True(failure is null, failure);
        Assert.Equal(versions, lastSeen);
        Assert.Equal(0, readerAllocated);
        Assert.True(acquisitions > 1);
        Assert.Equal(versions, publisher.Published);
    }
}
