namespace FastLra.Model;

/// <summary>
/// The network's tensors as the forward pass reads them: for each layer l, Wx_l (I_l x GS), Wh_l (H x GS),
/// the biases (GS each), in rows whose G gate blocks are <see cref="Stride"/> floats apart, the
/// first H of each block values; then Why (H x O) and by (O). A <see cref="ParameterSet"/> is the
/// compact case, S = H; <see cref="PaddedParameters"/> the trainers' padded rows. States that go
/// with them are B x S.
/// </summary>
internal interface IRnnParameters
{
    RnnShape Shape { get; }

    /// <summary>S, the floats from one block (or row) of hidden values to the next.</summary>
    int Stride { get; }

    /// <summary>The order the dot products over these tensors sum in (the trainers' a·Wᵀ): fixed unless a run asks for its width's own.</summary>
    FastLra.Kernels.Summation Summation { get; }

    /// <summary>Layer <paramref name="layer"/>'s input weights.</summary>
    Span<float> InputWeights(int layer);

    /// <summary>Layer <paramref name="layer"/>'s recurrent weights.</summary>
    Span<float> RecurrentWeights(int layer);

    /// <summary>Layer <paramref name="layer"/>'s input bias (gated cells; empty for tanh).</summary>
    Span<float> InputBias(int layer);

    /// <summary>Layer <paramref name="layer"/>'s hidden bias (tanh: its one bias).</summary>
    Span<float> HiddenBias(int layer);

    Span<float> Why { get; }

    Span<float> By { get; }
}
