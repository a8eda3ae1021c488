namespace FastLra.Training;

/// <summary>
/// What the last gradient computation saw, for the per-check metrics: the global gradient norm
/// and, for LRA, each step's local loss, the Frobenius norms of its dWhh and dWxh contributions
/// (after clipping: the paper's evidence of vanishing gradients) and the Omega value it used.
/// Arrays are allocated once; entries of steps an algorithm does not touch stay 0.
/// </summary>
public sealed class Diagnostics(int steps, bool perStep)
{
    /// <summary>Norm of all five gradients as the optimiser receives them (BPTT: before its global clip).</summary>
    public float GradientNorm { get; set; }

    /// <summary>Omega of the output layer (LRA with alpha &gt; 0).</summary>
    public float OutputOmega { get; set; }

    public float[] LocalLosses { get; } = new float[perStep ? steps : 0];
    public float[] DWhhNorms { get; } = new float[perStep ? steps : 0];
    public float[] DWxhNorms { get; } = new float[perStep ? steps : 0];
    public float[] OmegaValues { get; } = new float[perStep ? steps : 0];

    public bool PerStep => LocalLosses.Length > 0;

    public void ClearSteps()
    {
        Array.Clear(LocalLosses);
        Array.Clear(DWhhNorms);
        Array.Clear(DWxhNorms);
        Array.Clear(OmegaValues);
    }
}
