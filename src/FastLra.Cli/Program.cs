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
// train, bench, eval and predict take the training options of one table (TrainingCommands);
// the framework parses the other commands.
if (args.Length > 0 && TrainingCommands.Names.Contains(args[0]))
{
    using var cancel = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        cancel.Cancel();
    };
    using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
    {
        context.Cancel = true;
        cancel.Cancel();
    });
    return ErrorFilter.Run(() => TrainingCommands.Run(args[0], args[1..], cancel.Token));
}
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
