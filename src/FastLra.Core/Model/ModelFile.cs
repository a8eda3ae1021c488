using System.Globalization;
using FastLra.IO;
using FastLra.Kernels;

namespace FastLra.Model;

/// <summary>
/// Loads and saves a model's parameters file (safetensors), whose shape is read from the file
/// itself: the paper's one tanh layer as Wxh (I x H), Whh (H x H), bh (H), Why (H x O), by (O),
/// every other network as Wx0, Wh0, (bx0,) bh0, ..., Why, by with metadata <c>cell</c> and
/// <c>layers</c> (<see cref="RnnShape"/>'s layout). Files written before cells existed are the first kind.
/// </summary>
public static class ModelFile
{
    /// <summary>The tensor names of a <see cref="Normalization"/> in a model file.</summary>
    private static readonly string[] NormalizationNames = ["input_mean", "input_std", "target_mean", "target_std"];

    /// <summary>
    /// Reads a model file: the network, its shape taken from the tensors (and the metadata's cell and
    /// layers), with the normalisation of its data when it has one; every value must be finite.
    /// Throws <see cref="WeightFileException"/> naming the problem (the tensor, and where in it).
    /// </summary>
    public static RnnModel Load(string path) => Read(new SafeTensors.SafeTensorsFile(path)).Model;

    /// <summary>As <see cref="Load"/>, from a file already parsed, with its metadata.</summary>
    internal static (RnnModel Model, Dictionary<string, string> Metadata) Read(SafeTensors.SafeTensorsFile file)
    {
        var p = Parameters(file);
        return (new RnnModel(p, LoadNormalization(file, p.Shape)), file.Metadata);
    }

    /// <summary>The network's parameters of a file already parsed (its normalisation aside), checked finite.</summary>
    internal static ParameterSet Parameters(SafeTensors.SafeTensorsFile file)
    {
        var shape = ShapeOf(file);
        var p = new ParameterSet(shape);
        Read(file, p);
        CheckFinite(file.Path, p);
        return p;
    }

