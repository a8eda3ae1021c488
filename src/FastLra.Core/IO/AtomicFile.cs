using System.Globalization;
using System.Runtime.InteropServices;

namespace FastLra.IO;

/// <summary>
/// Writes a file so that readers see the old content or the new, never a mix, and a power loss
/// loses neither: write a temporary file beside the target (with the target's permissions), flush
/// it to disk, rename it over the target, then flush the directory, so the rename itself is
/// durable (what SQLite does for its journal). Temporaries left by a killed writer of the same
/// file are removed by the next write, once their process is gone.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>, atomically and durably.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full) ?? ".";
        string name = Path.GetFileName(full);
        RemoveStaleTemporaries(directory, name);
        string temporary = Path.Combine(directory, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            if (!OperatingSystem.IsWindows() && File.Exists(full)) File.SetUnixFileMode(temporary, File.GetUnixFileMode(full));
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
        FlushDirectory(directory);
    }

    /// <summary>Writes <paramref name="text"/> (UTF-8) to <paramref name="path"/>, atomically and durably.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(text);
        });

    /// <summary>Deletes <paramref name="path"/> and the temporaries killed writers left beside it.</summary>
    public static void Delete(string path)
    {
        File.Delete(path);
        RemoveStaleTemporaries(path);
    }

    /// <summary>
    /// Removes the temporaries killed writers of <paramref name="path"/> left, for a file that is
    /// written in place (appended to) rather than through <see cref="Write"/>, which does this itself.
    /// </summary>
    internal static void RemoveStaleTemporaries(string path)
    {
        string full = Path.GetFullPath(path);
        RemoveStaleTemporaries(Path.GetDirectoryName(full) ?? ".", Path.GetFileName(full));
    }

    /// <summary>
    /// Deletes <c>.NAME.PID.*.tmp</c> files beside the target whose writing process no longer runs
    /// (a kill during a write leaves one); another live writer's temporary is left alone.
    /// </summary>
    private static void RemoveStaleTemporaries(string directory, string name)
    {
        if (!OperatingSystem.IsLinux()) return; // the liveness check reads /proc
        try
        {
            foreach (string file in Directory.EnumerateFiles(directory, $".{name}.*.tmp"))
            {
                string rest = Path.GetFileName(file)[(name.Length + 2)..];
                int dot = rest.IndexOf('.', StringComparison.Ordinal);
                if (dot > 0 && int.TryParse(rest.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                    && !Directory.Exists($"/proc/{pid}"))
                    File.Delete(file);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Cleaning up is a courtesy; the write itself must not fail for it.
        }
    }

    /// <summary>fsync of the directory, so a rename in it survives a power loss (POSIX only; a no-op elsewhere).</summary>
    internal static unsafe void FlushDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        // A NUL-terminated UTF-8 path, passed as bytes: no marshalling stub in the Native AOT binary.
        var path = new byte[System.Text.Encoding.UTF8.GetByteCount(directory) + 1];
        System.Text.Encoding.UTF8.GetBytes(directory, path);
        int fd;
        fixed (byte* p = path) fd = Open(p, 0); // O_RDONLY: enough for fsync, on a directory too
        if (fd < 0) return;
        int flushed = Fsync(fd);
        _ = Close(fd);
        if (flushed != 0) throw new IOException($"{directory}: the directory could not be flushed to disk.");
    }

    [DllImport("libc", EntryPoint = "open")]
    private static extern unsafe int Open(byte* path, int flags);

    [DllImport("libc", EntryPoint = "fsync")]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);
}
