using System.Globalization;
using NeuralStyle.Cli.Reports;
using NeuralStyle.Engine;
using NeuralStyle.Study;

namespace NeuralStyle.Cli.Commands;

/// <summary>
/// sweep --plateau: each rate stops once it has reached <paramref name="Rule"/> (given on the command line as
/// <paramref name="Asked"/>) and leaves the batch, so the rates still gaining go on without paying for it; the sweep
/// ends before its last checkpoint once none runs. A rate stopped so keeps its state and can be taken further alone
/// (<see cref="Checkpoint.Item"/>).
/// </summary>
internal sealed record SweepPlateau(PlateauRule Rule, string Asked)
{
    /// <summary>Stops every running rate that has reached the rule; a line for each, saying where and why.</summary>
    public IReadOnlyList<string> StopReached(StyleTransferEngine engine)
    {
        int[] reached = engine.RunningItems.Where(n => Rule.IsReached(engine.History(n))).ToArray();
        var lines = new List<string>();
        foreach (int n in reached)
        {
            engine.StopAtPlateau(n);
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"lr {engine.LearningRates[n]:G6} {engine.StopReason(n)}: its lowest loss fell {Rule.Gain(engine.History(n)):G4}% over iterations {Window(engine, n)}, less than --plateau {Asked} asks; {GoingOn(engine)}."));
        }

        return lines;
    }

    /// <summary>
    /// Who goes on, and whether the stopped rates leave the batch at the next iteration or stay in it, frozen, where
    /// the iterations left would save less than starting the batch again costs (both measured on the run).
    /// </summary>
    internal static string GoingOn(StyleTransferEngine engine)
    {
        int left = engine.RunningItems.Count();
        if (left == 0)
        {
            return "no rate runs now";
        }

        string rates = left == 1 ? "1 rate goes on" : $"{left} rates go on";
        return engine.StoppedLeaving switch
        {
            { Pays: true, SavingSeconds: double saving, IterationsLeft: int iterations } leaving => string.Create(CultureInfo.InvariantCulture,
                $"{rates} without it: the batch starts again without {Stopped(leaving)}, saving about {saving:G3} s over the {iterations} iterations left for a start of {leaving.StartSeconds:G3} s"),
            { Pays: true } leaving => $"{rates} without it: the batch starts again without {Stopped(leaving)}",
            { SavingSeconds: double saving, IterationsLeft: int iterations } leaving => string.Create(CultureInfo.InvariantCulture,
                $"{rates}; {(leaving.Items == 1 ? "it stays" : $"the {leaving.Items} stopped rates stay")} in the batch, frozen: taking {(leaving.Items == 1 ? "it" : "them")} out would save about {saving:G3} s over the {iterations} iterations left, no more than a start of {leaving.StartSeconds:G3} s"),
            _ => rates,
        };
    }

    /// <summary>"it", or "the 3 stopped rates" where others stopped before and stayed in the batch.</summary>
    private static string Stopped(BatchLeaving leaving) => leaving.Items == 1 ? "it" : $"the {leaving.Items} stopped rates";

    /// <summary>
    /// What a sweep checks after each iteration (<see cref="LearningRateSweep.Run"/>'s enough): the rates of
    /// <paramref name="engine"/> that reached <paramref name="plateau"/>, where one is asked, stop, each with a
    /// <paramref name="line"/>; it never ends the sweep itself, which ends once no rate runs.
    /// </summary>
    public static Func<bool> AfterEachIteration(SweepPlateau? plateau, StyleTransferEngine engine, Action<string> line) => () =>
    {
        foreach (string stopped in plateau?.StopReached(engine) ?? [])
        {
            line(stopped);
        }

        return false;
    };

    /// <summary>Why rates ran to the last checkpoint: those still running, which had not reached the rule, with their gains; null where none runs.</summary>
    public string? NotReached(StyleTransferEngine engine)
    {
        int[] gaining = engine.RunningItems.ToArray();
        if (gaining.Length == 0)
        {
            return null;
        }

        if (gaining.Any(n => Rule.Gain(engine.History(n)) is null))
        {
            return $"No plateau before the last checkpoint: the sweep ran fewer iterations than the window --plateau {Asked} measures over.";
        }

        string gains = string.Join(", ", SweepRates.ByRate(engine.LearningRates, gaining).Select(n => string.Create(CultureInfo.InvariantCulture, $"lr {engine.LearningRates[n]:G6} {Rule.Gain(engine.History(n)):G3}%")));
        return string.Create(CultureInfo.InvariantCulture,
            $"Reached the last checkpoint before a plateau: over the last {Rule.Window} iterations the lowest loss still fell more than --plateau {Asked} allows at {gains}.");
    }

    /// <summary>"352–452": the iterations item <paramref name="n"/>'s gain was measured over, ending at its last row.</summary>
    private string Window(StyleTransferEngine engine, int n)
    {
        int last = engine.History(n)[^1].Iteration;
        return string.Create(CultureInfo.InvariantCulture, $"{last - Rule.Window}–{last}");
    }
}
