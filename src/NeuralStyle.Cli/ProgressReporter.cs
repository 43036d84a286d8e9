using System.Diagnostics;
using System.Globalization;
using NeuralStyle.Engine;

namespace NeuralStyle.Cli;

/// <summary>
/// Shows the progress of an optimization: a one-line bar with rate and ETA when the output is a terminal, plain
/// loss lines every N iterations when it is redirected (logs stay readable).
/// </summary>
internal sealed class ProgressReporter
{
    private readonly int _total;
    private readonly int _printEvery;
    private readonly bool _interactive;
    private readonly TextWriter _output;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _lastDraw = TimeSpan.MinValue;

    public ProgressReporter(int total, int printEvery, bool interactive, TextWriter output)
    {
        _total = total;
        _printEvery = printEvery;
        _interactive = interactive;
        _output = output;
    }

    /// <summary>Seconds since the reporter was created.</summary>
    public double ElapsedSeconds => _clock.Elapsed.TotalSeconds;

    /// <summary>Reports that iteration <paramref name="iteration"/> (0-based) ran, with the loss at its start.</summary>
    public void Report(int iteration, IterationLosses loss)
    {
        int done = iteration + 1;
        if (_interactive)
        {
            // Redraw at most 10 times a second; a terminal is slower than a fast loop.
            if (done == _total || _clock.Elapsed - _lastDraw > TimeSpan.FromMilliseconds(100))
            {
                _lastDraw = _clock.Elapsed;
                _output.Write("\r" + Bar(done, loss));
                if (done == _total)
                {
                    _output.WriteLine();
                }
            }

            return;
        }

        if (_printEvery > 0 && (iteration % _printEvery == 0 || done == _total))
        {
            _output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"iteration {iteration,5}/{_total}  loss {loss.Total:E4}  content {loss.Content:E3}  style {loss.Style:E3}  tv {loss.Tv:E3}  {ElapsedSeconds / done:F3} s/it"));
        }
    }

    /// <summary>A message on its own line (finishes a partly drawn bar first).</summary>
    public void Line(string text)
    {
        if (_interactive && _lastDraw != TimeSpan.MinValue)
        {
            _output.WriteLine();
            _lastDraw = TimeSpan.MinValue;
        }

        _output.WriteLine(text);
    }

    private string Bar(int done, IterationLosses loss)
    {
        const int Width = 28;
        int filled = (int)((long)Width * done / _total);
        double rate = done / Math.Max(ElapsedSeconds, 1e-9);
        TimeSpan eta = TimeSpan.FromSeconds((_total - done) / rate);
        return string.Create(CultureInfo.InvariantCulture,
            $"[{new string('#', filled)}{new string('.', Width - filled)}] {done}/{_total} {rate:F2} it/s ETA {eta:hh\\:mm\\:ss} loss {loss.Total:E3}  ");
    }
}
