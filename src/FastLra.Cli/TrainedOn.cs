using System.Globalization;
using FastLra.Data;
using FastLra.Training;

namespace FastLra.Cli;

/// <summary>
/// Which sequences of a data file were a model's training data, when the file is the one the model
/// was trained on: <c>eval</c> then reports its validation part apart from the in-sample rest, and
/// <c>predict</c> marks each row. The file is known by the length and CRC-32C the model records
/// (<c>data_bytes</c>, <c>data_crc32c</c>), or, in a model saved before it recorded them, by its
/// path. The split is the training run's own, from the options the model records: with
/// <c>--valid-data</c> every sequence was trained on; otherwise an array file's held-out sequences
/// are the seeded random subset <see cref="DataFiles.Split"/> drew, and a CSV series' are the
/// windows that start at or after the row its first validation window started at, so the file
/// read with another <c>--window</c> or <c>--stride</c> is split at the same row.
/// </summary>
internal sealed class TrainedOn
{
    /// <summary>The metadata keys of the training file's length and CRC-32C.</summary>
    public const string BytesKey = "data_bytes", Crc32CKey = "data_crc32c";

    private TrainedOn(bool[] heldOut, string split, bool byPath)
    {
        HeldOut = heldOut;
        ValidCount = heldOut.Count(h => h);
        Split = split;
        ByPath = byPath;
    }

    /// <summary>Per sequence of the file as read: whether training held it out for validation (else it trained on it).</summary>
    public bool[] HeldOut { get; }

    /// <summary>The sequences held out for validation.</summary>
    public int ValidCount { get; }

    /// <summary>The sequences trained on.</summary>
    public int TrainCount => HeldOut.Length - ValidCount;

    /// <summary>Whether the file was known by its path only (the model records no checksum of its data).</summary>
    public bool ByPath { get; }

    /// <summary>The split in words: "sequences 0-230 were its training data and 231-288 its validation data (...)".</summary>
    public string Split { get; }

    /// <summary>The sentence eval and predict print: <paramref name="file"/> is the model's training file, and how it was split.</summary>
    public string Describe(string file) =>
        $"{file} is the file the model was trained on{(ByPath ? " (known by its path: the model records no checksum of its data)" : "")}: {Split}.";

    /// <summary>
    /// How <paramref name="data"/>, read from <paramref name="read"/>, was split when the model whose
    /// <paramref name="metadata"/> records the run <paramref name="recorded"/> trained on it; null when
    /// it is not that file.
    /// </summary>
    public static TrainedOn? Find(IReadOnlyDictionary<string, string> metadata, RunSpec recorded, DataFileSource read, LoadedData data)
    {
        if (recorded.Source is not DataFileSource trained || trained.Path.Length == 0) return null;
        bool byPath = !metadata.ContainsKey(BytesKey) || !metadata.ContainsKey(Crc32CKey);
        if (byPath ? Path.GetFullPath(trained.Path) != Path.GetFullPath(read.Path)
            : data.Checksum is not { } checksum || metadata[BytesKey] != checksum.Bytes.ToString(CultureInfo.InvariantCulture) || metadata[Crc32CKey] != checksum.Hex)
            return null;
        int n = data.Data.Count;
        if (trained.ValidPath is not null) return new(new bool[n], $"every sequence was its training data (it was validated on {trained.ValidPath})", byPath);
        uint seed = recorded.Options.Seed;
        try
        {
            if (!data.TimeSeries)
            {
                var held = DataFiles.HeldOut(n, timeSeries: false, trained.ValidFraction, seed);
                return new(held, $"{n - held.Count(h => h)} of its sequences were its training data and {held.Count(h => h)}, a random subset (--valid-fraction {Show(trained.ValidFraction)}, --seed {seed}), its validation data", byPath);
            }
            // The training run's windows, cut with its own options, and the row its first held-out one started at.
            var f = trained.File;
            long windows = data.Rows >= (long)f.Window + f.Horizon ? (data.Rows - f.Horizon - f.Window) / f.Stride + 1 : 0;
            if (windows is < 2 or > int.MaxValue) return null;
            long firstRow = (long)Array.IndexOf(DataFiles.HeldOut((int)windows, timeSeries: true, trained.ValidFraction, seed), true) * f.Stride;
            var heldOut = new bool[n];
            for (int k = 0; k < n; k++) heldOut[k] = (long)k * read.File.Stride >= firstRow;
            int first = Array.IndexOf(heldOut, true);
            string split = first switch
            {
                < 0 => "every sequence was its training data",
                0 => "every sequence was its validation data",
                _ => $"sequences 0-{first - 1} were its training data and {first}-{n - 1} its validation data",
            };
            return new(heldOut, $"{split} (training held out its windows from data row {firstRow} on, the last {Show(trained.ValidFraction * 100)}%)", byPath);
        }
        catch (DataFormatException)
        {
            // A file at the recorded path that the recorded split does not fit is not the one it split.
            return null;
        }
    }

    /// <summary>The indices of the sequences trained on (<paramref name="heldOut"/> false) or held out (true), in order.</summary>
    public int[] Indices(bool heldOut)
    {
        var indices = new List<int>();
        for (int k = 0; k < HeldOut.Length; k++)
            if (HeldOut[k] == heldOut) indices.Add(k);
        return [.. indices];
    }

    private static string Show(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
