using FastLra.Interchange;
using FastLra.Model;

namespace FastLra.Cli;

/// <summary><c>fastlra import</c>: PyTorch or numpy weights to a FastLra model file.</summary>
internal sealed class ImportCommand : Command
{
    public override string Name => "import";

    public override string Summary => "convert PyTorch or numpy weights to a FastLra model";

    public override string Usage => "fastlra import --from F --out G [--rnn-prefix rnn.] [--fc-prefix fc.]";

    public override IReadOnlyList<CliFlag> Flags { get; } =
    [
        new("from", "file", "the file to read (.safetensors or .npz)", required: true),
        new("out", "file", "the FastLra model file to write (atomically)", required: true),
        new("rnn-prefix", "prefix", "key prefix of the recurrent layers' tensors", @default: "rnn."),
        new("fc-prefix", "prefix", "key prefix of the nn.Linear tensors", @default: "fc."),
    ];

    public override int Run(CliArguments a, CancellationToken cancel)
    {
        string from = a.Required("from"), @out = a.RequiredOutput("out");
        var p = WeightFormats.ToParameters(WeightFormats.ReadTensors(from), from, a.Flag("rnn-prefix") ?? "rnn.", a.Flag("fc-prefix") ?? "fc.");
        ModelFile.Save(@out, p, null, [new("imported_from", Path.GetFileName(from))]);
        Console.Error.WriteLine($"{@out}: {p.Shape}");
        return CliExit.Ok;
    }
}
