using FastLra.IO;
using Xunit;

namespace FastLra.Tests;

/// <summary>What the atomic writer promises besides atomicity, on Linux (where FastLra is tested).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-atomic-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_rewrite_keeps_the_files_permissions()
    {
        string path = Path.Combine(_dir, "secret.txt");
        AtomicFile.WriteAllText(path, "one");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        AtomicFile.WriteAllText(path, "two");
        Assert.Equal("two", File.ReadAllText(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public void A_killed_writers_temporary_is_removed_by_the_next_write_and_a_live_ones_is_kept()
    {
        string path = Path.Combine(_dir, "m.safetensors");
        // PID 2^22 + 1 is above Linux's limit: no process has it.
        string stale = Path.Combine(_dir, $".m.safetensors.{(1 << 22) + 1}.0123456789abcdef.tmp");
        string live = Path.Combine(_dir, $".m.safetensors.{Environment.ProcessId}.fedcba9876543210.tmp");
        string other = Path.Combine(_dir, $".other.safetensors.{(1 << 22) + 1}.0123456789abcdef.tmp");
        foreach (string file in new[] { stale, live, other }) File.WriteAllText(file, "partial");
        AtomicFile.WriteAllText(path, "done");
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(other)); // another file's temporaries are that file's writer's business
        Assert.Equal("done", File.ReadAllText(path));
    }

    /// <summary>Files that are deleted or appended to, never rewritten, get their killed writers' temporaries removed too.</summary>
    [Fact]
    public void Deleting_or_appending_to_a_file_removes_its_killed_writers_temporaries()
    {
        string checkpoint = Path.Combine(_dir, "c.safetensors"), metrics = Path.Combine(_dir, "m.jsonl");
        string staleCheckpoint = Path.Combine(_dir, $".c.safetensors.{(1 << 22) + 1}.0123456789abcdef.tmp");
        string staleMetrics = Path.Combine(_dir, $".m.jsonl.{(1 << 22) + 1}.0123456789abcdef.tmp");
        foreach (string file in new[] { checkpoint, staleCheckpoint, staleMetrics }) File.WriteAllText(file, "partial");
        AtomicFile.Delete(checkpoint);
        Assert.False(File.Exists(checkpoint));
        Assert.False(File.Exists(staleCheckpoint));
        var (code, _, err) = CliTests.Run("train", "--task", "adding", "--length", "10", "--hidden", "4", "--max-iter", "5",
            "--valid-size", "10", "--check-every", "5", "--metrics", metrics, "--quiet");
        Assert.True(code == 0, err);
        Assert.False(File.Exists(staleMetrics));
    }

    /// <summary>
    /// A rewrite's temporary has the target's permissions from its creation, not the umask's until
    /// it is renamed: while a 0600 file's new contents are written, nobody else can read them.
    /// </summary>
    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite)]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead)]
    public void A_temporary_has_the_targets_permissions_while_it_is_written(UnixFileMode mode)
    {
        string path = Path.Combine(_dir, "secret.txt");
        AtomicFile.WriteAllText(path, "one");
        File.SetUnixFileMode(path, mode);
        UnixFileMode? during = null;
        AtomicFile.Write(path, stream =>
        {
            during = File.GetUnixFileMode(Assert.Single(Directory.GetFiles(_dir, ".secret.txt.*.tmp")));
            stream.Write("two"u8);
        });
        Assert.Equal(mode, during);
        Assert.Equal(mode, File.GetUnixFileMode(path));
        Assert.Equal("two", File.ReadAllText(path));
    }

    [Fact]
    public void Metrics_are_never_written_through_a_planted_link()
    {
        string target = Path.Combine(_dir, "precious.txt"), link = Path.Combine(_dir, "m.jsonl");
        File.WriteAllText(target, "keep me");
        File.CreateSymbolicLink(link, target);
        var (code, stdout, err) = CliTests.Run("train", "--task", "adding", "--length", "10", "--hidden", "4", "--max-iter", "5",
            "--valid-size", "10", "--metrics", link, "--quiet");
        Assert.Equal(2, code);
        Assert.Equal($"fastlra: --metrics {link}: it is a symbolic link (to {target}); FastLra does not write through links.\n", err);
        Assert.Empty(stdout);
        Assert.Equal("keep me", File.ReadAllText(target));
        Assert.Equal(2, Directory.GetFileSystemEntries(_dir).Length);
    }

    /// <summary>
    /// A hard link planted where metrics go is refused like a symbolic link: metrics are written in
    /// place, so writing them would overwrite the file's other name. The command line refuses it
    /// before any work; the metrics writer itself refuses it too (a sweep's working metrics files).
    /// </summary>
    [Fact]
    public void Metrics_are_never_written_through_a_planted_hard_link()
    {
        string target = Path.Combine(_dir, "precious.txt"), link = Path.Combine(_dir, "m.jsonl");
        File.WriteAllText(target, "keep me");
        HardLink(target, link);
        var (code, stdout, err) = CliTests.Run("train", "--task", "adding", "--length", "10", "--hidden", "4", "--max-iter", "5",
            "--valid-size", "10", "--metrics", link, "--quiet");
        Assert.Equal(2, code);
        Assert.Equal($"fastlra: --metrics {link}: it has 2 hard links; FastLra does not write through one (the file's other names would change too).\n", err);
        Assert.Empty(stdout);
        var e = Assert.Throws<IOException>(() => FastLra.Cli.MetricsFile.OpenMetrics(link, resumedAt: null));
        Assert.Contains("it has 2 hard links", e.Message);
        e = Assert.Throws<IOException>(() => FastLra.Cli.MetricsFile.OpenMetrics(link, resumedAt: 5));
        Assert.Contains("it has 2 hard links", e.Message);
        Assert.Equal("keep me", File.ReadAllText(target));
        Assert.Equal(2, Directory.GetFileSystemEntries(_dir).Length);
    }

    /// <summary>A FIFO where metrics go is refused at once (opening it to write would wait for a reader).</summary>
    [Fact]
    public void The_metrics_writer_refuses_a_fifo_without_waiting()
    {
        string fifo = Path.Combine(_dir, "m.jsonl");
        BoundsTests.MakeFifo(fifo);
        var e = Assert.Throws<IOException>(() => BoundsTests.Unblocked(() => FastLra.Cli.MetricsFile.OpenMetrics(fifo, resumedAt: null)));
        Assert.Equal($"{fifo}: it is a FIFO (named pipe), not a regular file.", e.Message);
    }

    internal static void HardLink(string existing, string link)
    {
        using var ln = System.Diagnostics.Process.Start("ln", [existing, link]);
        ln.WaitForExit();
        Assert.Equal(0, ln.ExitCode);
    }
}
