using System.Numerics.Tensors;

namespace FastLra.Kernels;

/// <summary>
/// Global losses on the output o (B x O) against targets y (B x O), with their gradients
/// G_o = dE/do and the task error count. Small (B x O), so written plainly.
/// </summary>
internal static class GlobalLoss
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
        int count = batch * outputs;
        if (o.Length < count || y.Length < count || gradient.Length < count) ThrowHelper.ShapeMismatch();
        if (batch == 0) return 0f;
        // Rows are often a few values wide and many (R x B with outputs at every step): the rows of a
        // chunk are shifted by their maxima, and their exponentials and the logarithms of their sums
        // each taken in one vector pass.
        const int Chunk = 256;
        Span<float> sums = stackalloc float[Chunk], logs = stackalloc float[Chunk];
        double total = 0;
        float inverseBatch = 1f / batch;
        for (int first = 0; first < batch; first += Chunk)
        {
            int rows = Math.Min(Chunk, batch - first), start = first * outputs, end = start + rows * outputs;
            var e = gradient[start..end];
            for (int k = start; k < end; k += outputs)
            {
                float max = RowMax(o, k, outputs);
                for (int j = k; j < k + outputs; j++) gradient[j] = o[j] - max;
            }
            TensorPrimitives.Exp(e, e);
            for (int r = 0; r < rows; r++)
            {
                float sum = 0f;
                for (int j = r * outputs; j < (r + 1) * outputs; j++) sum += e[j];
                sums[r] = sum;
            }
            TensorPrimitives.Log(sums[..rows], logs[..rows]);
            for (int r = 0, k = start; r < rows; r++, k += outputs)
            {
                // log softmax_j = o_j - max - log Σ exp(o - max); the gradient is softmax Σy - y, as in Backward.
                float ySum = 0f;
                for (int j = k; j < k + outputs; j++) ySum += y[j];
                float shift = RowMax(o, k, outputs) + logs[r], scale = ySum / sums[r];
                // Every target value counts (0 adds nothing) without a branch on it.
                float row = 0f;
                for (int j = k; j < k + outputs; j++)
                {
                    row += y[j] * (o[j] - shift);
                    gradient[j] = (gradient[j] * scale - y[j]) * inverseBatch;
                }
                total -= row;
            }
        }
        return (float)(total / batch);
    }

    /// <summary>
    /// The largest of v[start .. start + length), branch-free (MaxNative: one instruction; its NaN
    /// rule does not matter, a NaN output makes the loss NaN either way), so rows of random labels
    /// cost no mispredictions.
    /// </summary>
    private static float RowMax(ReadOnlySpan<float> v, int start, int length)
    {
        float max = v[start];
        for (int j = start + 1; j < start + length; j++) max = float.MaxNative(max, v[j]);
        return max;
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
