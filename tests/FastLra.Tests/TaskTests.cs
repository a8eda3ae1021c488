using FastLra.Tasks;
using Xunit;

namespace FastLra.Tests;

/// <summary>Invariants of the generators that hold at every length and seed (the fixtures pin exact draws).</summary>
public class TaskTests
{
    [Theory]
    [InlineData(TaskKind.TemporalOrder, 10)]
    [InlineData(TaskKind.TemporalOrder, 57)]
    [InlineData(TaskKind.TemporalOrder3Bit, 19)]
    [InlineData(TaskKind.TemporalOrder3Bit, 100)]
    [InlineData(TaskKind.RandomPermutation, 1)]
    [InlineData(TaskKind.RandomPermutation, 33)]
    public void One_hot_tasks_have_one_symbol_per_step_and_a_consistent_target(TaskKind task, int length)
    {
        const int batch = 64;
        var generator = new TaskGenerator(task, length, batch, new RandomState(9));
        int inputs = generator.Inputs, outputs = generator.Outputs;
        var x = new float[length * batch * inputs];
        var y = new float[batch * outputs];
        generator.Generate(batch, x, y);
        int tenth = (int)(length * 0.1);
        for (int b = 0; b < batch; b++)
        {
            var symbols = new int[length];
            for (int t = 0; t < length; t++)
            {
                var row = x.AsSpan((t * batch + b) * inputs, inputs);
                Assert.Equal(1f, row.ToArray().Sum());
                symbols[t] = row.IndexOf(1f);
            }
            int target = y.AsSpan(b * outputs, outputs).IndexOf(1f);
            Assert.Equal(1f, y.AsSpan(b * outputs, outputs).ToArray().Sum());
            if (task == TaskKind.RandomPermutation)
            {
                Assert.Equal(target, symbols[0]);
                Assert.True(target < 2 && symbols.Skip(1).All(s => s >= 2));
                continue;
            }
            // Relevant symbols (0, 1) appear only in their windows, once each, and spell the target.
            double[] starts = task == TaskKind.TemporalOrder ? [.1, .5] : [.1, .3, .6];
            int expected = 0;
            for (int s = 0; s < starts.Length; s++)
            {
                int start = (int)(length * starts[s]);
                int[] hits = Enumerable.Range(start, tenth).Where(t => symbols[t] < 2).ToArray();
                Assert.Single(hits);
                expected += symbols[hits[0]] << s;
            }
            Assert.Equal(starts.Length, symbols.Count(v => v < 2));
            Assert.Equal(expected, target);
        }
    }

    [Fact]
    public void Adding_marks_two_values_and_targets_their_mean()
    {
        const int length = 40, batch = 32;
        var generator = new TaskGenerator(TaskKind.Adding, length, batch, new RandomState(3));
        var x = new float[length * batch * 2];
        var y = new float[batch];
        generator.Generate(batch, x, y);
        for (int b = 0; b < batch; b++)
        {
            int[] marked = Enumerable.Range(0, length).Where(t => x[(t * batch + b) * 2] == 1f).ToArray();
            Assert.Equal(2, marked.Length);
            Assert.InRange(marked[0], 0, 3);
            Assert.InRange(marked[1], 4, 19);
            Assert.Equal((x[(marked[0] * batch + b) * 2 + 1] + x[(marked[1] * batch + b) * 2 + 1]) / 2f, y[b]);
            Assert.All(Enumerable.Range(0, length), t => Assert.InRange(x[(t * batch + b) * 2 + 1], 0f, 1f));
        }
    }

    [Theory]
    [InlineData(TaskKind.TemporalOrder, 9)]
    [InlineData(TaskKind.TemporalOrder3Bit, 5)]
    [InlineData(TaskKind.Adding, 0)]
    [InlineData(TaskKind.RandomPermutation, 0)]
    public void Too_short_lengths_are_refused_with_the_reason(TaskKind task, int length)
    {
        var e = Assert.Throws<ArgumentException>(() => new TaskGenerator(task, length, 1, new RandomState(1)));
        Assert.Contains("length", e.Message);
    }

    [Fact]
    public void Generator_state_round_trips()
    {
        var a = new RandomState(77);
        for (int i = 0; i < 1000; i++) a.NextUInt32();
        a.StandardNormal();
        var key = new uint[624];
        a.GetState(key, out int index, out bool hasGauss, out double gauss);
        var b = new RandomState(1);
        b.SetState(key, index, hasGauss, gauss);
        Assert.Equal(a.StandardNormal(), b.StandardNormal());
        for (int i = 0; i < 700; i++) Assert.Equal(a.NextUInt32(), b.NextUInt32());
    }

    /// <summary>The vectorised twist renews the state exactly as the reference implementation's loop, from random states and from a seeded one.</summary>
    [Fact]
    public void Vectorised_twist_matches_the_reference_loop()
    {
        var rng = new Random(5);
        var key = new uint[624];
        var seeded = new RandomState(5489);
        seeded.GetState(key, out _, out _, out _);
        for (int round = 0; round < 20; round++)
        {
            var expected = (uint[])key.Clone();
            RandomState.TwistReference(expected);
            RandomState.Twist(key);
            Assert.Equal(expected, key);
            if (round % 2 == 1) for (int i = 0; i < key.Length; i++) key[i] = (uint)rng.NextInt64(0, 1L << 32);
        }
    }
}
