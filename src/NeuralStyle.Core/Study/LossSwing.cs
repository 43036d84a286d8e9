using NeuralStyle.Engine;

namespace NeuralStyle.Study;

/// <summary>
/// How far a run's loss now stands above the lowest it reached. At a learning rate too high Adam's loss swings, so
/// the image a run ends with can be worse than one it passed through (lr 20 at 128 px ended 1000 iterations 35%
/// above its lowest, at iteration 838; lr 10 0.4% above its own).
/// </summary>
public static class LossSwing
{
    /// <summary>The excess worth a word: a run that settles ends at its lowest loss, or a fraction of a percent above.</summary>
    public const double NoticeablePercent = 5;

    /// <summary><see cref="AboveLowest"/> where it is at least <see cref="NoticeablePercent"/>; else null.</summary>
    public static (double Percent, LossRecord Lowest)? Noticeable(IReadOnlyList<LossRecord> history) =>
        AboveLowest(history) is { Percent: >= NoticeablePercent } swing ? swing : null;

    /// <summary>
    /// How far the last finite loss of <paramref name="history"/> stands above its lowest finite one, in percent of the
    /// lowest, with the row of the lowest; null for a history with no finite positive loss.
    /// </summary>
    public static (double Percent, LossRecord Lowest)? AboveLowest(IReadOnlyList<LossRecord> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        LossRecord[] finite = history.Where(r => r.Loss.IsFinite).ToArray();
        if (finite.Length == 0)
        {
            return null;
        }

        LossRecord lowest = finite.MinBy(r => r.Loss.Total);
        return lowest.Loss.Total > 0 ? (100 * (finite[^1].Loss.Total - lowest.Loss.Total) / lowest.Loss.Total, lowest) : null;
    }
}
