using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastLra.Kernels;
using FastLra.Model;

namespace FastLra.Training;

/// <summary>The optimisers, with PyTorch semantics and defaults.</summary>
public enum OptimizerKind
{
    /// <summary>Plain stochastic gradient descent.</summary>
    Sgd,

    /// <summary>SGD with Nesterov momentum (the options' Momentum).</summary>
    Nesterov,

    /// <summary>RMSprop (torch.optim.RMSprop).</summary>
    RmsProp,

    /// <summary>Adam (torch.optim.Adam).</summary>
    Adam,

    /// <summary>Adagrad (torch.optim.Adagrad).</summary>
    Adagrad,
}

/// <summary>
/// One optimiser over the flat parameter layout: a step is one loop over
/// <see cref="ParameterSet.Data"/>. State buffers are allocated once, in the constructor.
/// </summary>
internal abstract class Optimizer
{
    public static readonly string[] Names = ["sgd", "nesterov", "rmsprop", "adam", "adagrad"];

    protected Optimizer(float learningRate, Memory<float> state)
    {
        LearningRate = learningRate;
        _state = state;
    }

    private readonly Memory<float> _state;

    /// <summary>The rate of the next step (a run sets it each iteration from its schedule).</summary>
    public float LearningRate { get; set; }

    /// <summary>Decoupled weight decay: each step first multiplies every parameter by 1 - lr·wd (AdamW's).</summary>
    public float WeightDecay { get; set; }

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
        OptimizerKind.Sgd => new RuleOptimizer<SgdRule>(kind, learningRate, state),
        OptimizerKind.Nesterov => new RuleOptimizer<NesterovRule>(kind, learningRate, state),
        OptimizerKind.RmsProp => new RuleOptimizer<RmsPropRule>(kind, learningRate, state),
        OptimizerKind.Adam => new RuleOptimizer<AdamRule>(kind, learningRate, state),
        _ => new RuleOptimizer<AdagradRule>(kind, learningRate, state),
    };

    /// <summary>p -= update(g).</summary>
    public void Step(ParameterSet parameters, ParameterSet gradients) => Step(SimdWidth.Current, parameters, gradients);

    /// <summary>As the overload without a target, at <paramref name="target"/>'s width, for tests.</summary>
    public void Step(SimdTarget target, ParameterSet parameters, ParameterSet gradients)
    {
        if (State.Length < StateBuffers(Kind) * parameters.Data.Length) ThrowHelper.ShapeMismatch();
        StepCount++;
        if (WeightDecay > 0f) TensorPrimitives.Multiply(parameters.Data, 1f - LearningRate * WeightDecay, parameters.Data);
        Update(target, parameters.Data, gradients.Data);
    }

    /// <summary>
    /// The first index of a saved <paramref name="state"/> of <paramref name="kind"/> over
    /// <paramref name="parameters"/> weights that no run can hold, or -1: a value that is not
    /// finite, or a negative one in a buffer of squared gradients (RMSprop's, Adam's second moment,
    /// Adagrad's sum), whose square root the next step would take.
    /// </summary>
    public static int FirstInvalidState(OptimizerKind kind, ReadOnlySpan<float> state, int parameters)
    {
        int squaresFrom = kind switch
        {
            OptimizerKind.RmsProp or OptimizerKind.Adagrad => 0,
            OptimizerKind.Adam => parameters,
            _ => state.Length,
        };
        for (int i = 0; i < state.Length; i++)
            if (!float.IsFinite(state[i]) || (i >= squaresFrom && state[i] < 0f)) return i;
        return -1;
    }

    /// <summary>Restores the step count of a checkpoint (state is restored through <see cref="State"/>).</summary>
    public void RestoreStepCount(long steps) => StepCount = steps;

    public abstract OptimizerKind Kind { get; }

    protected abstract void Update(SimdTarget target, Span<float> p, ReadOnlySpan<float> g);

    /// <summary>An optimiser whose step is <typeparamref name="TRule"/> over every parameter.</summary>
    private sealed class RuleOptimizer<TRule>(OptimizerKind kind, float lr, Memory<float> state) : Optimizer(lr, state)
        where TRule : struct, IRule<TRule>
    {
        public override OptimizerKind Kind => kind;

        protected override void Update(SimdTarget target, Span<float> p, ReadOnlySpan<float> g) => Apply(target, TRule.For(LearningRate, StepCount), p, g, State);
    }

    // p -= lr g.
    private readonly struct SgdRule(float lr) : IRule<SgdRule>
    {
        public static int States => 0;

        public static SgdRule For(float learningRate, long step) => new(learningRate);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Update<TV>(TV p, TV g, ref TV unused1, ref TV unused2)
            where TV : struct, IVector<TV> => p - TV.Broadcast(lr) * g;
    }

    // Momentum 0.9, dampening 0: buf = g on the first step, then 0.9 buf + g; p -= lr (g + 0.9 buf).
    private readonly struct NesterovRule(float lr, bool first) : IRule<NesterovRule>
    {
        public static int States => 1;

        public static NesterovRule For(float learningRate, long step) => new(learningRate, step == 1);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Update<TV>(TV p, TV g, ref TV buf, ref TV unused)
            where TV : struct, IVector<TV>
        {
            buf = first ? g : TV.Broadcast(0.9f) * buf + g;
            return p - TV.Broadcast(lr) * (g + TV.Broadcast(0.9f) * buf);
        }
    }

    // alpha 0.99, eps 1e-8: sq = 0.99 sq + 0.01 g², p -= lr g / (sqrt(sq) + eps).
    private readonly struct RmsPropRule(float lr) : IRule<RmsPropRule>
    {
        public static int States => 1;

        public static RmsPropRule For(float learningRate, long step) => new(learningRate);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Update<TV>(TV p, TV g, ref TV sq, ref TV unused)
            where TV : struct, IVector<TV>
        {
            sq = TV.Broadcast(0.99f) * sq + TV.Broadcast(0.01f) * g * g;
            return p - TV.Broadcast(lr) * g / (TV.Sqrt(sq) + TV.Broadcast(1e-8f));
        }
    }

    // betas (0.9, 0.999), eps 1e-8, bias-corrected as torch.optim.Adam computes it: m as torch's
    // lerp, m + (g - m) 0.1, and the step size and the second correction's root in double.
    private readonly struct AdamRule(float stepSize, float correction2Sqrt) : IRule<AdamRule>
    {
        public static int States => 2;

        public static AdamRule For(float learningRate, long step) =>
            new((float)(learningRate / (1 - Math.Pow(0.9, step))), (float)Math.Sqrt(1 - Math.Pow(0.999, step)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Update<TV>(TV p, TV g, ref TV m, ref TV v)
            where TV : struct, IVector<TV>
        {
            m = m + (g - m) * TV.Broadcast(0.1f);
            v = TV.Broadcast(0.999f) * v + TV.Broadcast(0.001f) * g * g;
            return p - TV.Broadcast(stepSize) * m / (TV.Sqrt(v) / TV.Broadcast(correction2Sqrt) + TV.Broadcast(1e-8f));
        }
    }

    // s += g², p -= lr g / (sqrt(s) + 1e-10).
    private readonly struct AdagradRule(float lr) : IRule<AdagradRule>
    {
        public static int States => 1;

        public static AdagradRule For(float learningRate, long step) => new(learningRate);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Update<TV>(TV p, TV g, ref TV sum, ref TV unused)
            where TV : struct, IVector<TV>
        {
            sum = sum + g * g;
            return p - TV.Broadcast(lr) * g / (TV.Sqrt(sum) + TV.Broadcast(1e-10f));
        }
    }

    /// <summary>
    /// An optimiser's update of a vector of parameters p from its gradient g and its first
    /// <see cref="States"/> state vectors, written once for every width, with the constants of one
    /// step (<see cref="For"/>). Each operation is rounded on its own (no fused multiply-add), so a
    /// lane computes what the scalar formula does.
    /// </summary>
    private interface IRule<TSelf>
        where TSelf : struct, IRule<TSelf>
    {
        static abstract int States { get; }

        /// <summary>The rule for step <paramref name="step"/> (counted from 1).</summary>
        static abstract TSelf For(float learningRate, long step);

        TV Update<TV>(TV p, TV g, ref TV s1, ref TV s2)
            where TV : struct, IVector<TV>;
    }

    /// <summary>
    /// The rule over all parameters, its state vectors consecutive in <paramref name="state"/> (p.Length
    /// floats each), at the target's width; the rules never multiply-add, so its FMA setting changes nothing.
    /// </summary>
    private static void Apply<TRule>(SimdTarget target, TRule rule, Span<float> p, ReadOnlySpan<float> g, Span<float> state)
        where TRule : struct, IRule<TRule>
    {
        switch (target.Bits)
        {
            case 512: Apply<TRule, V512>(rule, p, g, state); break;
            case 256: Apply<TRule, V256<MachineFma>>(rule, p, g, state); break;
            default: Apply<TRule, V128<MachineFma>>(rule, p, g, state); break;
        }
    }

    // The tail shorter than a vector goes through the same vector code on a padded stack copy, as in Elementwise.Map.
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Apply<TRule, TV>(TRule rule, Span<float> p, ReadOnlySpan<float> g, Span<float> state)
        where TRule : struct, IRule<TRule>
        where TV : struct, IVector<TV>
    {
        int n = p.Length, width = TV.Count, states = TRule.States, i = 0;
        Span<float> s1 = states > 0 ? state[..n] : default, s2 = states > 1 ? state.Slice(n, n) : default;
        ref float rp = ref MemoryMarshal.GetReference(p);
        ref float rg = ref MemoryMarshal.GetReference(g);
        ref float r1 = ref MemoryMarshal.GetReference(s1);
        ref float r2 = ref MemoryMarshal.GetReference(s2);
        for (; i + width <= n; i += width)
        {
            TV a = states > 0 ? TV.Load(ref r1, i) : TV.Zero, b = states > 1 ? TV.Load(ref r2, i) : TV.Zero;
            rule.Update(TV.Load(ref rp, i), TV.Load(ref rg, i), ref a, ref b).Store(ref rp, i);
            if (states > 0) a.Store(ref r1, i);
            if (states > 1) b.Store(ref r2, i);
        }
        if (i < n)
        {
            int rest = n - i;
            Span<float> buffer = stackalloc float[4 * width];
            buffer.Clear();
            p.Slice(i, rest).CopyTo(buffer);
            g.Slice(i, rest).CopyTo(buffer[width..]);
            if (states > 0) s1.Slice(i, rest).CopyTo(buffer[(2 * width)..]);
            if (states > 1) s2.Slice(i, rest).CopyTo(buffer[(3 * width)..]);
            ref float rb = ref MemoryMarshal.GetReference(buffer);
            TV a = TV.Load(ref rb, 2 * width), b = TV.Load(ref rb, 3 * width);
            rule.Update(TV.Load(ref rb, 0), TV.Load(ref rb, width), ref a, ref b).Store(ref rb, 0);
            a.Store(ref rb, 2 * width);
            b.Store(ref rb, 3 * width);
            buffer[..rest].CopyTo(p[i..]);
            if (states > 0) buffer.Slice(2 * width, rest).CopyTo(s1[i..]);
            if (states > 1) buffer.Slice(3 * width, rest).CopyTo(s2[i..]);
        }
    }
}
