using FastLra.Cli;

// Every failure ends as one line on stderr: usage errors and bad data exit 2, runtime failures 1.
// Ctrl+C and SIGTERM cancel the command (a training run stops at the next iteration, writes its
// checkpoint and reports); a second Ctrl+C ends the process at once.
if (args.Length == 0 || args[0] is "--help" or "-h" || (args[0] == "help" && args.Length == 1))
{
    Console.Out.Write(Commands.Usage());
    return args.Length == 0 ? CliExit.Usage : CliExit.Ok;
}
if (args[0] == "help") args = [args[1], "--help"];
string command = args[0];
if (!Commands.Names.Contains(command))
{
    Console.Error.WriteLine($"fastlra: unknown command '{command}' (choose {string.Join(", ", Commands.Names)}; fastlra --help says what each does).");
    return CliExit.Usage;
}
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = !cancel.IsCancellationRequested;
    cancel.Cancel();
};
using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    cancel.Cancel();
});
return ErrorFilter.Run(() => TrainingCommands.Names.Contains(command)
    ? TrainingCommands.Run(command, args[1..], cancel.Token)
    : Commands.Run(command, args[1..], cancel.Token));
