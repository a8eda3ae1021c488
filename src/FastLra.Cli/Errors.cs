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
        catch (Exception e) when (e is UsageException or ArgumentParseFailedException or System.ComponentModel.DataAnnotations.ValidationException)
        {
            Fail(CliExit.Usage, e.Message);
        }
        catch (Exception e) when (e is WeightFileException or IOException or UnauthorizedAccessException or InvalidDataException)
        {
            Fail(CliExit.Failure, e.Message);
        }
        catch (OperationCanceledException)
        {
            Fail(CliExit.Failure, "cancelled.");
        }
#pragma warning disable CA1031 // The one place every other failure becomes a message and an exit code.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Fail(CliExit.Failure, $"internal error: {e.GetType().Name}: {e.Message}");
        }
    }

    private static void Fail(int code, string message)
    {
        Console.Error.WriteLine($"fastlra: {message}");
        Environment.ExitCode = code;
    }
}
