using System.Diagnostics;
using System.Globalization;
using NeuralStyle.Cli.Reports;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Model;
using NeuralStyle.Study;
using NeuralStyle.Weights;

namespace NeuralStyle.Cli.Commands;

/// <summary>The <c>sweep</c> verb: every learning rate as one batch through VGG19, measured at each checkpoint.</summary>
internal static class SweepCommand
{
    public static int Run(SweepOptions o, TextWriter output, bool interactive, CancellationToken cancel)
    {
        int[] checkpoints = CheckArguments(o);
        string folder = o.Resume ?? o.OutDir;
        // A resumed sweep's folder is there already, and rates catching up write into it before the sweep starts.
        using OutputLock? resumed = o.Resume is null ? null : Lock(o, folder);
        try
        {
            return Sweep(o, checkpoints, folder, output, interactive, cancel);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return Interruption.ExitCode; // while a rate caught up, which saved the sweep and said how to go on
        }
    }

    private static int Sweep(SweepOptions o, int[] checkpoints, string folder, TextWriter output, bool interactive, CancellationToken cancel)
    {
        SweepPlateau? plateau = ProblemFactory.ParsePlateau(o.Plateau) is PlateauRule rule ? new SweepPlateau(rule, o.Plateau!) : null;
        int last = checkpoints[^1];
        var (engine, settings, metrics, separate, clock, colors, start) = Start(o, folder, last, plateau, interactive, output, cancel);
        using (engine)
        {
            // A resumed sweep goes on from where it is, and measures no checkpoint twice (its metrics hold those it reached).
            checkpoints = checkpoints.Where(c => c > engine.Iteration || (c == engine.Iteration && !metrics.Any(m => m.Iteration == c))).ToArray();

            Directory.CreateDirectory(folder); // with its parents, now: a sweep refused while starting leaves no folder behind
            using OutputLock? created = o.Resume is null ? Lock(o, folder) : null;
            if (o.Force && o.Resume is null)
            {
                SweepFolder.RemoveEarlierImages(folder, Inputs(o));
            }

            output.WriteLine(ProblemFactory.DeviceLine(engine));
            output.WriteLine(checkpoints.Length == 0 ? $"The sweep is at iteration {engine.Iteration}, its last checkpoint: no iteration is left to run." : string.Create(CultureInfo.InvariantCulture,
                $"Sweeping {engine.Width}×{engine.Height}, lr {string.Join(", ", engine.RunningItems.Select(n => engine.LearningRates[n]).Order())} as one batch, checkpoints {string.Join(", ", checkpoints)}{(plateau is null ? "" : $", each rate stopping at its plateau (--plateau {o.Plateau})")}, into {folder}{(colors is null ? "" : ", saved in the content image's colours")}."));

            var progress = new ProgressReporter(engine.Iteration, last, o.PrintEvery, interactive, output);
            var sweep = new LearningRateSweep(engine, PreviousImages(engine, metrics, folder, output), colors is null ? null : image => ColorTransfer.KeepColors(image, colors));
            void SaveCheckpoint() => (engine.CreateCheckpoint(settings) with { ContentImage = colors, StartImage = start }).Save(Path.Combine(folder, SweepReport.CheckpointFile));
            string summary = "";
            try
            {
                sweep.Run(checkpoints, reached =>
                {
                    foreach (var (m, image) in reached.Metrics.Zip(reached.Images))
                    {
                        Record(folder, metrics, m, image);
                    }

                    SaveCheckpoint();
                    summary = Summary(engine, clock.Elapsed.TotalSeconds, separate, last);
                    SweepReport.Write(folder, metrics, SweepRates.Of(engine), reached.Iteration < last ? $"{summary} {EndedEarly(engine, last)}" : summary, separate);
                    progress.Line($"Checkpoint {reached.Iteration}: {string.Join("; ", reached.Metrics.OrderBy(m => m.LearningRate).Select(Describe))}");
                }, (k, losses) => progress.Report(k, BestOf(engine, losses)), SweepPlateau.AfterEachIteration(plateau, engine, progress.Line), cancel);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                // Images and reports stay as of the last checkpoint; the state of this iteration goes to sweep.ckpt.
                SaveCheckpoint();
                progress.Line($"Interrupted at iteration {engine.Iteration}; saved {Path.Combine(folder, SweepReport.CheckpointFile)}. Continue with: {ContinueCommand(folder, checkpoints, o.Plateau)}");
                return Interruption.ExitCode;
            }

            if (engine.Iteration < last)
            {
                progress.Line(EndedEarly(engine, last));
            }
            else if (plateau?.NotReached(engine) is string why)
            {
                progress.Line(why);
            }

            if (summary.Length == 0)
            {
                summary = Summary(engine, clock.Elapsed.TotalSeconds, separate, last); // no checkpoint was left to run: rates added only caught up
            }

            output.WriteLine(summary + string.Create(CultureInfo.InvariantCulture, $" Peak memory {Runtime.ProcessMemory.PeakBytes() / 1e6:F0} MB."));
            output.WriteLine($"Open {Path.Combine(folder, SweepReport.Index)} to see the contact sheet, loss curves, what quality cost at each rate, and metrics.");
            if (!Undiverged(engine).Any())
            {
                // Some rates falling apart is what a sweep shows; all of them is a run that found nothing.
                output.WriteLine(LossSummary.HugeWeightAdvice(settings.Loss) is string weights
                    ? $"Every learning rate diverged: {weights}."
                    : string.Create(CultureInfo.InvariantCulture, $"Every learning rate diverged; sweep lower ones (e.g. --lr {engine.LearningRates.Min() / 100:G3},{engine.LearningRates.Min() / 10:G3})."));
                return 1;
            }

            foreach (string line in QualityTable.Text(SweepRates.Of(engine), separate))
            {
                output.WriteLine(line);
            }

            output.WriteLine(NextStep(engine, folder, last));
            if (SideBySide(engine, folder, last) is string contenders)
            {
                output.WriteLine(contenders);
            }

            if (Between(engine, folder) is string closer)
            {
                output.WriteLine(closer);
            }

            foreach (string line in BestImageCommands(engine, folder))
            {
                output.WriteLine(line);
            }

            return 0;
        }
    }

    /// <summary>
    /// Records rate <paramref name="m"/>'s row at its checkpoint in <paramref name="metrics"/> (ordered by checkpoint,
    /// then rate), in place of a row there already (a rate that caught up replaces those that said it was set aside), and
    /// saves its image: for a rate that stopped, only at the first checkpoint after it stopped, its later rows naming
    /// that image.
    /// </summary>
    internal static void Record(string folder, List<CheckpointMetrics> metrics, CheckpointMetrics m, RgbImage image)
    {
        CheckpointMetrics? earlier = metrics.Where(x => x.LearningRate == m.LearningRate && x.Iteration < m.Iteration).MaxBy(x => x.Iteration);
        bool keepEarlier = m.Status != "ok" && earlier?.Status == m.Status;
        if (!keepEarlier)
        {
            ImageFiles.Save(image, Path.Combine(folder, m.Image));
        }

        CheckpointMetrics row = keepEarlier ? m with { Image = earlier!.Image } : m;
        int at = metrics.FindIndex(x => x.LearningRate == m.LearningRate && x.Iteration == m.Iteration);
        if (at >= 0)
        {
            metrics[at] = row;
            return;
        }

        // By checkpoint, then rate, as the files list them: a rate added later takes its place at each checkpoint.
        int after = metrics.FindLastIndex(x => x.Iteration < m.Iteration || (x.Iteration == m.Iteration && x.LearningRate < m.LearningRate));
        metrics.Insert(after + 1, row);
    }

    /// <summary>
    /// The command that continues an interrupted sweep in <paramref name="folder"/> to <paramref name="checkpoints"/>,
    /// with --only <paramref name="only"/> where rates set aside are to come back, and the --plateau asked.
    /// </summary>
    internal static string ContinueCommand(string folder, IEnumerable<int> checkpoints, string? plateau, string? only = null) =>
        $"sweep --resume {folder} --checkpoints {string.Join(",", checkpoints)}{(only is null ? "" : $" --only {only}")}{(plateau is null ? "" : $" --plateau {plateau}")}";

    /// <summary>Takes the lock of the sweep's checkpoint in <paramref name="folder"/>, which must exist.</summary>
    private static OutputLock Lock(SweepOptions o, string folder) => OutputLock.Take(Path.Combine(folder, SweepReport.CheckpointFile),
        o.Resume is null ? "give this one another --out-dir" : "stop it (Ctrl-C saves it) and resume again");

    /// <summary>
    /// Each rate's image at its last checkpoint, which the next checkpoint's SSIM compares with (the state may be past
    /// it after an interruption). One that is gone, unreadable or of another size leaves that SSIM empty, with a
    /// notice, rather than stopping the sweep: the checkpoint, not the images, holds the state.
    /// </summary>
    internal static RgbImage?[] PreviousImages(StyleTransferEngine engine, List<CheckpointMetrics> metrics, string folder, TextWriter output)
    {
        var images = new RgbImage?[engine.LearningRates.Count];
        for (int n = 0; n < images.Length; n++)
        {
            if (metrics.LastOrDefault(m => m.LearningRate == engine.LearningRates[n]) is not CheckpointMetrics last)
            {
                continue;
            }

            string path = Path.Combine(folder, Path.GetFileName(last.Image));
            try
            {
                RgbImage image = ImageFiles.Load(path, null);
                UserInputException.Require(image.Width == engine.Width && image.Height == engine.Height,
                    $"'{path}' is {image.Width}×{image.Height}, not the sweep's {engine.Width}×{engine.Height}.");
                images[n] = image;
            }
            catch (UserInputException e)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{e.Message.TrimEnd('.')}: lr {engine.LearningRates[n]:G6}'s next SSIM has no image to compare with and stays empty."));
            }
        }

        return images;
    }

    /// <summary>
    /// One rate at a checkpoint, for the line printed there: its loss, and how it stopped, or how fast it still falls
    /// and, where it swings, how far above its lowest it stands.
    /// </summary>
    private static string Describe(CheckpointMetrics m)
    {
        var notes = new List<string>();
        if (m.RecentGainPercent is double gain)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"lowest fell {gain:F2}% in the last {PlateauRule.DefaultWindow} it"));
        }

        if (m.AboveLowestPercent is double above && above >= LossSwing.NoticeablePercent)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"{above:F0}% above its lowest"));
        }

        string state = m.Status != "ok" ? $" {m.Status}" : notes.Count > 0 ? $" ({string.Join("; ", notes)})" : "";
        return string.Create(CultureInfo.InvariantCulture, $"lr {m.LearningRate:G6} {m.Total:E3}{state}");
    }

    /// <summary>
    /// How to take the rate with the lowest loss further alone (the study's second step), at four times the sweep's
    /// iterations: a suggestion to start from, the report says whether that rate is really the best.
    /// </summary>
    private static string NextStep(StyleTransferEngine engine, string folder, int last)
    {
        int best = Lowest(engine);
        double rate = engine.LearningRates[best];
        string command = string.Create(CultureInfo.InvariantCulture,
            $"render --resume {Path.Combine(folder, SweepReport.CheckpointFile)} --lr {rate:G6} --iterations {last * 4}");
        return NextStepAdvice(rate, PlateauRule.GainOver(engine.History(best), PlateauRule.DefaultWindow), command, AloneImage(folder, rate));
    }

    /// <summary>
    /// Where more than one running rate has come within 10% of the sweep's lowest loss but not every one has, how to
    /// take just those further side by side (--only), setting the others aside; else null.
    /// </summary>
    private static string? SideBySide(StyleTransferEngine engine, string folder, int last)
    {
        const double Within = 10;
        var histories = Enumerable.Range(0, engine.LearningRates.Count).Select(engine.History).ToArray(); // in item order, as below
        if (IterationsToQuality.Measure(histories, [Within]) is not IterationsToQuality quality)
        {
            return null;
        }

        int[] running = engine.RunningItems.ToArray();
        int[] contenders = running.Where(n => quality.FirstReached[n][0] is not null).ToArray();
        if (contenders.Length < 2 || contenders.Length == running.Length)
        {
            return null;
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"Rates whose lowest loss came within {Within}% of the sweep's: lr {SweepRates.Named(engine.LearningRates, contenders, ", ")}. To take them further side by side, setting the others aside: sweep --resume {folder} --checkpoints {last * 4} --only {SweepRates.Named(engine.LearningRates, contenders, ",")}");
    }

    /// <summary>
    /// How to look closer around the rate with the lowest loss: add the rates halfway (on a log scale) between it and its
    /// neighbours in the sweep (--add-lr), which catch up to where the sweep is. Not for a neighbour within 1.5 times
    /// the rate, where rates so close differ less than a run's own swings do; null where no rate is left to add.
    /// </summary>
    private static string? Between(StyleTransferEngine engine, string folder)
    {
        const double Apart = 1.5;
        int best = Lowest(engine);
        double rate = engine.LearningRates[best];
        double[] below = engine.LearningRates.Where(r => r < rate).ToArray(), above = engine.LearningRates.Where(r => r > rate).ToArray();
        below = below.Length > 0 && below.Max() * Apart < rate ? below : [];
        above = above.Length > 0 && above.Min() > rate * Apart ? above : [];
        string[] had = engine.LearningRates.Select(SweepRates.Name).ToArray();
        string[] midpoints = new[] { below.Length > 0 ? below.Max() : (double?)null, above.Length > 0 ? above.Min() : null }
            .OfType<double>().Select(neighbour => SweepRates.Name(double.Parse(Math.Sqrt(rate * neighbour).ToString("G3", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)))
            .Where(r => !had.Contains(r)).ToArray();
        return midpoints.Length == 0 ? null : string.Create(CultureInfo.InvariantCulture,
            $"To look closer around lr {SweepRates.Name(rate)}, add rates between it and its neighbours; they catch up to where the sweep is: sweep --resume {folder} --checkpoints {engine.Iteration} --add-lr {string.Join(",", midpoints)}");
    }

    /// <summary>
    /// For each rate that did not diverge whose loss ends well above its lowest (<see cref="LossSwing"/>), where its
    /// image of that lowest loss is: in the sweep's checkpoint, which a render with --keep-best and no more iterations
    /// (the rate's own: a plateaued rate stopped before the sweep did) saves.
    /// </summary>
    private static IEnumerable<string> BestImageCommands(StyleTransferEngine engine, string folder)
    {
        foreach (int n in Undiverged(engine))
        {
            if (LossSwing.Noticeable(engine.History(n)) is (double above, LossRecord lowest) && engine.Best(n)?.Iteration == lowest.Iteration)
            {
                double rate = engine.LearningRates[n];
                yield return string.Create(CultureInfo.InvariantCulture,
                    $"lr {rate:G6} ended {above:F0}% above its lowest loss ({lowest.Loss.Total:E3} at iteration {lowest.Iteration}); to save its image of then: render --resume {Path.Combine(folder, SweepReport.CheckpointFile)} --lr {rate:G6} --iterations {engine.History(n)[^1].Iteration} --keep-best --out {Path.ChangeExtension(AloneImage(folder, rate), null)}-best.png");
            }
        }
    }

    /// <summary>The rate whose last loss is the lowest of those that did not diverge (one must not have).</summary>
    private static int Lowest(StyleTransferEngine engine) => Undiverged(engine).MinBy(n => engine.History(n)[^1].Loss.Total);

    /// <summary>The rates that did not diverge: those running and those stopped at a plateau, which can go on alone.</summary>
    private static IEnumerable<int> Undiverged(StyleTransferEngine engine) =>
        Enumerable.Range(0, engine.LearningRates.Count).Where(n => !StopReasons.IsDivergence(engine.StopReason(n)));

    /// <summary>Why a sweep ended before its last checkpoint: no rate ran any more.</summary>
    private static string EndedEarly(StyleTransferEngine engine, int last) => string.Create(CultureInfo.InvariantCulture,
        $"Ended at iteration {engine.Iteration} of {last}: every rate had stopped ({string.Join(", ", SweepRates.ByRate(engine.LearningRates, Enumerable.Range(0, engine.LearningRates.Count)).Select(n => $"lr {engine.LearningRates[n]:G6} {engine.StopReason(n)}"))}).");

    /// <summary>
    /// The sentence of <see cref="NextStep"/>. The continued render ends at a plateau of 1% (<see cref="PlateauRule"/>)
    /// rather than spend all its iterations; where the rate has plateaued already, it says so instead, as that render
    /// would end at once.
    /// </summary>
    internal static string NextStepAdvice(double rate, double? recentGainPercent, string command, string image)
    {
        const double Plateau = 1;
        return recentGainPercent is double gain && gain < Plateau
            ? string.Create(CultureInfo.InvariantCulture,
                $"Lowest loss now: lr {rate:G6}, which has plateaued (its lowest loss fell {gain:G3}% in the last {PlateauRule.DefaultWindow} iterations), so more iterations will change it little. To take it further alone all the same: {command} --out {image}")
            : string.Create(CultureInfo.InvariantCulture,
                $"Lowest loss now: lr {rate:G6}. To take it further alone, until its lowest loss falls less than {Plateau}% per {PlateauRule.DefaultWindow} iterations: {command} --plateau {Plateau} --out {image}");
    }

    /// <summary>
    /// Where one rate of the sweep in <paramref name="folder"/> goes when continued alone: FOLDER-lrRATE.png beside
    /// the folder (out/study → out/study-lr5.png), outside it, so the sweep's own files stay as the sweep left them.
    /// </summary>
    public static string AloneImage(string folder, double rate) => AloneImage(folder, SweepRates.Name(rate));

    /// <summary>As <see cref="AloneImage(string, double)"/>, for a rate as written (or a placeholder, "RATE").</summary>
    private static string AloneImage(string folder, string rate)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder.Length == 0 ? "." : folder));
        string image = Path.Combine(Path.GetDirectoryName(full) ?? full, $"{Path.GetFileName(full)}-lr{rate}.png");
        return Path.IsPathRooted(folder) ? image : Path.GetRelativePath(Environment.CurrentDirectory, image); // as the user wrote it
    }

    private static int[] CheckArguments(SweepOptions o)
    {
        ProblemFactory.CheckArguments(o);
        double[] rates = o.LearningRates.ToArray();
        RequireRates(rates, "--lr");
        UserInputException.Require(o.Resume is not null || !o.AddLearningRates.Any(),
            "--add-lr adds rates to a resumed sweep (sweep --resume FOLDER --add-lr 15); a new sweep takes its rates from --lr.");
        if (o.AddLearningRates.Any())
        {
            RequireRates(o.AddLearningRates.ToArray(), "--add-lr");
        }

        int[] checkpoints = o.Checkpoints.Order().Distinct().ToArray();
        if (checkpoints.Length == 0 || checkpoints[0] < 1)
        {
            throw new UserInputException("--checkpoints needs one or more iteration counts ≥ 1, e.g. 500,2000.");
        }

        UserInputException.Require(o.Resume is not null || !o.Only.Any(),
            "--only picks which rates of a resumed sweep go on (sweep --resume FOLDER --only 5,10); a new sweep takes its rates from --lr.");
        string folder = o.Resume ?? o.OutDir;
        if (o.Resume is not null && !File.Exists(Path.Combine(folder, SweepReport.CheckpointFile)))
        {
            throw new UserInputException(File.Exists(folder)
                ? $"'{folder}' is a file: --resume takes the folder of an earlier sweep, which holds its {SweepReport.CheckpointFile}. Put the file in a folder of its own under that name (cp {folder} FOLDER/{SweepReport.CheckpointFile}) and resume the folder, or take its rates on one at a time: render --resume {folder} --lr RATE."
                : $"'{folder}' holds no {SweepReport.CheckpointFile}; name the folder of an earlier sweep.");
        }

        if (File.Exists(folder))
        {
            throw new UserInputException($"--out-dir '{folder}' is a file; name a folder.");
        }

        AtomicFile.RequireWritableFolder(folder, o.Resume is null ? "--out-dir" : "--resume");
        if (o.Resume is null)
        {
            SweepFolder.RequireNothingReplaced(folder, rates, checkpoints, anyIteration: o.Plateau is not null, Inputs(o), o.Force);
        }
        else if (o.Force)
        {
            throw new UserInputException("--resume continues the sweep in its folder, so it takes no --force (which replaces an earlier sweep); drop it.");
        }
        else
        {
            // From the checkpoint's head, before the weights load and the network is built.
            int reached = Checkpoint.ReadHead(Path.Combine(folder, SweepReport.CheckpointFile)).Iteration;
            // Rates added may just catch up with the others, to be compared where the sweep is.
            UserInputException.Require(checkpoints[^1] > reached || (checkpoints[^1] == reached && o.AddLearningRates.Any()),
                $"The sweep is already at iteration {reached}; give --checkpoints beyond it{(o.AddLearningRates.Any() ? " or at it" : "")}.");
        }

        return checkpoints;
    }

    /// <summary>
    /// Refuses learning rates given to <paramref name="option"/> that are none, not finite and above 0, or given twice
    /// (<see cref="LearningRateList.Require"/>), or that a sweep's files could not tell apart, saying what to do about
    /// those (<paramref name="remedy"/>: by default, give other rates).
    /// </summary>
    private static void RequireRates(double[] rates, string option, string remedy = "give rates that differ sooner")
    {
        // "--lr 0,5" meant as one rate reads as the rates 0 and 5.
        UserInputException.Require(!rates.Contains(0), $"{option} lists a rate of 0, which moves no pixel; commas separate the rates, so a decimal takes a point (0.5, not 0,5).");
        LearningRateList.Require(rates, option);

        // Rates name the images (lr5_it00500.png) and are named in the reports to 6 significant digits.
        string[] named = rates.Select(SweepRates.Name).ToArray();
        if (named.Distinct().Count() != named.Length)
        {
            string same = named.GroupBy(n => n).First(g => g.Count() > 1).Key;
            throw new UserInputException($"{option} lists rates that agree to 6 significant digits (each is {same} in file names and reports, so one image would replace another); {remedy}.");
        }
    }

    /// <summary>The image files a new sweep reads.</summary>
    private static IEnumerable<string> Inputs(SweepOptions o) =>
        new[] { o.Content ?? ProblemFactory.DefaultContent, o.Init }.Concat(o.Styles).OfType<string>();

    /// <summary>
    /// Starts the sweep's engine, or resumes it, and the sweep's clock. A new sweep first times one separate render to
    /// compare with (unless --no-estimate), then takes over its backend (network and targets) for its own batch
    /// (<see cref="StyleTransferEngine.HandOver"/>): the network is built once, the two batches never hold memory at
    /// once (together they once peaked about 40% above the sweep alone, 7 rates at 384 px), and the render's set-up,
    /// its images' loading included, counts as the sweep's own; the render's timed iterations do not.
    /// </summary>
    /// <returns>
    /// The engine, the settings its checkpoints store, the metrics so far, the separate render timed (or null), the
    /// sweep's clock, the content image whose colours saved images take (--original-colors) or null, and the image every
    /// rate started from, which the checkpoint keeps so that rates can be added later (null for a sweep saved before).
    /// </returns>
    private static (StyleTransferEngine, RunSettings, List<CheckpointMetrics>, SeparateRender? Separate, Stopwatch, RgbImage? Colors, RgbImage? Start) Start(SweepOptions o, string folder, int last,
        SweepPlateau? plateau, bool interactive, TextWriter output, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        if (o.Resume is not null)
        {
            var (engine, settings, metrics, colors, start) = Resume(o, folder, plateau, interactive, output, cancel);
            return (engine, settings, metrics, null, clock, colors, start);
        }

        StyleProblem problem = ProblemFactory.Build(o, output.WriteLine, cancel);
        double[] rates = o.LearningRates.ToArray();
        RunSettings stored = ProblemFactory.Settings(o, problem);
        RgbImage initial = problem.Initial ?? problem.Content;
        RgbImage? keptColors = o.OriginalColors ? problem.Content : null;
        if (o.NoEstimate)
        {
            return (ProblemFactory.CreateEngine(problem, rates, o.Device, o.Precision, output.WriteLine, cancel), stored, [], null, clock, keptColors, initial);
        }

        StyleTransferEngine.RequireFits(problem, rates.Length, ProblemFactory.ParseDevice(o.Device)); // before any of it
        output.WriteLine("Timing one separate render of the same settings to compare with (--no-estimate skips this)…");
        using StyleTransferEngine single = ProblemFactory.CreateEngine(problem, [rates[0]], o.Device, o.Precision, output.WriteLine, cancel);
        clock.Stop();
        SeparateRender separate = SeparateRender.Time(single, clock.Elapsed.TotalSeconds, output, cancel);
        clock.Start();
        StyleTransferEngine sweep = single.HandOver(Checkpoint.AtStart(stored, single.Targets, initial, rates), ProblemFactory.MemoryLimitBytes(o));
        return (sweep, stored, [], separate, clock, keptColors, initial);
    }

    /// <summary>
    /// Starts the engine of a resumed sweep: on its running rates, or those --only names (the others set aside), after
    /// bringing back any rate --only names that was set aside or plateaued (<see cref="SweepCatchUp"/>).
    /// </summary>
    /// <returns>The engine, the stored settings, the metrics so far, the content image whose colours saved images take (--original-colors) or null, and the image the rates started from where the checkpoint keeps it.</returns>
    private static (StyleTransferEngine, RunSettings, List<CheckpointMetrics>, RgbImage? Colors, RgbImage? Start) Resume(SweepOptions o, string folder, SweepPlateau? plateau, bool interactive,
        TextWriter output, CancellationToken cancel)
    {
        string path = Path.Combine(folder, SweepReport.CheckpointFile);
        Checkpoint checkpoint = Checkpoint.Load(path);
        // An engine's batch (the embedding API's) may hold two rates that would share a sweep's file names.
        RequireRates([.. checkpoint.Settings.LearningRates], $"'{path}'", $"take them on one at a time: render --resume {path} --lr RATE --out FILE");
        int[] only = o.Only.Any() ? ProblemFactory.ChosenItems(path, checkpoint.Settings.LearningRates, o.Only.ToArray()) : [];
        int[] added = [];
        if (o.AddLearningRates.Any())
        {
            // A rate added is set aside at iteration 0, from where it catches up as one set aside does.
            double[] rates = o.AddLearningRates.ToArray();
            RequireNew(path, checkpoint, rates);
            added = Enumerable.Range(checkpoint.Settings.LearningRates.Count, rates.Length).ToArray();
            checkpoint = checkpoint.WithNewItems(rates);
        }

        int[] rejoining = added;
        if (only.Length > 0)
        {
            int[] going = only.Concat(added).ToArray();
            rejoining = SweepCatchUp.Rejoining(checkpoint, going);
            checkpoint = checkpoint.SetAsideAllBut(going);
        }

        if (rejoining.Length == 0)
        {
            ProblemFactory.RefuseIfNothingRuns(path, checkpoint); // before the weights load
        }

        output.WriteLine($"Resuming the sweep in {folder} at iteration {checkpoint.Iteration} with its stored settings ({checkpoint.Settings.Notes}).");
        List<CheckpointMetrics> metrics = SweepReport.ReadMetrics(folder).Where(m => m.Iteration <= checkpoint.Iteration).ToList();
        NetworkWeights weights = WeightSource.ForResume(checkpoint.Settings, output.WriteLine);
        RgbImage? colors = checkpoint.Settings.OriginalColors ? checkpoint.ContentImage : null;
        using var catchUp = new SweepCatchUp(folder, o, weights, metrics, colors, plateau, interactive, output);
        checkpoint = catchUp.Run(checkpoint, rejoining, cancel);
        ProblemFactory.RefuseIfNothingRuns(path, checkpoint); // the rates brought back may have stopped again on their way
        StyleTransferEngine engine = catchUp.Start(checkpoint, cancel);
        RunSettings settings = checkpoint.Settings;

        // Rates stopped at the same iteration for the same reason (those --only left out) in one line.
        string runningRates = SweepRates.Named(engine.LearningRates, engine.RunningItems, ",");
        foreach (var stopped in Enumerable.Range(0, engine.LearningRates.Count).Where(n => StopReasons.CanGoOnAlone(engine.StopReason(n))).GroupBy(engine.StopReason))
        {
            string[] named = SweepRates.ByRate(engine.LearningRates, stopped).Select(n => SweepRates.Name(engine.LearningRates[n])).ToArray();
            bool one = named.Length == 1;
            string rate = one ? named[0] : "RATE";
            output.WriteLine(
                $"lr {string.Join(", ", named)} {stopped.Key} and {(one ? "stays" : "stay")} there; to take {(one ? "it" : "one")} further alone: render --resume {path} --lr {rate} --iterations N --out {AloneImage(folder, rate)}, N beyond {engine.History(stopped.First())[^1].Iteration}; or back into the batch, where {(one ? "it catches" : "they catch")} up first: sweep --resume {folder} --checkpoints N --only {runningRates},{string.Join(",", named)}");
        }

        return (engine, settings, metrics, colors, checkpoint.StartImage);
    }

    /// <summary>
    /// Refuses --add-lr's <paramref name="rates"/> where the sweep cannot take them: a rate it has already, and a sweep
    /// saved before checkpoints kept the image every rate started from, which a rate added starts from.
    /// </summary>
    private static void RequireNew(string path, Checkpoint checkpoint, double[] rates)
    {
        string[] had = checkpoint.Settings.LearningRates.Select(SweepRates.Name).ToArray();
        string? again = rates.Select(SweepRates.Name).FirstOrDefault(had.Contains);
        UserInputException.Require(again is null, $"'{path}' has lr {again} already; --add-lr takes rates the sweep does not have (it has {string.Join(", ", had)}).");
        UserInputException.Require(checkpoint.StartImage is not null,
            $"'{path}' was saved before sweeps kept the image their rates start from, so it cannot take new rates; start a new sweep with them (sweep --lr {string.Join(",", had.Append(SweepRates.Name(rates[0])))}).");
    }

    /// <summary>The sweep's seconds so far, against those of one <paramref name="separate"/> render per rate to <paramref name="last"/> iterations where one was timed.</summary>
    private static string Summary(StyleTransferEngine engine, double seconds, SeparateRender? separate, int last)
    {
        int n = engine.LearningRates.Count;
        double? estimate = n * separate?.Seconds(last);
        // The seconds are this run's, which may have taken only some of the rates on (the others stopped before it).
        int[] ran = Enumerable.Range(0, n).Where(i => engine.History(i)[^1].Iteration > engine.StartIteration).ToArray();
        string some = ran.Length > 0 && ran.Length < n ? $"; lr {SweepRates.Named(engine.LearningRates, ran, ", ")} went on" : "";
        string from = engine.StartIteration > 0 ? string.Create(CultureInfo.InvariantCulture, $" (from {engine.StartIteration}{some})") : "";
        return string.Create(CultureInfo.InvariantCulture, $"{n} learning rate{(n == 1 ? "" : "s")} to iteration {engine.Iteration}{from} in {seconds:F1} s") +
            (estimate is double e ? string.Create(CultureInfo.InvariantCulture, $"; {(n == 1 ? "a separate render" : $"{n} separate renders")} would take about {e:F1} s ({e / seconds:F2}× the sweep).") : ".");
    }

    /// <summary>The progress line's summary of an iteration: the lowest loss of the batch and how many rates run.</summary>
    internal static string BestOf(StyleTransferEngine engine, IterationLosses[] losses)
    {
        int running = engine.RunningItems.Count();
        double best = losses.Where(l => l.IsFinite).Select(l => l.Total).DefaultIfEmpty(double.NaN).Min();
        return string.Create(CultureInfo.InvariantCulture, $"best loss {best:E3}, {running}/{losses.Length} running");
    }
}
