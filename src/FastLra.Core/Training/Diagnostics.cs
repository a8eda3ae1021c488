namespace FastLra.Training;

/// <summary>
/// What the last gradient computation saw, for the per-check metrics: the global gradient norm,
/// the Frobenius norms of each step's dWhh and dWxh contributions (LRA: after its per-step clip,
/// the paper's evidence of vanishing gradients; BPTT: z_{t-1}ᵀ da_t and x_tᵀ da_t before the
/// global clip) and, for LRA, each step's local loss and the Omega value it used.
/// Arrays are allocated once; entries of steps an algorithm does not touch stay 0.
/// </summary>
internal sealed class Diagnostics(int steps)
{
    /// <summary>
    /// Whether the next gradient computation should also record what costs extra work: BPTT's
    /// per-step norms, LRA's local losses and per-step norms and its gradient norm. The training
    /// loop sets it for the iteration before each check, so the metrics are unchanged and the
    /// other iterations skip the work.
    /// </summary>
    public bool Detailed { get; set; }

    /// <summary>Norm of all five gradients as the optimiser receives them (BPTT: before its global clip).</summary>
    public float GradientNorm { get; set; }

    /// <summary>
    /// With <see cref="TrainingRun.MeasureConditioning"/>, at a check: the cosine between the check
    /// iteration's gradient and the gradient of the same batch after a relative perturbation of
    /// 1e-7 of the weights (<see cref="TrainingRun.Iterate"/>); NaN when not measured.
    /// </summary>
    public double GradientCosine { get; set; } = double.NaN;

    /// <summary>Omega of the output layer (LRA with alpha &gt; 0).</summary>
    public float OutputOmega { get; set; }

    public float[] LocalLosses { get; } = new float[steps];
    public float[] DWhhNorms { get; } = new float[steps];
    public float[] DWxhNorms { get; } = new float[steps];
    public float[] OmegaValues { get; } = new float[steps];

    public void ClearSteps()
    {
        Array.Clear(LocalLosses);
        Array.Clear(DWhhNorms);
        Array.Clear(DWxhNorms);
        Array.Clear(OmegaValues);
    }
}
