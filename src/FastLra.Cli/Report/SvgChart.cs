using System.Globalization;
using System.Text;

namespace FastLra.Cli.Report;

/// <summary>
/// One line of a chart: points in data coordinates (non-finite ones, and non-positive ones on a log
/// axis, break the line), and optionally a band around it, from low[i] to high[i] at point i (the
/// spread over seeds), drawn faintly in the line's colour.
/// </summary>
internal sealed class Series(string label, string color, IReadOnlyList<(double X, double Y)> points, bool dashed = false,
    double[]? low = null, double[]? high = null)
{
    public string Label => label;
    public string Color => color;
    public IReadOnlyList<(double X, double Y)> Points => points;
    public bool Dashed => dashed;
    public double[]? Low => low;
    public double[]? High => high;
}

/// <summary>One bar per group, all of one variant.</summary>
internal sealed class BarSeries(string label, string color, double[] values)
{
    public string Label => label;
    public string Color => color;
    public double[] Values => values;
}

/// <summary>
/// Line and grouped-bar charts as standalone SVG 1.1 text: no fonts to embed, no scripts, no
/// dependencies, so a report renders in any browser and on GitHub.
/// </summary>
internal static class SvgChart
{
    private const double Width = 760, Height = 420, Left = 72, Right = 250, Top = 44, Bottom = 52;
    private const double PlotW = Width - Left - Right, PlotH = Height - Top - Bottom;

    /// <summary>Tableau's twenty categorical colours: the ten strong ones first, then their light partners.</summary>
    public static readonly string[] Palette =
    [
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#79706e",
        "#a0cbe8", "#ffbe7d", "#ff9d9a", "#86bcb6", "#8cd17d", "#f1ce63", "#d4a6c8", "#fabfd2", "#d7b5a6", "#bab0ac",
    ];

