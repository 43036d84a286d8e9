using System.Diagnostics;
using System.Globalization;
using NeuralStyle.Cli.Reports;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Model;
using NeuralStyle.Study;

namespace NeuralStyle.Cli.Commands;

/// <summary>
/// Brings rates a sweep set aside or stopped at a plateau back into its batch (sweep --resume --only naming them), and
/// takes rates added to it (--add-lr, set aside at iteration 0: <see cref="Checkpoint.WithNewItems"/>) into it. The
/// batch runs in lockstep, so a rate behind the sweep's iteration first goes on without the others, with any rate at
/// its iteration, to where the sweep is: measured and saved at the sweep's checkpoints it passes, as the sweep would
/// have measured it, so the reports read as if it had never left. Rates behind at different iterations catch up in
/// turn, the furthest behind first. The sweep's checkpoint and reports are saved at every checkpoint a rate passes and
/// where it ends, so an interruption loses nothing: a rate interrupted on its way is set aside where it got to (a
/// killed run: at the last checkpoint it passed), and catches up from there next time. One backend serves it all: each
/// batch takes over the last one's (<see cref="StyleTransferEngine.HandOver"/>), the sweep's own batch too
/// (<see cref="Start"/>), so the network is built once.
/// </summary>
internal sealed class SweepCatchUp(string folder, SweepOptions options, NetworkWeights weights, List<CheckpointMetrics> metrics, RgbImage? colors,
    SweepPlateau? plateau, bool interactive, TextWriter output) : IDisposable
{
    private StyleTransferEngine? _last; // the last batch's engine, whose backend the next batch takes over

    private string CheckpointPath => Path.Combine(folder, SweepReport.CheckpointFile);

    /// <summary>
    /// The items of <paramref name="only"/> that rejoin the batch: those that stopped but can go on
    /// (<see cref="StopReasons.CanGoOnAlone"/>). Refuses a rate that diverged, which cannot.
    /// </summary>
    public static int[] Rejoining(Checkpoint checkpoint, IReadOnlyList<int> only)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        foreach (int n in only.Where(n => StopReasons.IsDivergence(checkpoint.Stopped[n])))
        {
            throw new UserInputException(string.Create(CultureInfo.InvariantCulture,
                $"lr {checkpoint.Settings.LearningRates[n]:G6} {checkpoint.Stopped[n]}, so it cannot go on; leave it out of --only."));
        }

        return only.Where(n => checkpoint.Stopped[n] is not null).ToArray();
    }

    /// <summary>
    /// Takes <paramref name="rejoining"/> (from <see cref="Rejoining"/>) to <paramref name="checkpoint"/>'s iteration and
    /// returns the sweep with them running again (a rate that stopped again on its way, at a plateau or diverging, stays
    /// stopped). Throws <see cref="OperationCanceledException"/> once it has saved the sweep where an interruption found it.
    /// </summary>
    public Checkpoint Run(Checkpoint checkpoint, IReadOnlyList<int> rejoining, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var coming = rejoining.ToList();
        while (Behind(checkpoint, coming) is { Length: > 0 } behind)
        {
            int from = behind.Min(checkpoint.ItemIteration);
            int[] group = behind.Where(n => checkpoint.ItemIteration(n) == from).ToArray();
            int to = behind.Select(checkpoint.ItemIteration).Where(k => k > from).Append(checkpoint.Iteration).Min();
            (checkpoint, int[] stoppedOnTheWay) = CatchUp(checkpoint, group, from, to, coming, cancel);
            coming.RemoveAll(stoppedOnTheWay.Contains);
        }

        string?[] stopped = checkpoint.Stopped.ToArray();
        foreach (int n in coming)
        {
            stopped[n] = null; // at the sweep's iteration now, with its image measured there
        }

        if (coming.Count > 0)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"lr {SweepRates.Named(checkpoint.Settings.LearningRates, coming, ", ")} {(coming.Count == 1 ? "joins" : "join")} the batch at iteration {checkpoint.Iteration}."));
        }

        return checkpoint with { Stopped = stopped };
    }

    /// <summary>
    /// The engine that continues <paramref name="checkpoint"/>: on the backend of the last batch that caught up where
    /// there was one (its network already built), else on a new one, which a stop asked for through
    /// <paramref name="cancel"/> interrupts (<see cref="PreparationInterruptedException"/>): no rate has caught up
    /// then, so nothing was written.
    /// </summary>
    public StyleTransferEngine Start(Checkpoint checkpoint, CancellationToken cancel)
    {
        if (_last is not StyleTransferEngine last)
        {
            return ProblemFactory.Continue(checkpoint, weights, options, output.WriteLine, cancel).Engine;
        }

        _last = null;
        using (last)
        {
            return last.HandOver(checkpoint, ProblemFactory.MemoryLimitBytes(options));
        }
    }

    /// <summary>Frees the last batch's backend where no engine took it over.</summary>
    public void Dispose() => _last?.Dispose();

    /// <summary>The rejoining items still behind the sweep's iteration and able to go on.</summary>
    private static int[] Behind(Checkpoint checkpoint, IReadOnlyList<int> rejoining) =>
        rejoining.Where(n => StopReasons.CanGoOnAlone(checkpoint.Stopped[n]) && checkpoint.ItemIteration(n) < checkpoint.Iteration).ToArray();

    /// <summary>
    /// Runs <paramref name="group"/>, all at <paramref name="from"/>, as a batch of their own to <paramref name="to"/>, and
    /// puts them back; also returns those of them that stopped on the way (at a plateau, or diverging). Where it is
    /// interrupted, it says how to go on with the sweep's running rates and those still <paramref name="coming"/>.
    /// </summary>
    private (Checkpoint, int[] StoppedOnTheWay) CatchUp(Checkpoint checkpoint, int[] group, int from, int to, IReadOnlyList<int> coming, CancellationToken cancel)
    {
        IReadOnlyList<double> rates = checkpoint.Settings.LearningRates;
        string named = SweepRates.Named(rates, group, ", ");
        int[] measured = metrics.Select(m => m.Iteration).Where(k => k > from && k <= to).Distinct().Order().ToArray();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"lr {named} ({string.Join("; ", group.Select(n => checkpoint.History[n] is [] ? "added" : checkpoint.Stopped[n]).Distinct())}): catching up alone from {from} to {to}{(measured.Length > 0 ? $", measured at checkpoint{(measured.Length == 1 ? "" : "s")} {string.Join(", ", measured)}" : "")}, then {(group.Length == 1 ? "it joins" : "they join")} the batch."));

        var clock = Stopwatch.StartNew();
        bool building = _last is null;
        StyleTransferEngine engine = _last = Start(checkpoint.Items(group), cancel);
        if (building)
        {
            output.WriteLine(ProblemFactory.DeviceLine(engine)); // before what may be a long way alone (an added rate: from 0)
        }

        var progress = new ProgressReporter(from, to, options.PrintEvery, interactive, output);
        RgbImage?[] previous = SweepCommand.PreviousImages(engine, metrics.Where(m => m.Iteration <= from).ToList(), folder, output);
        var sweep = new LearningRateSweep(engine, previous, colors is null ? null : image => ColorTransfer.KeepColors(image, colors));
        // Saved at every checkpoint it passes, as the sweep is, so a run killed on the way loses no more than the
        // sweep's would: until they reach the sweep's iteration, the rates are set aside where they got to.
        Checkpoint saved = checkpoint;
        try
        {
            sweep.Run(measured.Append(to).ToArray(), reached =>
            {
                Record(reached, measured, engine);
                saved = checkpoint.WithItems(engine.CreateCheckpoint(checkpoint.Settings), group);
                Save(saved, string.Create(CultureInfo.InvariantCulture,
                    $"lr {named} went on alone from iteration {from} to {reached.Iteration} to catch up with the sweep, in {clock.Elapsed.TotalSeconds:F1} s."));
            }, (k, losses) => progress.Report(k, SweepCommand.BestOf(engine, losses)), SweepPlateau.AfterEachIteration(plateau, engine, progress.Line), cancel);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            foreach (int n in engine.RunningItems.ToArray())
            {
                engine.SetAside(n); // where its image's loss was last measured
            }

            Save(checkpoint.WithItems(engine.CreateCheckpoint(checkpoint.Settings), group), $"Interrupted at iteration {engine.Iteration} while lr {named} caught up.");
            progress.Line($"Interrupted at iteration {engine.Iteration} while lr {named} caught up; saved {CheckpointPath} with {(group.Length == 1 ? "it" : "them")} set aside where {(group.Length == 1 ? "it" : "they")} got to. Continue with: {SweepCommand.ContinueCommand(folder, options.Checkpoints, options.Plateau, Going(checkpoint, coming))}");
            throw;
        }

        return (saved, group.Where((_, i) => engine.StopReason(i) is not null).ToArray()); // the run ends measured and saved
    }

    /// <summary>The rates that go on once caught up, as --only takes them: those running in the sweep and those <paramref name="coming"/> (a rate added is set aside until then).</summary>
    private static string Going(Checkpoint checkpoint, IReadOnlyList<int> coming) =>
        SweepRates.Named(checkpoint.Settings.LearningRates, Enumerable.Range(0, checkpoint.Stopped.Count).Where(n => checkpoint.Stopped[n] is null || coming.Contains(n)), ",");

    /// <summary>
    /// Records the catching-up rates' rows at the sweep's checkpoints, in place of the rows that said they were set
    /// aside; where every one stopped before the last of them, their rows at the checkpoints left say so, as the
    /// sweep's would.
    /// </summary>
    private void Record(SweepCheckpoint reached, int[] measured, StyleTransferEngine engine)
    {
        bool ended = !engine.RunningItems.Any();
        foreach (int k in measured.Where(k => k == reached.Iteration || (ended && k > reached.Iteration)))
        {
            foreach (var (m, image) in reached.Metrics.Zip(reached.Images))
            {
                SweepCommand.Record(folder, metrics, m with { Iteration = k, Image = LearningRateSweep.ImageName(m.LearningRate, k) }, image);
            }
        }
    }

    /// <summary>Saves the sweep's checkpoint and, from it, its reports: the two always agree.</summary>
    private void Save(Checkpoint checkpoint, string summary)
    {
        checkpoint.Save(CheckpointPath);
        SweepReport.Write(folder, metrics, SweepRates.Of(checkpoint), summary, separate: null);
    }
}
