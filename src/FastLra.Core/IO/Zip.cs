using System.Buffers.Binary;
using System.Text;

namespace FastLra.IO;

/// <summary>
/// The part of the zip format that numpy.savez files use, small enough to keep the Native AOT
/// binary under 4 MB (System.IO.Compression's ZipArchive adds about 450 KB, its deflate alone
/// about 200 KB): reading the central directory, stored entries and the zip64 size fields numpy
/// writes; writing stored entries. Compressed entries (numpy.savez_compressed) are refused by name.
/// Every offset and size is checked against the archive before use.
/// </summary>
internal static class Zip
{
    private const uint EndOfDirectory = 0x06054b50, DirectoryEntry = 0x02014b50, LocalHeader = 0x04034b50;

    /// <summary>
    /// The entries of an archive: name and uncompressed bytes (each at most <paramref name="maxEntryBytes"/>).
    /// Entries whose data overlap are refused, so the bytes copied never exceed the archive's own
    /// (a central directory pointing many entries at one stored file would otherwise multiply it);
    /// the directory must list the entries in the order of their data, as zip writers do.
    /// </summary>
    public static List<(string Name, byte[] Data)> Read(byte[] zip, long maxEntryBytes, string what)
    {
        int end = FindEndOfDirectory(zip) ?? throw new InvalidDataException("no end-of-central-directory record");
        int count = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(end + 10));
        long directory = BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(end + 16));
        // Writers (numpy's zipfile among them) list entries in the order they wrote them: each entry's
        // data must start after the previous one's ends. Checked in the same pass, no sort, so
        // overlapping entries are refused whatever their number, and the copies made before a
        // refusal are disjoint parts of the archive.
        var entries = new List<(string, byte[])>();
        long at = directory, previousEnd = 0;
        string previous = "";
        for (int i = 0; i < count; i++)
        {
            Need(zip, at, 46);
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan((int)at)) != DirectoryEntry) throw new InvalidDataException("bad central directory entry");
            var e = zip.AsSpan((int)at);
            int method = BinaryPrimitives.ReadUInt16LittleEndian(e[10..]);
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(e[20..]);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(e[24..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(e[28..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(e[30..]);
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(e[32..]);
            long local = BinaryPrimitives.ReadUInt32LittleEndian(e[42..]);
            Need(zip, at + 46, (long)nameLength + extraLength + commentLength);
            string name = Encoding.UTF8.GetString(zip, (int)at + 46, nameLength);
            ReadZip64(zip.AsSpan((int)at + 46 + nameLength, extraLength), ref size, ref compressed, ref local);
            if (size > maxEntryBytes) throw new InvalidDataException($"entry '{name}' is too large ({size} bytes)");
            Need(zip, local, 30);
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan((int)local)) != LocalHeader) throw new InvalidDataException($"entry '{name}' has no local header");
            long data = local + 30 + BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan((int)local + 26)) + BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan((int)local + 28));
            Need(zip, data, compressed);
            if (method == 8) throw new InvalidDataException($"entry '{name}' is compressed; FastLra reads uncompressed archives (numpy.savez, not savez_compressed)");
            if (method != 0 || compressed != size) throw new InvalidDataException($"entry '{name}' uses compression method {method}, not stored");
            if (data < previousEnd) throw new InvalidDataException($"entry '{name}' overlaps or precedes the data of '{previous}'");
            entries.Add((name, zip.AsSpan((int)data, (int)size).ToArray()));
            (previousEnd, previous) = (data + size, name);
            at += 46 + nameLength + extraLength + commentLength;
        }
        return entries;
    }

    /// <summary>An archive of stored (uncompressed) entries.</summary>
    public static void Write(Stream stream, IReadOnlyList<(string Name, byte[] Data)> entries)
    {
        var directory = new MemoryStream();
        long offset = 0;
        Span<byte> header = stackalloc byte[46];
        foreach (var (name, data) in entries)
        {
            byte[] nameBytes = Encoding.UTF8.GetBytes(name);
            uint crc = Crc32(data);
            header.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(header, LocalHeader);
            BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 20);                // version needed
            BinaryPrimitives.WriteUInt32LittleEndian(header[14..], crc);
            BinaryPrimitives.WriteUInt32LittleEndian(header[18..], (uint)data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header[22..], (uint)data.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(header[26..], (ushort)nameBytes.Length);
            stream.Write(header[..30]);
            stream.Write(nameBytes);
            stream.Write(data);

            header.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(header, DirectoryEntry);
            BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 20);                // version made by
            BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 20);                // version needed
            BinaryPrimitives.WriteUInt32LittleEndian(header[16..], crc);
            BinaryPrimitives.WriteUInt32LittleEndian(header[20..], (uint)data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header[24..], (uint)data.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(header[28..], (ushort)nameBytes.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header[42..], (uint)offset);
            directory.Write(header);
            directory.Write(nameBytes);
            offset += 30 + nameBytes.Length + data.Length;
        }
        directory.Position = 0;
        directory.CopyTo(stream);
        header.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header, EndOfDirectory);
        BinaryPrimitives.WriteUInt16LittleEndian(header[8..], (ushort)entries.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(header[10..], (ushort)entries.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)directory.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)offset);
        stream.Write(header[..22]);
    }

    private static int? FindEndOfDirectory(byte[] zip)
    {
        // The record is 22 bytes plus a comment of up to 65535 bytes, at the very end.
        for (int at = zip.Length - 22; at >= 0 && at >= zip.Length - 22 - 65535; at--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(at)) == EndOfDirectory) return at;
        return null;
    }

    // Zip64 extended information (id 1): the 64-bit values of the fields whose 32-bit value is all ones, in this order.
    private static void ReadZip64(ReadOnlySpan<byte> extra, ref long size, ref long compressed, ref long local)
    {
        while (extra.Length >= 4)
        {
            int id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            int length = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (length > extra.Length - 4) throw new InvalidDataException("bad extra field");
            var field = extra.Slice(4, length);
            if (id == 1)
            {
                int p = 0;
                if (size == uint.MaxValue) size = Next(field, ref p);
                if (compressed == uint.MaxValue) compressed = Next(field, ref p);
                if (local == uint.MaxValue) local = Next(field, ref p);
            }
            extra = extra[(4 + length)..];
        }
    }

    private static long Next(ReadOnlySpan<byte> field, ref int p)
    {
        if (p + 8 > field.Length) throw new InvalidDataException("bad zip64 field");
        ulong value = BinaryPrimitives.ReadUInt64LittleEndian(field[p..]);
        p += 8;
        return value > long.MaxValue ? throw new InvalidDataException("bad zip64 size") : (long)value;
    }

    private static void Need(byte[] zip, long at, long length)
    {
        if (at < 0 || length < 0 || at + length > zip.Length) throw new InvalidDataException("an entry points outside the archive");
    }

    private static readonly uint[] CrcTable = BuildCrcTable();

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }

    /// <summary>CRC-32 (IEEE 802.3), as zip records it.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (byte b in data) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
}
