using System.Runtime.InteropServices;
using FastLra.Cli;

// Every failure ends as one line on stderr: usage errors and bad data exit 2, runtime failures 1.
// Ctrl+C and SIGTERM cancel the command (a training run stops at the next iteration, writes its
// checkpoint and reports); whatever is still running a second later is ended (exit 130 after
// SIGINT, 143 after SIGTERM, as shells report a signal); a second signal ends the process at once.
if (args.Length == 0)
{
    Console.Error.Write(Command.RootHelp());
    return CliExit.Usage;
}
if (args[0] is "--help" or "-h" || (args[0] == "help" && args.Length == 1))
{
    Console.Out.Write(Command.RootHelp());
    return CliExit.Ok;
}
if (args[0] is "--version" or "-V")
{
    Console.Out.WriteLine($"fastlra {Command.Version}");
    return CliExit.Ok;
}
if (args[0] == "help") args = [args[1], "--help"];
if (Command.Find(args[0]) is not { } command)
{
    string? near = CliArguments.Nearest(args[0], Command.Registry.Select(c => c.Name));
    Console.Error.WriteLine($"fastlra: unknown command '{args[0]}'{(near is null ? "" : $" (did you mean {near}?)")}; fastlra --help lists the commands.");
    return CliExit.Usage;
}
using var cancel = new CancellationTokenSource();
int interrupted = 0;
void Interrupt(PosixSignalContext context)
{
    // A second signal takes its default action: the process ends at once.
    if (Interlocked.Exchange(ref interrupted, 1) != 0) return;
    context.Cancel = true;
    cancel.Cancel();
    // What is in flight (a long iteration or check, a checkpoint being written) may not notice the
    // cancellation soon: after a second the process ends anyway. Files are written atomically, so
    // one being written is left as it was and the last checkpoint written is whole.
    string name = context.Signal == PosixSignal.SIGINT ? "SIGINT" : "SIGTERM";
    int code = context.Signal == PosixSignal.SIGINT ? CliExit.Interrupted : CliExit.Terminated;
    new Thread(() =>
    {
        Thread.Sleep(CliExit.GraceMilliseconds);
        Console.Error.WriteLine($"fastlra: {name}: ended before the work in flight finished; the files written so far are whole.");
        Environment.Exit(code);
    }) { IsBackground = true, Name = "interrupt grace" }.Start();
}
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
return ErrorFilter.Run(() => command.Invoke(args[1..], cancel.Token));
