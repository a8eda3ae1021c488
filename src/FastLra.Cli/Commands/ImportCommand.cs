using FastLra.Interchange;
using FastLra.Model;

namespace FastLra.Cli;

/// <summary><c>fastlra import</c>: PyTorch (nn.RNN, nn.GRU, nn.LSTM of any depth) or numpy weights to a FastLra model file.</summary>
internal sealed class ImportCommand : Command
{
    public override string Name => "import";

    public override string Summary => "convert PyTorch (nn.RNN, nn.GRU, nn.LSTM + nn.Linear) or numpy weights to a FastLra model";

    public override string Usage => "fastlra import --from F --out G [--rnn-prefix rnn.] [--fc-prefix fc.]";

    public override IReadOnlyList<CliFlag> Flags { get; } =
    [
        new("from", "file", "the state dict to read (.safetensors or .npz); the cell comes from the gate multiple of its weights' rows, the layers from its keys", required: true),
        new("out", "file", "the FastLra model file to write (atomically)", required: true),
        new("rnn-prefix", "prefix", "key prefix of the nn.RNN, nn.GRU or nn.LSTM tensors ({prefix}weight_ih_l0, ...)", @default: "rnn."),
        new("fc-prefix", "prefix", "key prefix of the nn.Linear tensors ({prefix}weight, {prefix}bias)", @default: "fc."),
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
