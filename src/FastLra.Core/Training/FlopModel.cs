namespace FastLra.Training;

/// <summary>
/// Floating-point operations of one training iteration, counting the matrix products only
/// (an FMA is 2 FLOPs; element-wise work is O(T B H) and left out). docs/performance.md derives
/// these; letters as in docs/design.md.
/// </summary>
internal static class FlopModel
{
    /// <summary>
    /// The FLOPs of one iteration of <paramref name="options"/>' trainer on batches of
    /// <paramref name="layout"/>, or NaN for a layout with outputs at every step (the model counts one output step).
    /// </summary>
    public static double Iteration(TrainingOptions options, SequenceLayout layout)
    {
        if (layout.PerStep) return double.NaN;
        int t = layout.Steps, b = options.Batch, i = layout.Inputs, h = options.Hidden, o = layout.Outputs;
        if (options.Algorithm == AlgorithmKind.Bptt) return Bptt(options.Shape(i, o), t, b);
        bool omega = options.Alpha != 0f;
        return options.Semantics == LraSemantics.Local ? LraLocal(t, b, i, h, o, options.K, omega) : LraReference(t, b, i, h, o, options.K, omega);
    }

    /// <summary>2 m k n: one product of an m x k by a k x n matrix.</summary>
    public static double Product(double m, double k, double n) => 2 * m * k * n;

    /// <summary>
    /// Forward: per step x_t Wxh and z_{t-1} Whh, then the output. Backward: dWhy and dz_{T-1},
    /// then per step dWxh, and for t &gt;= 1 dWhh and dz_{t-1}.
    /// </summary>
    public static double Bptt(int t, int b, int i, int h, int o) => Bptt(new Model.RnnShape(i, h, o), t, b);

    /// <summary>
    /// BPTT over a stack of layers of G gates: per layer, forward the input gates u Wx (every step)
    /// and h Wh (every step after the first); backward dWx, dWh and dh Whᵀ likewise, and above the
    /// first layer the gradient it hands down, dgx Wxᵀ; then the output's three products.
    /// </summary>
    public static double Bptt(Model.RnnShape shape, int t, int b)
    {
        double h = shape.Hidden, gh = shape.Gates * h, o = shape.Outputs, total = 3 * Product(b, h, o);
        for (int l = 0; l < shape.Layers; l++)
        {
            double inputs = shape.LayerInputs(l);
            total += 2 * t * Product(b, inputs, gh) + 3 * (t - 1) * Product(b, h, gh);
            if (l > 0) total += t * Product(b, gh, h);
        }
        return total;
    }

    /// <summary>
    /// The products the local semantics computes. Forward as BPTT; the output layer; the top target:
    /// K x (output, G Whyᵀ). Every step: x_tᵀ delta, and for t &gt;= 1 delta Whhᵀ (Omega's M and the
    /// first target step's) and z_{t-1}ᵀ delta, which with Omega become [z_{t-2}; L]ᵀ [s; delta]
    /// (2B rows from t = 2) and [x_{t-1}; x_t]ᵀ [s; delta]. Every step t &gt;= 1 the target search:
    /// the input term x_t Wxh, then K - 1 x (tanh(h^) Whh, G Whhᵀ); its first step comes from the
    /// update. The spec's nominal count (docs/performance.md) has one more step-update product and
    /// two more target products per step.
    /// </summary>
    public static double LraLocal(int t, int b, int i, int h, int o, int k, bool omega)
    {
        double total = t * Product(b, i, h) + (t - 1) * Product(b, h, h) + Product(b, h, o)
            + Product(b, h, o) * (omega ? 2 : 1) + k * 2 * Product(b, h, o) + Product(b, i, h);
        for (int step = 1; step < t; step++)
        {
            double whh = omega ? (step >= 2 ? 2 : 1) * Product(b, h, h) : Product(b, h, h);
            double wxh = (omega ? 2 : 1) * Product(b, i, h);
            total += Product(b, h, h) + whh + wxh + Product(b, i, h) + (k - 1) * 2 * Product(b, h, h);
        }
        return total;
    }

    /// <summary>
    /// The local semantics' forward, output and top target, plus for every l = T-1 .. 1: the
    /// step-ahead prediction (l &lt; T-1), its direct terms and the joins at a_l, a full BPTT pass to
    /// step 0 (l + 1 steps of dWxh, l of dWhh and dz), with Omega a second pass for Wxh, and the
    /// K target steps (the first from the pass: only its Omega product).
    /// </summary>
    public static double LraReference(int t, int b, int i, int h, int o, int k, bool omega)
    {
        double total = t * Product(b, i, h) + (t - 1) * Product(b, h, h) + Product(b, h, o)
            + Product(b, h, o) * (omega ? 2 : 1) + k * 2 * Product(b, h, o);
        for (int l = t - 1; l >= 1; l--)
        {
            if (l < t - 1) total += 2 * Product(b, i, h) + 5 * Product(b, h, h);
            total += (l + 1) * Product(b, i, h) + l * 2 * Product(b, h, h);
            if (omega && l < t - 1) total += (l + 1) * Product(b, i, h) + l * Product(b, h, h);
            total += Product(b, i, h) + (omega ? Product(b, h, h) : 0) + (k - 1) * (omega ? 3 : 2) * Product(b, h, h);
        }
        return total;
    }
}
