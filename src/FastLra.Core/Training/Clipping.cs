using FastLra.Kernels;
using FastLra.Model;

namespace FastLra.Training;

/// <summary>When clip_c rescales a gradient.</summary>
public enum ClipMode
{
    /// <summary>Rescale to norm c only when the norm is at least c (the default).</summary>
    Above,

    /// <summary>Rescale every gradient to norm c.</summary>
    Always,
}

/// <summary>Gradient clipping as the spec defines it (c = 0 turns it off).</summary>
internal static class Clipping
{
    /// <summary>clip_c(g) in place; returns the norm before clipping.</summary>
    public static float Clip(Span<float> g, float c, ClipMode mode)
    {
        float norm = Reductions.Norm(g);
        float factor = Factor(norm, c, mode);
        if (factor != 1f) Reductions.Scale(g, factor);
        return norm;
    }

    /// <summary>The factor clip_c applies to a gradient of norm <paramref name="norm"/>: c / norm or 1.</summary>
    public static float Factor(float norm, float c, ClipMode mode) =>
        c > 0f && (mode == ClipMode.Always || norm >= c) && norm > 0f ? c / norm : 1f;

    /// <summary>
    /// PyTorch's <c>clip_grad_norm_</c> over all five gradients: if c > 0 and the global norm
    /// exceeds c (by more than its 1e-6), scale everything by c / (norm + 1e-6). Returns the norm before clipping.
    /// </summary>
    public static float ClipGlobalNorm(ParameterSet gradients, float c)
    {
        float norm = Reductions.Norm(gradients.Data);
        float coefficient = c / (norm + 1e-6f);
        if (c > 0f && coefficient < 1f) Reductions.Scale(gradients.Data, coefficient);
        return norm;
    }
}
