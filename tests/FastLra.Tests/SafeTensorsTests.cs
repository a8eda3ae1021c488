using System.Buffers.Binary;
using System.Text;
using FastLra.IO;
using FastLra.Model;
using Xunit;

namespace FastLra.Tests;

public sealed class SafeTensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ParameterSet Sample(RnnShape shape)
    {
        var p = new ParameterSet(shape);
        for (int i = 0; i < shape.Count; i++) p.Data[i] = i * 0.25f - 3f;
        return p;
    }

    /// <summary>A safetensors file as another tool would write it: any key order, optional metadata.</summary>
    internal static byte[] Build(string headerJson, byte[] data)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    private static byte[] Floats(int count, float start = 0f)
    {
        var data = new byte[4 * count];
        for (int i = 0; i < count; i++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4 * i), start + i);
        return data;
    }

    // I = 2, H = 3, O = 1: Wxh 6, Whh 9, bh 3, Why 3, by 1 = 22 floats.
    private const string ForeignHeader =
        "{\"by\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[84,88]}," +
        "\"Why\":{\"dtype\":\"F32\",\"shape\":[3,1],\"data_offsets\":[72,84]}," +
        "\"Wxh\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}," +
        "\"Whh\":{\"dtype\":\"F32\",\"shape\":[3,3],\"data_offsets\":[24,60]}," +
        "\"bh\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[60,72]}}";

    [Fact]
    public void Round_trip_keeps_every_bit_and_the_metadata()
    {
        var shape = new RnnShape(6, 10, 4);
        var p = Sample(shape);
        string path = Path.Combine(_dir, "m.safetensors");
        ModelFile.Save(path, p, null, [new("task", "temporal-order"), new("lr", "0.01")]);
        var (loaded, metadata) = ModelFile.Read(new SafeTensors.SafeTensorsFile(path));
        Assert.Equal(shape, loaded.Weights.Shape);
        Assert.Equal(p.Data.ToArray(), loaded.Weights.Data.ToArray());
        Assert.Equal("temporal-order", metadata["task"]);
        Assert.Equal("0.01", metadata["lr"]);
        Assert.Single(Directory.GetFiles(_dir)); // no temporary file left behind
        Assert.Equal(0, (BinaryPrimitives.ReadInt64LittleEndian(File.ReadAllBytes(path)) + 8) % 8);
    }

    [Fact]
    public void Files_from_other_tools_load_without_metadata()
    {
        string path = Path.Combine(_dir, "torch.safetensors");
        File.WriteAllBytes(path, Build(ForeignHeader, Floats(22)));
        var (model, metadata) = ModelFile.Read(new SafeTensors.SafeTensorsFile(path));
        var p = model.Weights;
        Assert.Equal(new RnnShape(2, 3, 1), p.Shape);
        Assert.Empty(metadata);
        Assert.Equal(Enumerable.Range(0, 22).Select(i => (float)i), p.Data.ToArray());
        Assert.Equal([15f, 16f, 17f], p.Bh.ToArray());
    }

    [Fact]
    public void Overwriting_replaces_the_file_whole()
    {
        string path = Path.Combine(_dir, "m.safetensors");
        File.WriteAllText(path, "old content that is not a weight file at all");
        ModelFile.Save(path, Sample(new RnnShape(2, 3, 1)), null, null);
        Assert.Equal(new RnnShape(2, 3, 1), ModelFile.Load(path).Weights.Shape);
    }

    public static TheoryData<string, string> BadFiles() => new()
    {
        { "empty", "too short" },
        { "truncated-header", "header length" },
        { "truncated-data", "outside the data" },
        { "not-json", "not valid JSON" },
        { "missing-tensor", "'bh' is missing" },
        { "wrong-dtype", "dtype I32, expected F32" },
        { "wrong-shape", "has shape [3, 2], expected [3, 3]" },
        { "overlap", "overlap" },
        { "size-mismatch", "need" },
        { "huge-header", "header length" },
        { "metadata-not-string", "not a string" },
        { "negative-dim", "invalid dimension" },
        { "trailing", "4 bytes after the last tensor belong to no tensor" },
        { "gap", "4 bytes before tensor 'Whh' belong to no tensor" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Broken_files_fail_with_a_message_naming_the_problem(string kind, string message)
    {
        byte[] good = Build(ForeignHeader, Floats(22));
        byte[] bytes = kind switch
        {
            "empty" => [],
            "truncated-header" => good[..40],
            "truncated-data" => good[..^8],
            "not-json" => Build("{\"Wxh\": [", Floats(22)),
            "missing-tensor" => Build(ForeignHeader.Replace("\"bh\"", "\"bias\""), Floats(22)),
            "wrong-dtype" => Build(ForeignHeader.Replace("\"F32\",\"shape\":[1]", "\"I32\",\"shape\":[1]"), Floats(22)),
            "wrong-shape" => Build(ForeignHeader.Replace("\"shape\":[3,3]", "\"shape\":[3,2]").Replace("[24,60]", "[24,48]").Replace("[60,72]", "[48,60]")
                .Replace("[72,84]", "[60,72]").Replace("[84,88]", "[72,76]"), Floats(19)),
            "overlap" => Build(ForeignHeader.Replace("[24,60]", "[20,56]"), Floats(22)),
            "size-mismatch" => Build(ForeignHeader.Replace("[0,24]", "[0,20]"), Floats(22)),
            "huge-header" => HugeHeader(),
            "metadata-not-string" => Build(ForeignHeader.Replace("{\"by\"", "{\"__metadata__\":{\"a\":1},\"by\""), Floats(22)),
            "negative-dim" => Build(ForeignHeader.Replace("\"shape\":[1]", "\"shape\":[-1]"), Floats(22)),
            "trailing" => [.. good, 0, 0, 0, 0],
            "gap" => Build(ForeignHeader.Replace("[0,24]", "[0,20]").Replace("\"shape\":[2,3]", "\"shape\":[5]"), Floats(22)),
            _ => throw new ArgumentException(kind),
        };
        string path = Path.Combine(_dir, kind + ".safetensors");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<WeightFileException>(() => ModelFile.Load(path));
        Assert.Contains(message, e.Message);
        Assert.StartsWith(path, e.Message);
    }

    private static byte[] HugeHeader()
    {
        var bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue - 3);
        return bytes;
    }

    [Fact]
    public void A_missing_file_is_a_clear_error()
    {
        var e = Assert.Throws<WeightFileException>(() => ModelFile.Load(Path.Combine(_dir, "nope.safetensors")));
        Assert.Contains("cannot read", e.Message);
    }
}
