using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using FastLra.Model;

namespace FastLra.IO;

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

    /// <summary>The parameters as C (<c>static const float</c>) or C# (<c>static ReadOnlySpan&lt;float&gt;</c>) source.</summary>
    public static string ToSource(ParameterSet p, bool csharp, string name)
    {
        var s = p.Shape;
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"// FastLra SRNN weights: I = {s.Inputs}, H = {s.Hidden}, O = {s.Outputs}; row-major, row-vector convention:");
        text.AppendLine("// a = z_prev Whh + x Wxh + bh, z = tanh(a), y = z Why + by. Written by fastlra export.");
        if (csharp) text.AppendLine(CultureInfo.InvariantCulture, $"public static class {name}\n{{");
        else text.AppendLine(CultureInfo.InvariantCulture, $"#define {name.ToUpperInvariant()}_INPUTS {s.Inputs}\n#define {name.ToUpperInvariant()}_HIDDEN {s.Hidden}\n#define {name.ToUpperInvariant()}_OUTPUTS {s.Outputs}");
        for (int t = 0; t < RnnShape.Names.Length; t++)
        {
            var (_, length, rows, cols) = s.Slot(t);
            string tensor = RnnShape.Names[t];
            string dims = rows > 0 ? $"{rows} x {cols}" : $"{cols}";
            text.AppendLine(csharp
                ? $"    /// <summary>{tensor}, {dims}.</summary>\n    public static ReadOnlySpan<float> {tensor} => ["
                : $"/* {tensor}, {dims} */\nstatic const float {name}_{tensor}[{length}] = {{");
            var values = p.Tensor(t);
            for (int k = 0; k < values.Length; k++)
            {
                if (k % 8 == 0) text.Append(csharp ? "        " : "    ");
                text.Append(values[k].ToString("R", CultureInfo.InvariantCulture)).Append(FloatSuffix(values[k], csharp));
                text.Append(k + 1 < values.Length ? (k % 8 == 7 ? ",\n" : ", ") : "\n");
            }
            text.AppendLine(csharp ? "    ];" : "};");
        }
        if (csharp) text.AppendLine("}");
        return text.ToString();
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
            long count = 1;
            foreach (int d in tensor.Shape) count *= d;
            var data = new float[count];
            if (tensor.DType == "F64")
            {
                var doubles = file.ReadDoubles(tensor);
                for (int k = 0; k < data.Length; k++) data[k] = (float)doubles[k];
            }
            else if (tensor.DType == "F32")
            {
                file.ReadFloats(tensor, data);
            }
            else
            {
                continue; // other dtypes are not weights of this model
            }
            result[tensor.Name] = (tensor.Shape, data);
        }
        return result;
    }

    private static Dictionary<string, (int[] Shape, float[] Data)> ReadNpz(string path)
    {
        var result = new Dictionary<string, (int[], float[])>();
        try
        {
            foreach (var (name, bytes) in Zip.Read(BoundedFile.ReadAllBytes(path, SafeTensors.MaxFileBytes), 16L + 8L * MaxElements + 65536, path))
                if (name.EndsWith(".npy", StringComparison.Ordinal)) result[name[..^4]] = ParseNpy(bytes, $"{path}: {name}");
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new WeightFileException($"{path}: not a readable .npz archive ({e.Message}).");
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
