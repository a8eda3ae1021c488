using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;

namespace FastLra.IO;

/// <summary>
/// What tells one file's content from another's: its length and CRC-32C (Castagnoli's polynomial,
/// as iSCSI and ext4 use it), taken while the file is read. A model trained on a data file records
/// its training file's, so that <c>eval</c> and <c>predict</c> know that file again. CRC-32C runs on
/// the CPU's crc32 instruction (<see cref="BitOperations.Crc32C(uint, ulong)"/>, several GB/s) and
/// needs no cryptography library, which the Native AOT binary would have to find at run time.
/// </summary>
internal sealed class FileChecksum
{
    private uint _crc = uint.MaxValue;

    /// <summary>The bytes seen so far.</summary>
    public long Bytes { get; private set; }

    /// <summary>The CRC-32C of the bytes seen so far (initial value and final complement as the standard has them: "123456789" gives e3069283).</summary>
    public uint Crc32C => ~_crc;

    /// <summary>The CRC as 8 lowercase hex digits, as metadata records it.</summary>
    public string Hex => Crc32C.ToString("x8", CultureInfo.InvariantCulture);

    /// <summary>Takes the next bytes of the file.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        uint crc = _crc;
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        // Crc32C takes a word's low byte first: memory order on the little-endian machines FastLra runs on.
        foreach (ulong word in words) crc = BitOperations.Crc32C(crc, word);
        foreach (byte b in data[(words.Length * 8)..]) crc = BitOperations.Crc32C(crc, b);
        _crc = crc;
        Bytes += data.Length;
    }

    /// <summary>The checksum of <paramref name="data"/>.</summary>
    public static FileChecksum Of(ReadOnlySpan<byte> data)
    {
        var checksum = new FileChecksum();
        checksum.Append(data);
        return checksum;
    }
}
