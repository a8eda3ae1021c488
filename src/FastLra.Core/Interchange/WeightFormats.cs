using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using FastLra.IO;
using FastLra.Model;

namespace FastLra.Interchange;

/// <summary>
/// Weight interchange. Tensors are read from safetensors (F32/F64) or numpy <c>.npz</c> files
/// (<c>&lt;f4</c>/<c>&lt;f8</c>, C order), in either of two layouts: this project's
/// <c>Wxh Whh bh Why by</c> (the one-layer tanh network), or a PyTorch state dict of an
/// <c>nn.RNN</c>, <c>nn.GRU</c> or <c>nn.LSTM</c> with any <c>num_layers</c> and an
/// <c>nn.Linear</c> readout: for each layer k, <c>{rnn}weight_ih_l{k}</c> (GH x I_k),
/// <c>{rnn}weight_hh_l{k}</c> (GH x H), <c>{rnn}bias_ih_l{k}</c> and <c>{rnn}bias_hh_l{k}</c> (GH),
/// then <c>{fc}weight</c> (O x H) and <c>{fc}bias</c> (O). The cell is the gate multiple G of the
/// weights' rows (1 tanh, 3 GRU, 4 LSTM) and the depth the layers' keys. PyTorch multiplies by Wᵀ,
/// so the weights are transposed; a gated cell keeps both biases (bx_l, bh_l), the tanh cell's
/// layers have one, their sum. Everything read is bounded and checked; every failure is a
/// <see cref="WeightFileException"/> naming the file and the tensor.
/// </summary>
public static class WeightFormats
{
    /// <summary>Largest tensor accepted from an .npz entry (floats).</summary>
    public const int MaxElements = 16 << 20;

