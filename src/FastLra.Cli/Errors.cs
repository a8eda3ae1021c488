using FastLra.Data;
using FastLra.IO;

namespace FastLra.Cli;

/// <summary>Exit codes of the command-line tool.</summary>
internal static class CliExit
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;

    /// <summary>Ended by SIGINT (Ctrl+C) before the command could stop by itself: 128 + 2, as shells report it.</summary>
    public const int Interrupted = 130;

    /// <summary>Ended by SIGTERM before the command could stop by itself: 128 + 15.</summary>
    public const int Terminated = 143;

    /// <summary>How long a command may take to stop by itself after SIGINT or SIGTERM.</summary>
    public const int GraceMilliseconds = 1000;
}

/// <summary>A bad command line: reported in one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Turns exceptions from a command into one line on stderr and an exit code, never a stack
/// trace. Exit 2: the command cannot start from what it was given: a usage error, or a file it
/// must read that is missing, unreadable, refused for its kind or size, or not what it must hold
/// (bad data, a damaged model, checkpoint or grid), or an output refused before any work. Exit 1:
/// the work started and failed: a file that could not be written, a diverged run, an internal error.
/// </summary>
internal static class ErrorFilter
{
    /// <summary>Runs a command, mapping its failures to one line and an exit code.</summary>
    public static int Run(Func<int> command)
    {
        try
        {
            return command();
        }
#pragma warning disable CA1031 // The one place every failure becomes a message and an exit code.
        catch (Exception e)
#pragma warning restore CA1031
        {
            (int code, string message) = e switch
            {
                UsageException or DataFormatException or FastLra.Training.OptionException or WeightFileException or InvalidDataException
                    or FileNotFoundException or RefusedFileException => (CliExit.Usage, e.Message),
                IOException or UnauthorizedAccessException => (CliExit.Failure, e.Message),
                OperationCanceledException => (CliExit.Failure, "cancelled."),
                _ => (CliExit.Failure, $"internal error: {e.GetType().Name}: {e.Message}"),
            };
            Console.Error.WriteLine($"fastlra: {message}");
            return code;
        }
    }
}
