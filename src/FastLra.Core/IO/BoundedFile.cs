namespace FastLra.IO;

/// <summary>
/// Whole-file reads whose size is known and bounded before a byte is read: a directory, a pipe or
/// a device (<c>/dev/zero</c>) given as a file is refused instead of read without end, and only
/// the bytes the file had when it was opened are read. Failures are <see cref="IOException"/>s
/// whose message says what is wrong, for the caller to put after the path.
/// </summary>
internal static class BoundedFile
{
    /// <summary>The bytes of <paramref name="path"/>, which must be a regular file of at most <paramref name="maxBytes"/> bytes.</summary>
    public static byte[] ReadAllBytes(string path, long maxBytes)
    {
        using var stream = Open(path, maxBytes);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Opens <paramref name="path"/> for reading after the checks of <see cref="ReadAllBytes"/>; its Length is the bound.</summary>
    public static FileStream Open(string path, long maxBytes)
    {
        if (Directory.Exists(path)) throw new IOException("it is a directory, not a file");
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            // A pipe cannot seek; a device (like /dev/zero) reports 0 bytes but reads without end.
            // Either way nothing beyond the size fstat gave at opening is read.
            if (!stream.CanSeek) throw new IOException("it is a pipe or socket, not a regular file");
            long length = stream.Length;
            if (length == 0 && stream.ReadByte() >= 0) throw new IOException("it is a device or special file, not a regular file");
            if (length > maxBytes) throw new IOException($"{length} bytes is more than the {maxBytes} bytes allowed");
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }
}
