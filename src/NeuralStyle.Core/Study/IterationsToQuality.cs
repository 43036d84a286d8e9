using NeuralStyle.Engine;

namespace NeuralStyle.Study;

/// <summary>
/// What quality costs at each learning rate: how many iterations each item of a batch took to first come within given
/// percentages of the lowest loss any item reached. An iteration costs the same at every rate (one forward and one
/// backward pass per image), so these compare compute: a rate too low falls slowly and reaches the tighter levels late
/// or never; one too high swings, and may not settle within the tighter ones. The levels are relative to the best
/// rate of this batch, so a batch of rates that are all too low makes a poor target.
/// </summary>
/// <param name="LowestLoss">The lowest finite total loss of any item.</param>
/// <param name="LowestItem">The item that reached it (the first, on a tie).</param>
/// <param name="LowestIteration">The iteration it reached it at.</param>
/// <param name="Levels">The percentages above <paramref name="LowestLoss"/>, loosest first.</param>
/// <param name="FirstReached">Per item, per level: the first iteration whose loss was at most that far above, or null where none was.</param>
public sealed record IterationsToQuality(double LowestLoss, int LowestItem, int LowestIteration, IReadOnlyList<double> Levels,
    IReadOnlyList<IReadOnlyList<int?>> FirstReached)
{
    /// <summary>The levels a sweep reports: from a rough image (half again the lowest loss) to nearly the best.</summary>
    public static IReadOnlyList<double> DefaultLevels { get; } = [50, 20, 10, 5];

    /// <summary>
    /// Measures <paramref name="histories"/> (one per item) at <paramref name="levels"/> percent (default:
    /// <see cref="DefaultLevels"/>), ordered loosest first; null where no item has a finite loss above 0. A loss that is
    /// not finite never counts.
    /// </summary>
    public static IterationsToQuality? Measure(IReadOnlyList<IReadOnlyList<LossRecord>> histories, IReadOnlyList<double>? levels = null)
    {
        ArgumentNullException.ThrowIfNull(histories);
        double[] percents = (levels ?? DefaultLevels).OrderDescending().ToArray();
        if (percents.Any(p => !double.IsFinite(p) || p < 0))
        {
            throw new ArgumentOutOfRangeException(nameof(levels), "Each level must be a finite percentage ≥ 0.");
        }

        (int Item, LossRecord Row)? lowest = null;
        for (int item = 0; item < histories.Count; item++)
        {
            foreach (LossRecord row in histories[item])
            {
                if (row.Loss.IsFinite && (lowest is not (_, LossRecord low) || row.Loss.Total < low.Loss.Total))
                {
                    lowest = (item, row);
                }
            }
        }

        if (lowest is not (int bestItem, LossRecord bestRow) || !(bestRow.Loss.Total > 0))
        {
            return null;
        }

        double best = bestRow.Loss.Total;
        int?[][] reached = histories.Select(history => percents.Select(p => FirstAtMost(history, Allowed(best, p))).ToArray()).ToArray();
        return new IterationsToQuality(best, bestItem, bestRow.Iteration, percents, reached);
    }

    /// <summary>
    /// Per level, the item that reached it in the fewest iterations (the first, on a tie); every level has one, the
    /// lowest loss's own item at the latest.
    /// </summary>
    public IReadOnlyList<int> Fastest => Levels.Select((_, level) => Enumerable.Range(0, FirstReached.Count)
        .Where(item => FirstReached[item][level] is not null).MinBy(item => FirstReached[item][level]!.Value)).ToArray();

    /// <summary>The highest loss that counts as within level <paramref name="level"/> (an index into <see cref="Levels"/>).</summary>
    public double AllowedLoss(int level) => Allowed(LowestLoss, Levels[level]);

    private static double Allowed(double lowest, double percent) => lowest * (1 + (percent / 100));

    private static int? FirstAtMost(IReadOnlyList<LossRecord> history, double loss)
    {
        foreach (LossRecord row in history)
        {
            if (row.Loss.IsFinite && row.Loss.Total <= loss)
            {
                return row.Iteration;
            }
        }

        return null;
    }
}
