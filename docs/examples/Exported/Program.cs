// A model compiled into the program as a class (`fastlra export --format csharp`), so a device
// needs no weight file: Acme.Control.Pendulum.Create() builds the RnnModel. This checks that it is
// the model of the file it was exported from: the same outputs, bit for bit, tick after tick.
// Usage: dotnet run -p:ExportedModel=Pendulum.g.cs -- docs/online/pendulum.safetensors
using System.Globalization;
using Acme.Control;
using FastLra.Model;

if (args.Length != 1)
{
    Console.Error.WriteLine("usage: Exported MODEL.safetensors (the file the class was exported from)");
    return 2;
}
RnnModel compiled = Pendulum.Create(), loaded = RnnModel.Load(args[0]);
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
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tick {t}: the compiled model gives {ya[0]}, the file {yb[0]}"));
        return 1;
    }
}
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"the compiled {nameof(Pendulum)} (I = {compiled.Shape.Inputs}, H = {compiled.Shape.Hidden}, O = {compiled.Shape.Outputs}) equals {args[0]} over {ticks} ticks"));
return 0;
