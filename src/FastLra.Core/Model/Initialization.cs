using FastLra.Tasks;

namespace FastLra.Model;

/// <summary>
/// Seeded initialisation. The paper's one tanh layer: orthogonal (as torch.nn.init.orthogonal_ defines the result, drawn from
/// this project's own generator): fill a (rows x cols) matrix from numpy-compatible
/// <c>RandomState(seed).standard_normal</c>, transpose it to tall if needed, orthonormalise its
/// columns by modified Gram–Schmidt in double (run twice for full orthogonality), which yields
/// the Q of a QR factorisation with positive diag(R), then transpose back. The result has
/// orthonormal rows when rows &lt; cols and orthonormal columns otherwise; biases zero. Gated
/// cells and stacks of layers: PyTorch's default for nn.GRU, nn.LSTM, nn.RNN and nn.Linear, every
/// weight and bias uniform in [-1/√H, 1/√H].
/// </summary>
public static class Initialization
{
    /// <summary>The initialisation a network of <paramref name="p"/>'s shape starts from: <see cref="Orthogonal(ParameterSet, uint)"/> for the paper's one tanh layer, <see cref="Uniform"/> otherwise.</summary>
    public static void Default(ParameterSet p, uint seed)
    {
        if (p.Shape.IsSimpleTanh) Orthogonal(p, seed);
        else Uniform(p, seed);
    }

    /// <summary>Every parameter, in layout order, uniform in [-1/√H, 1/√H] from <c>RandomState(seed).uniform()</c>.</summary>
    public static void Uniform(ParameterSet p, uint seed)
    {
        var rng = new RandomState(seed);
        double bound = 1 / Math.Sqrt(p.Shape.Hidden);
        foreach (ref float v in p.Data) v = (float)((2 * rng.Uniform() - 1) * bound);
    }

    /// <summary>Wxh, Whh, Why orthogonal in that order from one generator seeded with <paramref name="seed"/>; bh, by zero.</summary>
    public static void Orthogonal(ParameterSet p, uint seed)
    {
        if (!p.Shape.IsSimpleTanh) throw new ArgumentException($"The orthogonal initialisation is the paper's one tanh layer's; {p.Shape} starts from Uniform.", nameof(p));
        var rng = new RandomState(seed);
        var shape = p.Shape;
        p.Clear();
        Orthogonal(rng, shape.Inputs, shape.Hidden, p.Wxh);
        Orthogonal(rng, shape.Hidden, shape.Hidden, p.Whh);
        Orthogonal(rng, shape.Hidden, shape.Outputs, p.Why);
    }

    /// <summary>w (rows x cols) = a random orthogonal matrix.</summary>
    internal static void Orthogonal(RandomState rng, int rows, int cols, Span<float> w)
    {
        int tall = Math.Max(rows, cols), narrow = Math.Min(rows, cols);
        // q is column-major: column j at q[j * tall ..], the orthonormalised columns of a tall matrix.
        var q = new double[tall * narrow];
        var draws = new double[rows * cols];
        for (int i = 0; i < draws.Length; i++) draws[i] = rng.StandardNormal();
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                // Element (r, c) of the drawn matrix is element (r, c) of the tall one, or (c, r) if transposed.
                var (tr, tc) = rows >= cols ? (r, c) : (c, r);
                q[tc * tall + tr] = draws[r * cols + c];
            }
        for (int pass = 0; pass < 2; pass++)
            for (int j = 0; j < narrow; j++)
            {
                var qj = q.AsSpan(j * tall, tall);
                for (int i = 0; i < j; i++)
                {
                    var qi = q.AsSpan(i * tall, tall);
                    double dot = 0;
                    for (int k = 0; k < tall; k++) dot += qi[k] * qj[k];
                    for (int k = 0; k < tall; k++) qj[k] -= dot * qi[k];
                }
                double norm = 0;
                foreach (double v in qj) norm += v * v;
                norm = Math.Sqrt(norm);
                for (int k = 0; k < tall; k++) qj[k] /= norm;
            }
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                var (tr, tc) = rows >= cols ? (r, c) : (c, r);
                w[r * cols + c] = (float)q[tc * tall + tr];
            }
    }
}
