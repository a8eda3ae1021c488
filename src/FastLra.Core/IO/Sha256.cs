using System.Buffers.Binary;
using System.Numerics;

namespace FastLra.IO;

/// <summary>
/// SHA-256 (FIPS 180-4) of a file's bytes, as <c>sha256sum</c> prints it: what a sweep knows a data
/// file by, wherever it lies. Written out here because the runtime's would bring OpenSSL into the
/// Native AOT binary; it is not on any hot path (a 190 MB file takes about a second).
/// </summary>
internal static class Sha256
{
    private static readonly uint[] K =
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    /// <summary>The digest of <paramref name="path"/>'s bytes as 64 lowercase hex digits; the file is opened as every read is (<see cref="BoundedFile"/>).</summary>
    public static string OfFile(string path)
    {
        using var stream = BoundedFile.Open(path, long.MaxValue);
        return Of(stream);
    }

    /// <summary>The digest of what is left to read of <paramref name="stream"/>, however its reads are cut.</summary>
    public static string Of(Stream stream)
    {
        var state = new State();
        var buffer = new byte[1 << 20];
        int read;
        while ((read = stream.Read(buffer)) > 0) state.Append(buffer.AsSpan(0, read));
        return state.Finish();
    }

    /// <summary>The digest of <paramref name="data"/> as 64 lowercase hex digits.</summary>
    public static string Of(ReadOnlySpan<byte> data)
    {
        var state = new State();
        state.Append(data);
        return state.Finish();
    }

    private sealed class State
    {
        private readonly uint[] _h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
        private readonly uint[] _w = new uint[64];
        private readonly byte[] _block = new byte[64];
        private int _filled;
        private ulong _length;

        public void Append(ReadOnlySpan<byte> data)
        {
            _length += (ulong)data.Length;
            if (_filled > 0)
            {
                int take = Math.Min(64 - _filled, data.Length);
                data[..take].CopyTo(_block.AsSpan(_filled));
                _filled += take;
                data = data[take..];
                if (_filled < 64) return;
                Compress(_block);
                _filled = 0;
            }
            for (; data.Length >= 64; data = data[64..]) Compress(data[..64]);
            data.CopyTo(_block);
            _filled = data.Length;
        }

        public string Finish()
        {
            ulong bits = _length * 8;
            Span<byte> tail = stackalloc byte[128];
            _block.AsSpan(0, _filled).CopyTo(tail);
            tail[_filled] = 0x80;
            int size = _filled < 56 ? 64 : 128;
            BinaryPrimitives.WriteUInt64BigEndian(tail[(size - 8)..], bits);
            Compress(tail[..64]);
            if (size == 128) Compress(tail[64..]);
            return string.Create(64, _h, static (text, h) =>
            {
                for (int i = 0; i < 8; i++) h[i].TryFormat(text[(8 * i)..], out _, "x8", System.Globalization.CultureInfo.InvariantCulture);
            });
        }

        private void Compress(ReadOnlySpan<byte> block)
        {
            var w = _w;
            for (int t = 0; t < 16; t++) w[t] = BinaryPrimitives.ReadUInt32BigEndian(block[(4 * t)..]);
            for (int t = 16; t < 64; t++)
            {
                uint s0 = BitOperations.RotateRight(w[t - 15], 7) ^ BitOperations.RotateRight(w[t - 15], 18) ^ (w[t - 15] >> 3);
                uint s1 = BitOperations.RotateRight(w[t - 2], 17) ^ BitOperations.RotateRight(w[t - 2], 19) ^ (w[t - 2] >> 10);
                w[t] = w[t - 16] + s0 + w[t - 7] + s1;
            }
            uint a = _h[0], b = _h[1], c = _h[2], d = _h[3], e = _h[4], f = _h[5], g = _h[6], h = _h[7];
            for (int t = 0; t < 64; t++)
            {
                uint t1 = h + (BitOperations.RotateRight(e, 6) ^ BitOperations.RotateRight(e, 11) ^ BitOperations.RotateRight(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
                uint t2 = (BitOperations.RotateRight(a, 2) ^ BitOperations.RotateRight(a, 13) ^ BitOperations.RotateRight(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
                (h, g, f, e, d, c, b, a) = (g, f, e, d + t1, c, b, a, t1 + t2);
            }
            _h[0] += a; _h[1] += b; _h[2] += c; _h[3] += d; _h[4] += e; _h[5] += f; _h[6] += g; _h[7] += h;
        }
    }
}
