// Models compiled into the program as classes (`fastlra export --format csharp`), so a device needs
// no weight file: Acme.Control.Pendulum.Create() builds the RnnModel (the pendulum's one tanh layer),
// and Acme.Control.Stacked.Create() a 2-layer LSTM. This checks that each is the model of the file it
// was exported from: the same outputs, bit for bit, tick after tick.
// Usage: dotnet run -p:ExportedModels=DIR -- PENDULUM.safetensors STACKED.safetensors
//   (DIR holds Pendulum.g.cs and Stacked.g.cs, exported from those two files)
using System.Globalization;
using Acme.Control;
using FastLra.Model;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: Exported PENDULUM.safetensors STACKED.safetensors (the files the classes were exported from)");
    return 2;
}
return Check(nameof(Pendulum), Pendulum.Create(), args[0]) && Check(nameof(Stacked), Stacked.Create(), args[1]) ? 0 : 1;

static bool Check(string name, RnnModel compiled, string file)
{
    var loaded = RnnModel.Load(file);
    if (compiled.Shape != loaded.Shape)
    {
        Console.Error.WriteLine($"the compiled {name} is {compiled.Shape}, {file} holds {loaded.Shape}");
        return false;
    }
    var (a, b) = (new RnnState(compiled), new RnnState(loaded));
    var x = new float[compiled.Shape.Inputs];
    var (ya, yb) = (new float[compiled.Shape.Outputs], new float[compiled.Shape.Outputs]);
    var random = new Random(1);
    const int ticks = 1000;
    for (int t = 0; t < ticks; t++)
    {
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        a.Step(x, ya);
        b.Step(x, yb);
        if (!ya.AsSpan().SequenceEqual(yb))
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tick {t}: the compiled {name} gives {ya[0]}, {file} {yb[0]}"));
            return false;
        }
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"the compiled {name} ({compiled.Shape}) equals {file} over {ticks} ticks"));
    return true;
}
