namespace FastLra.IO;

/// <summary>
/// Checks of a file FastLra is to write, made before any work so a long run never ends unable to
/// save: the folder exists and takes a new file (a temporary is created there and removed: a
/// read-only mount or a folder the user may not write fails here, not after the last iteration),
/// and whatever is at the path already is a regular file with one name: never a directory, FIFO,
/// socket or device, a symbolic link or a file with other hard links, which a write would go
/// through to their targets. Also opens a file written in place (appended to) under the same rules,
/// checked again on the open file. Failures are <see cref="IOException"/>s whose message says what
/// is wrong, for the caller to put after the path.
/// </summary>
internal static class OutputFile
{
    /// <summary>Checks that <paramref name="path"/> can be written (see the class summary).</summary>
    public static void Check(string path)
    {
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full) ?? ".";
        if (Directory.Exists(full)) throw new RefusedFileException("it is a directory; give a file name");
        if (!Directory.Exists(directory)) throw new RefusedFileException($"the directory {directory} does not exist");
        CheckExisting(full);
        Probe(directory, Path.GetFileName(full));
    }

    /// <summary>
    /// Checks that <paramref name="path"/> is a directory FastLra can write files in, or can be made
    /// one: its nearest existing ancestor is a directory that takes a new file.
    /// </summary>
    public static void CheckDirectory(string path)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        string? existing = full;
        while (existing is not null && !Path.Exists(existing)) existing = Path.GetDirectoryName(existing);
        if (existing is null) return;
        if (!Directory.Exists(existing))
            throw new RefusedFileException(existing == full ? "it is not a directory" : $"{existing} is not a directory");
        Probe(existing, Path.GetFileName(full));
    }

    /// <summary>
    /// Refuses what is at <paramref name="path"/> unless it is nothing or a regular file with one
    /// name: a link, a directory, FIFO, socket or device, or a file with other hard links.
    /// </summary>
    public static void CheckExisting(string path)
    {
        if (new FileInfo(path).LinkTarget is { } target)
            throw new RefusedFileException($"it is a symbolic link (to {target}); FastLra does not write through links");
        if (!OperatingSystem.IsLinux()) return;
        if (Posix.Status(path) is { } status) Refuse(status);
    }

    /// <summary>
    /// Opens <paramref name="path"/> to write in place, created (0666 less the umask) if absent,
    /// after the checks of <see cref="CheckExisting"/>, made again on the open file so nothing
    /// planted meanwhile is written through. Positioned at its start; nothing is truncated.
    /// </summary>
    public static FileStream OpenInPlace(string path, FileAccess access)
    {
        CheckExisting(path);
        if (!OperatingSystem.IsLinux()) return new FileStream(path, FileMode.OpenOrCreate, access, FileShare.ReadWrite);
        int flags = (access == FileAccess.Write ? Posix.WriteOnly : Posix.ReadWrite) | Posix.Create | Posix.NonBlocking | Posix.CloseOnExec | Posix.NoFollow;
        var handle = Posix.TryOpen(path, flags, 0x1B6, out int error);
        if (handle is null)
            throw error switch
            {
                Posix.TooManyLinks => new RefusedFileException("it is a symbolic link; FastLra does not write through links"),
                Posix.NoReader => new RefusedFileException("it is a FIFO (named pipe), not a regular file"),
                _ => Posix.Failure(error),
            };
        try
        {
            Refuse(Posix.Status(handle));
            return new FileStream(handle, access, 1);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static void Refuse(FileStatus status)
    {
        if (!status.IsRegular) throw new RefusedFileException(status.Kind);
        if (status.Links > 1)
            throw new RefusedFileException($"it has {status.Links} hard links; FastLra does not write through one (the file's other names would change too)");
    }

    /// <summary>Creates and removes a temporary file in <paramref name="directory"/>, named as <see cref="AtomicFile"/> names its own (so a kill in between leaves nothing the next write keeps).</summary>
    private static void Probe(string directory, string name)
    {
        string probe = Path.Combine(directory, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            if (OperatingSystem.IsLinux()) Posix.Open(probe, Posix.WriteOnly | Posix.Create | Posix.Exclusive | Posix.CloseOnExec, 0x180).Dispose();
            else new FileStream(probe, FileMode.CreateNew, FileAccess.Write).Dispose();
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot write in the directory {directory} ({e.Message})", e);
        }
    }
}
