namespace FastLra.Model;

/// <summary>
/// The widths of the network, I (inputs), H (hidden), O (outputs), and the one flat layout
/// shared by parameters, gradients and optimiser state: Wxh (I x H), Whh (H x H), bh (H),
/// Why (H x O), by (O), row-major, in that order.
/// </summary>
public readonly record struct RnnShape(int Inputs, int Hidden, int Outputs)
{
    // Where each parameter sits in the flat layout: an offset and a length each.
#pragma warning disable CA1822 // An instance member, like every other offset, so call sites read alike.
    /// <summary>Where Wxh (I x H) starts.</summary>
    public int WxhOffset => 0;
#pragma warning restore CA1822

    /// <summary>I * H.</summary>
    public int WxhLength => Inputs * Hidden;

    /// <summary>Where Whh (H x H) starts.</summary>
    public int WhhOffset => WxhLength;

    /// <summary>H * H.</summary>
    public int WhhLength => Hidden * Hidden;

    /// <summary>Where bh (H) starts.</summary>
    public int BhOffset => WhhOffset + WhhLength;

    /// <summary>H.</summary>
    public int BhLength => Hidden;

    /// <summary>Where Why (H x O) starts.</summary>
    public int WhyOffset => BhOffset + BhLength;

    /// <summary>H * O.</summary>
    public int WhyLength => Hidden * Outputs;

    /// <summary>Where by (O) starts.</summary>
    public int ByOffset => WhyOffset + WhyLength;

    /// <summary>O.</summary>
    public int ByLength => Outputs;

    /// <summary>Total number of parameters.</summary>
    public int Count => ByOffset + ByLength;

    /// <summary>The parameter names in layout order, as used in weight files.</summary>
    public static readonly string[] Names = ["Wxh", "Whh", "bh", "Why", "by"];

    /// <summary>(offset, length, rows, cols) of parameter <paramref name="index"/> in layout order; biases have rows = 0.</summary>
    public (int Offset, int Length, int Rows, int Cols) Slot(int index) => index switch
    {
        0 => (WxhOffset, WxhLength, Inputs, Hidden),
        1 => (WhhOffset, WhhLength, Hidden, Hidden),
        2 => (BhOffset, BhLength, 0, Hidden),
        3 => (WhyOffset, WhyLength, Hidden, Outputs),
        4 => (ByOffset, ByLength, 0, Outputs),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    /// <summary>Throws unless every width is positive.</summary>
    public void Validate()
    {
        if (Inputs <= 0 || Hidden <= 0 || Outputs <= 0)
            throw new ArgumentException($"Network widths must be positive (I={Inputs}, H={Hidden}, O={Outputs}).");
    }
}
