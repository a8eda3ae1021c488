using ConsoleAppFramework;
using FastLra.IO;

namespace FastLra.Cli;

/// <summary>Exit codes of the command-line tool.</summary>
internal static class CliExit
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
}

/// <summary>A bad command line: reported in one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Turns exceptions from a command into one line on stderr and an exit code, never a stack
/// trace: usage errors exit 2, unreadable files and other runtime failures exit 1.
/// </summary>
internal sealed class ErrorFilter(ConsoleAppFilter next) : ConsoleAppFilter(next)
{
    public override async Task InvokeAsync(ConsoleAppContext context, CancellationToken cancellationToken)
    {
        try
        {
            await Next.InvokeAsync(context, cancellationToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The one place every failure becomes a message and an exit code.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Environment.ExitCode = Fail(e);
        }
    }

    /// <summary>Runs a command outside the framework with the same mapping of failures to one line and an exit code.</summary>
    public static int Run(Func<int> command)
    {
        try
        {
            return command();
        }
#pragma warning disable CA1031 // As above.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return Fail(e);
        }
    }

    /// <summary>
    /// One line on stderr and the exit code: 2 for a bad command line or bad data (the user's to fix),
    /// 1 for unreadable files and other runtime failures.
    /// </summary>
    private static int Fail(Exception e)
    {
        (int code, string message) = e switch
        {
            UsageException or ArgumentParseFailedException or System.ComponentModel.DataAnnotations.ValidationException or DataFormatException
                or FastLra.Training.OptionException => (CliExit.Usage, e.Message),
            WeightFileException or IOException or UnauthorizedAccessException or InvalidDataException => (CliExit.Failure, e.Message),
            OperationCanceledException => (CliExit.Failure, "cancelled."),
            _ => (CliExit.Failure, $"internal error: {e.GetType().Name}: {e.Message}"),
        };
        Console.Error.WriteLine($"fastlra: {message}");
        return code;
    }
}
