namespace FastLra.Kernels;

/// <summary>Which global loss E(o, y) a task uses.</summary>
public enum GlobalLossKind
{
    /// <summary>Softmax cross-entropy averaged over the batch (one-hot tasks).</summary>
    SoftmaxCrossEntropy,

    /// <summary>Mean squared error over all B x O entries (the adding task).</summary>
    MeanSquaredError,
}

/// <summary>
/// Global losses on the output o (B x O) against targets y (B x O), with their gradients
/// G_o = dE/do and the task error count. Small (B x O), so written plainly.
/// </summary>
public static class GlobalLoss
{
    /// <summary>E(o, y).</summary>
    public static float Forward(GlobalLossKind kind, ReadOnlySpan<float> o, ReadOnlySpan<float> y, int batch, int outputs)
    {
        if (o.Length < batch * outputs || y.Length < batch * outputs) ThrowHelper.ShapeMismatch();
        if (batch == 0) return 0f;
        double total = 0;
        if (kind == GlobalLossKind.SoftmaxCrossEntropy)
        {
            for (int b = 0; b < batch; b++)
            {
                var ob = o.Slice(b * outputs, outputs);
                var yb = y.Slice(b * outputs, outputs);
                double logSum = LogSumExp(ob);
                for (int j = 0; j < outputs; j++)
                    if (yb[j] != 0f) total -= yb[j] * (ob[j] - logSum);
            }
            return (float)(total / batch);
        }
        int count = batch * outputs;
        for (int i = 0; i < count; i++)
        {
            double d = o[i] - y[i];
            total += d * d;
        }
        return (float)(total / count);
    }

    /// <summary>
    /// E(o, y), and gradient (B x O) = dE/do, in one pass: each row's exponentials serve its
    /// log-sum-exp and its softmax (with outputs at every step there are R x B rows).
    /// </summary>
    public static float ForwardBackward(GlobalLossKind kind, ReadOnlySpan<float> o, ReadOnlySpan<float> y, int batch, int outputs, Span<float> gradient)
    {
        if (kind != GlobalLossKind.SoftmaxCrossEntropy)
        {
            Backward(kind, o, y, batch, outputs, gradient);
            return Forward(kind, o, y, batch, outputs);
        }
        if (o.Length < batch * outputs || y.Length < batch * outputs || gradient.Length < batch * outputs) ThrowHelper.ShapeMismatch();
        if (batch == 0) return 0f;
        double total = 0;
        float inverseBatch = 1f / batch;
        for (int b = 0; b < batch; b++)
        {
            var ob = o.Slice(b * outputs, outputs);
            var yb = y.Slice(b * outputs, outputs);
            var gb = gradient.Slice(b * outputs, outputs);
            float max = float.NegativeInfinity, ySum = 0f;
            foreach (float v in ob) max = MathF.Max(max, v);
            double sum = 0;
            for (int j = 0; j < outputs; j++)
            {
                double e = Math.Exp(ob[j] - max);
                gb[j] = (float)e;
                sum += e;
                ySum += yb[j];
            }
            double logSum = max + Math.Log(sum);
            for (int j = 0; j < outputs; j++)
            {
                if (yb[j] != 0f) total -= yb[j] * (ob[j] - logSum);
                // dE/do = softmax Σy - y, as in Backward.
                gb[j] = ((float)(gb[j] / sum) * ySum - yb[j]) * inverseBatch;
            }
        }
        return (float)(total / batch);
    }

    /// <summary>gradient (B x O) = dE/do.</summary>
    public static void Backward(GlobalLossKind kind, ReadOnlySpan<float> o, ReadOnlySpan<float> y, int batch, int outputs, Span<float> gradient) =>
        Backward(kind, o, y, batch, outputs, batch, gradient);

    /// <summary>
    /// gradient (B x O) = dE/do for a loss whose mean runs over <paramref name="meanRows"/> rows of O
    /// (≥ B): one step's share of the per-step loss (1/R) Σ_t E_t has meanRows = R B.
    /// </summary>
    public static void Backward(GlobalLossKind kind, ReadOnlySpan<float> o, ReadOnlySpan<float> y, int batch, int outputs, int meanRows, Span<float> gradient)
    {
        if (o.Length < batch * outputs || y.Length < batch * outputs || gradient.Length < batch * outputs)
            ThrowHelper.ShapeMismatch();
        if (kind == GlobalLossKind.SoftmaxCrossEntropy)
        {
            float inverseBatch = 1f / meanRows;
            for (int b = 0; b < batch; b++)
            {
                var ob = o.Slice(b * outputs, outputs);
                var yb = y.Slice(b * outputs, outputs);
                var gb = gradient.Slice(b * outputs, outputs);
                double logSum = LogSumExp(ob);
                // Σ_j y_j is 1 for one-hot targets; kept general: dE/do = softmax·Σy - y.
                float ySum = 0f;
                foreach (float v in yb) ySum += v;
                for (int j = 0; j < outputs; j++)
                    gb[j] = ((float)Math.Exp(ob[j] - logSum) * ySum - yb[j]) * inverseBatch;
            }
            return;
        }
        int count = batch * outputs;
        float scale = 2f / (meanRows * outputs);
        for (int i = 0; i < count; i++) gradient[i] = scale * (o[i] - y[i]);
    }

    /// <summary>Number of sequences the task counts as wrong: argmax mismatch, or squared error above 0.04 for regression.</summary>
    public static int Errors(GlobalLossKind kind, ReadOnlySpan<float> o, ReadOnlySpan<float> y, int batch, int outputs)
    {
        int errors = 0;
        for (int b = 0; b < batch; b++)
        {
            var ob = o.Slice(b * outputs, outputs);
            var yb = y.Slice(b * outputs, outputs);
            if (kind == GlobalLossKind.SoftmaxCrossEntropy)
            {
                if (ArgMax(ob) != ArgMax(yb)) errors++;
            }
            else
            {
                double squared = 0;
                for (int j = 0; j < outputs; j++)
                {
                    double d = ob[j] - yb[j];
                    squared += d * d;
                }
                if (squared > 0.04) errors++;
            }
        }
        return errors;
    }

    private static double LogSumExp(ReadOnlySpan<float> v)
    {
        float max = float.NegativeInfinity;
        foreach (float x in v) max = MathF.Max(max, x);
        double sum = 0;
        foreach (float x in v) sum += Math.Exp(x - max);
        return max + Math.Log(sum);
    }

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int j = 1; j < v.Length; j++)
            if (v[j] > v[best]) best = j;
        return best;
    }
}