    /// <summary>
    /// The shape of the network a file holds: the paper's when it has Wxh; otherwise its cell and
    /// layers from the metadata (a file without them is a tanh stack of as many layers as it has Wx
    /// tensors), I from Wx0, H from Wh0, O from Why.
    /// </summary>
    private static RnnShape ShapeOf(SafeTensors.SafeTensorsFile file)
    {
        string path = file.Path;
        var m = file.Metadata;
        var why = Matrix(file, "Why");
        if (file.Find("Wxh") is not null)
        {
            var wxh = Matrix(file, "Wxh");
            string c = m.GetValueOrDefault("cell", "tanh"), l = m.GetValueOrDefault("layers", "1");
            if (c != "tanh" || l != "1")
                throw new WeightFileException($"{path}: a file with Wxh holds the one-layer tanh network, but its metadata says cell {c}, layers {l}.");
            return Checked(path, new RnnShape(wxh[0], wxh[1], why[1]));
        }
        var cell = CellKind.Tanh;
        if (m.TryGetValue("cell", out string? name) && !CellNames.TryParse(name, out cell))
            throw new WeightFileException($"{path}: metadata 'cell' is '{name}'; FastLra knows {string.Join(", ", CellNames.Names)}.");
        int layers = 0;
        if (m.TryGetValue("layers", out string? text))
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out layers) || layers is < 1 or > RnnShape.MaxLayers)
                throw new WeightFileException($"{path}: metadata 'layers' is '{text}'; a network has 1 to {RnnShape.MaxLayers}.");
        }
        else
        {
            while (layers < RnnShape.MaxLayers && file.Find($"Wx{layers.ToString(CultureInfo.InvariantCulture)}") is not null) layers++;
            if (layers == 0) throw new WeightFileException($"{path}: tensor 'Wxh' (or 'Wx0') is missing.");
        }
        var wx0 = Matrix(file, "Wx0");
        var wh0 = Matrix(file, "Wh0");
        return Checked(path, new RnnShape(wx0[0], wh0[0], why[1], cell, layers));
    }

    private static int[] Matrix(SafeTensors.SafeTensorsFile file, string name)
    {
        var tensor = file.Find(name) ?? throw new WeightFileException($"{file.Path}: tensor '{name}' is missing.");
        return tensor.Shape.Length == 2 ? tensor.Shape : throw new WeightFileException($"{file.Path}: {name} must be a matrix.");
    }

    private static RnnShape Checked(string path, RnnShape shape)
    {
        if (shape.Inputs <= 0 || shape.Hidden <= 0 || shape.Outputs <= 0) throw new WeightFileException($"{path}: the tensors have an empty dimension.");
        if (shape.LongCount > Array.MaxLength) throw new WeightFileException($"{path}: {shape} has more parameters than one array holds.");
        return shape;
    }

    /// <summary>
    /// Reads every tensor of <paramref name="p"/>'s shape into it, by its name (<see cref="RnnShape.TensorName"/>);
    /// other tensors are ignored. Throws <see cref="WeightFileException"/> naming a missing or misshapen one.
    /// </summary>
    internal static void Read(SafeTensors.SafeTensorsFile file, ParameterSet p)
    {
        string path = file.Path;
        var shape = p.Shape;
        for (int i = 0; i < shape.TensorCount; i++)
        {
            var (_, length, rows, cols) = shape.Slot(i);
            string name = shape.TensorName(i);
            var tensor = file.Find(name) ?? throw new WeightFileException($"{path}: tensor '{name}' is missing.");
            int[] expected = rows > 0 ? [rows, cols] : [cols];
            if (!tensor.Shape.AsSpan().SequenceEqual(expected))
                throw new WeightFileException(
                    $"{path}: tensor '{name}' has shape [{string.Join(", ", tensor.Shape)}], expected [{string.Join(", ", expected)}].");
            file.ReadFloats(tensor, p.Tensor(i)[..length]);
        }
    }

    /// <summary>The parameters as entries, named and shaped as weight files have them.</summary>
    internal static List<SafeTensors.Entry> ParameterEntries(ParameterSet p)
    {
        var entries = new List<SafeTensors.Entry>();
        var shape = p.Shape;
        for (int i = 0; i < shape.TensorCount; i++)
        {
            var (_, _, rows, cols) = shape.Slot(i);
            entries.Add(SafeTensors.Floats(shape.TensorName(i), rows > 0 ? [rows, cols] : [cols], p.Tensor(i)));
        }
        return entries;
    }

    /// <summary>
    /// The metadata a file of <paramref name="shape"/> must carry besides <paramref name="metadata"/>:
    /// its cell and layers unless it is the paper's network (the names of its tensors say that).
    /// </summary>
    internal static List<KeyValuePair<string, string>> WithShape(RnnShape shape, IReadOnlyList<KeyValuePair<string, string>>? metadata)
    {
        var all = metadata is null ? new List<KeyValuePair<string, string>>() : [.. metadata];
        if (shape.IsSimpleTanh) return all;
        all.RemoveAll(e => e.Key is "cell" or "layers");
        all.Add(new("cell", CellNames.Name(shape.Cell)));
        all.Add(new("layers", shape.Layers.ToString(CultureInfo.InvariantCulture)));
        return all;
    }

    /// <summary>Refuses parameters holding a NaN or an infinity, naming the tensor and the index.</summary>
    internal static void CheckFinite(string path, ParameterSet p)
    {
        for (int i = 0; i < p.Shape.TensorCount; i++) CheckFinite(path, p.Shape.TensorName(i), p.Tensor(i));
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
    private static Normalization? LoadNormalization(SafeTensors.SafeTensorsFile file, RnnShape shape)
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

    /// <summary>
    /// Writes <paramref name="model"/> (its tensors, its normalisation, the format and, unless it is
    /// the paper's network, its cell and layers) and <paramref name="metadata"/>, atomically.
    /// </summary>
    public static void Save(string path, RnnModel model, IReadOnlyList<KeyValuePair<string, string>>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Save(path, model.Weights, model.Normalization, metadata);
    }

    /// <summary>As <see cref="Save(string, RnnModel, IReadOnlyList{KeyValuePair{string, string}}?)"/>, from parameters and a normalisation.</summary>
    internal static void Save(string path, ParameterSet p, Normalization? normalization, IReadOnlyList<KeyValuePair<string, string>>? metadata)
    {
        var all = WithShape(p.Shape, metadata);
        if (!all.Exists(e => e.Key == "format")) all.Insert(0, new("format", Format));
        if (!all.Exists(e => e.Key == "format_version")) all.Insert(1, new("format_version", Version));
        SafeTensors.Write(path, Entries(p, normalization), all);
    }

    /// <summary>What a model file's metadata says it is (files of other programs may have none).</summary>
    public const string Format = "fastlra-model";

    /// <summary>The version of the layout this code writes.</summary>
    public const string Version = "1";

    /// <summary>A model file's tensors: the parameters and the normalisation when given (files that hold more add theirs).</summary>
    internal static List<SafeTensors.Entry> Entries(ParameterSet p, Normalization? normalization)
    {
        var entries = ParameterEntries(p);
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
