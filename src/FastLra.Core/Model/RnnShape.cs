namespace FastLra.Model;

/// <summary>The recurrent cell of every layer: the equations of PyTorch's nn.RNN (tanh), nn.GRU and nn.LSTM.</summary>
public enum CellKind
{
    /// <summary>z_t = tanh(x_t Wx + z_{t-1} Wh + b): the paper's cell (one bias per layer).</summary>
    Tanh,

    /// <summary>Gated recurrent unit, gates r, z, n in PyTorch's order and equations.</summary>
    Gru,

    /// <summary>Long short-term memory, gates i, f, g, o in PyTorch's order and equations.</summary>
    Lstm,
}

/// <summary>
/// The network: I inputs, H hidden units in each of L layers of one <see cref="CellKind"/>, O
/// outputs read from the top layer, and the one flat layout shared by parameters, gradients and
/// optimiser state, row-major, in this order: for each layer l, Wx_l (I_l x GH, I_0 = I, I_l = H
/// above), Wh_l (H x GH), for gated cells bx_l (GH), and bh_l (GH), with G the cell's gates (1
/// tanh, 3 GRU, 4 LSTM) side by side in PyTorch's order; then Why (H x O) and by (O). The
/// one-layer tanh network is the paper's, Wxh, Whh, bh, Why, by, under those names.
/// </summary>
/// <param name="Inputs">I, the input width.</param>
/// <param name="Hidden">H, the width of every layer's state.</param>
/// <param name="Outputs">O, the output width.</param>
/// <param name="Cell">The cell of every layer.</param>
/// <param name="Layers">L, the layers stacked (layer l reads layer l-1's state at the same step).</param>
public readonly record struct RnnShape(int Inputs, int Hidden, int Outputs, CellKind Cell = CellKind.Tanh, int Layers = 1)
{
    /// <summary>The most layers a network may stack.</summary>
    public const int MaxLayers = 64;

    /// <summary>The parameter names of the one-layer tanh network, in layout order, as weight files have always named them.</summary>
    public static readonly string[] Names = ["Wxh", "Whh", "bh", "Why", "by"];

    /// <summary>G, the gates of the cell: 1 (tanh), 3 (GRU), 4 (LSTM).</summary>
    public int Gates => GatesOf(Cell);

    /// <summary>The gates of <paramref name="cell"/>.</summary>
    public static int GatesOf(CellKind cell) => cell switch
    {
        CellKind.Gru => 3,
        CellKind.Lstm => 4,
        _ => 1,
    };

    /// <summary>Whether each layer has an input bias bx_l besides bh_l (the gated cells, as PyTorch's bias_ih).</summary>
    public bool HasInputBias => Cell != CellKind.Tanh;

    /// <summary>Whether this is the paper's network: one tanh layer, the layout and names LRA and older files know.</summary>
    public bool IsSimpleTanh => Cell == CellKind.Tanh && Layers == 1;

    /// <summary>
    /// Blocks of H in one sequence's recurrent state: each layer's h, and after it, for LSTM, its c.
    /// What a stream carries from step to step and a window of the online learner starts from.
    /// </summary>
    public int StateBlocks => Layers * (Cell == CellKind.Lstm ? 2 : 1);

    /// <summary>Floats of one sequence's recurrent state (<see cref="StateBlocks"/> x H).</summary>
    public int StateLength => StateBlocks * Hidden;

    /// <summary>I_l, the width layer <paramref name="layer"/> reads: I for the first, H above it.</summary>
    public int LayerInputs(int layer) => layer == 0 ? Inputs : Hidden;

    /// <summary>Tensors per layer: Wx, Wh, (bx), bh.</summary>
    public int TensorsPerLayer => HasInputBias ? 4 : 3;

    /// <summary>Tensors in the layout: each layer's and Why, by.</summary>
    public int TensorCount => Layers * TensorsPerLayer + 2;

    /// <summary>Where layer <paramref name="layer"/>'s tensors start (for layer L: where Why starts).</summary>
    public int LayerOffset(int layer)
    {
        long gh = (long)Gates * Hidden, biases = HasInputBias ? 2 : 1, offset = 0;
        for (int l = 0; l < layer; l++) offset += (LayerInputs(l) + Hidden + biases) * gh;
        return (int)offset;
    }

    /// <summary>Where Why (H x O) starts.</summary>
    public int WhyOffset => LayerOffset(Layers);

    /// <summary>H * O.</summary>
    public int WhyLength => Hidden * Outputs;

    /// <summary>Where by (O) starts.</summary>
    public int ByOffset => WhyOffset + WhyLength;

    /// <summary>O.</summary>
    public int ByLength => Outputs;

    /// <summary>Total number of parameters.</summary>
    public int Count => ByOffset + ByLength;

    /// <summary>The parameters of these widths, in 64 bits: what <see cref="Validate"/> bounds before anything is allocated.</summary>
    public long LongCount
    {
        get
        {
            long gh = (long)Gates * Hidden, biases = HasInputBias ? 2 : 1;
            return ((long)Inputs + Hidden + biases) * gh + (Layers - 1L) * (2L * Hidden + biases) * gh + (long)Hidden * Outputs + Outputs;
        }
    }

    /// <summary>
    /// (offset, length, rows, cols) of tensor <paramref name="index"/> in layout order; biases have
    /// rows = 0. Tensors 0 .. L·TensorsPerLayer - 1 are the layers', then Why and by.
    /// </summary>
    public (int Offset, int Length, int Rows, int Cols) Slot(int index)
    {
        if ((uint)index >= (uint)TensorCount) throw new ArgumentOutOfRangeException(nameof(index));
        int perLayer = TensorsPerLayer;
        if (index == TensorCount - 2) return (WhyOffset, WhyLength, Hidden, Outputs);
        if (index == TensorCount - 1) return (ByOffset, ByLength, 0, Outputs);
        int layer = index / perLayer, kind = index % perLayer, gh = Gates * Hidden, inputs = LayerInputs(layer);
        int offset = LayerOffset(layer);
        return kind switch
        {
            0 => (offset, inputs * gh, inputs, gh),
            1 => (offset + inputs * gh, Hidden * gh, Hidden, gh),
            2 => (offset + (inputs + Hidden) * gh, gh, 0, gh),
            _ => (offset + (inputs + Hidden + 1) * gh, gh, 0, gh),
        };
    }

    /// <summary>
    /// The name of tensor <paramref name="index"/> in weight files: Wxh, Whh, bh, Why, by for the
    /// paper's network; otherwise Wx0, Wh0, (bx0,) bh0, ..., Why, by, as the golden fixtures name them.
    /// </summary>
    public string TensorName(int index)
    {
        if (IsSimpleTanh) return Names[index];
        if (index == TensorCount - 2) return "Why";
        if (index == TensorCount - 1) return "by";
        int perLayer = TensorsPerLayer, layer = index / perLayer, kind = index % perLayer;
        string stem = kind switch
        {
            0 => "Wx",
            1 => "Wh",
            2 when HasInputBias => "bx",
            _ => "bh",
        };
        return stem + layer.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Throws unless every width is positive, the layers are in [1, <see cref="MaxLayers"/>] and the parameters fit one array.</summary>
    public void Validate()
    {
        if (Inputs <= 0 || Hidden <= 0 || Outputs <= 0)
            throw new ArgumentException($"Network widths must be positive (I={Inputs}, H={Hidden}, O={Outputs}).");
        if (Layers is < 1 or > MaxLayers) throw new ArgumentException($"A network has 1 to {MaxLayers} layers, got {Layers}.");
        if (!Enum.IsDefined(Cell)) throw new ArgumentException($"Unknown cell {(int)Cell}.");
        if (LongCount > Array.MaxLength) throw new ArgumentException($"{this} has {LongCount} parameters, more than one array holds.");
    }

    /// <summary>I, H, O, and the cell and layers unless they are the paper's one tanh layer.</summary>
    public override string ToString() =>
        IsSimpleTanh ? $"I={Inputs}, H={Hidden}, O={Outputs}" : $"I={Inputs}, H={Hidden}, O={Outputs}, {CellNames.Name(Cell)} x {Layers}";
}

/// <summary>The spelling of each cell on the command line and in files.</summary>
internal static class CellNames
{
    private static readonly string[] All = ["tanh", "gru", "lstm"];

    /// <summary>tanh, gru, lstm.</summary>
    public static IReadOnlyList<string> Names => All;

    public static string Name(CellKind cell) => All[(int)cell];

    public static bool TryParse(string? name, out CellKind cell)
    {
        int index = Array.IndexOf(All, name);
        cell = index < 0 ? default : (CellKind)index;
        return index >= 0;
    }
}
