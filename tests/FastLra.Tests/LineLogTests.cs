using System.Text;
using FastLra.IO;
using Xunit;

namespace FastLra.Tests;

/// <summary>The append-only line file under a sweep's record: whole lines in, whole lines out, whatever a crash left.</summary>
public sealed class LineLogTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastlra-linelog-" + Guid.NewGuid().ToString("N"));

    public LineLogTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (List<string> Lines, long End, int Skipped) ReadFrom(string path, long offset, int max = 1 << 20)
    {
        var lines = new List<string>();
        var (end, skipped) = LineLog.Read(path, offset, max, line => lines.Add(Encoding.UTF8.GetString(line.Span)));
        return (lines, end, skipped);
    }

    [Fact]
    public void Appended_lines_read_back_in_order_and_a_reader_goes_on_from_where_it_stopped()
    {
        string path = Path.Combine(_dir, "log.jsonl");
        Assert.Equal((0L, 0), LineLog.Read(path, 0, 100, _ => Assert.Fail("a missing file has no lines")));
        LineLog.Append(path, "one"u8);
        LineLog.Append(path, "two"u8);
        var (lines, end, _) = ReadFrom(path, 0);
        Assert.Equal(["one", "two"], lines);
        Assert.Equal(8, end);
        LineLog.Append(path, "three"u8);
        Assert.Equal(["three"], ReadFrom(path, end).Lines);
        Assert.Throws<ArgumentException>(() => LineLog.Append(path, "a\nb"u8));
    }

    [Fact]
    public void A_line_without_its_newline_is_left_to_readers_and_cut_off_by_the_next_append()
    {
        string path = Path.Combine(_dir, "log.jsonl");
        LineLog.Append(path, "whole"u8);
        File.AppendAllText(path, "torn, as a crash leaves it");
        var (lines, end, _) = ReadFrom(path, 0);
        Assert.Equal(["whole"], lines);
        Assert.Equal(6, end);
        LineLog.Append(path, "next"u8);
        Assert.Equal("whole\nnext\n", File.ReadAllText(path));
        // A file that is all torn line: the append starts it afresh.
        string other = Path.Combine(_dir, "other.jsonl");
        File.WriteAllText(other, new string('x', 10_000));
        LineLog.Append(other, "first"u8);
        Assert.Equal("first\n", File.ReadAllText(other));
    }

    [Fact]
    public void A_line_over_the_bound_is_skipped_and_counted_without_being_held()
    {
        string path = Path.Combine(_dir, "log.jsonl");
        // Longer than one read chunk (64 KiB) and than the bound, then a short line, a line at the bound, one just over.
        File.WriteAllText(path, new string('a', 200_000) + "\nshort\n" + new string('b', 100) + "\n" + new string('c', 101) + "\n");
        var (lines, end, skipped) = ReadFrom(path, 0, max: 100);
        Assert.Equal(["short", new string('b', 100)], lines);
        Assert.Equal(2, skipped);
        Assert.Equal(new FileInfo(path).Length, end);
    }

    [Fact]
    public void Appends_from_many_threads_each_land_whole()
    {
        string path = Path.Combine(_dir, "log.jsonl");
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            for (int i = 0; i < 50; i++) LineLog.Append(path, Encoding.UTF8.GetBytes($"thread {t} line {i} " + new string('x', 500)));
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        var lines = ReadFrom(path, 0).Lines;
        Assert.Equal(200, lines.Count);
        Assert.All(lines, l => Assert.Matches(@"^thread \d line \d+ x{500}$", l));
        Assert.Equal(200, lines.Distinct().Count());
    }
}
