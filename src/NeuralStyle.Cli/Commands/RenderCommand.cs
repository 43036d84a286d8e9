using System.Globalization;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Study;

namespace NeuralStyle.Cli.Commands;

/// <summary>The <c>render</c> verb: one image, one learning rate, resumable from its checkpoint.</summary>
internal static class RenderCommand
{
    public static int Run(RenderOptions o, TextWriter output, bool interactive, CancellationToken cancel)
    {
        var (files, resumed) = CheckArguments(o);
        PlateauRule? plateau = ProblemFactory.ParsePlateau(o.Plateau);
        var (engine, settings, colors) = Start(o, resumed, output, cancel);
        using (engine)
        {
            // The output folders, with their parents, now that nothing can refuse the run: a refused run leaves none.
            foreach (string file in files.Files)
            {
                AtomicFile.CreateFolderOf(file);
            }

            using OutputLock running = OutputLock.Take(files.Files, "give this one other outputs (--out, --checkpoint, --loss-log)");

            output.WriteLine(ProblemFactory.DeviceLine(engine));
            string saving = o.KeepBest ? ", saving the image of the lowest loss" : "";
            output.WriteLine(engine.Iteration == o.Iterations
                ? $"No iterations to run: saving the image of the lowest loss the checkpoint holds, to {files.Image}."
                : string.Create(CultureInfo.InvariantCulture,
                    $"Rendering {engine.Width}×{engine.Height}, iterations {engine.Iteration} → {o.Iterations}{(plateau is null ? "" : $" or a plateau (--plateau {o.Plateau})")}, lr {engine.LearningRates[0]}, weights {settings.WeightsIdentity}{saving}{(colors is null ? "" : ", saved in the content image's colours")}."));

            int[] checkpoints = SaveIterations(o, engine.Iteration);
            RgbImage ImageToSave() => o.KeepBest ? engine.BestImage(0) : engine.CurrentImage(0);
            var progress = new ProgressReporter(engine.Iteration, o.Iterations, o.PrintEvery, interactive, output);
            var sweep = new LearningRateSweep(engine);
            double? plateauGain = null; // the lowest loss's fall over the plateau's window where the run ended on it
            try
            {
                if (engine.Iteration == o.Iterations)
                {
                    // --keep-best and no iterations to run: the best image the checkpoint holds, with no pass over it.
                    Save(ImageToSave(), colors, files.Image);
                    SaveState(engine, settings, colors, files);
                }
                else
                {
                    sweep.Run(checkpoints, reached =>
                    {
                        bool final = reached.Iteration == o.Iterations || engine.StopReason(0) is not null || plateauGain is not null;
                        Save(ImageToSave(), colors, final ? files.Image : files.Intermediate(reached.Iteration));
                        SaveState(engine, settings, colors, files);
                    }, (k, losses) => progress.Report(k, LossSummary.Describe(losses[0])), () =>
                    {
                        // A plateau at the last iteration asked for is just the end.
                        bool ends = plateau is not null && engine.Iteration < o.Iterations && plateau.IsReached(engine.History(0));
                        plateauGain = ends ? plateau!.Gain(engine.History(0)) : null;
                        return plateauGain is not null;
                    }, cancel);
                }
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                Save(ImageToSave(), colors, files.Image);
                SaveState(engine, settings, colors, files);
                progress.Line($"Interrupted at iteration {engine.Iteration}. Saved {files.Image} and {files.Checkpoint}; continue with: {ResumeCommand(files, o.Iterations, o.Plateau, o.KeepBest)}");
                return Interruption.ExitCode;
            }

            if (plateauGain is double gain)
            {
                progress.Line(string.Create(CultureInfo.InvariantCulture,
                    $"Ended at iteration {engine.Iteration} of {o.Iterations}: the lowest loss fell {gain:G3}% over iterations {engine.Iteration - 1 - plateau!.Window}–{engine.Iteration - 1}, less than --plateau {o.Plateau} asks. To go on regardless: {ResumeCommand(files, o.Iterations, null, o.KeepBest)}"));
            }

            int code = Finish(engine, settings, progress, files, o.KeepBest);
            if (code == 0 && plateau is not null && plateauGain is null && NoPlateau(engine, plateau, o, files) is string why)
            {
                progress.Line(why);
            }

            return code;
        }
    }

    /// <summary>Where a render given --plateau ran all its iterations without reaching it, how much it still gains and how to go on; else null.</summary>
    private static string? NoPlateau(StyleTransferEngine engine, PlateauRule plateau, RenderOptions o, RenderOutputs files)
    {
        IReadOnlyList<LossRecord> history = engine.History(0);
        int k = engine.Iteration;
        return plateau.IsReached(history) ? null
            : plateau.Gain(history) is double gain ? string.Create(CultureInfo.InvariantCulture,
                $"No plateau by iteration {k}: the lowest loss still fell {gain:G3}% over iterations {k - plateau.Window}–{k}, more than --plateau {o.Plateau} allows. To take it further: {ResumeCommand(files, k * 4, o.Plateau, o.KeepBest)}")
            : $"No plateau by iteration {k}: the run is shorter than the {plateau.Window} iterations --plateau {o.Plateau} measures over.";
    }

    /// <summary>The command that continues this render to <paramref name="iterations"/>, with the options that are not stored in its checkpoint.</summary>
    private static string ResumeCommand(RenderOutputs files, int iterations, string? plateau, bool keepBest) =>
        $"render --resume {files.Checkpoint} --iterations {iterations}{(plateau is null ? "" : $" --plateau {plateau}")}{(keepBest ? " --keep-best" : "")}";

    /// <summary>Saves <paramref name="image"/>, in the colours of <paramref name="colors"/> where given (--original-colors).</summary>
    private static void Save(RgbImage image, RgbImage? colors, string path) =>
        ImageFiles.Save(colors is null ? image : ColorTransfer.KeepColors(image, colors), path);

    /// <summary>
    /// The checkpoint, which names the final image and the loss log relative to itself (where a resume continues in
    /// place) and holds the content image where the run keeps its colours, and the loss log: they go with every image saved.
    /// </summary>
    private static void SaveState(StyleTransferEngine engine, RunSettings settings, RgbImage? colors, RenderOutputs files)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(files.Checkpoint))!;
        string? Relative(string? file) => file is null ? null : Path.GetRelativePath(folder, Path.GetFullPath(file));
        Checkpoint state = engine.CreateCheckpoint(settings with { Image = Relative(files.Image), LossLog = Relative(files.LossLog) });
        (state with { ContentImage = colors }).Save(files.Checkpoint);
        if (files.LossLog is not null)
        {
            AtomicFile.WriteText(files.LossLog, LossSummary.Csv(engine.History(0)));
        }
    }

