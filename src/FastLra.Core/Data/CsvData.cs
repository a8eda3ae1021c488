using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Text;
using FastLra.Data;
using FastLra.IO;
using FastLra.Kernels;
using nietras.SeparatedValues;

namespace FastLra.Data;

/// <summary>
/// CSV time series (docs/data.md), read in two streaming passes. A byte scan finds the separator,
/// counts the rows and measures the longest one, so that what the read will allocate is priced
/// against the memory budget before anything proportional to the file exists. Then Sep parses
/// the rows (RFC 4180 quoting) and each selected cell goes straight into one float: no string per
/// cell, memory that of the selected values and of the windows, not of the file.
/// </summary>
internal static class CsvData
{
    /// <summary>Bytes one row (the header included) may have: Sep holds a whole row in its buffer, and refuses one of 16 M characters.</summary>
    internal const int MaxRowBytes = 1 << 23;

    private static readonly SearchValues<byte> Specials = SearchValues.Create("\"\n\r"u8);

    private static readonly NumberFormatInfo DecimalCommaFormat = new() { NumberDecimalSeparator = ",", NumberGroupSeparator = "\u00a0" };

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary>Refuses options a CSV cannot be read with, before the file is opened.</summary>
    public static void CheckOptions(string path, DataFileOptions o)
    {
        if (Split(o.InputColumns).Length == 0 || Split(o.TargetColumns).Length == 0)
            throw new DataFormatException($"{path}: a CSV needs --input-columns and --target-columns.");
        if (o.Window <= 0) throw new DataFormatException($"{path}: a CSV needs --window T >= 1 (steps per training sequence), got {o.Window}.");
        if (o.Horizon < 0) throw new DataFormatException($"{path}: --horizon must be >= 0, got {o.Horizon}.");
        if (o.Stride <= 0) throw new DataFormatException($"{path}: --stride must be positive, got {o.Stride}.");
        if (o.Classes > 0 && Split(o.TargetColumns).Length != 1)
            throw new DataFormatException($"{path}: --classes needs exactly one target column (of labels), got {Split(o.TargetColumns).Length}.");
        if (o.Delimiter is { } d && d is not (',' or ';' or '\t'))
            throw new DataFormatException($"{path}: --delimiter must be ',', ';' or tab, got '{d}'.");
        if (o.DecimalComma && o.Delimiter == ',')
            throw new DataFormatException($"{path}: --decimal-comma needs cells separated by ';' or tabs; with --delimiter ',' every decimal comma would split a number in two.");
        DataFiles.Washout(o with { Outputs = o.Outputs == OutputSelection.Auto ? OutputSelection.All : o.Outputs }, perStep: true, o.Window, path);
    }

