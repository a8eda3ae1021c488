using System.Text;
using FastLra.IO;
using Xunit;

namespace FastLra.Tests;

/// <summary>SHA-256, which a sweep knows its data files by: the standard's test vectors, and a file read in chunks.</summary>
public sealed class Sha256Tests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-sha-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    [InlineData("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")]
    public void The_standards_vectors(string message, string digest) => Assert.Equal(digest, Sha256.Of(Encoding.ASCII.GetBytes(message)));

    /// <summary>A million 'a's, and lengths around the padding's boundaries (55, 56, 63, 64 bytes) against the runtime's SHA-256.</summary>
    [Fact]
    public void Long_messages_and_every_padding_boundary()
    {
        Assert.Equal("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", Sha256.Of(Encoding.ASCII.GetBytes(new string('a', 1_000_000))));
        var random = new Random(5);
        foreach (int length in new[] { 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000 })
        {
            var data = new byte[length];
            random.NextBytes(data);
            Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data)), Sha256.Of(data));
        }
    }

    /// <summary>A file larger than the read buffer, whose chunks end inside a block, hashes as its bytes do; a missing file is named by the exception.</summary>
    [Fact]
    public void A_file_is_hashed_as_its_bytes()
    {
        var data = new byte[(1 << 20) * 2 + 77];
        new Random(7).NextBytes(data);
        string path = Path.Combine(_dir, "data.npz");
        File.WriteAllBytes(path, data);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data)), Sha256.OfFile(path));
        Assert.Throws<FileNotFoundException>(() => Sha256.OfFile(Path.Combine(_dir, "missing.npz")));
        // Reads cut at every odd size: partial blocks are joined across reads.
        Assert.Equal(Sha256.Of(data.AsSpan(0, 5000)), Sha256.Of(new Trickle(data.AsMemory(0, 5000))));
    }

    /// <summary>A stream whose reads return 1, 2, ... 97 bytes in turn.</summary>
    private sealed class Trickle(ReadOnlyMemory<byte> data) : Stream
    {
        private int _position, _next;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            _next = _next % 97 + 1;
            int n = Math.Min(Math.Min(_next, buffer.Length), data.Length - _position);
            data.Span.Slice(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