    /// <summary>The outputs, and the head of the checkpoint --resume names (read once, before anything heavy), or null.</summary>
    private static (RenderOutputs Files, CheckpointHead? Resumed) CheckArguments(RenderOptions o)
    {
        ProblemFactory.CheckArguments(o);
        UserInputException.Require(o.Iterations >= 1, $"--iterations must be at least 1, not {o.Iterations}.");
        if (o.LearningRate is double lr && (!double.IsFinite(lr) || lr <= 0))
        {
            throw new UserInputException($"--lr must be a finite number > 0, not {lr}.");
        }

        if (o.SaveEvery < 0)
        {
            throw new UserInputException($"--save-every must be ≥ 0, not {o.SaveEvery}.");
        }

        CheckpointHead? head = o.Resume is null ? null : Checkpoint.ReadHead(o.Resume);
        RenderOutputs outputs = RenderOutputs.Of(o, head?.Settings); // first: it says what a sweep's checkpoint needs (--lr)
        // A sweep's rate that plateaued goes on from the iteration it stopped at, not the sweep's.
        int reached = head is null ? 0 : ProblemFactory.ChosenItem(o.Resume!, head.Settings.LearningRates, o.LearningRate) is int n ? head.ItemIterations[n] : head.Iteration;
        // --keep-best may ask for no more iterations: the checkpoint's best image is then saved as it is.
        UserInputException.Require(o.Iterations > reached || (o.KeepBest && o.Iterations == reached),
            $"The checkpoint is already at iteration {reached}; ask for more --iterations to continue (or --iterations {reached} --keep-best to save the best image it holds).");
        return (outputs, head);
    }

    /// <summary>The engine, the settings its checkpoints store, and the content image whose colours saved images take (null: their own).</summary>
    private static (StyleTransferEngine Engine, RunSettings Settings, RgbImage? Colors) Start(RenderOptions o, CheckpointHead? head, TextWriter output, CancellationToken cancel)
    {
        if (o.Resume is not null && head is not null)
        {
            // --original-colors on a run that did not keep them takes the content image the checkpoint holds (the
            // embedding API's keep one) or reads it again, and is refused before the engine is built where it cannot.
            bool keepColors = o.OriginalColors || head.Settings.OriginalColors;
            RgbImage? reloaded = keepColors && !head.HoldsContentImage ? ProblemFactory.ReloadContent(head.Settings) : null;
            var (engine, settings, stored) = ProblemFactory.Resume(o.Resume, o, output.WriteLine, cancel, c => ProblemFactory.OneRun(o.Resume, c, o.LearningRate, output.WriteLine));
            output.WriteLine($"Resuming {o.Resume} at iteration {engine.Iteration} with its stored settings ({settings.Notes}).");
            RgbImage? colors = keepColors ? stored ?? reloaded : null;
            return (engine, settings with { OriginalColors = keepColors }, colors);
        }

        StyleProblem problem = ProblemFactory.Build(o, output.WriteLine, cancel);
        StyleTransferEngine created = ProblemFactory.CreateEngine(problem, [o.LearningRate ?? RenderOptions.DefaultLearningRate], o.Device, o.Precision, output.WriteLine, cancel);
        return (created, ProblemFactory.Settings(o, problem), o.OriginalColors ? problem.Content : null);
    }

