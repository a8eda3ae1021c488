using System.Buffers.Binary;
using FastLra.IO;
using FastLra.Model;

namespace FastLra.Cli;

/// <summary><c>fastlra infer</c>: a saved model stepped over raw float32 inputs, streamed, its outputs written atomically.</summary>
internal sealed class InferCommand : Command
{
    public override string Name => "infer";

    public override string Summary => "run a saved model step by step over raw float32 inputs";

    public override string Usage => "fastlra infer --model F --inputs X.bin --outputs Y.bin";

    public override IReadOnlyList<CliFlag> Flags { get; } =
    [
        new("model", "file", "the model file (and the normalisation of its data, if any)", required: true),
        new("inputs", "file", "T x I little-endian float32 values, step after step", required: true),
        new("outputs", "file", "receives T x O float32 values, the output after every step (written atomically)", required: true),
    ];

    public override int Run(CliArguments a, CancellationToken cancel)
    {
        string model = a.Required("model"), inputs = a.Required("inputs"), outputs = a.RequiredOutput("outputs");
        var rnn = RnnModel.Load(model);
        var shape = rnn.Shape;
        using var input = OpenInputs(inputs);
        var head = new byte[(int)Math.Min(input.Length, 256)];
        input.ReadExactly(head);
        RefuseNonRaw(inputs, head);
        input.Position = 0;
        int stepBytes = 4 * shape.Inputs;
        if (input.Length % stepBytes != 0)
            throw new InvalidDataException($"{inputs}: {input.Length} bytes is not a whole number of steps of {shape.Inputs} float32 inputs.");
        // Streamed in blocks of steps: memory stays bounded however long the input is.
        long steps = input.Length / stepBytes;
        int block = Math.Max(1, (1 << 16) / stepBytes);
        var raw = new byte[block * stepBytes];
        var result = new byte[block * 4 * shape.Outputs];
        var x = new float[shape.Inputs];
        var y = new float[shape.Outputs];
        var state = new RnnState(rnn);
        AtomicFile.Write(outputs, stream =>
        {
            for (long done = 0; done < steps;)
            {
                int count = (int)Math.Min(block, steps - done);
                input.ReadExactly(raw.AsSpan(0, count * stepBytes));
                for (int t = 0; t < count; t++)
                {
                    for (int i = 0; i < x.Length; i++) x[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(4 * (t * shape.Inputs + i)));
                    state.Step(x, y);
                    for (int j = 0; j < y.Length; j++) BinaryPrimitives.WriteSingleLittleEndian(result.AsSpan(4 * (t * shape.Outputs + j)), y[j]);
                }
                stream.Write(result, 0, count * 4 * shape.Outputs);
                done += count;
            }
        });
        return CliExit.Ok;
    }

    /// <summary>A raw input file for reading: a regular file (not a directory, pipe or device), or one line saying why not.</summary>
    private static FileStream OpenInputs(string path)
    {
        try
        {
            return BoundedFile.Open(path, long.MaxValue);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: cannot read ({e.Message}).", e);
        }
    }

    /// <summary>Refuses an inputs file that is plainly not raw float32: an .npy array or text.</summary>
    internal static void RefuseNonRaw(string path, ReadOnlySpan<byte> raw)
    {
        if (raw.Length >= 6 && raw[0] == 0x93 && raw.Slice(1, 5).SequenceEqual("NUMPY"u8))
            throw new UsageException($"{path} is an .npy array, not raw float32; write it with arr.astype('<f4').tofile(path) (or use fastlra predict --data).");
        // Raw float32 of real data holds bytes outside printable ASCII (1.0f is 00 00 80 3F); a CSV does not.
        int sample = Math.Min(raw.Length, 256);
        if (sample > 0 && AllText(raw[..sample]))
            throw new UsageException($"{path} looks like text (CSV?), not raw float32; use fastlra predict --data for CSV files.");
    }

    private static bool AllText(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
            if (b is not ((>= 0x20 and <= 0x7e) or (byte)'\n' or (byte)'\r' or (byte)'\t')) return false;
        return true;
    }
}