    /// <summary>A line chart; <paramref name="reference"/>, if given, is a dashed grey level named <paramref name="referenceLabel"/> (chance, say).</summary>
    public static string Lines(string title, string subtitle, string xLabel, string yLabel, IReadOnlyList<Series> series, bool logY,
        double? yMin = null, double? yMax = null, double? reference = null, string referenceLabel = "")
    {
        // The drawable points' extent, in loops: LINQ over value tuples costs the Native AOT binary kilobytes.
        double px0 = double.PositiveInfinity, px1 = double.NegativeInfinity, py0 = double.PositiveInfinity, py1 = double.NegativeInfinity;
        foreach (var s in series)
            foreach (var (x, y) in s.Points)
                if (double.IsFinite(x) && double.IsFinite(y) && (!logY || y > 0))
                    (px0, px1, py0, py1) = (Math.Min(px0, x), Math.Max(px1, x), Math.Min(py0, y), Math.Max(py1, y));
        bool none = px0 > px1;
        double x0 = none ? 0 : px0, x1 = none ? 1 : px1;
        double y0 = yMin ?? (none ? 0 : py0), y1 = yMax ?? (none ? 1 : py1);
        if (logY)
        {
            y0 = Math.Pow(10, Math.Floor(Math.Log10(y0 > 0 ? y0 : 1e-3)));
            y1 = Math.Pow(10, Math.Ceiling(Math.Log10(y1 > 0 ? y1 : 1)));
        }
        if (x1 <= x0) x1 = x0 + 1;
        if (y1 <= y0) y1 = logY ? y0 * 10 : y0 + 1;
        double X(double x) => Left + (x - x0) / (x1 - x0) * PlotW;
        double Y(double y) => logY
            ? Top + PlotH - (Math.Log10(y) - Math.Log10(y0)) / (Math.Log10(y1) - Math.Log10(y0)) * PlotH
            : Top + PlotH - (y - y0) / (y1 - y0) * PlotH;

        var svg = Begin(title, subtitle);
        foreach (double t in Ticks(x0, x1))
            Tick(svg, X(t), Top + PlotH, Format(t), vertical: true);
        foreach (double t in logY ? Decades(y0, y1) : Ticks(y0, y1))
            Tick(svg, Left, Y(t), logY ? "1e" + Math.Log10(t).ToString("F0", CultureInfo.InvariantCulture) : Format(t), vertical: false);
        Axes(svg, xLabel, yLabel);
        foreach (var s in series)
        {
            if (s.Low is not { } low || s.High is not { } high || logY) continue;
            // The band: along the highs, back along the lows, over the points where all three are finite.
            var band = new StringBuilder();
            for (int i = 0; i < s.Points.Count; i++)
                if (double.IsFinite(s.Points[i].X) && double.IsFinite(high[i]) && double.IsFinite(low[i]))
                    band.Append(band.Length == 0 ? "M" : " L").Append(F(X(s.Points[i].X))).Append(',').Append(F(Y(Math.Clamp(high[i], y0, y1))));
            for (int i = s.Points.Count - 1; i >= 0 && band.Length > 0; i--)
                if (double.IsFinite(s.Points[i].X) && double.IsFinite(high[i]) && double.IsFinite(low[i]))
                    band.Append(" L").Append(F(X(s.Points[i].X))).Append(',').Append(F(Y(Math.Clamp(low[i], y0, y1))));
            if (band.Length > 0) svg.Append(CultureInfo.InvariantCulture, $"<path d=\"{band} Z\" fill=\"{s.Color}\" fill-opacity=\"0.15\" stroke=\"none\"/>\n");
        }
        if (reference is double level && level >= y0 && level <= y1)
        {
            svg.Append(CultureInfo.InvariantCulture,
                $"<line x1=\"{F(Left)}\" y1=\"{F(Y(level))}\" x2=\"{F(Left + PlotW)}\" y2=\"{F(Y(level))}\" stroke=\"#777\" stroke-dasharray=\"2,3\"/>\n");
            svg.Append(CultureInfo.InvariantCulture,
                $"<text x=\"{F(Left + PlotW - 4)}\" y=\"{F(Y(level) - 4)}\" text-anchor=\"end\" font-size=\"10\" fill=\"#555\">{Escape(referenceLabel)}</text>\n");
        }
        foreach (var s in series)
        {
            // Runs of drawable points become paths; a point alone between gaps becomes a dot.
            var path = new StringBuilder();
            var run = new List<(double X, double Y)>();
            void Flush()
            {
                if (run.Count == 1)
                    svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{F(run[0].X)}\" cy=\"{F(run[0].Y)}\" r=\"2.5\" fill=\"{s.Color}\"/>\n");
                for (int i = 0; i < run.Count && run.Count > 1; i++)
                    path.Append(i == 0 ? " M" : " L").Append(F(run[i].X)).Append(',').Append(F(run[i].Y));
                run.Clear();
            }
            foreach (var (x, y) in s.Points)
            {
                if (!double.IsFinite(x) || !double.IsFinite(y) || (logY && y <= 0)) Flush();
                else run.Add((X(x), Y(Math.Clamp(y, y0, y1))));
            }
            Flush();
            if (path.Length == 0) continue;
            svg.Append(CultureInfo.InvariantCulture,
                $"<path d=\"{path}\" fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"1.8\"{(s.Dashed ? " stroke-dasharray=\"5,3\"" : "")}/>\n");
        }
        var entries = new List<(string Label, string Color)>();
        foreach (var s in series)
            if (!s.Dashed) entries.Add((s.Label, s.Color));
        Legend(svg, entries);
        return End(svg);
    }

    public static string Bars(string title, string subtitle, string yLabel, IReadOnlyList<string> groups, IReadOnlyList<BarSeries> bars, double yMax)
    {
        var svg = Begin(title, subtitle);
        double Y(double y) => Top + PlotH - Math.Clamp(y / yMax, 0, 1) * PlotH;
        foreach (double t in Ticks(0, yMax)) Tick(svg, Left, Y(t), Format(t), vertical: false);
        double groupW = PlotW / Math.Max(1, groups.Count), barW = groupW * 0.8 / Math.Max(1, bars.Count);
        for (int g = 0; g < groups.Count; g++)
        {
            double gx = Left + g * groupW;
            svg.Append(CultureInfo.InvariantCulture,
                $"<text x=\"{F(gx + groupW / 2)}\" y=\"{F(Top + PlotH + 16)}\" text-anchor=\"middle\" font-size=\"11\">{Escape(groups[g])}</text>\n");
            for (int b = 0; b < bars.Count; b++)
            {
                double v = bars[b].Values[g];
                if (!double.IsFinite(v)) continue;
                double x = gx + groupW * 0.1 + b * barW;
                svg.Append(CultureInfo.InvariantCulture,
                    $"<rect x=\"{F(x)}\" y=\"{F(Y(v))}\" width=\"{F(barW * 0.92)}\" height=\"{F(Top + PlotH - Y(v))}\" fill=\"{bars[b].Color}\"><title>{Escape(bars[b].Label)}: {Format(v)}</title></rect>\n");
            }
        }
        Axes(svg, "", yLabel);
        var entries = new List<(string Label, string Color)>();
        foreach (var b in bars) entries.Add((b.Label, b.Color));
        Legend(svg, entries);
        return End(svg);
    }

    private static StringBuilder Begin(string title, string subtitle)
    {
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{Escape(title)}</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"34\" font-size=\"11\" fill=\"#555\">{Escape(subtitle)}</text>\n");
        return svg;
    }

    private static string End(StringBuilder svg) => svg.Append("</svg>\n").ToString();

    private static void Axes(StringBuilder svg, string xLabel, string yLabel)
    {
        svg.Append(CultureInfo.InvariantCulture,
            $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{PlotW}\" height=\"{PlotH}\" fill=\"none\" stroke=\"#333\"/>\n");
        svg.Append(CultureInfo.InvariantCulture,
            $"<text x=\"{F(Left + PlotW / 2)}\" y=\"{F(Height - 12)}\" text-anchor=\"middle\" font-size=\"12\">{Escape(xLabel)}</text>\n");
        svg.Append(CultureInfo.InvariantCulture,
            $"<text transform=\"translate(16,{F(Top + PlotH / 2)}) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">{Escape(yLabel)}</text>\n");
    }

    private static void Tick(StringBuilder svg, double x, double y, string label, bool vertical)
    {
        if (vertical)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(x)}\" y1=\"{Top}\" x2=\"{F(x)}\" y2=\"{F(y)}\" stroke=\"#e5e5e5\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(x)}\" y=\"{F(y + 15)}\" text-anchor=\"middle\" font-size=\"10\">{label}</text>\n");
        }
        else
        {
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(x)}\" y1=\"{F(y)}\" x2=\"{F(x + PlotW)}\" y2=\"{F(y)}\" stroke=\"#e5e5e5\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(x - 5)}\" y=\"{F(y + 3)}\" text-anchor=\"end\" font-size=\"10\">{label}</text>\n");
        }
    }

    private static void Legend(StringBuilder svg, List<(string Label, string Color)> entries)
    {
        double x = Left + PlotW + 12;
        for (int i = 0; i < entries.Count; i++)
        {
            double y = Top + 8 + i * 16;
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{F(x)}\" y=\"{F(y - 8)}\" width=\"12\" height=\"10\" fill=\"{entries[i].Color}\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(x + 17)}\" y=\"{F(y + 1)}\" font-size=\"10\">{Escape(entries[i].Label)}</text>\n");
        }
    }

    /// <summary>About five round ticks (1, 2 or 5 times a power of ten) covering [lo, hi].</summary>
    internal static List<double> Ticks(double lo, double hi)
    {
        double raw = (hi - lo) / 5, power = Math.Pow(10, Math.Floor(Math.Log10(raw))), m = raw / power;
        double unit = m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10, step = unit * power;
        // k * unit / 10^e rather than k * step, so 3 x 0.2 prints as 0.6.
        double Tick(double k) => power >= 1 ? k * step : k * unit / Math.Round(1 / power);
        var ticks = new List<double>();
        for (double k = Math.Ceiling(lo / step); Tick(k) <= hi + step * 1e-9; k++) ticks.Add(Tick(k));
        return ticks;
    }

    /// <summary>Powers of ten covering [lo, hi], every second or third one when there are many.</summary>
    private static IEnumerable<double> Decades(double lo, double hi)
    {
        int first = (int)Math.Round(Math.Log10(lo)), last = (int)Math.Round(Math.Log10(hi));
        int step = (last - first + 9) / 10;
        for (int e = last; e >= first; e -= step) yield return Math.Pow(10, e);
    }

    private static string Format(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

    private static string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);

    internal static string Escape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&quot;", StringComparison.Ordinal);
}
