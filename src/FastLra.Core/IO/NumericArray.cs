using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace FastLra.IO;

/// <summary>
/// An array read from an .npy entry or a safetensors tensor, its values widened or narrowed to
/// float: little-endian float32/float64, or any integer or boolean type (whose values are
/// <see cref="IsInteger"/>; labels and counts stay exact up to 2^24).
/// </summary>
internal sealed record NumericArray(int[] Shape, float[] Data, bool IsInteger, string DType)
{
    /// <summary>The number of values the shape holds, or -1 past <paramref name="maxElements"/>.</summary>
    internal static long Elements(ReadOnlySpan<int> shape, long maxElements)
    {
        long count = 1;
        foreach (int d in shape)
        {
            count *= d;
            if (count > maxElements) return -1;
        }
        return count;
    }

    /// <summary>
    /// Parses an .npy array (magic "\x93NUMPY", version, header length, an ASCII Python dict with
    /// 'descr', 'fortran_order' and 'shape', then the data). Every failure is an
    /// <see cref="InvalidDataException"/> whose message starts with <paramref name="what"/>.
    /// </summary>
    public static NumericArray ParseNpy(ReadOnlySpan<byte> bytes, string what, long maxElements)
    {
        if (bytes.Length < 10 || bytes[0] != 0x93 || !bytes.Slice(1, 5).SequenceEqual("NUMPY"u8))
            throw new InvalidDataException($"{what}: not an .npy array.");
        int major = bytes[6];
        int start = major == 1 ? 10 : 12;
        if (major is < 1 or > 3 || bytes.Length < start) throw new InvalidDataException($"{what}: the .npy header is truncated.");
        long headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]) : BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
        if (headerLength > bytes.Length - start) throw new InvalidDataException($"{what}: the .npy header is truncated.");
        string header = Encoding.ASCII.GetString(bytes.Slice(start, (int)headerLength));
        string descr = Field(header, "descr", what).Trim().Trim('\'', '"');
        if (Field(header, "fortran_order", what).Trim() != "False") throw new InvalidDataException($"{what}: Fortran-ordered arrays are not supported.");
        string shapeText = Field(header, "shape", what).Trim().TrimStart('(').TrimEnd(')');
        var dims = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var shape = new int[dims.Length];
        for (int k = 0; k < dims.Length; k++)
            if (!int.TryParse(dims[k], NumberStyles.None, CultureInfo.InvariantCulture, out shape[k])) throw new InvalidDataException($"{what}: bad shape ({shapeText}).");
        string dtype = descr.Length > 0 && descr[0] is '<' or '|' or '=' ? descr[1..] : descr;
        if (descr.Length > 0 && descr[0] == '>' && dtype != "u1" && dtype != "i1")
            throw new InvalidDataException($"{what}: dtype {descr} is big-endian; save it little-endian (arr.astype('<f4')).");
        return Convert(dtype, shape, bytes[(start + (int)headerLength)..], what, descr, maxElements);
    }

    /// <summary>A safetensors tensor's values (dtypes F64, F32, I64 .. U8, BOOL).</summary>
    public static NumericArray FromSafeTensors(SafeTensors.SafeTensorsFile file, SafeTensors.TensorInfo tensor, long maxElements)
    {
        string dtype = tensor.DType switch
        {
            "F64" => "f8", "F32" => "f4", "I64" => "i8", "I32" => "i4", "I16" => "i2", "I8" => "i1",
            "U64" => "u8", "U32" => "u4", "U16" => "u2", "U8" => "u1", "BOOL" => "b1", _ => tensor.DType,
        };
        return Convert(dtype, tensor.Shape, file.Raw(tensor), $"{file.Path}: tensor '{tensor.Name}'", tensor.DType, maxElements);
    }

    private static NumericArray Convert(string dtype, int[] shape, ReadOnlySpan<byte> data, string what, string shown, long maxElements)
    {
        int width = dtype switch
        {
            "f8" or "i8" or "u8" => 8,
            "f4" or "i4" or "u4" => 4,
            "i2" or "u2" => 2,
            "i1" or "u1" or "b1" => 1,
            _ => throw new InvalidDataException($"{what}: dtype {shown} is not a float or integer type FastLra reads (float32, float64, int8-64, uint8-64, bool)."),
        };
        long count = Elements(shape, maxElements);
        if (count < 0) throw new InvalidDataException($"{what}: the array is too large (more than {maxElements} values).");
        if (data.Length != count * width)
            throw new InvalidDataException($"{what}: holds {data.Length} bytes of data, its shape and dtype need {count * width}.");
        var values = new float[count];
        for (int k = 0; k < values.Length; k++)
        {
            var b = data.Slice(k * width, width);
            values[k] = dtype switch
            {
                "f4" => BinaryPrimitives.ReadSingleLittleEndian(b),
                "f8" => (float)BinaryPrimitives.ReadDoubleLittleEndian(b),
                "i8" => BinaryPrimitives.ReadInt64LittleEndian(b),
                "u8" => BinaryPrimitives.ReadUInt64LittleEndian(b),
                "i4" => BinaryPrimitives.ReadInt32LittleEndian(b),
                "u4" => BinaryPrimitives.ReadUInt32LittleEndian(b),
                "i2" => BinaryPrimitives.ReadInt16LittleEndian(b),
                "u2" => BinaryPrimitives.ReadUInt16LittleEndian(b),
                "i1" => (sbyte)b[0],
                _ => b[0],
            };
        }
        return new NumericArray(shape, values, dtype[0] != 'f', shown);
    }

    private static string Field(string header, string key, string what)
    {
        int at = header.IndexOf($"'{key}'", StringComparison.Ordinal);
        if (at < 0) throw new InvalidDataException($"{what}: the .npy header has no '{key}'.");
        int colon = header.IndexOf(':', at);
        if (colon < 0) throw new InvalidDataException($"{what}: the .npy header is malformed.");
        int end = key == "shape" ? header.IndexOf(')', colon) + 1 : header.IndexOf(',', colon);
        if (end <= colon) throw new InvalidDataException($"{what}: the .npy header is malformed.");
        return header[(colon + 1)..end];
    }
}
