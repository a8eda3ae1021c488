using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using FastLra.IO;
using FastLra.Model;

namespace FastLra.Interchange;

/// <summary>
/// Weight interchange. Tensors are read from safetensors (F32/F64) or numpy <c>.npz</c> files
/// (<c>&lt;f4</c>/<c>&lt;f8</c>, C order), in either of two layouts: this project's
/// <c>Wxh Whh bh Why by</c>, or a PyTorch <c>nn.RNN</c> + <c>nn.Linear</c> state dict
/// (<c>{rnn}weight_ih_l0</c> H x I, <c>{rnn}weight_hh_l0</c> H x H, <c>{rnn}bias_ih_l0</c> and
/// <c>{rnn}bias_hh_l0</c> H, <c>{fc}weight</c> O x H, <c>{fc}bias</c> O), which is transposed
/// (PyTorch multiplies by Wᵀ) and whose two biases are summed into bh. Everything read is
/// bounded and checked; every failure is a <see cref="WeightFileException"/> naming the file.
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

    /// <summary>Parameters from tensors in either layout (this project's names first).</summary>
    public static ParameterSet ToParameters(Dictionary<string, (int[] Shape, float[] Data)> tensors, string path,
        string rnnPrefix = "rnn.", string fcPrefix = "fc.")
    {
        if (tensors.ContainsKey("Wxh")) return Plain(tensors, path);
        string ih = rnnPrefix + "weight_ih_l0", hh = rnnPrefix + "weight_hh_l0", bih = rnnPrefix + "bias_ih_l0",
            bhh = rnnPrefix + "bias_hh_l0", fw = fcPrefix + "weight", fb = fcPrefix + "bias";
        var weightIh = Get(tensors, ih, path);
        var weightFc = Get(tensors, fw, path);
        if (weightIh.Shape.Length != 2 || weightFc.Shape.Length != 2) throw new WeightFileException($"{path}: '{ih}' and '{fw}' must be matrices.");
        int h = weightIh.Shape[0], i = weightIh.Shape[1], o = weightFc.Shape[0];
        var shape = new RnnShape(i, h, o);
        if (i <= 0 || h <= 0 || o <= 0) throw new WeightFileException($"{path}: the tensors have an empty dimension.");
        var p = new ParameterSet(shape);
        Transpose(Expect(tensors, ih, [h, i], path), h, i, p.Wxh);
        Transpose(Expect(tensors, hh, [h, h], path), h, h, p.Whh);
        Transpose(Expect(tensors, fw, [o, h], path), o, h, p.Why);
        var biasIh = Expect(tensors, bih, [h], path);
        var biasHh = Expect(tensors, bhh, [h], path);
        for (int k = 0; k < h; k++) p.Bh[k] = biasIh[k] + biasHh[k];
        Expect(tensors, fb, [o], path).CopyTo(p.By);
        return p;
    }

    /// <summary>The parameters as a PyTorch nn.RNN + nn.Linear state dict (bias_hh_l0 = 0, bias_ih_l0 = bh).</summary>
    public static List<SafeTensors.Entry> ToTorch(ParameterSet p, string rnnPrefix = "rnn.", string fcPrefix = "fc.")
    {
        var s = p.Shape;
        var ih = new float[s.Hidden * s.Inputs];
        var hh = new float[s.Hidden * s.Hidden];
        var fc = new float[s.Outputs * s.Hidden];
        Transpose(p.Wxh, s.Inputs, s.Hidden, ih);
        Transpose(p.Whh, s.Hidden, s.Hidden, hh);
        Transpose(p.Why, s.Hidden, s.Outputs, fc);
        return
        [
            SafeTensors.Floats(rnnPrefix + "weight_ih_l0", [s.Hidden, s.Inputs], ih),
            SafeTensors.Floats(rnnPrefix + "weight_hh_l0", [s.Hidden, s.Hidden], hh),
            SafeTensors.Floats(rnnPrefix + "bias_ih_l0", [s.Hidden], p.Bh),
            SafeTensors.Floats(rnnPrefix + "bias_hh_l0", [s.Hidden], new float[s.Hidden]),
            SafeTensors.Floats(fcPrefix + "weight", [s.Outputs, s.Hidden], fc),
            SafeTensors.Floats(fcPrefix + "bias", [s.Outputs], p.By),
        ];
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
    /// One self-contained C99 header: include guard, the widths as macros, the arrays (and the
    /// normalisation's, when the model has one), a caller-owned state type and <c>static inline</c>
    /// reset and step functions (no malloc, nothing from libm but <c>tanhf</c>); it may be included
    /// from any number of translation units. Every value is written exactly (round-trip format).
    /// </summary>
    public static string ToC(ParameterSet p, Normalization? n, string name)
    {
        var s = p.Shape;
        string upper = name.ToUpperInvariant();
        var c = new StringBuilder();
        c.Append(CultureInfo.InvariantCulture, $"""
            /* FastLra SRNN model {name}: I = {s.Inputs}, H = {s.Hidden}, O = {s.Outputs}. Written by fastlra export.
               Row-major, row-vector convention: a = h Whh + x Wxh + bh, h = tanh(a), y = h Why + by{(n is null ? "" : n.HasTargets
                   ? ",\n   with x standardised first ((x - input_mean) / input_std) and y scaled back (y target_std + target_mean)"
                   : ",\n   with x standardised first ((x - input_mean) / input_std)")}.
               Usage: {name}_state s; {name}_reset(&s); then {name}_step(&s, x, y) once per tick.
               C99, no allocation, only tanhf from libm; include it from as many files as you like. */
            #ifndef {upper}_H
            #define {upper}_H

            #include <math.h>

            #define {upper}_INPUTS {s.Inputs}
            #define {upper}_HIDDEN {s.Hidden}
            #define {upper}_OUTPUTS {s.Outputs}


            """);
        for (int t = 0; t < RnnShape.Names.Length; t++)
        {
            var (_, length, rows, cols) = s.Slot(t);
            c.Append(CultureInfo.InvariantCulture, $"/* {RnnShape.Names[t]}, {(rows > 0 ? $"{rows} x {cols}" : $"{cols}")} */\nstatic const float {name}_{RnnShape.Names[t]}[{length}] = {{\n");
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
        string input = n is null ? "x[i]" : $"(x[i] - {name}_input_mean[i]) / {name}_input_std[i]";
        string output = n is { HasTargets: true } ? $"\n    for (int o = 0; o < {upper}_OUTPUTS; o++) y[o] = y[o] * {name}_target_std[o] + {name}_target_mean[o];" : "";
        c.Append(CultureInfo.InvariantCulture, $$"""

            /* The hidden state of one stream, owned by the caller. */
            typedef struct { float h[{{upper}}_HIDDEN]; } {{name}}_state;

            /* h = 0: the start of a stream. */
            static inline void {{name}}_reset({{name}}_state *state)
            {
                for (int j = 0; j < {{upper}}_HIDDEN; j++) state->h[j] = 0.0f;
            }

            /* One tick: x holds {{upper}}_INPUTS floats, y receives {{upper}}_OUTPUTS floats. */
            static inline void {{name}}_step({{name}}_state *state, const float *x, float *y)
            {
                float a[{{upper}}_HIDDEN];
                for (int j = 0; j < {{upper}}_HIDDEN; j++) a[j] = {{name}}_bh[j];
                for (int i = 0; i < {{upper}}_INPUTS; i++) {
                    float xi = {{input}};
                    for (int j = 0; j < {{upper}}_HIDDEN; j++) a[j] += xi * {{name}}_Wxh[i * {{upper}}_HIDDEN + j];
                }
                for (int k = 0; k < {{upper}}_HIDDEN; k++) {
                    float hk = state->h[k];
                    for (int j = 0; j < {{upper}}_HIDDEN; j++) a[j] += hk * {{name}}_Whh[k * {{upper}}_HIDDEN + j];
                }
                for (int j = 0; j < {{upper}}_HIDDEN; j++) state->h[j] = tanhf(a[j]);
                for (int o = 0; o < {{upper}}_OUTPUTS; o++) y[o] = {{name}}_by[o];
                for (int j = 0; j < {{upper}}_HIDDEN; j++)
                    for (int o = 0; o < {{upper}}_OUTPUTS; o++) y[o] += state->h[j] * {{name}}_Why[j * {{upper}}_OUTPUTS + o];{{output}}
            }

            #endif

            """);
        return c.ToString();
    }

    /// <summary>
    /// A C# class in namespace <paramref name="ns"/> holding the arrays (and the normalisation's),
    /// with <c>Create()</c>, which builds the <see cref="RnnModel"/>. Every value is written exactly.
    /// </summary>
    public static string ToCSharp(ParameterSet p, Normalization? n, string name, string ns)
    {
        var s = p.Shape;
        var c = new StringBuilder();
        c.Append(CultureInfo.InvariantCulture, $$"""
            // FastLra SRNN model {{name}}: I = {{s.Inputs}}, H = {{s.Hidden}}, O = {{s.Outputs}}. Written by fastlra export.
            // Row-major, row-vector convention: a = h Whh + x Wxh + bh, h = tanh(a), y = h Why + by.
            using FastLra.Model;

            namespace {{ns}};

            /// <summary>The weights of {{name}}; <see cref="Create"/> builds the model.</summary>
            public static class {{name}}
            {

            """);
        for (int t = 0; t < RnnShape.Names.Length; t++)
        {
            var (_, _, rows, cols) = s.Slot(t);
            c.Append(CultureInfo.InvariantCulture, $"    /// <summary>{RnnShape.Names[t]}, {(rows > 0 ? $"{rows} x {cols}" : $"{cols}")}.</summary>\n    public static ReadOnlySpan<float> {RnnShape.Names[t]} => [\n");
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
        c.Append(CultureInfo.InvariantCulture, $$"""
                /// <summary>The model, I = {{s.Inputs}}, H = {{s.Hidden}}, O = {{s.Outputs}}: step it with an <see cref="RnnState"/>.</summary>
                public static RnnModel Create()
                {
                    var shape = new RnnShape({{s.Inputs}}, {{s.Hidden}}, {{s.Outputs}});
                    var parameters = new ParameterSet(shape);
                    Wxh.CopyTo(parameters.Tensor(0));
                    Whh.CopyTo(parameters.Tensor(1));
                    bh.CopyTo(parameters.Tensor(2));
                    Why.CopyTo(parameters.Tensor(3));
                    by.CopyTo(parameters.Tensor(4));
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

    private static float[] Expect(Dictionary<string, (int[] Shape, float[] Data)> tensors, string name, int[] shape, string path)
    {
        var tensor = Get(tensors, name, path);
        if (!tensor.Shape.AsSpan().SequenceEqual(shape))
            throw new WeightFileException($"{path}: tensor '{name}' has shape [{string.Join(", ", tensor.Shape)}], expected [{string.Join(", ", shape)}].");
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