    /// <summary>Reads the float tensors of a .safetensors or .npz file by name.</summary>
    public static Dictionary<string, (int[] Shape, float[] Data)> ReadTensors(string path) =>
        path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase) ? ReadNpz(path) : ReadSafeTensors(path);

    /// <summary>
    /// The model a file holds: a FastLra model file (any cell and depth, with its normalisation), or
    /// any file <see cref="ReadTensors"/> reads by its PyTorch or FastLra names.
    /// </summary>
    public static RnnModel LoadModel(string path)
    {
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            var file = new SafeTensors.SafeTensorsFile(path);
            if (file.Find("Wxh") is not null || file.Find("Wx0") is not null) return ModelFile.Read(file).Model;
        }
        return new RnnModel(ToParameters(ReadTensors(path), path));
    }

    /// <summary>
    /// Parameters from tensors in either layout (this project's names first): any cell and depth of
    /// a PyTorch state dict whose keys start with <paramref name="rnnPrefix"/> and <paramref name="fcPrefix"/>.
    /// </summary>
    public static ParameterSet ToParameters(Dictionary<string, (int[] Shape, float[] Data)> tensors, string path,
        string rnnPrefix = "rnn.", string fcPrefix = "fc.")
    {
        if (tensors.ContainsKey("Wxh")) return Plain(tensors, path);
        var shape = TorchShape(tensors, path, rnnPrefix, fcPrefix);
        string what = $" for {TorchModule(shape.Cell)} with {shape}";
        int h = shape.Hidden, gh = shape.Gates * h, o = shape.Outputs;
        var p = new ParameterSet(shape);
        for (int l = 0; l < shape.Layers; l++)
        {
            int inputs = shape.LayerInputs(l);
            Transpose(Expect(tensors, TorchKey(rnnPrefix, "weight_ih", l), [gh, inputs], path, what), gh, inputs, p.InputWeights(l));
            Transpose(Expect(tensors, TorchKey(rnnPrefix, "weight_hh", l), [gh, h], path, what), gh, h, p.RecurrentWeights(l));
            var biasIh = Expect(tensors, TorchKey(rnnPrefix, "bias_ih", l), [gh], path, what);
            var biasHh = Expect(tensors, TorchKey(rnnPrefix, "bias_hh", l), [gh], path, what);
            if (shape.HasInputBias)
            {
                biasIh.CopyTo(p.InputBias(l));
                biasHh.CopyTo(p.HiddenBias(l));
            }
            else
            {
                var bias = p.HiddenBias(l);
                for (int k = 0; k < gh; k++) bias[k] = biasIh[k] + biasHh[k];
            }
        }
        Transpose(Expect(tensors, fcPrefix + "weight", [o, h], path, what), o, h, p.Why);
        Expect(tensors, fcPrefix + "bias", [o], path, what).CopyTo(p.By);
        return p;
    }

    /// <summary>
    /// The network a state dict holds: H from the columns of layer 0's <c>weight_hh</c>, the cell from
    /// the rows of its <c>weight_ih</c> (G x H), I from its columns, O from the readout's rows, and the
    /// layers from the <c>weight_ih_l{k}</c> keys, which must run from 0 without a gap; a key of the
    /// recurrent module past them, or of a kind this model has no place for (a bidirectional module's
    /// <c>_reverse</c> tensors, a projected LSTM's <c>weight_hr</c>), is refused.
    /// </summary>
    private static RnnShape TorchShape(Dictionary<string, (int[] Shape, float[] Data)> tensors, string path, string rnnPrefix, string fcPrefix)
    {
        string ih = TorchKey(rnnPrefix, "weight_ih", 0), hh = TorchKey(rnnPrefix, "weight_hh", 0), fw = fcPrefix + "weight";
        if (!tensors.ContainsKey(ih))
        {
            // Name the prefix the file does use, when it has layer 0 under another.
            foreach (string key in tensors.Keys)
                if (key.EndsWith("weight_ih_l0", StringComparison.Ordinal))
                    throw new WeightFileException($"{path}: tensor '{ih}' is missing; the file has '{key}' (key prefix '{key[..^"weight_ih_l0".Length]}').");
        }
        var weightIh = Get(tensors, ih, path);
        var weightHh = Get(tensors, hh, path);
        var weightFc = Get(tensors, fw, path);
        if (weightIh.Shape.Length != 2 || weightHh.Shape.Length != 2 || weightFc.Shape.Length != 2)
            throw new WeightFileException($"{path}: '{ih}', '{hh}' and '{fw}' must be matrices.");
        int rows = weightIh.Shape[0], i = weightIh.Shape[1], h = weightHh.Shape[1], o = weightFc.Shape[0];
        if (rows <= 0 || i <= 0 || h <= 0 || o <= 0) throw new WeightFileException($"{path}: the tensors have an empty dimension.");
        var cell = rows == h ? CellKind.Tanh : rows == 3L * h ? CellKind.Gru : rows == 4L * h ? CellKind.Lstm
            : throw new WeightFileException(
                $"{path}: tensor '{ih}' has {rows} rows, not 1, 3 or 4 times the hidden width {h} (the columns of '{hh}') as nn.RNN, nn.GRU or nn.LSTM has.");
        int layers = 1;
        while (layers <= RnnShape.MaxLayers && tensors.ContainsKey(TorchKey(rnnPrefix, "weight_ih", layers))) layers++;
        if (layers > RnnShape.MaxLayers) throw new WeightFileException($"{path}: more than {RnnShape.MaxLayers} layers ('{TorchKey(rnnPrefix, "weight_ih", layers - 1)}').");
        foreach (string key in tensors.Keys)
        {
            if (!key.StartsWith(rnnPrefix, StringComparison.Ordinal)) continue;
            if (key.EndsWith("_reverse", StringComparison.Ordinal))
                throw new WeightFileException($"{path}: tensor '{key}' is a bidirectional module's; FastLra runs one direction.");
            if (key.AsSpan(rnnPrefix.Length).StartsWith("weight_hr_l", StringComparison.Ordinal))
                throw new WeightFileException($"{path}: tensor '{key}' is a projected LSTM's (proj_size > 0), which FastLra does not have.");
            if (TorchLayer(key.AsSpan(rnnPrefix.Length)) >= layers)
                throw new WeightFileException($"{path}: tensor '{TorchKey(rnnPrefix, "weight_ih", layers)}' is missing, but '{key}' is there.");
        }
        var shape = new RnnShape(i, h, o, cell, layers);
        if (shape.LongCount > Array.MaxLength) throw new WeightFileException($"{path}: {shape} has more parameters than one array holds.");
        return shape;
    }

    /// <summary>The layer k of a recurrent module's key (after its prefix) <c>weight_ih_l{k}</c>, <c>weight_hh_l{k}</c>, <c>bias_ih_l{k}</c> or <c>bias_hh_l{k}</c>, or -1.</summary>
    private static int TorchLayer(ReadOnlySpan<char> key)
    {
        if (!(key.StartsWith("weight_ih_l", StringComparison.Ordinal) || key.StartsWith("weight_hh_l", StringComparison.Ordinal)
            || key.StartsWith("bias_ih_l", StringComparison.Ordinal) || key.StartsWith("bias_hh_l", StringComparison.Ordinal))) return -1;
        var digits = key[(key.LastIndexOf('l') + 1)..];
        return int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int layer) ? layer : -1;
    }

    private static string TorchKey(string prefix, string stem, int layer) =>
        string.Concat(prefix, stem, "_l", layer.ToString(CultureInfo.InvariantCulture));

    private static string TorchModule(CellKind cell) => cell switch
    {
        CellKind.Gru => "nn.GRU",
        CellKind.Lstm => "nn.LSTM",
        _ => "nn.RNN",
    };

    /// <summary>
    /// The parameters as the state dict of PyTorch's module for their cell (<c>nn.RNN</c>,
    /// <c>nn.GRU</c>, <c>nn.LSTM</c>, <c>num_layers</c> = L) and an <c>nn.Linear</c>: the weights
    /// transposed, a gated cell's bx_l and bh_l as <c>bias_ih_l{k}</c> and <c>bias_hh_l{k}</c>, a tanh
    /// layer's one bias as <c>bias_ih_l{k}</c> with <c>bias_hh_l{k}</c> = 0.
    /// </summary>
    public static List<SafeTensors.Entry> ToTorch(ParameterSet p, string rnnPrefix = "rnn.", string fcPrefix = "fc.")
    {
        ArgumentNullException.ThrowIfNull(p);
        var s = p.Shape;
        int h = s.Hidden, gh = s.Gates * h;
        var entries = new List<SafeTensors.Entry>(4 * s.Layers + 2);
        for (int l = 0; l < s.Layers; l++)
        {
            int inputs = s.LayerInputs(l);
            var ih = new float[gh * inputs];
            var hh = new float[gh * h];
            Transpose(p.InputWeights(l), inputs, gh, ih);
            Transpose(p.RecurrentWeights(l), h, gh, hh);
            entries.Add(SafeTensors.Floats(TorchKey(rnnPrefix, "weight_ih", l), [gh, inputs], ih));
            entries.Add(SafeTensors.Floats(TorchKey(rnnPrefix, "weight_hh", l), [gh, h], hh));
            entries.Add(SafeTensors.Floats(TorchKey(rnnPrefix, "bias_ih", l), [gh], s.HasInputBias ? p.InputBias(l) : p.HiddenBias(l)));
            entries.Add(SafeTensors.Floats(TorchKey(rnnPrefix, "bias_hh", l), [gh], s.HasInputBias ? p.HiddenBias(l) : new float[gh]));
        }
        var fc = new float[s.Outputs * h];
        Transpose(p.Why, h, s.Outputs, fc);
        entries.Add(SafeTensors.Floats(fcPrefix + "weight", [s.Outputs, h], fc));
        entries.Add(SafeTensors.Floats(fcPrefix + "bias", [s.Outputs], p.By));
        return entries;
    }

    /// <summary>Writes entries as a numpy .npz archive (one little-endian float32 .npy per entry, stored), atomically.</summary>
    public static void WriteNpz(string path, IReadOnlyList<SafeTensors.Entry> entries)
    {
        var files = new List<(string, byte[])>();
        foreach (var entry in entries) files.Add((entry.Name + ".npy", Npy("<f4", entry.Shape, entry.Data)));
        AtomicFile.Write(path, stream => Zip.Write(stream, files));
    }

    /// <summary>Writes one little-endian float32 .npy array, atomically.</summary>
    public static void WriteNpy(string path, int[] shape, ReadOnlySpan<float> values)
    {
        var data = new byte[4L * values.Length];
        for (int k = 0; k < values.Length; k++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4 * k), values[k]);
        byte[] npy = Npy("<f4", shape, data);
        AtomicFile.Write(path, stream => stream.Write(npy));
    }

    /// <summary>An .npy file of <paramref name="shape"/> whose data (bytes as given) has numpy type <paramref name="descr"/>.</summary>
    internal static byte[] Npy(string descr, int[] shape, byte[] data)
    {
        string dims = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}";
        // Pad with spaces so magic, version, length and header end on a 64-byte boundary, then '\n'.
        int padded = (10 + header.Length + 1 + 63) / 64 * 64 - 10;
        header = header.PadRight(padded - 1) + "\n";
        var npy = new byte[10 + header.Length + data.Length];
        npy[0] = 0x93;
        "NUMPY"u8.CopyTo(npy.AsSpan(1));
        npy[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(npy.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header, npy.AsSpan(10));
        data.CopyTo(npy, 10 + header.Length);
        return npy;
    }

    /// <summary>
    /// One self-contained C99 header for any cell and depth: include guard, the widths as macros, the
    /// arrays (and the normalisation's, when the model has one), a caller-owned state type and
    /// <c>static inline</c> reset and step functions (no malloc, nothing from libm but <c>tanhf</c>
    /// and, for the gated cells, <c>expf</c>); it may be included from any number of translation
    /// units. Every value is written exactly (round-trip format).
    /// </summary>
    public static string ToC(ParameterSet p, Normalization? n, string name)
    {
        ArgumentNullException.ThrowIfNull(p);
        var s = p.Shape;
        string upper = name.ToUpperInvariant(), hidden = upper + "_HIDDEN";
        bool gated = s.Cell != CellKind.Tanh, lstm = s.Cell == CellKind.Lstm;
        var c = new StringBuilder();
        c.Append(CultureInfo.InvariantCulture, $"""
            /* FastLra model {name}: I = {s.Inputs}, H = {s.Hidden}, O = {s.Outputs}, {Describe(s)}. Written by fastlra export.
               Row-major, row-vector convention, PyTorch's equations and gate order. Each tick, with u a layer's input
               (x for the first layer, the new state of the layer below for the others) and h its state:
               {CellEquations(s, "   ")}
               then y = h Why + by from the top layer{(n is null ? "" : n.HasTargets
                   ? ",\n   with x standardised first ((x - input_mean) / input_std) and y scaled back (y target_std + target_mean)"
                   : ",\n   with x standardised first ((x - input_mean) / input_std)")}.
               Usage: {name}_state s; {name}_reset(&s); then {name}_step(&s, x, y) once per tick.
               C99, no allocation, only {(gated ? "tanhf and expf" : "tanhf")} from libm; include it from as many files as you like. */
            #ifndef {upper}_H
            #define {upper}_H

            #include <math.h>

            #define {upper}_INPUTS {s.Inputs}
            #define {hidden} {s.Hidden}
            #define {upper}_OUTPUTS {s.Outputs}
            #define {upper}_LAYERS {s.Layers}


            """);
        for (int t = 0; t < s.TensorCount; t++)
        {
            var (_, length, rows, cols) = s.Slot(t);
            string tensor = s.TensorName(t);
            c.Append(CultureInfo.InvariantCulture, $"/* {tensor}, {(rows > 0 ? $"{rows} x {cols}" : $"{cols}")} */\nstatic const float {name}_{tensor}[{length}] = {{\n");
            AppendValues(c, p.Tensor(t), csharp: false, "    ");
            c.Append("};\n");
        }
        if (n is not null)
        {
            AppendArray(c, name, "input_mean", n.InputMean);
            AppendArray(c, name, "input_std", n.InputStd);
            if (n.HasTargets)
            {
                AppendArray(c, name, "target_mean", n.TargetMean);
                AppendArray(c, name, "target_std", n.TargetStd);
            }
        }
        c.Append(CultureInfo.InvariantCulture, $$"""

            /* The state of one stream, owned by the caller: each layer's h, {{hidden}} apart{{(lstm ? ", and its c" : "")}}. */
            typedef struct { float h[{{upper}}_LAYERS * {{hidden}}];{{(lstm ? $" float c[{upper}_LAYERS * {hidden}];" : "")}} } {{name}}_state;

            /* The state = 0: the start of a stream. */
            static inline void {{name}}_reset({{name}}_state *state)
            {
                for (int j = 0; j < {{upper}}_LAYERS * {{hidden}}; j++) state->h[j] = 0.0f;{{(lstm ? "\n    for (int j = 0; j < " + upper + "_LAYERS * " + hidden + "; j++) state->c[j] = 0.0f;" : "")}}
            }


            """);
        c.Append(LayerFunction(s.Cell, name, hidden));
        c.Append(CultureInfo.InvariantCulture, $$"""

            /* One tick: x holds {{upper}}_INPUTS floats, y receives {{upper}}_OUTPUTS floats. */
            static inline void {{name}}_step({{name}}_state *state, const float *x, float *y)
            {

            """);
        string input = "x";
        if (n is not null)
        {
            input = "u";
            c.Append(CultureInfo.InvariantCulture, $"    float u[{upper}_INPUTS];\n");
            c.Append(CultureInfo.InvariantCulture, $"    for (int i = 0; i < {upper}_INPUTS; i++) u[i] = (x[i] - {name}_input_mean[i]) / {name}_input_std[i];\n");
        }
        for (int l = 0; l < s.Layers; l++)
        {
            int first = l * s.TensorsPerLayer;
            c.Append(CultureInfo.InvariantCulture, $"    {name}_layer(");
            for (int t = first; t < first + s.TensorsPerLayer; t++) c.Append(name).Append('_').Append(s.TensorName(t)).Append(", ");
            string below = l == 0 ? input : l == 1 ? "state->h" : $"state->h + {l - 1} * {hidden}";
            string here = l == 0 ? "" : $" + {l} * {hidden}";
            c.Append(CultureInfo.InvariantCulture, $"{below}, {(l == 0 ? upper + "_INPUTS" : hidden)}, state->h{here}{(lstm ? $", state->c{here}" : "")});\n");
        }
        string output = n is { HasTargets: true } ? $"\n    for (int o = 0; o < {upper}_OUTPUTS; o++) y[o] = y[o] * {name}_target_std[o] + {name}_target_mean[o];" : "";
        c.Append(CultureInfo.InvariantCulture, $$"""
                const float *top = state->h + ({{upper}}_LAYERS - 1) * {{hidden}};
                for (int o = 0; o < {{upper}}_OUTPUTS; o++) y[o] = {{name}}_by[o];
                for (int j = 0; j < {{hidden}}; j++)
                    for (int o = 0; o < {{upper}}_OUTPUTS; o++) y[o] += top[j] * {{name}}_Why[j * {{upper}}_OUTPUTS + o];{{output}}
            }

            #endif

            """);
        return c.ToString();
    }

    // "one tanh layer", "2 GRU layers", ...
    private static string Describe(RnnShape s) =>
        string.Concat(s.Layers == 1 ? "one " : s.Layers.ToString(CultureInfo.InvariantCulture) + " ",
            s.Cell == CellKind.Tanh ? "tanh" : CellNames.Name(s.Cell).ToUpperInvariant(), s.Layers == 1 ? " layer" : " layers");

    // The cell's step in the names of the arrays, for the headers' comments.
    private static string CellEquations(RnnShape s, string indent) => s.Cell switch
    {
        CellKind.Gru => $"[r|z|n] blocks of H: r = sigmoid(u Wx_r + bx_r + h Wh_r + bh_r), z the same of its blocks,\n{indent}n = tanh(u Wx_n + bx_n + r (h Wh_n + bh_n)), h = (1 - z) n + z h (arrays Wx<l>, Wh<l>, bx<l>, bh<l>),",
        CellKind.Lstm => $"a = u Wx + bx + h Wh + bh in [i|f|g|o] blocks of H: i, f, o = sigmoid, g = tanh of their blocks,\n{indent}c = f c + i g, h = o tanh(c) (arrays Wx<l>, Wh<l>, bx<l>, bh<l>),",
        _ when s.IsSimpleTanh => "h = tanh(u Wxh + h Whh + bh),",
        _ => "h = tanh(u Wx + h Wh + bh) (arrays Wx<l>, Wh<l>, bh<l>),",
    };

    // The header's one layer step, over the arrays of any layer: the cell's equations, loop by loop.
    private static string LayerFunction(CellKind cell, string name, string hidden) => cell switch
    {
        CellKind.Gru => $$"""
            static inline float {{name}}_sigmoid(float a) { return 1.0f / (1.0f + expf(-a)); }

            /* One GRU layer: h advanced from u, which has width floats. */
            static inline void {{name}}_layer(const float *Wx, const float *Wh, const float *bx, const float *bh, const float *u, int width, float *h)
            {
                float gx[3 * {{hidden}}], gh[3 * {{hidden}}];
                for (int j = 0; j < 3 * {{hidden}}; j++) { gx[j] = bx[j]; gh[j] = bh[j]; }
                for (int i = 0; i < width; i++) {
                    float ui = u[i];
                    for (int j = 0; j < 3 * {{hidden}}; j++) gx[j] += ui * Wx[i * 3 * {{hidden}} + j];
                }
                for (int k = 0; k < {{hidden}}; k++) {
                    float hk = h[k];
                    for (int j = 0; j < 3 * {{hidden}}; j++) gh[j] += hk * Wh[k * 3 * {{hidden}} + j];
                }
                for (int j = 0; j < {{hidden}}; j++) {
                    float r = {{name}}_sigmoid(gx[j] + gh[j]);
                    float z = {{name}}_sigmoid(gx[{{hidden}} + j] + gh[{{hidden}} + j]);
                    float candidate = tanhf(gx[2 * {{hidden}} + j] + r * gh[2 * {{hidden}} + j]);
                    h[j] = candidate + z * (h[j] - candidate);
                }
            }

            """,
        CellKind.Lstm => $$"""
            static inline float {{name}}_sigmoid(float a) { return 1.0f / (1.0f + expf(-a)); }

            /* One LSTM layer: h and c advanced from u, which has width floats. */
            static inline void {{name}}_layer(const float *Wx, const float *Wh, const float *bx, const float *bh, const float *u, int width, float *h, float *c)
            {
                float a[4 * {{hidden}}];
                for (int j = 0; j < 4 * {{hidden}}; j++) a[j] = bx[j] + bh[j];
                for (int i = 0; i < width; i++) {
                    float ui = u[i];
                    for (int j = 0; j < 4 * {{hidden}}; j++) a[j] += ui * Wx[i * 4 * {{hidden}} + j];
                }
                for (int k = 0; k < {{hidden}}; k++) {
                    float hk = h[k];
                    for (int j = 0; j < 4 * {{hidden}}; j++) a[j] += hk * Wh[k * 4 * {{hidden}} + j];
                }
                for (int j = 0; j < {{hidden}}; j++) {
                    float in = {{name}}_sigmoid(a[j]), forget = {{name}}_sigmoid(a[{{hidden}} + j]);
                    float g = tanhf(a[2 * {{hidden}} + j]), out = {{name}}_sigmoid(a[3 * {{hidden}} + j]);
                    c[j] = forget * c[j] + in * g;
                    h[j] = out * tanhf(c[j]);
                }
            }

            """,
        _ => $$"""
            /* One tanh layer: h = tanh(u Wx + h Wh + b), u of width floats. */
            static inline void {{name}}_layer(const float *Wx, const float *Wh, const float *b, const float *u, int width, float *h)
            {
                float a[{{hidden}}];
                for (int j = 0; j < {{hidden}}; j++) a[j] = b[j];
                for (int i = 0; i < width; i++) {
                    float ui = u[i];
                    for (int j = 0; j < {{hidden}}; j++) a[j] += ui * Wx[i * {{hidden}} + j];
                }
                for (int k = 0; k < {{hidden}}; k++) {
                    float hk = h[k];
                    for (int j = 0; j < {{hidden}}; j++) a[j] += hk * Wh[k * {{hidden}} + j];
                }
                for (int j = 0; j < {{hidden}}; j++) h[j] = tanhf(a[j]);
            }

            """,
    };

    /// <summary>
    /// A C# class in namespace <paramref name="ns"/> holding the arrays (and the normalisation's),
    /// with <c>Create()</c>, which builds the <see cref="RnnModel"/> of any cell and depth. Every
    /// value is written exactly.
    /// </summary>
    public static string ToCSharp(ParameterSet p, Normalization? n, string name, string ns)
    {
        ArgumentNullException.ThrowIfNull(p);
        var s = p.Shape;
        var c = new StringBuilder();
        c.Append(CultureInfo.InvariantCulture, $$"""
            // FastLra model {{name}}: I = {{s.Inputs}}, H = {{s.Hidden}}, O = {{s.Outputs}}, {{Describe(s)}}. Written by fastlra export.
            // Row-major, row-vector convention, in FastLra's layout (RnnShape): {{CellEquations(s, "// ")}}
            // then y = h Why + by from the top layer.
            using FastLra.Model;

            namespace {{ns}};

            /// <summary>The weights of {{name}}; <see cref="Create"/> builds the model.</summary>
            public static class {{name}}
            {

            """);
        for (int t = 0; t < s.TensorCount; t++)
        {
            var (_, _, rows, cols) = s.Slot(t);
            string tensor = s.TensorName(t);
            c.Append(CultureInfo.InvariantCulture, $"    /// <summary>{tensor}, {(rows > 0 ? $"{rows} x {cols}" : $"{cols}")}.</summary>\n    public static ReadOnlySpan<float> {tensor} => [\n");
            AppendValues(c, p.Tensor(t), csharp: true, "        ");
            c.Append("    ];\n\n");
        }
        string normalization = "null";
        if (n is not null)
        {
            string[] names = n.HasTargets ? ["InputMean", "InputStd", "TargetMean", "TargetStd"] : ["InputMean", "InputStd"];
            float[][] values = n.HasTargets ? [n.InputMean, n.InputStd, n.TargetMean, n.TargetStd] : [n.InputMean, n.InputStd];
            for (int k = 0; k < names.Length; k++)
            {
                c.Append(CultureInfo.InvariantCulture, $"    /// <summary>The normalisation's {names[k]}.</summary>\n    public static ReadOnlySpan<float> {names[k]} => [\n");
                AppendValues(c, values[k], csharp: true, "        ");
                c.Append("    ];\n\n");
            }
            normalization = n.HasTargets
                ? "new Normalization(InputMean.ToArray(), InputStd.ToArray(), TargetMean.ToArray(), TargetStd.ToArray())"
                : "new Normalization(InputMean.ToArray(), InputStd.ToArray(), [], [])";
        }
        string cellAndLayers = s.IsSimpleTanh ? "" : string.Concat(", CellKind.", s.Cell switch
        {
            CellKind.Gru => nameof(CellKind.Gru),
            CellKind.Lstm => nameof(CellKind.Lstm),
            _ => nameof(CellKind.Tanh),
        }, ", ", s.Layers.ToString(CultureInfo.InvariantCulture));
        c.Append(CultureInfo.InvariantCulture, $$"""
                /// <summary>The model, I = {{s.Inputs}}, H = {{s.Hidden}}, O = {{s.Outputs}}, {{Describe(s)}}: step it with an <see cref="RnnState"/>.</summary>
                public static RnnModel Create()
                {
                    var shape = new RnnShape({{s.Inputs}}, {{s.Hidden}}, {{s.Outputs}}{{cellAndLayers}});
                    var parameters = new ParameterSet(shape);

            """);
        for (int t = 0; t < s.TensorCount; t++)
            c.Append(CultureInfo.InvariantCulture, $"        {s.TensorName(t)}.CopyTo(parameters.Tensor({t}));\n");
        c.Append(CultureInfo.InvariantCulture, $$"""
                    return new RnnModel(parameters, {{normalization}});
                }
            }

            """);
        return c.ToString();
    }

    private static void AppendArray(StringBuilder c, string name, string array, float[] values)
    {
        c.Append(CultureInfo.InvariantCulture, $"static const float {name}_{array}[{values.Length}] = {{\n");
        AppendValues(c, values, csharp: false, "    ");
        c.Append("};\n");
    }

    // Eight values a line, in round-trip format, with the suffix each language needs.
    private static void AppendValues(StringBuilder c, ReadOnlySpan<float> values, bool csharp, string indent)
    {
        for (int k = 0; k < values.Length; k++)
        {
            if (k % 8 == 0) c.Append(indent);
            c.Append(values[k].ToString("R", CultureInfo.InvariantCulture)).Append(FloatSuffix(values[k], csharp));
            c.Append(k + 1 < values.Length ? (k % 8 == 7 ? ",\n" : ", ") : "\n");
        }
    }

    private static string FloatSuffix(float value, bool csharp)
    {
        // "R" gives e.g. 1E-05 or 3; C needs a '.' or exponent before the f suffix, C# takes f after any literal.
        if (csharp) return "f";
        string r = value.ToString("R", CultureInfo.InvariantCulture);
        return r.Contains('.', StringComparison.Ordinal) || r.Contains('E', StringComparison.Ordinal) ? "f" : ".0f";
    }

    private static ParameterSet Plain(Dictionary<string, (int[] Shape, float[] Data)> tensors, string path)
    {
        var wxh = Get(tensors, "Wxh", path);
        var why = Get(tensors, "Why", path);
        if (wxh.Shape.Length != 2 || why.Shape.Length != 2) throw new WeightFileException($"{path}: Wxh and Why must be matrices.");
        var shape = new RnnShape(wxh.Shape[0], wxh.Shape[1], why.Shape[1]);
        if (shape.Inputs <= 0 || shape.Hidden <= 0 || shape.Outputs <= 0) throw new WeightFileException($"{path}: the tensors have an empty dimension.");
        var p = new ParameterSet(shape);
        for (int t = 0; t < RnnShape.Names.Length; t++)
        {
            var (_, _, rows, cols) = shape.Slot(t);
            Expect(tensors, RnnShape.Names[t], rows > 0 ? [rows, cols] : [cols], path).CopyTo(p.Tensor(t));
        }
        return p;
    }

    private static (int[] Shape, float[] Data) Get(Dictionary<string, (int[] Shape, float[] Data)> tensors, string name, string path) =>
        tensors.TryGetValue(name, out var tensor) ? tensor : throw new WeightFileException($"{path}: tensor '{name}' is missing.");

    // The tensor's values after checking its shape (the message ends with what): they must be finite.
    private static float[] Expect(Dictionary<string, (int[] Shape, float[] Data)> tensors, string name, int[] shape, string path, string what = "")
    {
        var tensor = Get(tensors, name, path);
        if (!tensor.Shape.AsSpan().SequenceEqual(shape))
            throw new WeightFileException($"{path}: tensor '{name}' has shape [{string.Join(", ", tensor.Shape)}], expected [{string.Join(", ", shape)}]{what}.");
        ModelFile.CheckFinite(path, name, tensor.Data);
        return tensor.Data;
    }

    /// <summary>dest (cols x rows) = source (rows x cols) transposed.</summary>
    private static void Transpose(ReadOnlySpan<float> source, int rows, int cols, Span<float> dest)
    {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) dest[c * rows + r] = source[r * cols + c];
    }

    private static Dictionary<string, (int[] Shape, float[] Data)> ReadSafeTensors(string path)
    {
        var file = new SafeTensors.SafeTensorsFile(path);
        var result = new Dictionary<string, (int[], float[])>();
        foreach (var tensor in file.Tensors)
        {
            // Other dtypes are not weights of this model; nothing is allocated for them. The floats
            // made of a tensor take at most its bytes, which the file's price counted.
            if (tensor.DType is not ("F32" or "F64")) continue;
            var raw = file.Raw(tensor);
            var data = new float[raw.Length / (tensor.DType == "F64" ? 8 : 4)];
            if (tensor.DType == "F64")
                for (int k = 0; k < data.Length; k++) data[k] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * k)..]);
            else
                file.ReadFloats(tensor, data);
            result[tensor.Name] = (tensor.Shape, data);
        }
        return result;
    }

    private static Dictionary<string, (int[] Shape, float[] Data)> ReadNpz(string path)
    {
        var result = new Dictionary<string, (int[], float[])>();
        try
        {
            foreach (var (name, bytes) in Zip.Read(SafeTensors.ReadPriced(path, copies: 3), 16L + 8L * MaxElements + 65536, path))
                if (name.EndsWith(".npy", StringComparison.Ordinal)) result[name[..^4]] = ParseNpy(bytes, $"{path}: {name}");
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            // A damaged archive is refused content; an unreadable file keeps its read failure.
            string message = $"{path}: not a readable .npz archive ({e.Message}).";
            throw e is InvalidDataException ? new WeightFileException(message) : new WeightFileException(message, e);
        }
        return result;
    }

    private static (int[] Shape, float[] Data) ParseNpy(byte[] bytes, string what)
    {
        NumericArray array;
        try
        {
            array = NumericArray.ParseNpy(bytes, what, MaxElements);
        }
        catch (InvalidDataException e)
        {
            throw new WeightFileException(e.Message);
        }
        if (array.IsInteger) throw new WeightFileException($"{what}: dtype {array.DType} is not little-endian float32 or float64.");
        return (array.Shape, array.Data);
    }
}
