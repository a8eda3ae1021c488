namespace FastLra.IO;

/// <summary>
/// The one way FastLra opens a file to read: its type and size are known before a byte is read,
/// and the open never blocks. A directory, a FIFO (whose plain <c>open</c> would wait for a writer
/// forever), a socket or a device (<c>/dev/zero</c>) given as a file is refused by name, and only
/// the bytes the file had when it was opened are read. A file that is not there is a
/// <see cref="FileNotFoundException"/>, one refused for its kind or size a
/// <see cref="RefusedFileException"/>; other failures are <see cref="IOException"/>s (or
/// <see cref="UnauthorizedAccessException"/>s). Each message says what is wrong, for the caller to
/// put after the path.
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
    public static FileStream Open(string path, long maxBytes) =>
        TryOpen(path, maxBytes) ?? throw new FileNotFoundException("No such file or directory");

    /// <summary>As <see cref="Open"/>, or null when there is no file at <paramref name="path"/>.</summary>
    public static FileStream? TryOpen(string path, long maxBytes)
    {
        if (!OperatingSystem.IsLinux()) return TryOpenPortably(path, maxBytes);
        // O_NONBLOCK: a FIFO opens at once (and is then refused) instead of waiting for a writer.
        var handle = Posix.TryOpen(path, Posix.ReadOnly | Posix.NonBlocking | Posix.CloseOnExec, 0, out int error);
        if (handle is null) return error == Posix.NoSuchFile ? null : throw Posix.Failure(error);
        try
        {
            var status = Posix.Status(handle);
            if (!status.IsRegular) throw new RefusedFileException(status.Kind);
            if (status.Size > maxBytes) throw new RefusedFileException($"{status.Size} bytes is more than the {maxBytes} bytes allowed");
            return new FileStream(handle, FileAccess.Read, 1 << 16);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    // Elsewhere than Linux: a pipe is told by its failing seek, a device by reading past its size 0.
    private static FileStream? TryOpenPortably(string path, long maxBytes)
    {
        if (Directory.Exists(path)) throw new RefusedFileException("it is a directory, not a file");
        if (!File.Exists(path)) return null;
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            if (!stream.CanSeek) throw new RefusedFileException("it is a pipe or socket, not a regular file");
            long length = stream.Length;
            if (length == 0 && stream.ReadByte() >= 0) throw new RefusedFileException("it is a device or special file, not a regular file");
            if (length > maxBytes) throw new RefusedFileException($"{length} bytes is more than the {maxBytes} bytes allowed");
            stream.Position = 0;
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }
}

/// <summary>A file refused for what it is (not a regular file, or larger than allowed), not for failing to read.</summary>
internal sealed class RefusedFileException(string message) : IOException(message);
