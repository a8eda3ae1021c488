using FastLra.Model;

namespace FastLra.IO;

/// <summary>Loads a parameters file whose widths are read from the file itself.</summary>
public static class ModelFile
{
    /// <summary>
    /// Reads Wxh (I x H), Whh (H x H), bh (H), Why (H x O), by (O) from a safetensors file, with
    /// the widths taken from Wxh and Why. Throws <see cref="WeightFileException"/> naming the problem.
    /// </summary>
    public static (ParameterSet Parameters, Dictionary<string, string> Metadata) Load(string path) =>
        Load(new SafeTensors.SafeTensorsFile(path));

    /// <summary>As <see cref="Load(string)"/>, from a file already parsed.</summary>
    public static (ParameterSet Parameters, Dictionary<string, string> Metadata) Load(SafeTensors.SafeTensorsFile file)
    {
        string path = file.Path;
        var wxh = file.Find("Wxh") ?? throw new WeightFileException($"{path}: tensor 'Wxh' is missing.");
        var why = file.Find("Why") ?? throw new WeightFileException($"{path}: tensor 'Why' is missing.");
        if (wxh.Shape.Length != 2 || why.Shape.Length != 2)
            throw new WeightFileException($"{path}: Wxh and Why must be matrices.");
        var shape = new RnnShape(wxh.Shape[0], wxh.Shape[1], why.Shape[1]);
        if (shape.Inputs <= 0 || shape.Hidden <= 0 || shape.Outputs <= 0)
            throw new WeightFileException($"{path}: the tensors have an empty dimension.");
        var p = new ParameterSet(shape);
        var metadata = SafeTensors.Read(file, p);
        return (p, metadata);
    }
}
