using FastLra.Interchange;
using FastLra.IO;
using FastLra.Model;

namespace FastLra.Cli;

/// <summary><c>fastlra export</c>: a model as C, C#, PyTorch safetensors or .npz.</summary>
internal sealed class ExportCommand : Command
{
    public override string Name => "export";

    public override string Summary => "write a model as C, C#, PyTorch safetensors or .npz";

    public override string Usage => "fastlra export --model F --format c|csharp|torch|npz --out G [--name N] [--namespace NS] [--rnn-prefix rnn.] [--fc-prefix fc.]";

    public override IReadOnlyList<CliFlag> Flags { get; } =
    [
        new("model", "file", "a FastLra model file (or any file import reads)", required: true),
        new("format", "c|csharp|torch|npz", "c (a C99 header), csharp (a class), torch (a safetensors state dict of nn.RNN, nn.GRU or nn.LSTM + nn.Linear) or npz (the same keys)", required: true),
        new("out", "file", "the file to write (atomically)", required: true),
        new("name", "identifier", "identifier for the C header's arrays, state and functions, or the C# class", @default: "fastlra_model"),
        new("namespace", "name", "csharp: the namespace of the class", @default: "FastLra.Models"),
        new("rnn-prefix", "prefix", "torch and npz: key prefix of the recurrent module's tensors", @default: "rnn."),
        new("fc-prefix", "prefix", "torch and npz: key prefix of the nn.Linear tensors", @default: "fc."),
    ];

    public override int Run(CliArguments a, CancellationToken cancel)
    {
        string model = a.Required("model"), format = a.Required("format"), @out = a.RequiredOutput("out"), name = a.Flag("name") ?? "fastlra_model";
        string ns = a.Flag("namespace") ?? "FastLra.Models";
        string rnnPrefix = a.Flag("rnn-prefix") ?? "rnn.", fcPrefix = a.Flag("fc-prefix") ?? "fc.";
        if (format is not ("c" or "csharp" or "torch" or "npz")) throw new UsageException($"unknown --format '{format}' (choose c, csharp, torch or npz).");
        if (name.Length == 0 || !(char.IsLetter(name[0]) || name[0] == '_') || !name.All(ch => char.IsLetterOrDigit(ch) || ch == '_'))
            throw new UsageException($"--name '{name}' is not a C or C# identifier.");
        if (ns.Split('.').Any(part => part.Length == 0 || !(char.IsLetter(part[0]) || part[0] == '_') || !part.All(ch => char.IsLetterOrDigit(ch) || ch == '_')))
            throw new UsageException($"--namespace '{ns}' is not a C# namespace.");
        var rnn = WeightFormats.LoadModel(model);
        var p = rnn.Weights;
        switch (format)
        {
            case "torch": SafeTensors.Write(@out, WeightFormats.ToTorch(p, rnnPrefix, fcPrefix), null); break;
            case "npz": WeightFormats.WriteNpz(@out, WeightFormats.ToTorch(p, rnnPrefix, fcPrefix)); break;
            case "c": AtomicFile.WriteAllText(@out, WeightFormats.ToC(p, rnn.Normalization, name)); break;
            default: AtomicFile.WriteAllText(@out, WeightFormats.ToCSharp(p, rnn.Normalization, name, ns)); break;
        }
        return CliExit.Ok;
    }
}
