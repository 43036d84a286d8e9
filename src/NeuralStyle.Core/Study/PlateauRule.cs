using NeuralStyle.Engine;

namespace NeuralStyle.Study;

/// <summary>
/// When more iterations stop paying for themselves: the total loss fell by less than <see cref="Percent"/> percent
/// over the last <see cref="Window"/> iterations. Adam's loss falls steeply at first and then ever more slowly (the
/// default render at 192 px: 10% over iterations 100–200, 1.1% over 400–500, 0.3% over 850–950), so a run asked for
/// many iterations can end where the gain no longer justifies the compute.
/// </summary>
public sealed record PlateauRule
{
    /// <summary>The window when none is given.</summary>
    public const int DefaultWindow = 100;

    /// <summary>Stops once the loss fell by less than <paramref name="percent"/> (0 &lt; p &lt; 100) over <paramref name="window"/> (≥ 1) iterations.</summary>
    public PlateauRule(double percent, int window = DefaultWindow)
    {
        if (!double.IsFinite(percent) || percent <= 0 || percent >= 100)
        {
            throw new ArgumentOutOfRangeException(nameof(percent), percent, "The percentage must be > 0 and < 100.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        Percent = percent;
        Window = window;
    }

    /// <summary>The least gain, in percent of the loss a window earlier, that keeps the run going.</summary>
    public double Percent { get; }

    /// <summary>Iterations over which the gain is measured.</summary>
    public int Window { get; }

    /// <summary>The loss's fall over this rule's window (see <see cref="GainOver"/>).</summary>
    public double? Gain(IReadOnlyList<LossRecord> history) => GainOver(history, Window);

    /// <summary>
    /// The loss's fall over the <paramref name="window"/> iterations that end at the last row of <paramref name="history"/>,
    /// in percent of the loss at their start (negative where it rose); null until the history reaches back a whole
    /// window, or where either loss is not finite (divergence is another matter).
    /// </summary>
    public static double? GainOver(IReadOnlyList<LossRecord> history, int window)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Count == 0)
        {
            return null;
        }

        LossRecord last = history[^1];
        int start = last.Iteration - window;
        for (int i = history.Count - 1; i >= 0 && history[i].Iteration >= start; i--) // rows are in iteration order
        {
            if (history[i].Iteration == start)
            {
                LossRecord first = history[i];
                return first.Loss.IsFinite && last.Loss.IsFinite && first.Loss.Total > 0
                    ? 100 * (first.Loss.Total - last.Loss.Total) / first.Loss.Total
                    : null;
            }
        }

        return null;
    }

    /// <summary>Whether the run has plateaued at the end of <paramref name="history"/>.</summary>
    public bool IsReached(IReadOnlyList<LossRecord> history) => Gain(history) is double gain && gain < Percent;
}
