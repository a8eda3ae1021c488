using System.Globalization;

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
            using (var stream = CreateTemporary(temporary, full))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
        FlushDirectory(directory);
    }

    /// <summary>
    /// The temporary for a rewrite of <paramref name="target"/>, with the target's permissions from
    /// its creation, before a byte is in it: a 0600 file's new contents are never readable by others
    /// meanwhile. A new file gets the default (0666 less the umask).
    /// </summary>
    private static FileStream CreateTemporary(string temporary, string target)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (OperatingSystem.IsWindows() || !File.Exists(target)) return new FileStream(temporary, options);
        var mode = File.GetUnixFileMode(target);
        options.UnixCreateMode = mode;
        var stream = new FileStream(temporary, options);
        try
        {
            // The umask may have taken bits off; putting them back widens nothing beyond the target's own.
            if (File.GetUnixFileMode(stream.SafeFileHandle) != mode) File.SetUnixFileMode(stream.SafeFileHandle, mode);
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
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
    internal static void FlushDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try
        {
            handle = Posix.Open(directory, Posix.ReadOnly); // enough for fsync, on a directory too
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        using (handle)
            if (Posix.Fsync(handle) != 0) throw new IOException($"{directory}: the directory could not be flushed to disk.");
    }
}
