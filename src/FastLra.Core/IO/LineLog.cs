namespace FastLra.IO;

/// <summary>
/// An append-only file of lines that survives crashes and is shared between processes. An append
/// is one whole line, written and flushed to disk under an exclusive lock on <c>PATH.lock</c> (a
/// file that is never deleted, so every process locks the same one), after cutting off a last line
/// that a crash left without its newline. Readers see whole lines only, each of bounded length, so
/// a torn or damaged file costs at most its damaged lines, never unbounded memory.
/// </summary>
internal static class LineLog
{
    /// <summary>How long an append waits for another process's append before it gives up.</summary>
    private static readonly TimeSpan LockWait = TimeSpan.FromMinutes(2);

    /// <summary>Appends <paramref name="line"/> (UTF-8, without its newline, none inside) and its newline, durably.</summary>
    public static void Append(string path, ReadOnlySpan<byte> line)
    {
        if (line.Contains((byte)'\n')) throw new ArgumentException("A log line holds no newline.", nameof(line));
        string full = Path.GetFullPath(path);
        using var gate = Lock(full + ".lock");
        bool existed = File.Exists(full);
        using (var stream = Named(full, () => OutputFile.OpenInPlace(full, FileAccess.ReadWrite)))
        {
            stream.SetLength(WholeLinesLength(stream));
            stream.Seek(0, SeekOrigin.End);
            stream.Write(line);
            stream.WriteByte((byte)'\n');
            stream.Flush(flushToDisk: true);
        }
        if (!existed) AtomicFile.FlushDirectory(Path.GetDirectoryName(full) ?? ".");
    }

    /// <summary>
    /// Calls <paramref name="visit"/> with each whole line of <paramref name="path"/> from byte
    /// <paramref name="offset"/> on (a line start; 0 for all), in order; a line longer than
    /// <paramref name="maxLineBytes"/> is skipped and counted, and a last line without its newline
    /// (an append in flight, or cut short by a crash) is left for later. Returns the offset after the
    /// last whole line and how many lines were skipped; a missing file has none.
    /// </summary>
    public static (long End, int Skipped) Read(string path, long offset, int maxLineBytes, Action<ReadOnlyMemory<byte>> visit)
    {
        using var stream = Named(path, () => BoundedFile.TryOpen(path, long.MaxValue));
        if (stream is null) return (offset, 0);
        stream.Seek(offset, SeekOrigin.Begin);
        var chunk = new byte[1 << 16];
        var line = new MemoryStream();
        bool tooLong = false;
        long end = offset, position = offset;
        int skipped = 0, read;
        while ((read = stream.Read(chunk)) > 0)
        {
            int start = 0;
            for (int i = 0; i < read; i++)
            {
                if (chunk[i] != (byte)'\n') continue;
                if (!tooLong && Add(line, chunk.AsSpan(start, i - start), maxLineBytes)) visit(line.GetBuffer().AsMemory(0, (int)line.Length));
                else skipped++;
                line.SetLength(0);
                tooLong = false;
                start = i + 1;
                end = position + i + 1;
            }
            if (!tooLong && !Add(line, chunk.AsSpan(start, read - start), maxLineBytes))
            {
                tooLong = true;
                line.SetLength(0);
            }
            position += read;
        }
        return (end, skipped);
    }

    // Opens the log, a failure's message naming it (a FIFO or a hard link in its place is refused,
    // and stays a refusal).
    private static T Named<T>(string path, Func<T> open)
    {
        try
        {
            return open();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw e is RefusedFileException ? new RefusedFileException($"{path}: {e.Message}") : new IOException($"{path}: {e.Message}", e);
        }
    }

    // Adds a piece of a line unless the line would then exceed the bound. The buffer grows by
    // doubling, and past half the bound straight to it: never beyond the bound (MemoryStream's own
    // doubling would take it to twice that), and all its sizes together at most twice the bound.
    private static bool Add(MemoryStream line, ReadOnlySpan<byte> piece, int maxLineBytes)
    {
        long length = line.Length + piece.Length;
        if (length > maxLineBytes) return false;
        if (length > line.Capacity)
        {
            long capacity = Math.Max(length, 2L * line.Capacity);
            line.Capacity = (int)(capacity > maxLineBytes / 2 ? maxLineBytes : capacity);
        }
        line.Write(piece);
        return true;
    }

    /// <summary>The length of the stream's whole lines: up to and with its last newline (0 if it has none).</summary>
    private static long WholeLinesLength(FileStream stream)
    {
        long length = stream.Length;
        var buffer = new byte[4096];
        while (length > 0)
        {
            int size = (int)Math.Min(buffer.Length, length);
            stream.Seek(length - size, SeekOrigin.Begin);
            stream.ReadExactly(buffer, 0, size);
            int last = Array.LastIndexOf(buffer, (byte)'\n', size - 1, size);
            if (last >= 0) return length - size + last + 1;
            length -= size;
        }
        return 0;
    }

    /// <summary>An exclusive lock on a lock file that stays in place, waiting for another holder up to <see cref="LockWait"/>.</summary>
    private static FileStream Lock(string path)
    {
        long deadline = Environment.TickCount64 + (long)LockWait.TotalMilliseconds;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
            }
            catch (IOException) when (File.Exists(path) && Environment.TickCount64 < deadline)
            {
                Thread.Sleep(10);
            }
        }
    }
}
