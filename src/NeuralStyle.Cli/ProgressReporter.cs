using System.Diagnostics;
using System.Globalization;

namespace NeuralStyle.Cli;

/// <summary>
/// Shows the progress of an optimization (or of a download, in megabytes): a one-line bar with rate and ETA when the
/// output is a terminal, plain lines every N steps when it is redirected (logs stay readable).
/// </summary>
internal sealed class ProgressReporter
{
    private readonly int _first;
    private readonly int _total;
    private readonly int _printEvery;
    private readonly bool _interactive;
    private readonly TextWriter _output;
    private readonly string _unit;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan? _lastDraw; // when the bar was last drawn; null while no bar is partly drawn

    /// <summary>Reports steps <paramref name="first"/> … <paramref name="total"/> − 1: iterations ("it"), or another <paramref name="unit"/>.</summary>
    public ProgressReporter(int first, int total, int printEvery, bool interactive, TextWriter output, string unit = "it")
    {
        _unit = unit;
        _first = first;
        _total = total;
        _printEvery = printEvery;
        _interactive = interactive;
        _output = output;
    }

    /// <summary>Reports that iteration <paramref name="iteration"/> (0-based) ran; <paramref name="summary"/> describes its loss.</summary>
    public void Report(int iteration, string summary)
    {
        int done = iteration + 1 - _first;
        int count = _total - _first;
        double seconds = _clock.Elapsed.TotalSeconds;
        if (_interactive)
        {
            // Redraw at most 10 times a second; a terminal is slower than a fast loop.
            if (iteration + 1 == _total || _lastDraw is not TimeSpan last || _clock.Elapsed - last > TimeSpan.FromMilliseconds(100))
            {
                _lastDraw = _clock.Elapsed;
                const int Width = 28;
                int filled = (int)((long)Width * done / Math.Max(1, count));
                double rate = done / Math.Max(seconds, 1e-9);
                string bar = string.Create(CultureInfo.InvariantCulture,
                    $"[{new string('#', filled)}{new string('.', Width - filled)}] {iteration + 1}/{_total} {rate:F2} {_unit}/s ETA {Clock((_total - iteration - 1) / rate)} {summary}");
                _output.Write("\r" + FitLine(bar, TerminalColumns()));
                if (iteration + 1 == _total)
                {
                    _output.WriteLine();
                    _lastDraw = null;
                }
            }

            return;
        }

        if (_printEvery > 0 && (iteration % _printEvery == 0 || iteration + 1 == _total))
        {
            _output.WriteLine(_unit == "it"
                ? string.Create(CultureInfo.InvariantCulture, $"iteration {iteration,5}/{_total}  {summary}  {seconds / done:F3} s/it")
                : string.Create(CultureInfo.InvariantCulture, $"{iteration + 1,5}/{_total} {_unit}  {done / Math.Max(seconds, 1e-9):F1} {_unit}/s{summary}"));
        }
    }

    /// <summary>A message on its own line (finishes a partly drawn bar first).</summary>
    public void Line(string text)
    {
        if (_interactive && _lastDraw is not null)
        {
            _output.WriteLine();
            _lastDraw = null;
        }

        _output.WriteLine(text);
    }

    /// <summary>
    /// <paramref name="text"/> cut or padded to one character less than <paramref name="columns"/>: a line the
    /// terminal wraps cannot be redrawn with '\r', and the padding clears what a longer line left behind.
    /// </summary>
    internal static string FitLine(string text, int columns)
    {
        int width = Math.Max(1, columns - 1);
        return text.Length > width ? text[..width] : text.PadRight(width);
    }

    /// <summary>The terminal's width now (it may have been resized), or 120 where it cannot be read.</summary>
    private static int TerminalColumns()
    {
        try
        {
            return Console.IsOutputRedirected || Console.WindowWidth <= 0 ? 120 : Console.WindowWidth;
        }
        catch (IOException)
        {
            return 120;
        }
    }

    /// <summary>h:mm:ss, with hours beyond 24 (a long run at a large size can take days).</summary>
    internal static string Clock(double seconds)
    {
        long whole = (long)Math.Min(Math.Round(seconds), 100L * 365 * 86400); // a stalled first iteration: no overflow
        return string.Create(CultureInfo.InvariantCulture, $"{whole / 3600}:{whole / 60 % 60:D2}:{whole % 60:D2}");
    }
}
