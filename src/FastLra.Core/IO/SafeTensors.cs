using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace FastLra.IO;

/// <summary>
/// A weight file that cannot be used, with a message naming what is wrong: damaged or refused
/// content, or (with an <see cref="Exception.InnerException"/>) a file that could not be read at all.
/// </summary>
public sealed class WeightFileException : Exception
{
    /// <summary>A file whose content is refused; the message names the file and what is wrong.</summary>
    public WeightFileException(string message)
        : base(message)
    {
    }

    /// <summary>A file that could not be read; <paramref name="inner"/> is the failure of the read.</summary>
    public WeightFileException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// The five parameters as a safetensors file: an 8-byte little-endian header length, a JSON
/// header mapping each name to {dtype: "F32", shape, data_offsets} (plus optional string-valued
/// <c>__metadata__</c>), then the raw little-endian float32 data.
/// </summary>
public static class SafeTensors
{
    /// <summary>Headers above this size are refused before anything is allocated for them.</summary>
    public const int MaxHeaderBytes = 16 << 20;

    /// <summary>Files above this size are refused before they are read (weights of H = 8000 fit).</summary>
    public const long MaxFileBytes = 1L << 30;

    /// <summary>
    /// The bytes of a weight file (at most <see cref="MaxFileBytes"/>), priced before they are read:
    /// <paramref name="copies"/> times its size (the bytes and what the reader makes of them) must
    /// fit the memory budget, or a <see cref="WeightFileException"/> says what it would need.
    /// </summary>
    internal static byte[] ReadPriced(string path, int copies)
    {
        using var stream = BoundedFile.Open(path, MaxFileBytes);
        long need = copies * stream.Length;
        if (need > MemoryBudget.Bytes)
            throw new WeightFileException(MemoryBudget.TooMuch($"{path}: reading it", need, "give the process more memory (docs/deployment.md)"));
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>One tensor to write: its name, dtype ("F32", "U32"), shape and little-endian bytes.</summary>
    public readonly record struct Entry(string Name, string DType, int[] Shape, byte[] Data);

    /// <summary>An F32 entry from floats.</summary>
    public static Entry Floats(string name, int[] shape, ReadOnlySpan<float> values)
    {
        var data = new byte[4 * values.Length];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4 * i), values[i]);
        return new Entry(name, "F32", shape, data);
    }

