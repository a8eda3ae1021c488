using FastLra.Model;
using FastLra.Tasks;
using Xunit;

namespace FastLra.Tests;

public class InitializationTests
{
    [Theory]
    [InlineData(6, 100)]
    [InlineData(100, 100)]
    [InlineData(100, 4)]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    public void Orthogonal_matrices_have_orthonormal_rows_or_columns(int rows, int cols)
    {
        var w = new float[rows * cols];
        Initialization.Orthogonal(new RandomState(3), rows, cols, w);
        // The short side's vectors are orthonormal: W Wᵀ = I if rows <= cols, else Wᵀ W = I.
        int n = Math.Min(rows, cols), len = Math.Max(rows, cols);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double dot = 0;
                for (int k = 0; k < len; k++)
                    dot += rows <= cols ? (double)w[i * cols + k] * w[j * cols + k] : (double)w[k * cols + i] * w[k * cols + j];
                Assert.Equal(i == j ? 1.0 : 0.0, dot, 1e-5);
            }
    }

    [Fact]
    public void Parameters_are_seeded_and_biases_zero()
    {
        var shape = new RnnShape(6, 10, 4);
        var a = new ParameterSet(shape);
        var b = new ParameterSet(shape);
        var c = new ParameterSet(shape);
        Initialization.Orthogonal(a, 1);
        Initialization.Orthogonal(b, 1);
        Initialization.Orthogonal(c, 2);
        Assert.Equal(a.Data.ToArray(), b.Data.ToArray());
        Assert.NotEqual(a.Data.ToArray(), c.Data.ToArray());
        Assert.All(a.Bh.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(a.By.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Standard_normal_matches_numpy()
    {
        // numpy: np.random.RandomState(0).standard_normal(3)
        var rng = new RandomState(0);
        Assert.Equal(1.764052345967664, rng.StandardNormal(), 1e-15);
        Assert.Equal(0.4001572083672233, rng.StandardNormal(), 1e-15);
        Assert.Equal(0.9787379841057392, rng.StandardNormal(), 1e-15);
    }

    /// <summary>Gated cells and stacks start as PyTorch's do: every parameter uniform in [-1/√H, 1/√H], seeded; the paper's network stays orthogonal.</summary>
    [Theory]
    [InlineData(CellKind.Gru, 1)]
    [InlineData(CellKind.Lstm, 2)]
    [InlineData(CellKind.Tanh, 3)]
    public void Gated_cells_and_stacks_start_uniform_in_the_pytorch_bound(CellKind cell, int layers)
    {
        var shape = new RnnShape(5, 64, 3, cell, layers);
        var a = new ParameterSet(shape);
        var b = new ParameterSet(shape);
        Initialization.Default(a, 7);
        Initialization.Uniform(b, 7);
        Assert.Equal(a.Data.ToArray(), b.Data.ToArray());
        float bound = 1f / 8f;
        Assert.All(a.Data.ToArray(), v => Assert.InRange(v, -bound, bound));
        double mean = a.Data.ToArray().Average(v => (double)v), spread = a.Data.ToArray().Max() - a.Data.ToArray().Min();
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(spread, 1.9 * bound, 2 * bound);
        Assert.Throws<ArgumentException>(() => Initialization.Orthogonal(a, 7));

        var simple = new ParameterSet(new RnnShape(5, 64, 3));
        var orthogonal = new ParameterSet(simple.Shape);
        Initialization.Default(simple, 7);
        Initialization.Orthogonal(orthogonal, 7);
        Assert.Equal(orthogonal.Data.ToArray(), simple.Data.ToArray());
    }
}
