using FastLra.Model;
using FastLra.Training;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// The five optimisers against the spec's formulas evaluated in double over several steps
/// (the golden trajectories check them against PyTorch too).
/// </summary>
public class OptimizerTests
{
    private static double[] Expected(OptimizerKind kind, double lr, double[] p0, double[][] grads)
    {
        var p = (double[])p0.Clone();
        var s1 = new double[p.Length];
        var s2 = new double[p.Length];
        for (int t = 1; t <= grads.Length; t++)
        {
            var g = grads[t - 1];
            for (int i = 0; i < p.Length; i++)
            {
                switch (kind)
                {
                    case OptimizerKind.Sgd: p[i] -= lr * g[i]; break;
                    case OptimizerKind.Nesterov:
                        s1[i] = t == 1 ? g[i] : 0.9 * s1[i] + g[i];
                        p[i] -= lr * (g[i] + 0.9 * s1[i]);
                        break;
                    case OptimizerKind.RmsProp:
                        s1[i] = 0.99 * s1[i] + 0.01 * g[i] * g[i];
                        p[i] -= lr * g[i] / (Math.Sqrt(s1[i]) + 1e-8);
                        break;
                    case OptimizerKind.Adam:
                        s1[i] = 0.9 * s1[i] + 0.1 * g[i];
                        s2[i] = 0.999 * s2[i] + 0.001 * g[i] * g[i];
                        p[i] -= lr / (1 - Math.Pow(0.9, t)) * s1[i] / (Math.Sqrt(s2[i]) / Math.Sqrt(1 - Math.Pow(0.999, t)) + 1e-8);
                        break;
                    case OptimizerKind.Adagrad:
                        s1[i] += g[i] * g[i];
                        p[i] -= lr * g[i] / (Math.Sqrt(s1[i]) + 1e-10);
                        break;
                }
            }
        }
        return p;
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.Nesterov)]
    [InlineData(OptimizerKind.RmsProp)]
    [InlineData(OptimizerKind.Adam)]
    [InlineData(OptimizerKind.Adagrad)]
    public void Steps_follow_the_pytorch_formulas(OptimizerKind kind)
    {
        var shape = new RnnShape(2, 3, 2);
        var p = new ParameterSet(shape);
        var g = new ParameterSet(shape);
        var rng = new Random(5);
        var p0 = Enumerable.Range(0, shape.Count).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var grads = Enumerable.Range(0, 5).Select(_ => Enumerable.Range(0, shape.Count).Select(_ => rng.NextDouble() - 0.5).ToArray()).ToArray();
        for (int i = 0; i < shape.Count; i++) p.Data[i] = (float)p0[i];
        var state = new float[Optimizer.StateBuffers(kind) * shape.Count];
        var optimizer = Optimizer.Create(kind, 0.05f, state);
        foreach (var grad in grads)
        {
            for (int i = 0; i < shape.Count; i++) g.Data[i] = (float)grad[i];
            optimizer.Step(p, g);
        }
        var expected = Expected(kind, 0.05, p0, grads.Select(a => a.Select(v => (double)(float)v).ToArray()).ToArray());
        for (int i = 0; i < shape.Count; i++) Assert.Equal(expected[i], p.Data[i], 2e-6);
        Assert.Equal(5, optimizer.StepCount);
    }

    [Fact]
    public void Too_little_state_is_refused()
    {
        var shape = new RnnShape(2, 3, 2);
        var optimizer = Optimizer.Create(OptimizerKind.Adam, 0.1f, new float[shape.Count]);
        Assert.Throws<ArgumentException>(() => optimizer.Step(new ParameterSet(shape), new ParameterSet(shape)));
    }
}
