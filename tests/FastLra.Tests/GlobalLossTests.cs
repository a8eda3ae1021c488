using FastLra.Kernels;
using Xunit;

namespace FastLra.Tests;

public class GlobalLossTests
{
    [Fact]
    public void Cross_entropy_of_uniform_logits_is_log_O()
    {
        var o = new float[2 * 4];
        float[] y = [0, 1, 0, 0, 0, 0, 0, 1];
        Assert.Equal(Math.Log(4), GlobalLoss.Forward(GlobalLossKind.SoftmaxCrossEntropy, o, y, 2, 4), 1e-6);
    }

    [Fact]
    public void Cross_entropy_is_stable_for_huge_logits()
    {
        float[] o = [1000f, 0f];
        float[] y = [0f, 1f];
        Assert.Equal(1000.0, GlobalLoss.Forward(GlobalLossKind.SoftmaxCrossEntropy, o, y, 1, 2), 1e-3);
        var g = new float[2];
        GlobalLoss.Backward(GlobalLossKind.SoftmaxCrossEntropy, o, y, 1, 2, g);
        Assert.Equal([1f, -1f], g);
    }

    [Theory]
    [InlineData(GlobalLossKind.SoftmaxCrossEntropy)]
    [InlineData(GlobalLossKind.MeanSquaredError)]
    public void Backward_is_the_derivative_of_forward(GlobalLossKind kind)
    {
        const int batch = 3, outputs = 4;
        var rng = new Random(3);
        var o = Enumerable.Range(0, batch * outputs).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();
        var y = new float[batch * outputs];
        for (int b = 0; b < batch; b++) y[b * outputs + b % outputs] = 1f;
        var g = new float[o.Length];
        GlobalLoss.Backward(kind, o, y, batch, outputs, g);
        for (int i = 0; i < o.Length; i++)
        {
            float keep = o[i];
            o[i] = keep + 1e-2f;
            double up = GlobalLoss.Forward(kind, o, y, batch, outputs);
            o[i] = keep - 1e-2f;
            double down = GlobalLoss.Forward(kind, o, y, batch, outputs);
            o[i] = keep;
            Assert.Equal((up - down) / 2e-2, g[i], 1e-4);
        }
    }

    [Fact]
    public void Errors_count_argmax_mismatches_and_regression_misses()
    {
        float[] o = [0.9f, 0.1f, 0.2f, 0.8f, 0.6f, 0.4f];
        float[] y = [1f, 0f, 0f, 1f, 0f, 1f];
        Assert.Equal(1, GlobalLoss.Errors(GlobalLossKind.SoftmaxCrossEntropy, o, y, 3, 2));
        // Squared error above 0.04 counts: 0.1² no, 0.25² yes.
        Assert.Equal(1, GlobalLoss.Errors(GlobalLossKind.MeanSquaredError, [0.6f, 0.75f], [0.5f, 0.5f], 2, 1));
    }

    /// <summary>The fused pass gives Forward's loss and Backward's gradient, large logits and soft targets included.</summary>
    [Theory]
    [InlineData(GlobalLossKind.SoftmaxCrossEntropy, 1f)]
    [InlineData(GlobalLossKind.SoftmaxCrossEntropy, 80f)]
    [InlineData(GlobalLossKind.MeanSquaredError, 1f)]
    public void Forward_backward_is_forward_and_backward_in_one_pass(GlobalLossKind kind, float scale)
    {
        const int rows = 40, outputs = 5;
        var rng = new Random(9);
        var o = Enumerable.Range(0, rows * outputs).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
        var y = new float[rows * outputs];
        for (int r = 0; r < rows; r++)
        {
            y[r * outputs + r % outputs] = r % 3 == 0 ? 0.75f : 1f;
            if (r % 3 == 0) y[r * outputs + (r + 1) % outputs] = 0.25f;
        }
        var expected = new float[o.Length];
        var actual = new float[o.Length];
        GlobalLoss.Backward(kind, o, y, rows, outputs, expected);
        float loss = GlobalLoss.ForwardBackward(kind, o, y, rows, outputs, actual);
        Assert.Equal(GlobalLoss.Forward(kind, o, y, rows, outputs), loss, 1e-6f * Math.Max(1f, Math.Abs(loss)));
        for (int i = 0; i < o.Length; i++) Assert.Equal(expected[i], actual[i], 1e-7f);
    }
}