    /// <summary>The series in <paramref name="stream"/> (opened by <see cref="IO.BoundedFile"/>) cut into windows.</summary>
    public static LoadedData Read(string path, FileStream stream, DataFileOptions o)
    {
        string[] inputs = Split(o.InputColumns), targets = Split(o.TargetColumns);
        bool classes = o.Classes > 0;
        // The columns read, each once (a column may be both input and target); a label column holds no float unless it is also an input.
        var wanted = new List<string>();
        foreach (string name in inputs)
            if (!wanted.Contains(name)) wanted.Add(name);
        foreach (string name in targets)
            if (!wanted.Contains(name)) wanted.Add(name);
        int labelColumn = classes ? wanted.IndexOf(targets[0]) : -1;
        // The time column is found in the header with the others, but its cells are kept as text, not read as numbers.
        var columns = new List<string>(wanted);
        int timeColumn = o.TimeColumn.Length == 0 ? -1 : columns.IndexOf(o.TimeColumn);
        if (o.TimeColumn.Length > 0 && timeColumn < 0)
        {
            timeColumn = columns.Count;
            columns.Add(o.TimeColumn);
        }
        var slotOf = new int[wanted.Count];
        int width = 0;
        for (int w = 0; w < wanted.Count; w++)
            slotOf[w] = Array.IndexOf(inputs, wanted[w]) >= 0 || !classes ? width++ : -1;

        int steps = o.Window, horizon = o.Horizon, stride = o.Stride;
        int washout = DataFiles.Washout(o with { Outputs = o.Outputs == OutputSelection.Auto ? OutputSelection.All : o.Outputs }, perStep: true, steps, path);
        var layout = new SequenceLayout(steps, inputs.Length, classes ? o.Classes : targets.Length, washout,
            classes ? GlobalLossKind.SoftmaxCrossEntropy : GlobalLossKind.MeanSquaredError);

        var shape = Scan(path, stream, o.Delimiter);
        if (shape.Rows == 0) throw new DataFormatException($"{path}: the file is empty; a CSV needs a header row.");
        if (o.DecimalComma && shape.Separator == ',')
            throw new DataFormatException($"{path}: --decimal-comma needs cells separated by ';' or tabs; the header row is separated by ','.");
        long capacity = Math.Max(0, shape.Rows - 1);
        long windowsAtMost = capacity >= steps + horizon ? (capacity - horizon - steps) / stride + 1 : 0;
        long datasetValues = SequenceDataSet.Values(layout, windowsAtMost, persistence: !classes);
        if (capacity * width > Array.MaxLength || datasetValues > Array.MaxLength)
            throw new DataFormatException($"{path}: {capacity} rows{(classes ? $" of --classes {o.Classes}" : "")} make more values than one array holds ({Array.MaxLength}); use {(classes ? "fewer --classes, " : "")}a smaller file or a larger --stride.");
        // Sep's buffers for the longest row (measured: at most 4 bytes per character and 40 per cell,
        // of the row's length and cells rounded up to powers of two), the selected values, the
        // labels, and the data set's pooled buffer.
        long need = 4 * Pow2(shape.LongestRow + 32768) + 40 * Pow2(shape.MostCells + 8192)
            + 4 * capacity * width + (classes ? 4 * capacity : 0) + 4 * Pooled(datasetValues) + (timeColumn >= 0 ? RowTexts.Bytes(capacity) : 0);
        if (need > MemoryBudget.Bytes)
            throw new DataFormatException(MemoryBudget.TooMuch($"{path}: reading it{(classes ? $" with --classes {o.Classes}" : "")}", need,
                classes ? "use fewer --classes, a smaller file or a larger --stride" : "use a smaller file or a larger --stride"));

        var values = GC.AllocateUninitializedArray<float>((int)(capacity * width));
        var labels = classes ? GC.AllocateUninitializedArray<int>((int)capacity) : [];
        var cells = new Cells(path, o, shape.Separator);
        // The time cells' text is priced as it grows, on top of what the read has priced.
        var times = timeColumn >= 0 ? new RowTexts(capacity, need, path, o.TimeColumn) : null;
        var columnOf = new int[columns.Count];
        Array.Fill(columnOf, -1);
        int headerCells = -1, index = -1;
        long rows = 0;
        stream.Position = shape.Bom ? 3 : 0;
        using (var text = new StreamReader(stream, Utf8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 14, leaveOpen: true))
        using (var reader = new SepReaderOptions(new Sep(shape.Separator)) { HasHeader = false, DisableColCountCheck = true, Unescape = true, Trim = SepTrim.Outer }.From(text))
        {
            foreach (var row in reader)
            {
                index++;
                // Sep numbers the first row's lines from 2.
                int line = index == 0 ? 1 : row.LineNumberFrom;
                int count = row.ColCount;
                if (row.Span.Contains('\0')) cells.Nul(row, line, headerCells < 0 ? null : columnOf, columns);
                if (count == 1 && row[0].Span.Trim().IsEmpty) continue;
                if (headerCells < 0)
                {
                    headerCells = count;
                    Header(row, line, columns, columnOf, path);
                    continue;
                }
                if (count != headerCells) throw new DataFormatException($"{path}:{line}: the row has {count} cells, the header {headerCells}.");
                if (rows == capacity) throw new DataFormatException($"{path}: the file changed while it was read; read it again.");
                long at = rows * width;
                for (int w = 0; w < wanted.Count; w++)
                    if (slotOf[w] >= 0) values[at + slotOf[w]] = cells.Value(row[columnOf[w]].Span, line, wanted[w]);
                times?.Add(row[columnOf[timeColumn]].Span.Trim());
                if (labelColumn >= 0) labels[rows] = cells.Label(row[columnOf[labelColumn]].Span, line, wanted[labelColumn], o.Classes);
                rows++;
            }
        }
        if (headerCells < 0) throw new DataFormatException($"{path}: the file is empty; a CSV needs a header row.");
        if (rows == 0) throw new DataFormatException($"{path}: the file has a header row and no data rows.");
        if (steps + horizon > rows)
            throw new DataFormatException($"{path}: --window {steps} with --horizon {horizon} needs at least {steps + horizon} rows; the series has {rows}.");

        int windows = (int)((rows - horizon - steps) / stride + 1);
        var inputSlot = new int[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) inputSlot[i] = slotOf[wanted.IndexOf(inputs[i])];
        var targetSlot = new int[classes ? 0 : targets.Length];
        for (int j = 0; j < targetSlot.Length; j++) targetSlot[j] = slotOf[wanted.IndexOf(targets[j])];
        var data = new SequenceDataSet(layout, windows, persistence: !classes);
        var x = data.X;
        var y = data.Y;
        var persistence = data.Persistence;
        int r = steps - washout, outputs = layout.Outputs, inputCount = inputs.Length;
        for (int k = 0; k < windows; k++)
        {
            long start = (long)k * stride;
            for (int t = 0; t < steps; t++)
                for (int i = 0; i < inputCount; i++) x[(k * steps + t) * inputCount + i] = values[(start + t) * width + inputSlot[i]];
            for (int t = washout; t < steps; t++)
            {
                int row = (k * r + t - washout) * outputs;
                if (classes)
                {
                    y[row + labels[start + t + horizon]] = 1f;
                    continue;
                }
                for (int j = 0; j < outputs; j++)
                {
                    y[row + j] = values[(start + t + horizon) * width + targetSlot[j]];
                    persistence[row + j] = values[(start + t) * width + targetSlot[j]];
                }
            }
        }
        string[] targetNames = classes ? DataFiles.Numbered(targets[0] + " =", outputs) : targets;
        return new LoadedData(data, inputs, targetNames, timeSeries: true)
        {
            Checksum = shape.Checksum,
            Rows = rows,
            Times = times,
            Series = o.KeepSeries ? new CsvSeries(values, width, inputSlot) : null,
        };
    }

