using NeuralStyle.Engine;

namespace NeuralStyle.Study;

/// <summary>
/// When more iterations stop paying for themselves: the lowest total loss so far fell by less than
/// <see cref="Percent"/> percent over the last <see cref="Window"/> iterations. Adam's loss falls steeply at first and
/// then ever more slowly (the default render at 192 px: 10% over iterations 100–200, 1.1% over 400–500, 0.3% over
/// 850–950), so a run asked for many iterations can end where the gain no longer justifies the compute.
/// </summary>
public sealed record PlateauRule
{
    /// <summary>The window when none is given.</summary>
    public const int DefaultWindow = 100;

    /// <summary>Stops once the lowest loss fell by less than <paramref name="percent"/> (0 &lt; p &lt; 100) over <paramref name="window"/> (≥ 1) iterations.</summary>
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

    /// <summary>The least gain, in percent of the lowest loss a window earlier, that keeps the run going.</summary>
    public double Percent { get; }

    /// <summary>Iterations over which the gain is measured.</summary>
    public int Window { get; }

    /// <summary>The lowest loss's fall over this rule's window (see <see cref="GainOver"/>).</summary>
    public double? Gain(IReadOnlyList<LossRecord> history) => GainOver(history, Window);

    /// <summary>
    /// How much the lowest loss so far fell over the <paramref name="window"/> iterations that end at the last row of
    /// <paramref name="history"/>, in percent of the lowest loss at their start; 0 where they found no new low. Not the
    /// fall from the window's first row to its last: at a high learning rate Adam's loss swings, and that fall measures
    /// where the swings happen to be (an oscillating rate seemed to gain 4.7% over 100 iterations from a peak to a
    /// trough, or to lose 29% at a peak), where the lowest loss falls only for an image better than every one before.
    /// Null until the history reaches back a whole window, or where its last loss is not finite (divergence is another
    /// matter).
    /// </summary>
    public static double? GainOver(IReadOnlyList<LossRecord> history, int window)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Count == 0 || !history[^1].Loss.IsFinite)
        {
            return null;
        }

        int start = history[^1].Iteration - window;
        bool reachesBack = false;
        double lowestBefore = double.PositiveInfinity, lowest = double.PositiveInfinity;
        foreach (LossRecord row in history)
        {
            reachesBack |= row.Iteration == start;
            if (row.Loss.IsFinite)
            {
                lowest = Math.Min(lowest, row.Loss.Total);
                lowestBefore = row.Iteration <= start ? Math.Min(lowestBefore, row.Loss.Total) : lowestBefore;
            }
        }

        return reachesBack && double.IsFinite(lowestBefore) && lowestBefore > 0 ? 100 * (lowestBefore - lowest) / lowestBefore : null;
    }

    /// <summary>Whether the run has plateaued at the end of <paramref name="history"/>.</summary>
    public bool IsReached(IReadOnlyList<LossRecord> history) => Gain(history) is double gain && gain < Percent;
}
