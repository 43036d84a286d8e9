using System.Globalization;
using NeuralStyle.Engine;
using NeuralStyle.Study;

namespace NeuralStyle.Cli.Commands;

/// <summary>
/// sweep --plateau: the sweep ends once every rate still running has reached <paramref name="Rule"/> (given on the
/// command line as <paramref name="Asked"/>). The batch costs the same while any rate runs, so it can end only when
/// none of them gains enough any more. A stopped (diverged) rate gains nothing; at least one must run.
/// </summary>
internal sealed record SweepPlateau(PlateauRule Rule, string Asked)
{
    /// <summary>Where every running rate has reached the rule, the sentence that ends the sweep there, with each one's gain over the window; else null.</summary>
    public string? Ended(StyleTransferEngine engine, int last)
    {
        int[] running = engine.RunningItems.ToArray();
        if (running.Length == 0 || !running.All(n => Rule.IsReached(engine.History(n))))
        {
            return null;
        }

        int k = engine.Iteration;
        string gains = string.Join(", ", running.Select(n => Gain(engine, n)));
        return string.Create(CultureInfo.InvariantCulture,
            $"Ended at iteration {k} of {last}: every running rate's lowest loss fell less than {Rule.Percent:G3}% over iterations {k - 1 - Rule.Window}–{k - 1} ({gains}), as --plateau {Asked} asks.");
    }

    /// <summary>Why a sweep ran to its last checkpoint: the rates that had not reached the rule, which kept the batch running, with their gains; null where every rate reached it there.</summary>
    public string? NotReached(StyleTransferEngine engine)
    {
        int[] gaining = engine.RunningItems.Where(n => !Rule.IsReached(engine.History(n))).ToArray();
        if (gaining.Length == 0)
        {
            return null;
        }

        if (gaining.Any(n => Rule.Gain(engine.History(n)) is null))
        {
            return $"No plateau before the last checkpoint: the sweep ran fewer iterations than the window --plateau {Asked} measures over.";
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"No plateau before the last checkpoint: over the last {Rule.Window} iterations the lowest loss still fell more than --plateau {Asked} allows at {string.Join(", ", gaining.Select(n => Gain(engine, n)))}, which kept the batch running.");
    }

    /// <summary>"lr 5 0.9%": item <paramref name="n"/>'s gain over the rule's window.</summary>
    private string Gain(StyleTransferEngine engine, int n) =>
        string.Create(CultureInfo.InvariantCulture, $"lr {engine.LearningRates[n]:G6} {Rule.Gain(engine.History(n)):G3}%");
}
