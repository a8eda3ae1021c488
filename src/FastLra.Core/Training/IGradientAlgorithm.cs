using FastLra.Model;

namespace FastLra.Training;

/// <summary>
/// One way of turning a batch into parameter gradients (BPTT, LRA). Implementations carve their
/// buffers from the <see cref="Workspace"/> once and allocate nothing per call.
/// </summary>
internal interface IGradientAlgorithm
{
    /// <summary>
    /// Overwrites the workspace gradients from <paramref name="batch"/> (of the workspace's layout and
    /// size, usually its own <see cref="Workspace.Sequences"/>) at the workspace parameters, and
    /// returns the training loss this algorithm reports.
    /// </summary>
    float ComputeGradients(SequenceBatch batch);

    /// <summary>Whether evaluation starts from z_{-1} = x_0 Wxh + bh (the reference code's quirk) instead of zero.</summary>
    bool ReferenceValidationStart { get; }

    /// <summary>What the last call saw (norms, per-step losses).</summary>
    Diagnostics Diagnostics { get; }
}
