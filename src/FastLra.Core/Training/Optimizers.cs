using System.Numerics.Tensors;
using FastLra.Model;

namespace FastLra.Training;

/// <summary>The optimisers, with PyTorch semantics and defaults.</summary>
public enum OptimizerKind
{
    Sgd,
    Nesterov,
    RmsProp,
    Adam,
    Adagrad,
}

/// <summary>
/// One optimiser over the flat parameter layout: a step is one loop over
/// <see cref="ParameterSet.Data"/>. State buffers are allocated once, in the constructor.
/// </summary>
public abstract class Optimizer
{
    public static readonly string[] Names = ["sgd", "nesterov", "rmsprop", "adam", "adagrad"];

    protected Optimizer(float learningRate, Memory<float> state)
    {
        LearningRate = learningRate;
        _state = state;
    }

    private readonly Memory<float> _state;

    public float LearningRate { get; }

    /// <summary>Steps taken so far.</summary>
    public long StepCount { get; protected set; }

    /// <summary>All optimiser state (moment buffers back to back), for checkpoints.</summary>
    public Span<float> State => _state.Span;

    /// <summary>How many parameter-sized state buffers <paramref name="kind"/> keeps.</summary>
    public static int StateBuffers(OptimizerKind kind) => kind switch
    {
        OptimizerKind.Sgd => 0,
        OptimizerKind.Adam => 2,
        _ => 1,
    };

    public static bool TryParse(string? name, out OptimizerKind kind)
    {
        int index = Array.IndexOf(Names, name);
        kind = (OptimizerKind)Math.Max(index, 0);
        return index >= 0;
    }

    /// <summary>An optimiser over <paramref name="state"/>, which holds StateBuffers(kind) parameter-sized buffers.</summary>
    public static Optimizer Create(OptimizerKind kind, float learningRate, Memory<float> state) => kind switch
    {
        OptimizerKind.Sgd => new Sgd(learningRate, state),
        OptimizerKind.Nesterov => new Nesterov(learningRate, state),
        OptimizerKind.RmsProp => new RmsProp(learningRate, state),
        OptimizerKind.Adam => new Adam(learningRate, state),
        _ => new Adagrad(learningRate, state),
    };

    /// <summary>p -= update(g).</summary>
    public void Step(ParameterSet parameters, ParameterSet gradients)
    {
        if (State.Length < StateBuffers(Kind) * parameters.Data.Length) ThrowHelper.ShapeMismatch();
        StepCount++;
        Update(parameters.Data, gradients.Data);
    }

    /// <summary>Restores the step count of a checkpoint (state is restored through <see cref="State"/>).</summary>
    public void RestoreStepCount(long steps) => StepCount = steps;

    public abstract OptimizerKind Kind { get; }

    protected abstract void Update(Span<float> p, ReadOnlySpan<float> g);

    private sealed class Sgd(float lr, Memory<float> state) : Optimizer(lr, state)
    {
        public override OptimizerKind Kind => OptimizerKind.Sgd;

        protected override void Update(Span<float> p, ReadOnlySpan<float> g) =>
            TensorPrimitives.MultiplyAdd(g, -LearningRate, p, p);
    }

    // Momentum 0.9, dampening 0: buf = g on the first step, then 0.9 buf + g; p -= lr (g + 0.9 buf).
    private sealed class Nesterov(float lr, Memory<float> state) : Optimizer(lr, state)
    {
        public override OptimizerKind Kind => OptimizerKind.Nesterov;

        protected override void Update(Span<float> p, ReadOnlySpan<float> g)
        {
            var buf = State;
            float lr = LearningRate;
            bool first = StepCount == 1;
            for (int i = 0; i < p.Length; i++)
            {
                float b = first ? g[i] : 0.9f * buf[i] + g[i];
                buf[i] = b;
                p[i] -= lr * (g[i] + 0.9f * b);
            }
        }
    }

    // alpha 0.99, eps 1e-8: sq = 0.99 sq + 0.01 g², p -= lr g / (sqrt(sq) + eps).
    private sealed class RmsProp(float lr, Memory<float> state) : Optimizer(lr, state)
    {
        public override OptimizerKind Kind => OptimizerKind.RmsProp;

        protected override void Update(Span<float> p, ReadOnlySpan<float> g)
        {
            var sq = State;
            float lr = LearningRate;
            for (int i = 0; i < p.Length; i++)
            {
                float s = 0.99f * sq[i] + 0.01f * g[i] * g[i];
                sq[i] = s;
                p[i] -= lr * g[i] / (MathF.Sqrt(s) + 1e-8f);
            }
        }
    }

    // betas (0.9, 0.999), eps 1e-8, bias-corrected as torch.optim.Adam computes it.
    private sealed class Adam(float lr, Memory<float> state) : Optimizer(lr, state)
    {
        public override OptimizerKind Kind => OptimizerKind.Adam;

        protected override void Update(Span<float> p, ReadOnlySpan<float> g)
        {
            int n = p.Length;
            var m = State.Slice(0, n);
            var v = State.Slice(n, n);
            float stepSize = (float)(LearningRate / (1 - Math.Pow(0.9, StepCount)));
            float correction2Sqrt = (float)Math.Sqrt(1 - Math.Pow(0.999, StepCount));
            for (int i = 0; i < n; i++)
            {
                float mi = m[i] + (g[i] - m[i]) * 0.1f;
                float vi = 0.999f * v[i] + 0.001f * g[i] * g[i];
                m[i] = mi;
                v[i] = vi;
                p[i] -= stepSize * mi / (MathF.Sqrt(vi) / correction2Sqrt + 1e-8f);
            }
        }
    }

    // s += g², p -= lr g / (sqrt(s) + 1e-10).
    private sealed class Adagrad(float lr, Memory<float> state) : Optimizer(lr, state)
    {
        public override OptimizerKind Kind => OptimizerKind.Adagrad;

        protected override void Update(Span<float> p, ReadOnlySpan<float> g)
        {
            var sum = State;
            float lr = LearningRate;
            for (int i = 0; i < p.Length; i++)
            {
                float s = sum[i] + g[i] * g[i];
                sum[i] = s;
                p[i] -= lr * g[i] / (MathF.Sqrt(s) + 1e-10f);
            }
        }
    }
}
