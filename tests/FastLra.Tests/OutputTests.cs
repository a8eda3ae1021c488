using System.Diagnostics;
using Xunit;

namespace FastLra.Tests;

/// <summary>
/// A folder an output cannot be written into is refused before any work (one line, exit 2,
/// nothing written), so a finished run is never lost at its save: a folder of mode 0555, tried as
/// an unprivileged user (root writes anywhere), and a read-only mount, tried as root.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class OutputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastlra-output-").FullName;

    public OutputTests() => File.SetUnixFileMode(_dir, (UnixFileMode)0x1ED); // 0755: the unprivileged user must reach it

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Every command's output flags, each pointed into <paramref name="folder"/> (a file, or a directory for sweep and report).</summary>
    private string[][] Commands(string folder)
    {
        string model = Path.Combine(_dir, "m.safetensors"), csv = Path.Combine(_dir, "series.csv"), grid = Path.Combine(_dir, "grid.json");
        if (!File.Exists(model))
        {
            var (code, _, err) = CliTests.Run("train", "--task", "adding", "--length", "10", "--hidden", "4", "--max-iter", "5", "--valid-size", "5", "--save", model, "--quiet");
            Assert.True(code == 0, err);
            File.WriteAllText(csv, "u,y\n" + string.Concat(Enumerable.Range(0, 60).Select(i => $"{i % 7},{i % 5}\n")));
            File.WriteAllText(grid, """{"task": ["adding"], "length": [10], "hidden": [4], "max-iter": [5], "valid-size": [5]}""");
            Directory.CreateDirectory(Path.Combine(_dir, "sweep"));
            (code, _, err) = CliTests.Run("sweep", "--grid", grid, "--out", Path.Combine(_dir, "sweep"));
            Assert.True(code == 0, err);
            foreach (string file in Directory.GetFileSystemEntries(_dir, "*", SearchOption.AllDirectories))
                File.SetUnixFileMode(file, Directory.Exists(file) ? (UnixFileMode)0x1ED : (UnixFileMode)0x1A4);
        }
        string[] task = ["--task", "adding", "--length", "10", "--hidden", "4", "--max-iter", "20000", "--valid-size", "5"];
        string[] series = ["--data", csv, "--input-columns", "u", "--target-columns", "y"];
        string In(string name) => Path.Combine(folder, name);
        return
        [
            ["train", .. task, "--save", In("m.safetensors")],
            ["train", .. task, "--checkpoint", In("c.safetensors")],
            ["train", .. task, "--metrics", In("m.jsonl")],
            ["replay", .. series, "--hidden", "4", "--save", In("learner.safetensors")],
            ["replay", .. series, "--hidden", "4", "--metrics", In("m.jsonl")],
            ["predict", "--model", model, .. series, "--out", In("p.csv")],
            ["infer", "--model", model, "--inputs", model, "--outputs", In("y.bin")],
            ["import", "--from", model, "--out", In("i.safetensors")],
            ["export", "--model", model, "--format", "c", "--out", In("m.h")],
            ["data", "--task", "adding", "--length", "10", "--batch", "2", "--out", In("d.npz")],
            ["sweep", "--grid", grid, "--out", In("s")],
            ["report", Path.Combine(_dir, "sweep"), "--out", In("r")],
        ];
    }

    private static void Refused(string[] command, (int Code, string Out, string Err) run, string folder, string reason)
    {
        string flag = command[^2], path = command[^1];
        Assert.True(run.Code == 2, $"{string.Join(' ', command)}: exit {run.Code}, {run.Err}");
        Assert.Equal($"fastlra: {flag} {path}: cannot write in the directory {folder} ({reason}).\n", run.Err);
        Assert.Empty(run.Out);
        Assert.Empty(Directory.GetFileSystemEntries(folder));
    }

    [SkippableFact]
    public void A_folder_the_user_may_not_write_is_refused_before_any_work()
    {
        Skip.IfNot(File.Exists("/usr/bin/setpriv"), "setpriv (util-linux) is not installed: no way to run fastlra as an unprivileged user.");
        string folder = Path.Combine(_dir, "read-only");
        Directory.CreateDirectory(folder);
        var commands = Commands(folder);
        File.SetUnixFileMode(folder, (UnixFileMode)0x16D); // 0555
        var probe = AsNobody("info");
        Skip.If(probe.Code != 0, $"fastlra does not run as the user nobody here (its files or the dotnet host are not readable to it): {probe.Err}");
        foreach (string[] command in commands) Refused(command, AsNobody(command), folder, "Permission denied");
    }

    [SkippableFact]
    public void A_read_only_mount_is_refused_before_any_work()
    {
        string folder = Path.Combine(_dir, "mounted");
        Directory.CreateDirectory(folder);
        var commands = Commands(folder);
        var probe = OnReadOnlyMount(folder, "info");
        Skip.If(probe.Code != 0, $"no read-only bind mount here (it needs root and a mount namespace): {probe.Err}");
        foreach (string[] command in commands) Refused(command, OnReadOnlyMount(folder, command), folder, "Read-only file system");
    }

    /// <summary>Runs fastlra as the user nobody (setpriv), from a copy of its files that user can read (the build may sit under /root).</summary>
    private (int Code, string Out, string Err) AsNobody(params string[] args)
    {
        string copy = Path.Combine(_dir, "bin");
        if (!Directory.Exists(copy))
        {
            Directory.CreateDirectory(copy);
            foreach (string file in Directory.GetFiles(AppContext.BaseDirectory))
                if (Path.GetFileName(file) is var name && (name.EndsWith(".dll", StringComparison.Ordinal) || name.StartsWith("fastlra.", StringComparison.Ordinal)))
                    File.Copy(file, Path.Combine(copy, name));
            foreach (string file in Directory.GetFileSystemEntries(copy))
                File.SetUnixFileMode(file, (UnixFileMode)0x1A4); // 0644
            File.SetUnixFileMode(copy, (UnixFileMode)0x1ED);
        }
        return Run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", Host(), Path.Combine(copy, "fastlra.dll"), .. args]);
    }

    /// <summary>Runs fastlra (as root) with <paramref name="folder"/> bind-mounted read-only in a mount namespace of its own, gone when it ends.</summary>
    private static (int Code, string Out, string Err) OnReadOnlyMount(string folder, params string[] args) =>
        Run("unshare", ["-m", "sh", "-c", "mount --bind \"$1\" \"$1\" && mount -o remount,ro,bind \"$1\" \"$1\" && shift && exec \"$@\"", "sh", folder,
            Host(), Path.Combine(AppContext.BaseDirectory, "fastlra.dll"), .. args]);

    private static string Host() => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    private static (int Code, string Out, string Err) Run(string program, string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        foreach (string a in args) start.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, "", $"{program}: {e.Message}");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            Assert.True(process.WaitForExit(300_000), $"{program} did not finish in 5 minutes");
            return (process.ExitCode, stdout.Result, stderr.Result);
        }
    }
}