    /// <summary>Every multiple of --save-every past <paramref name="from"/>, and the final iteration.</summary>
    private static int[] SaveIterations(RenderOptions o, int from)
    {
        var list = new List<int>();
        if (o.SaveEvery > 0)
        {
            for (int k = ((from / o.SaveEvery) + 1) * o.SaveEvery; k < o.Iterations; k += o.SaveEvery)
            {
                list.Add(k);
            }
        }

        list.Add(o.Iterations);
        return list.ToArray();
    }

    private static int Finish(StyleTransferEngine engine, RunSettings settings, ProgressReporter progress, RenderOutputs files, bool keepBest)
    {
        IReadOnlyList<LossRecord> history = engine.History(0);
        LossRecord first = history[0], last = history.Last(r => r.Loss.IsFinite);
        LossRecord? best = keepBest ? engine.Best(0) : null; // the row of the image saved, where it is not the last
        if (engine.StopReason(0) is string reason)
        {
            // The diverged step was undone, so the image and checkpoint saved at the stop are the last finite state,
            // unless the run diverged at once after a resume: then they are the state it resumed with.
            string lowerRate = string.Create(CultureInfo.InvariantCulture, $"a lower --lr (e.g. {engine.LearningRates[0] / 4:G3})");
            string image = best is LossRecord b ? $"the image of the lowest loss (iteration {b.Iteration})" : "the last finite image";
            string kept = !engine.DivergedAtStart(0) ? $"Saved {image} to {files.Image} and the state to {files.Checkpoint}; try {lowerRate}"
                : best is null ? $"No update of this run could be undone, so {files.Image} and {files.Checkpoint} keep the state it resumed with, which had already diverged; render again from the start with {lowerRate}"
                : $"No update of this run could be undone, so {files.Checkpoint} keeps the state it resumed with, which had already diverged ({files.Image} has {image}); render again from the start with {lowerRate}";
            string advice = LossSummary.HugeWeightAdvice(settings.Loss) is string weights
                ? $"Saved {image} to {files.Image} and the state to {files.Checkpoint}; {weights}"
                : kept;
            progress.Line(string.Create(CultureInfo.InvariantCulture, $"The optimization {reason} (the loss became {history[^1].Loss.Total}). {advice}."));
            return 1;
        }

        string saved = best is LossRecord row ? $" (the image of iteration {row.Iteration}, {BestSince(engine, row)}: {row.Loss.Total:E4})" : "";
        progress.Line(string.Create(CultureInfo.InvariantCulture,
            $"Wrote {files.Image}{saved} and {files.Checkpoint}: loss {first.Loss.Total:E4} → {last.Loss.Total:E4} (style {first.Loss.Style:E3} → {last.Loss.Style:E3}) in {engine.ElapsedSeconds:F1} s; peak memory {Runtime.ProcessMemory.PeakBytes() / 1e6:F0} MB."));
        if (keepBest && best is null)
        {
            // Resumed from a checkpoint written before best images were kept, and no loss evaluated since.
            progress.Line($"The checkpoint holds no best image (it was written before they were kept), so {files.Image} is its last image; runs keep the best image from now on.");
        }

        if (LossSwing.Noticeable(history) is (double above, LossRecord lowest))
        {
            double rate = engine.LearningRates[0];
            string image = best is LossRecord b ? $"--keep-best saved the image of iteration {b.Iteration}."
                : engine.Best(0)?.Iteration == lowest.Iteration
                    ? $"The image saved is the last, not that one, which the checkpoint holds: {ResumeCommand(files, engine.Iteration, null, keepBest: true)} saves it."
                    : "The image saved is the last, not that one.";
            progress.Line(string.Create(CultureInfo.InvariantCulture,
                $"The loss ended {above:F0}% above the lowest it reached ({lowest.Loss.Total:E4} at iteration {lowest.Iteration}): at lr {rate:G6} Adam's steps make the loss swing, and a lower --lr (e.g. {rate / 2:G3}) settles. {image}"));
        }

        return 0;
    }

    /// <summary>What the best image's loss is lowest of: the run's, or, resumed from a checkpoint that kept no best image, the losses since the resume.</summary>
    private static string BestSince(StyleTransferEngine engine, LossRecord best) =>
        engine.History(0).Any(r => r.Loss.IsFinite && r.Loss.Total < best.Loss.Total)
            ? $"the lowest loss since the resume at iteration {engine.StartIteration}, as the checkpoint kept no earlier image"
            : "the lowest loss";
}
