using ConsoleAppFramework;
using FastLra.Cli;

// Every failure ends as one line on stderr: usage errors exit 2, runtime failures exit 1.
// ConsoleAppFramework reports its own parse and validation errors through LogError with exit
// code 1; all of those are usage errors, so they are mapped to 2 here.
bool usageError = false;
ConsoleApp.LogError = message =>
{
    usageError = true;
    Console.Error.WriteLine($"fastlra: {message}");
};
var app = ConsoleApp.Create();
app.UseFilter<ErrorFilter>();
app.Add<Commands>();

// The framework answers an unknown command, or none, with the command list and exit code 0.
if (args.Length == 0 || (!args[0].StartsWith('-') && !Commands.Names.Contains(args[0])))
{
    if (args.Length > 0) Console.Error.WriteLine($"fastlra: unknown command '{args[0]}' (choose {string.Join(", ", Commands.Names)}).");
    app.Run(["--help"]);
    return CliExit.Usage;
}
app.Run(args);
if (usageError && Environment.ExitCode == CliExit.Failure) Environment.ExitCode = CliExit.Usage;
return Environment.ExitCode;
