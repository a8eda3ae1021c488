namespace FastLra.Model;

/// <summary>
/// The network's tensors as the forward pass reads them: Wxh (I x S), Whh (H x S) and bh (S), in
/// rows of <see cref="Stride"/> floats of which the first H are values, then Why (H x O) and by (O).
/// A <see cref="ParameterSet"/> is the compact case, S = H; <see cref="PaddedParameters"/> the
/// trainers' padded rows. States that go with them are B x S.
/// </summary>
internal interface IRnnParameters
{
    RnnShape Shape { get; }

    /// <summary>S, the floats from one row of hidden values to the next.</summary>
    int Stride { get; }

    Span<float> Wxh { get; }

    Span<float> Whh { get; }

    Span<float> Bh { get; }

    Span<float> Why { get; }

    Span<float> By { get; }
}