    /// <summary>A U32 entry from unsigned integers.</summary>
    public static Entry UInt32s(string name, ReadOnlySpan<uint> values)
    {
        var data = new byte[4 * values.Length];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(4 * i), values[i]);
        return new Entry(name, "U32", [values.Length], data);
    }

    /// <summary>Writes tensors and string metadata to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, IReadOnlyList<Entry> tensors, IReadOnlyList<KeyValuePair<string, string>>? metadata)
    {
        var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var tensor in tensors)
            {
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", tensor.DType);
                json.WriteStartArray("shape");
                foreach (int d in tensor.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + tensor.Data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += tensor.Data.Length;
            }
            json.WriteEndObject();
        }
        // The format pads the header with spaces so the data starts 8-byte aligned.
        while (header.Length % 8 != 0) header.WriteByte((byte)' ');
        var prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        AtomicFile.Write(path, stream =>
        {
            stream.Write(prefix);
            header.Position = 0;
            header.CopyTo(stream);
            foreach (var tensor in tensors) stream.Write(tensor.Data);
        });
    }

    /// <summary>A tensor entry of a header.</summary>
    public sealed record TensorInfo(string Name, string DType, int[] Shape, long Begin, long End);

    /// <summary>A parsed and validated safetensors file held in memory.</summary>
    public sealed class SafeTensorsFile
    {
        private readonly byte[] _bytes;
        private readonly long _dataStart;

        /// <summary>Reads and parses the file at <paramref name="path"/> (bounded in size; a directory, pipe or device is refused).</summary>
        public SafeTensorsFile(string path)
            : this(path, ReadAll(path))
        {
        }

        /// <summary>Parses a file's bytes; <paramref name="path"/> names it in messages.</summary>
        public SafeTensorsFile(string path, byte[] bytes)
        {
            Path = path;
            _bytes = bytes;
            if (_bytes.Length < 8) throw new WeightFileException($"{path}: too short for a safetensors file ({_bytes.Length} bytes).");
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(_bytes);
            if (headerLength > MaxHeaderBytes || headerLength > (ulong)(_bytes.Length - 8))
                throw new WeightFileException($"{path}: header length {headerLength} exceeds the file ({_bytes.Length} bytes); the file is truncated or not safetensors.");
            _dataStart = 8 + (long)headerLength;
            Tensors = [];
            Metadata = [];
            Parse(_bytes.AsSpan(8, (int)headerLength));
        }

        /// <summary>The file's path, as messages name it.</summary>
        public string Path { get; }

        /// <summary>The tensors the header lists, in the header's order.</summary>
        public List<TensorInfo> Tensors { get; }

        // The bytes and the floats a reader makes of them.
        private static byte[] ReadAll(string path)
        {
            try
            {
                return ReadPriced(path, copies: 2);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new WeightFileException($"{path}: cannot read ({e.Message}).", e);
            }
        }

        /// <summary>The header's <c>__metadata__</c> strings (empty when it has none).</summary>
        public Dictionary<string, string> Metadata { get; }

        /// <summary>The tensor named <paramref name="name"/>, or null.</summary>
        public TensorInfo? Find(string name) => Tensors.Find(t => t.Name == name);

        /// <summary>The values of an F64 tensor.</summary>
        public double[] ReadDoubles(TensorInfo tensor)
        {
            var bytes = Bytes(tensor, "F64", -1);
            var values = new double[bytes.Length / 8];
            for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]);
            return values;
        }

        /// <summary>Copies a U32 tensor into <paramref name="destination"/> (its element count long).</summary>
        public void ReadUInt32s(TensorInfo tensor, Span<uint> destination)
        {
            var bytes = Bytes(tensor, "U32", 4 * destination.Length);
            for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(4 * i)..]);
        }

        /// <summary>Copies an F32 tensor into <paramref name="destination"/> (its element count long).</summary>
        public void ReadFloats(TensorInfo tensor, Span<float> destination)
        {
            var bytes = Bytes(tensor, "F32", 4 * destination.Length);
            for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
        }

        /// <summary>A tensor's raw bytes, of whatever dtype.</summary>
        public ReadOnlySpan<byte> Raw(TensorInfo tensor) => _bytes.AsSpan((int)(_dataStart + tensor.Begin), (int)(tensor.End - tensor.Begin));

        /// <summary>A tensor's bytes, checked to have <paramref name="dtype"/> and, unless -1, <paramref name="length"/> bytes.</summary>
        private ReadOnlySpan<byte> Bytes(TensorInfo tensor, string dtype, int length)
        {
            if (tensor.DType != dtype) throw new WeightFileException($"{Path}: tensor '{tensor.Name}' has dtype {tensor.DType}, expected {dtype}.");
            var bytes = _bytes.AsSpan((int)(_dataStart + tensor.Begin), (int)(tensor.End - tensor.Begin));
            if (length >= 0 && bytes.Length != length)
                throw new WeightFileException($"{Path}: tensor '{tensor.Name}' holds {bytes.Length} bytes, expected {length}.");
            return bytes;
        }

        private void Parse(ReadOnlySpan<byte> header)
        {
            // JsonDocument checks UTF-8 only when a string is read; check it all here, once.
            if (!System.Text.Unicode.Utf8.IsValid(header)) throw new WeightFileException($"{Path}: the header is not valid UTF-8.");
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
            }
            catch (JsonException e)
            {
                throw new WeightFileException($"{Path}: the header is not valid JSON ({e.Message}).");
            }
            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                    throw new WeightFileException($"{Path}: the header is not a JSON object.");
                long dataLength = _bytes.Length - _dataStart;
                foreach (var entry in document.RootElement.EnumerateObject())
                {
                    if (entry.Name == "__metadata__")
                    {
                        ParseMetadata(entry.Value);
                        continue;
                    }
                    Tensors.Add(ParseTensor(entry.Name, entry.Value, dataLength));
                }
            }
            // As the format requires (and its reference reader checks), the tensors cover the data
            // exactly: in order of their offsets, each begins where the one before ends, and the
            // last ends where the file does; no overlap, no gap, no trailing bytes.
            var ordered = Tensors.ToArray();
            Array.Sort(ordered, static (a, b) => a.Begin.CompareTo(b.Begin));
            long end = 0;
            for (int i = 0; i < ordered.Length; i++)
            {
                if (ordered[i].Begin < end)
                    throw new WeightFileException($"{Path}: tensors '{ordered[i - 1].Name}' and '{ordered[i].Name}' overlap.");
                if (ordered[i].Begin > end)
                    throw new WeightFileException($"{Path}: {ordered[i].Begin - end} bytes before tensor '{ordered[i].Name}' belong to no tensor.");
                end = ordered[i].End;
            }
            if (end != _bytes.Length - _dataStart)
                throw new WeightFileException($"{Path}: {_bytes.Length - _dataStart - end} bytes after the last tensor belong to no tensor; the file is not one whole safetensors file.");
        }

        private void ParseMetadata(JsonElement value)
        {
            if (value.ValueKind != JsonValueKind.Object) throw new WeightFileException($"{Path}: __metadata__ is not an object.");
            foreach (var item in value.EnumerateObject())
            {
                if (item.Value.ValueKind != JsonValueKind.String)
                    throw new WeightFileException($"{Path}: __metadata__ value '{item.Name}' is not a string.");
                Metadata[item.Name] = item.Value.GetString()!;
            }
        }

        private TensorInfo ParseTensor(string name, JsonElement value, long dataLength)
        {
            if (value.ValueKind != JsonValueKind.Object) throw new WeightFileException($"{Path}: entry '{name}' is not an object.");
            if (!value.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String)
                throw new WeightFileException($"{Path}: tensor '{name}' has no dtype.");
            if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
                throw new WeightFileException($"{Path}: tensor '{name}' has no shape.");
            if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
                throw new WeightFileException($"{Path}: tensor '{name}' has no [begin, end] data_offsets.");
            var dims = new int[shapeElement.GetArrayLength()];
            // The element count, or -1 once it passes what any file holds (a zero dimension still makes it 0).
            long elements = 1;
            int d = 0;
            foreach (var dim in shapeElement.EnumerateArray())
            {
                if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt32(out int size) || size < 0)
                    throw new WeightFileException($"{Path}: tensor '{name}' has an invalid dimension.");
                dims[d++] = size;
                if (size == 0) elements = 0;
                else if (elements > 0) elements = elements > (long.MaxValue / 8) / size ? -1 : elements * size;
            }
            if (offsets[0].ValueKind != JsonValueKind.Number || offsets[1].ValueKind != JsonValueKind.Number
                || !offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end) || begin < 0 || end < begin || end > dataLength)
                throw new WeightFileException($"{Path}: tensor '{name}' has data_offsets outside the data ({dataLength} bytes); the file may be truncated.");
            string type = dtype.GetString()!;
            int width = type switch { "F64" or "I64" or "U64" => 8, "F32" or "I32" or "U32" => 4, "F16" or "BF16" or "I16" or "U16" => 2, _ => 1 };
            if (elements < 0)
                throw new WeightFileException($"{Path}: tensor '{name}' has shape [{string.Join(", ", dims)}], more than 2^60 values; it spans {end - begin} bytes.");
            if (elements * width != end - begin)
                throw new WeightFileException($"{Path}: tensor '{name}' spans {end - begin} bytes but its shape and dtype need {elements * width}.");
            return new TensorInfo(name, type, dims, begin, end);
        }
    }
}
