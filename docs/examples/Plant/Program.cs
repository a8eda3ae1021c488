using System.Globalization;
using System.Text;
using System.Text.Json;

// dotnet run --project docs/examples/Plant -- simulate DIR     writes DIR/pendulum-train.csv and DIR/pendulum.csv
// dotnet run --project docs/examples/Plant -- figure OUT.svg NAME=METRICS.jsonl ...
//                                                              one line per replay: RMSE per block of ticks
return args switch
{
    ["simulate", var dir] => Simulate(dir),
    ["figure", var svg, .. var series] when series.Length > 0 => Figure(svg, series),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Plant simulate DIR | Plant figure OUT.svg NAME=METRICS.jsonl ...");
    return 2;
}

// A pendulum driven by a torque u: theta'' = -(g/l) sin(theta) - c theta' + k u, stepped every
// dt by semi-implicit Euler. The torque holds a seeded random level for a random 10-40 ticks. The
// measured angle carries a little sensor noise. Half way through the replayed series the plant
// changes: the damping c drops from 0.8 to 0.3 and the actuator gain k grows by 60 % (a lighter bob).
static int Simulate(string dir)
{
    var random = new Random(2026);
    double theta = 0, omega = 0, u = 0;
    int hold = 0;
    const double dt = 0.05, g = 9.81, l = 1.0;
    string Series(int rows, Func<int, (double C, double K)> plant)
    {
        var csv = new StringBuilder("u,theta\n");
        for (int t = 0; t < rows; t++)
        {
            if (hold-- <= 0)
            {
                u = random.NextDouble() * 3 - 1.5;
                hold = random.Next(10, 41);
            }
            var (c, k) = plant(t);
            omega += dt * (-(g / l) * Math.Sin(theta) - c * omega + k * u);
            theta += dt * omega;
            double measured = theta + 0.002 * (random.NextDouble() * 2 - 1);
            csv.Append(CultureInfo.InvariantCulture, $"{u:F4},{measured:F5}\n");
        }
        return csv.ToString();
    }
    Directory.CreateDirectory(dir);
    // Offline training data from the plant as it first is, then the live stream, which changes at tick 2000.
    File.WriteAllText(Path.Combine(dir, "pendulum-train.csv"), Series(3000, _ => (0.8, 1.0)));
    File.WriteAllText(Path.Combine(dir, "pendulum.csv"), Series(4000, t => t < 2000 ? (0.8, 1.0) : (0.3, 1.6)));
    Console.Error.WriteLine($"wrote {Path.Combine(dir, "pendulum-train.csv")} (3000 ticks) and {Path.Combine(dir, "pendulum.csv")} (4000 ticks, the plant changes at 2000)");
    return 0;
}

// RMSE per block against ticks, one polyline per replay (online), plus the first replay's frozen
// model, on a log scale: a plain SVG, no dependencies.
static int Figure(string path, string[] series)
{
    var lines = new List<(string Name, List<(double X, double Y)> Points)>();
    foreach (string spec in series)
    {
        int eq = spec.LastIndexOf('='); // the name may hold '=' (α=0); the path does not
        string name = spec[..eq], file = spec[(eq + 1)..];
        var online = new List<(double, double)>();
        var frozen = new List<(double, double)>();
        foreach (string line in File.ReadLines(file))
        {
            var e = JsonDocument.Parse(line).RootElement;
            double ticks = e.GetProperty("ticks").GetDouble();
            online.Add((ticks, e.GetProperty("rmse").GetDouble()));
            frozen.Add((ticks, e.GetProperty("rmse_frozen").GetDouble()));
        }
        if (lines.Count == 0) lines.Add(("frozen model", frozen));
        lines.Add((name, online));
    }
    const double w = 640, h = 360, left = 60, right = 170, top = 30, bottom = 40;
    double x1 = Math.Ceiling(lines.Max(l => l.Points.Max(p => p.X)) / 1000) * 1000;
    double yMin = Math.Log10(lines.Min(l => l.Points.Min(p => p.Y))), yMax = Math.Log10(lines.Max(l => l.Points.Max(p => p.Y)));
    string X(double x) => (left + x / x1 * (w - left - right)).ToString("F1", CultureInfo.InvariantCulture);
    string Y(double y) => (top + (yMax - Math.Log10(y)) / (yMax - yMin) * (h - top - bottom)).ToString("F1", CultureInfo.InvariantCulture);
    string[] colors = ["#888888", "#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
    var svg = new StringBuilder($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"11\">\n");
    svg.Append($"<text x=\"{left}\" y=\"18\" font-size=\"13\">One-step-ahead RMSE of the pendulum's angle per block of ticks (log scale)</text>\n");
    svg.Append($"<line x1=\"{left}\" y1=\"{h - bottom}\" x2=\"{w - right}\" y2=\"{h - bottom}\" stroke=\"black\"/><line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{h - bottom}\" stroke=\"black\"/>\n");
    svg.Append($"<text x=\"{(w - right + left) / 2 - 20}\" y=\"{h - 8}\">tick</text>\n");
    for (int k = 0; k <= 4; k++)
    {
        double x = x1 * k / 4;
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(x)}\" y=\"{h - bottom + 14}\" text-anchor=\"middle\">{x:F0}</text>\n");
    }
    for (int k = (int)Math.Floor(yMin); k <= (int)Math.Ceiling(yMax); k++)
        foreach (double m in new[] { 1.0, 2.0, 5.0 })
        {
            double y = m * Math.Pow(10, k);
            if (Math.Log10(y) < yMin - 1e-9 || Math.Log10(y) > yMax + 1e-9) continue;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 6}\" y=\"{Y(y)}\" text-anchor=\"end\">{y:G3}</text>\n");
        }
    svg.Append($"<line x1=\"{X(2000)}\" y1=\"{top}\" x2=\"{X(2000)}\" y2=\"{h - bottom}\" stroke=\"#bbbbbb\" stroke-dasharray=\"4 3\"/><text x=\"{X(2000)}\" y=\"{top - 4}\" text-anchor=\"middle\">plant changes</text>\n");
    for (int i = 0; i < lines.Count; i++)
    {
        string points = string.Join(' ', lines[i].Points.Select(p => $"{X(p.X)},{Y(p.Y)}"));
        svg.Append($"<polyline fill=\"none\" stroke=\"{colors[i % colors.Length]}\" stroke-width=\"1.8\" points=\"{points}\"/>\n");
        svg.Append($"<text x=\"{w - right + 10}\" y=\"{top + 16 * i + 10}\" fill=\"{colors[i % colors.Length]}\">{lines[i].Name}</text>\n");
    }
    svg.Append("</svg>\n");
    File.WriteAllText(path, svg.ToString());
    Console.Error.WriteLine($"wrote {path}");
    return 0;
}
