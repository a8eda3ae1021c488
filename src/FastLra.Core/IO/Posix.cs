using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace FastLra.IO;

/// <summary>What <c>statx</c> says of a file: its type and permission bits, hard links, size.</summary>
internal readonly record struct FileStatus(int Mode, long Links, long Size)
{
    private const int TypeMask = 0xF000, Regular = 0x8000, Directory = 0x4000, Link = 0xA000;

    public bool IsRegular => (Mode & TypeMask) == Regular;

    public bool IsDirectory => (Mode & TypeMask) == Directory;

    public bool IsSymbolicLink => (Mode & TypeMask) == Link;

    /// <summary>What the file is, for a message that refuses it: "it is a FIFO (named pipe), not a regular file".</summary>
    public string Kind => (Mode & TypeMask) switch
    {
        Directory => "it is a directory, not a file",
        0x1000 => "it is a FIFO (named pipe), not a regular file",
        0xC000 => "it is a socket, not a regular file",
        0x2000 => "it is a character device, not a regular file",
        0x6000 => "it is a block device, not a regular file",
        Link => "it is a symbolic link",
        _ => "it is not a regular file",
    };
}

/// <summary>
/// The few Linux calls .NET does not offer: opening without blocking (a FIFO's <c>open</c> waits
/// for a writer), telling a file's type and link count (<c>statx</c>, whose layout is the same on
/// every architecture, unlike <c>struct stat</c>), fsync of a directory. Paths go as NUL-terminated
/// UTF-8 bytes and every argument is blittable: no marshalling stubs in the Native AOT binary.
/// </summary>
internal static unsafe partial class Posix
{
    public const int ReadOnly = 0, WriteOnly = 1, ReadWrite = 2, Create = 0x40, Exclusive = 0x80, NonBlocking = 0x800, CloseOnExec = 0x80000;

    /// <summary>O_NOFOLLOW, whose value differs between x64 and the ARM architectures.</summary>
    public static int NoFollow => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    /// <summary>Error numbers a caller tells apart: ENOENT, ENXIO (a FIFO opened to write has no reader), ELOOP (O_NOFOLLOW met a link).</summary>
    public const int NoSuchFile = 2, NoReader = 6, TooManyLinks = 40;

    private const int NotPermitted = 1, Interrupted = 4, AccessDenied = 13;
    private const int CurrentDirectory = -100, SymlinkNoFollow = 0x100, EmptyPath = 0x1000;
    private const uint WantedFields = 0x1 | 0x2 | 0x4 | 0x200; // type, mode, link count, size

    /// <summary>Opens <paramref name="path"/>; a failure throws with the system's reason (see <see cref="Failure"/>).</summary>
    public static SafeFileHandle Open(string path, int flags, int mode = 0) =>
        TryOpen(path, flags, mode, out int error) ?? throw Failure(error);

    /// <summary>Opens <paramref name="path"/>, or returns null with the error number.</summary>
    public static SafeFileHandle? TryOpen(string path, int flags, int mode, out int error)
    {
        var bytes = Bytes(path);
        int fd;
        error = 0;
        fixed (byte* p = bytes)
            do fd = OpenFile(p, flags, mode);
            while (fd < 0 && (error = Marshal.GetLastPInvokeError()) == Interrupted);
        return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>The status of an open file.</summary>
    public static FileStatus Status(SafeFileHandle handle)
    {
        byte empty = 0;
        byte* buffer = stackalloc byte[256];
        int result = Statx((int)handle.DangerousGetHandle(), &empty, EmptyPath, WantedFields, buffer);
        if (result != 0) throw Failure(Marshal.GetLastPInvokeError());
        return Read(buffer);
    }

    /// <summary>The status of <paramref name="path"/> itself (a symbolic link is not followed), or null when nothing is there.</summary>
    public static FileStatus? Status(string path)
    {
        var bytes = Bytes(path);
        byte* buffer = stackalloc byte[256];
        int result;
        fixed (byte* p = bytes) result = Statx(CurrentDirectory, p, SymlinkNoFollow, WantedFields, buffer);
        if (result == 0) return Read(buffer);
        int error = Marshal.GetLastPInvokeError();
        return error == NoSuchFile ? null : throw Failure(error);
    }

    /// <summary>
    /// An exception for a failed call's error number, its message the system's reason ("Permission
    /// denied"): missing files are <see cref="FileNotFoundException"/>s, refused access
    /// <see cref="UnauthorizedAccessException"/>, the rest <see cref="IOException"/>s.
    /// </summary>
    public static Exception Failure(int error)
    {
        string reason = Marshal.GetPInvokeErrorMessage(error);
        return error switch
        {
            NoSuchFile => new FileNotFoundException(reason),
            AccessDenied or NotPermitted => new UnauthorizedAccessException(reason),
            _ => new IOException(reason),
        };
    }

    /// <summary>fsync of an open file (a directory included).</summary>
    public static int Fsync(SafeFileHandle handle) => FlushFile((int)handle.DangerousGetHandle());

    private static FileStatus Read(byte* buffer) =>
        new(*(ushort*)(buffer + 28), *(uint*)(buffer + 16), (long)*(ulong*)(buffer + 40));

    private static byte[] Bytes(string path)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(path) + 1];
        System.Text.Encoding.UTF8.GetBytes(path, bytes);
        return bytes;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    private static partial int OpenFile(byte* path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static partial int Statx(int directory, byte* path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int FlushFile(int fd);
}
