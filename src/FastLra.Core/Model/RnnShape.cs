namespace FastLra.Model;

/// <summary>
/// The widths of the network, I (inputs), H (hidden), O (outputs), and the one flat layout
/// shared by parameters, gradients and optimiser state: Wxh (I x H), Whh (H x H), bh (H),
/// Why (H x O), by (O), row-major, in that order.
/// </summary>
public readonly record struct RnnShape(int Inputs, int Hidden, int Outputs)
{
#pragma warning disable CA1822 // An instance member, like every other offset, so call sites read alike.
    public int WxhOffset => 0;
#pragma warning restore CA1822
    public int WxhLength => Inputs * Hidden;
    public int WhhOffset => WxhLength;
    public int WhhLength => Hidden * Hidden;
    public int BhOffset => WhhOffset + WhhLength;
    public int BhLength => Hidden;
    public int WhyOffset => BhOffset + BhLength;
    public int WhyLength => Hidden * Outputs;
    public int ByOffset => WhyOffset + WhyLength;
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
