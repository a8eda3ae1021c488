using System.Globalization;
using FastLra.Kernels;
using FastLra.Model;

namespace FastLra.IO;

/// <summary>Loads and saves a model's parameters file, whose widths are read from the file itself.</summary>
public static class ModelFile
{
    /// <summary>The tensor names of a <see cref="Normalization"/> in a model file.</summary>
    private static readonly string[] NormalizationNames = ["input_mean", "input_std", "target_mean", "target_std"];

    /// <summary>
    /// Reads Wxh (I x H), Whh (H x H), bh (H), Why (H x O), by (O) from a safetensors file, with
    /// the widths taken from Wxh and Why; every value must be finite. Throws
    /// <see cref="WeightFileException"/> naming the problem (the tensor, and where in it).
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
        CheckFinite(path, p);
        return (p, metadata);
    }

    /// <summary>Refuses parameters holding a NaN or an infinity, naming the tensor and the index.</summary>
    internal static void CheckFinite(string path, ParameterSet p)
    {
        for (int i = 0; i < RnnShape.Names.Length; i++) CheckFinite(path, RnnShape.Names[i], p.Tensor(i));
    }

    /// <summary>Refuses a tensor holding a NaN or an infinity, naming it and the first such index.</summary>
    internal static void CheckFinite(string path, string tensor, ReadOnlySpan<float> values)
    {
        if (!Reductions.AllFinite(values)) throw NotFinite(path, tensor, values);
    }

    private static WeightFileException NotFinite(string path, string tensor, ReadOnlySpan<float> values)
    {
        int k = 0;
        while (float.IsFinite(values[k])) k++;
        return Refused(path, tensor, values, k, "every value must be finite");
    }

    /// <summary>One line: the file, the tensor, the index and value that are refused, and why.</summary>
    internal static WeightFileException Refused(string path, string tensor, ReadOnlySpan<float> values, int index, string why) =>
        new(string.Concat(path, ": tensor '", tensor, "' holds ", values[index].ToString(CultureInfo.InvariantCulture), " at index ",
            index.ToString(CultureInfo.InvariantCulture), "; ", why, "."));

    /// <summary>
    /// The model's standardisation (tensors <c>input_mean</c>, <c>input_std</c> of I values and
    /// <c>target_mean</c>, <c>target_std</c> of O or none), or null when the file has none.
    /// </summary>
    public static Normalization? LoadNormalization(SafeTensors.SafeTensorsFile file, RnnShape shape)
    {
        if (file.Find(NormalizationNames[0]) is null) return null;
        var values = new float[4][];
        for (int k = 0; k < 4; k++)
        {
            var tensor = file.Find(NormalizationNames[k]);
            int expected = k < 2 ? shape.Inputs : shape.Outputs;
            if (tensor is null)
            {
                if (k >= 2 && file.Find(NormalizationNames[5 - k]) is null)
                {
                    values[k] = [];
                    continue;
                }
                throw new WeightFileException($"{file.Path}: tensor '{NormalizationNames[k]}' is missing beside the others of the normalisation.");
            }
            if (tensor.Shape.Length != 1 || tensor.Shape[0] != expected)
                throw new WeightFileException($"{file.Path}: tensor '{NormalizationNames[k]}' must hold {expected} values.");
            values[k] = new float[expected];
            file.ReadFloats(tensor, values[k]);
            CheckFinite(file.Path, NormalizationNames[k], values[k]);
            // A deviation divides: it must be positive, as Normalization requires.
            for (int i = 0; k % 2 == 1 && i < expected; i++)
                if (!(values[k][i] > 0f)) throw Refused(file.Path, NormalizationNames[k], values[k], i, "a standard deviation must be positive");
        }
        try
        {
            return new Normalization(values[0], values[1], values[2], values[3]);
        }
        catch (ArgumentException e)
        {
            throw new WeightFileException($"{file.Path}: the normalisation is invalid: {e.Message}");
        }
    }

    /// <summary>Writes the parameters, the normalisation when given, and metadata, atomically.</summary>
    public static void Save(string path, ParameterSet p, Normalization? normalization, IReadOnlyList<KeyValuePair<string, string>>? metadata) =>
        SafeTensors.Write(path, Entries(p, normalization), metadata);

    /// <summary>A model file's tensors: the parameters and the normalisation when given (files that hold more add theirs).</summary>
    internal static List<SafeTensors.Entry> Entries(ParameterSet p, Normalization? normalization)
    {
        var entries = SafeTensors.ParameterEntries(p);
        if (normalization is not null)
        {
            entries.Add(SafeTensors.Floats(NormalizationNames[0], [normalization.InputMean.Length], normalization.InputMean));
            entries.Add(SafeTensors.Floats(NormalizationNames[1], [normalization.InputStd.Length], normalization.InputStd));
            if (normalization.HasTargets)
            {
                entries.Add(SafeTensors.Floats(NormalizationNames[2], [normalization.TargetMean.Length], normalization.TargetMean));
                entries.Add(SafeTensors.Floats(NormalizationNames[3], [normalization.TargetStd.Length], normalization.TargetStd));
            }
        }
        return entries;
    }
}
