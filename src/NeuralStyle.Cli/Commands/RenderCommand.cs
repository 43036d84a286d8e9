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
        CheckArguments(o);
        string checkpointPath = o.Checkpoint ?? Path.ChangeExtension(o.Out, ".ckpt");
        var (engine, settings) = Start(o, output);
        using (engine)
        {
            if (o.Iterations <= engine.Iteration)
            {
                throw new UserInputException($"The checkpoint is already at iteration {engine.Iteration}; ask for more --iterations to continue.");
            }

            // The output folders, with their parents, now that nothing can refuse the run: a refused run leaves none.
            foreach (string file in new[] { o.Out, checkpointPath, o.LossLog }.OfType<string>())
            {
                AtomicFile.CreateFolderOf(file);
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Device: {engine.DeviceDescription}{(engine.EstimatedPeakBytes is double bytes ? $"; estimated peak memory {bytes / 1e6:F0} MB" : "")}."));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Rendering {engine.Width}×{engine.Height}, iterations {engine.Iteration} → {o.Iterations}, lr {engine.LearningRates[0]}, weights {settings.WeightsIdentity}."));

            int[] checkpoints = SaveIterations(o, engine.Iteration);
            var progress = new ProgressReporter(engine.Iteration, o.Iterations, o.PrintEvery, interactive, output);
            var sweep = new LearningRateSweep(engine);
            try
            {
                sweep.Run(checkpoints, reached =>
            {
                bool final = reached.Iteration == o.Iterations || engine.StopReason(0) is not null;
                ImageFiles.Save(reached.Images[0], final ? o.Out : Intermediate(o.Out, reached.Iteration));
                engine.CreateCheckpoint(settings).Save(checkpointPath);
                if (o.LossLog is not null)
                {
                    AtomicFile.WriteText(o.LossLog, LossSummary.Csv(engine.History(0)));
                }
            }, (k, losses) => progress.Report(k, LossSummary.Describe(losses[0])), cancel);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                ImageFiles.Save(engine.CurrentImage(0), o.Out);
                engine.CreateCheckpoint(settings).Save(checkpointPath);
                if (o.LossLog is not null)
                {
                    AtomicFile.WriteText(o.LossLog, LossSummary.Csv(engine.History(0)));
                }

                progress.Line($"Interrupted at iteration {engine.Iteration}. Saved {o.Out} and {checkpointPath}; continue with: render --resume {checkpointPath} --iterations {o.Iterations} --out {o.Out}");
                return Interruption.ExitCode;
            }

            return Finish(o, engine, progress, checkpointPath);
        }
    }

    /// <summary>OUT_00100.png for iteration 100.</summary>
    public static string Intermediate(string path, int iteration) =>
        Path.Combine(Path.GetDirectoryName(path) ?? "", $"{Path.GetFileNameWithoutExtension(path)}_{iteration:D5}{Path.GetExtension(path)}");

    /// <summary>
    /// Refuses an output path that is a folder, or whose folder (made when the run starts, if missing) could take no
    /// new files: better now than when the run saves its result.
    /// </summary>
    private static void PrepareOutputFile(string path, string option)
    {
        if (Directory.Exists(path))
        {
            throw new UserInputException($"Cannot write '{path}': it is a folder; name a file in it.");
        }

        AtomicFile.RequireWritableFolder(Path.GetDirectoryName(Path.GetFullPath(path))!, option);
    }

    private static void CheckArguments(RenderOptions o)
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

        _ = ImageFiles.EncoderFor(o.Out);
        RefuseOverwritingInputs(o);
        foreach (var (option, file) in new[] { ("--out", o.Out), ("--loss-log", o.LossLog), ("--checkpoint", o.Checkpoint ?? Path.ChangeExtension(o.Out, ".ckpt")) })
        {
            if (file is not null)
            {
                PrepareOutputFile(file, option);
            }
        }
    }

    /// <summary>An output never replaces an input: not the content, a style, the --init image or the checkpoint being resumed.</summary>
    private static void RefuseOverwritingInputs(RenderOptions o)
    {
        string[] inputs = new[] { o.Content ?? ProblemFactory.DefaultContent, o.Init, o.Resume }.Concat(o.Styles)
            .Where(p => p is not null && File.Exists(p)).Select(p => Path.GetFullPath(p!)).ToArray();
        string checkpoint = o.Checkpoint ?? Path.ChangeExtension(o.Out, ".ckpt");
        foreach (var (option, path) in new[] { ("--out", o.Out), ("--checkpoint", checkpoint), ("--loss-log", o.LossLog) })
        {
            if (path is not null && inputs.Contains(Path.GetFullPath(path)) && !(option == "--checkpoint" && o.Resume is not null && Path.GetFullPath(path) == Path.GetFullPath(o.Resume)))
            {
                throw new UserInputException($"{option} '{path}' is one of the inputs; choose another file name so the input is kept.");
            }
        }
    }

    private static (StyleTransferEngine Engine, RunSettings Settings) Start(RenderOptions o, TextWriter output)
    {
        if (o.Resume is not null)
        {
            var (engine, settings) = ProblemFactory.Resume(o.Resume, o, output.WriteLine, c => ProblemFactory.OneRun(o.Resume, c, o.LearningRate, output.WriteLine));
            output.WriteLine($"Resuming {o.Resume} at iteration {engine.Iteration} with its stored settings ({settings.Notes}).");
            return (engine, settings);
        }

        StyleProblem problem = ProblemFactory.Build(o, output.WriteLine);
        return (ProblemFactory.CreateEngine(problem, [o.LearningRate ?? RenderOptions.DefaultLearningRate], o.Device, o.Precision, output.WriteLine), ProblemFactory.Settings(o, problem));
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

    private static int Finish(RenderOptions o, StyleTransferEngine engine, ProgressReporter progress, string checkpointPath)
    {
        IReadOnlyList<LossRecord> history = engine.History(0);
        LossRecord first = history[0], last = history.Last(r => r.Loss.IsFinite);
        if (engine.StopReason(0) is string reason)
        {
            // The diverged step was undone, so the image and checkpoint saved at the stop are the last finite state,
            // unless the run diverged at once after a resume: then they are the state it resumed with.
            string kept = engine.DivergedAtStart(0)
                ? $"No update of this run could be undone, so {o.Out} and {checkpointPath} keep the state it resumed with, which had already diverged; render again from the start with a lower --lr"
                : $"Saved the last finite image to {o.Out} and the state to {checkpointPath}; try a lower --lr";
            progress.Line(string.Create(CultureInfo.InvariantCulture,
                $"The optimization {reason} (the loss became {history[^1].Loss.Total}). {kept} (e.g. {engine.LearningRates[0] / 4:G3})."));
            return 1;
        }

        progress.Line(string.Create(CultureInfo.InvariantCulture,
            $"Wrote {o.Out} and {checkpointPath}: loss {first.Loss.Total:E4} → {last.Loss.Total:E4} (style {first.Loss.Style:E3} → {last.Loss.Style:E3}) in {engine.ElapsedSeconds:F1} s; peak memory {Runtime.ProcessMemory.PeakBytes() / 1e6:F0} MB."));
        return 0;
    }
}