    /// <summary>Finds each wanted column in the header row; a wanted name the header lacks or holds twice is refused by name.</summary>
    private static void Header(SepReader.Row row, int line, List<string> wanted, int[] columnOf, string path)
    {
        var find = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int w = 0; w < wanted.Count; w++) find[wanted[w]] = w;
        var lookup = find.GetAlternateLookup<ReadOnlySpan<char>>();
        var shown = new List<string>();
        for (int c = 0; c < row.ColCount; c++)
        {
            var name = row[c].Span.Trim();
            if (shown.Count < 20) shown.Add(name.ToString());
            if (!lookup.TryGetValue(name, out int w)) continue;
            if (columnOf[w] >= 0)
                throw new DataFormatException($"{path}:{line}: the header names two columns '{wanted[w]}' (columns {columnOf[w] + 1} and {c + 1}); rename one.");
            columnOf[w] = c;
        }
        for (int w = 0; w < wanted.Count; w++)
        {
            if (columnOf[w] >= 0) continue;
            string more = row.ColCount > shown.Count ? $", ... ({row.ColCount} columns)" : "";
            throw new DataFormatException($"{path}: no column '{wanted[w]}' (the header has {string.Join(", ", shown)}{more}).");
        }
    }

    /// <summary>What the byte scan found: the separator, the rows (at most: every line that has a byte), the longest row and the most cells in one, and the file's checksum.</summary>
    private readonly record struct FileShape(char Separator, long Rows, long LongestRow, long MostCells, bool Bom, FileChecksum Checksum);

    /// <summary>
    /// One pass over the bytes, quotes followed as Sep follows them (every quote opens or closes,
    /// a line end inside quotes belongs to the cell): rows end at \n, \r or \r\n outside quotes.
    /// </summary>
    private static FileShape Scan(string path, FileStream stream, char? separator)
    {
        long length = stream.Length;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            var scan = new Scanner(separator is { } s ? (byte)s : (byte)0);
            long read = 0;
            bool bom = false;
            var checksum = new FileChecksum();
            while (read < length)
            {
                int n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, length - read));
                if (n == 0) break;
                var rest = buffer.AsSpan(0, n);
                checksum.Append(rest);
                if (read == 0)
                {
                    if (rest.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || rest.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]) || rest.StartsWith((ReadOnlySpan<byte>)[0, 0, 0xFE, 0xFF]))
                        throw new DataFormatException($"{path}: the file is UTF-16 or UTF-32 text; save it as UTF-8.");
                    bom = rest.StartsWith("\uFEFF"u8);
                    if (bom) rest = rest[3..];
                }
                read += n;
                while (!rest.IsEmpty)
                {
                    int at = rest.IndexOfAny(Specials);
                    scan.Text(at < 0 ? rest : rest[..at]);
                    CheckRow(path, scan);
                    if (at < 0) break;
                    scan.Special(rest[at]);
                    CheckRow(path, scan);
                    rest = rest[(at + 1)..];
                }
            }
            scan.EndRow();
            return new FileShape(scan.Separator == 0 ? ',' : (char)scan.Separator, scan.Rows, scan.Longest, scan.MostCells, bom, checksum);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void CheckRow(string path, in Scanner scan)
    {
        if (scan.RowBytes > MaxRowBytes)
            throw new DataFormatException($"{path}:{scan.RowLine}: the row that starts here is longer than {MaxRowBytes} bytes (a quote never closed?).");
    }

    private struct Scanner(byte separator)
    {
        public byte Separator = separator;
        public long Rows, Longest, MostCells, RowBytes, RowLine = 1;
        private long _line = 1, _cells = 1, _commas, _semicolons, _tabs;
        private bool _quoted, _afterCr;

        public void Text(ReadOnlySpan<byte> text)
        {
            if (text.IsEmpty) return;
            Start();
            RowBytes += text.Length;
            _afterCr = false;
            if (_quoted) return;
            if (Separator != 0) _cells += text.Count(Separator);
            else
            {
                _commas += text.Count((byte)',');
                _semicolons += text.Count((byte)';');
                _tabs += text.Count((byte)'\t');
            }
        }

        public void Special(byte b)
        {
            if (b == (byte)'"')
            {
                Start();
                RowBytes++;
                _quoted = !_quoted;
                _afterCr = false;
                return;
            }
            if (b == (byte)'\r' || !_afterCr) _line++;
            _afterCr = b == (byte)'\r';
            if (_quoted) RowBytes++;
            else EndRow();
        }

        public void EndRow()
        {
            if (RowBytes == 0) return;
            if (Separator == 0)
            {
                // The header decides: the most frequent of , ; and tab outside quotes (ties in that order).
                long most = Math.Max(_commas, Math.Max(_semicolons, _tabs));
                Separator = _commas == most ? (byte)',' : _semicolons == most ? (byte)';' : (byte)'\t';
                _cells = 1 + most;
            }
            Rows++;
            Longest = Math.Max(Longest, RowBytes);
            MostCells = Math.Max(MostCells, _cells);
            RowBytes = 0;
            _cells = 1;
        }

        private void Start()
        {
            if (RowBytes == 0) RowLine = _line;
        }
    }

    /// <summary>Reads cells as numbers and labels; every refusal names the file, the line and the column.</summary>
    private sealed class Cells(string path, DataFileOptions o, char separator)
    {
        private readonly NumberFormatInfo _format = o.DecimalComma ? DecimalCommaFormat : NumberFormatInfo.InvariantInfo;

        public float Value(ReadOnlySpan<char> text, int line, string column)
        {
            var cell = text.Trim();
            if (float.TryParse(cell, NumberStyles.Float, _format, out float value) && (float.IsFinite(value) || o.AllowNonFinite)) return value;
            if (o.AllowNonFinite)
            {
                if (cell.IsEmpty) return float.NaN;
                if (IsInfinity(cell)) return cell[0] == '-' ? float.NegativeInfinity : float.PositiveInfinity;
            }
            throw Refused(cell, line, column);
        }

        /// <summary>A class label: an integer in [0, classes), read as one (never rounded through a float) and named as written.</summary>
        public int Label(ReadOnlySpan<char> text, int line, string column, int classes)
        {
            var cell = text.Trim();
            if (!long.TryParse(cell, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long label))
            {
                if (!double.TryParse(cell, NumberStyles.Float, _format, out double value) || !double.IsFinite(value)) throw Refused(cell, line, column);
                label = value == Math.Floor(value) && value >= 0 && value < classes ? (long)value : -1;
            }
            if (label >= 0 && label < classes) return (int)label;
            throw new DataFormatException($"{path}:{line}: column '{column}' holds {cell}, not a class label in [0, {classes}).");
        }

        /// <summary>Refuses a row holding a NUL character (a binary file, or text that is not UTF-8), naming the column.</summary>
        public void Nul(SepReader.Row row, int line, int[]? columnOf, List<string> wanted)
        {
            for (int c = 0; c < row.ColCount; c++)
            {
                if (!row[c].Span.Contains('\0')) continue;
                string name = columnOf is null ? $"column {c + 1} of the header" : $"column {c + 1}";
                if (columnOf is not null)
                    for (int w = 0; w < columnOf.Length; w++)
                        if (columnOf[w] == c) name = $"column '{wanted[w]}'";
                throw new DataFormatException($"{path}:{line}: {name} holds a NUL character (a binary file, or text that is not UTF-8?).");
            }
        }

        private DataFormatException Refused(ReadOnlySpan<char> cell, int line, string column)
        {
            if (cell.IsEmpty) return new DataFormatException($"{path}:{line}: column '{column}' is empty.");
            if (float.TryParse(cell, NumberStyles.Float, _format, out _) || IsInfinity(cell))
                return new DataFormatException($"{path}:{line}: column '{column}' is {cell}; every value must be finite.");
            string hint = !o.DecimalComma && separator != ',' && cell.Contains(',') ? " (a decimal comma? add --decimal-comma)"
                : o.DecimalComma && cell.Contains('.') ? " (with --decimal-comma the decimal separator is ',')" : "";
            return new DataFormatException($"{path}:{line}: column '{column}' holds '{cell}', not a number{hint}.");
        }

        /// <summary>inf, +inf or -inf in any case: spellings of infinity that .NET does not parse (it parses Infinity and NaN).</summary>
        private static bool IsInfinity(ReadOnlySpan<char> cell)
        {
            var word = cell.Length > 0 && cell[0] is '+' or '-' ? cell[1..] : cell;
            return word.Equals("inf", StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>Splits a list of column names at its commas.</summary>
    internal static string[] Split(string columns) =>
        columns.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static long Pow2(long n) => (long)BitOperations.RoundUpToPowerOf2((ulong)n);

    /// <summary>The floats ArrayPool's shared pool allocates for a rent of <paramref name="n"/>: a power of two up to 2^30, then n.</summary>
    private static long Pooled(long n) => n <= 1 << 30 ? Pow2(Math.Max(16, n)) : n;
}

/// <summary>A CSV series' input values, row by row, as read (before any standardisation).</summary>
internal sealed class CsvSeries(float[] values, int width, int[] inputSlot)
{
    /// <summary>Input <paramref name="i"/> (in --input-columns order) at data row <paramref name="row"/>.</summary>
    public float Input(long row, int i) => values[row * width + inputSlot[i]];
}

/// <summary>
/// One text cell per data row, kept as written (a time column's years or dates) in one growing
/// buffer of characters and the end of each row's: no string per row. The buffer may grow while
/// it and the <paramref name="priced"/> bytes the read needs besides fit the memory budget.
/// </summary>
internal sealed class RowTexts(long rows, long priced, string path, string column)
{
    private readonly int[] _ends = new int[rows];
    private char[] _chars = new char[1024];
    private int _count;

    /// <summary>What the ends of <paramref name="rows"/> rows cost, priced before the read.</summary>
    public static long Bytes(long rows) => 4 * rows;

    /// <summary>The rows kept.</summary>
    public int Count => _count;

    /// <summary>Row <paramref name="row"/>'s cell.</summary>
    public string this[long row] => new(_chars.AsSpan(row == 0 ? 0 : _ends[row - 1], _ends[row] - (row == 0 ? 0 : _ends[row - 1])));

    /// <summary>Keeps the next row's cell.</summary>
    public void Add(ReadOnlySpan<char> cell)
    {
        int used = _count == 0 ? 0 : _ends[_count - 1];
        if ((long)used + cell.Length > _chars.Length)
        {
            long size = Math.Max(2L * _chars.Length, (long)used + cell.Length);
            if (size > Array.MaxLength || priced + 2 * size > MemoryBudget.Bytes)
                throw new DataFormatException(MemoryBudget.TooMuch($"{path}: reading it with --time-column {column}", priced + 2 * size, "use a smaller file"));
            Array.Resize(ref _chars, (int)size);
        }
        cell.CopyTo(_chars.AsSpan(used));
        _ends[_count++] = used + cell.Length;
    }
}
