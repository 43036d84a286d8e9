using System.Globalization;
using NeuralStyle.Cli.Commands;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Model;
using NeuralStyle.Study;
using NeuralStyle.Tests.Support;
using static NeuralStyle.Tests.Support.InProcessCli;
using static NeuralStyle.Tests.Support.LossRows;

namespace NeuralStyle.Tests;

/// <summary>--plateau: a render or sweep asked for many iterations ends where the loss stops falling enough.</summary>
public sealed class PlateauTests : TemporaryFolderTest
{
    [Fact]
    public void The_gain_is_the_lowest_losss_fall_over_the_window_in_percent_of_its_start()
    {
        var rule = new PlateauRule(2, window: 3);
        LossRecord[] history = [At(0, 1000), At(1, 400), At(2, 200), At(3, 150), At(4, 148), At(5, 147)];

        Assert.Null(rule.Gain(history[..3])); // iteration 2 has no row 3 iterations back
        Assert.Equal(85.0, rule.Gain(history[..4])!.Value, 12); // 1000 → 150
        Assert.Equal(26.5, rule.Gain(history)!.Value, 12); // 200 → 147
        Assert.False(rule.IsReached(history));
        Assert.True(rule.IsReached([.. history, At(6, 148), At(7, 146), At(8, 145)])); // 147 → 145: 1.36%
        Assert.Equal(0.0, rule.Gain([.. history, At(6, 150), At(7, 151), At(8, 152)])); // risen: no new low, no gain
        Assert.Null(rule.Gain([.. history, At(6, 150), At(7, 151), At(8, double.NaN)])); // divergence is another matter
        Assert.Null(new PlateauRule(1).Gain([]));
    }

    [Fact]
    public void An_oscillating_loss_gains_only_by_new_lows_not_by_its_swings()
    {
        var rule = new PlateauRule(1, window: 2);
        LossRecord[] swinging = [At(0, 100), At(1, 90), At(2, 80), At(3, 95), At(4, 120), At(5, 81)];
        Assert.Equal(0.0, rule.Gain(swinging)); // 95 → 81 from a peak to a trough, but nothing below 80
        Assert.Equal(0.0, rule.Gain(swinging[..5])); // 80 → 120 at a peak: no new low either, not a loss of 50%
        Assert.Equal(2.5, rule.Gain([.. swinging, At(6, 78)])!.Value, 12); // 80 → 78, the first new low
        Assert.True(rule.IsReached(swinging));
    }

    [Fact]
    public void A_resumed_history_measures_across_the_resume_and_by_iteration_not_by_row()
    {
        // A history that starts past 0 (a sweep's item continued alone keeps its rows; the rule looks them up by iteration).
        var rule = new PlateauRule(10, window: 2);
        LossRecord[] history = [At(7, 300), At(8, 200), At(9, 190)];
        Assert.Equal(100.0 * 110 / 300, rule.Gain(history)!.Value, 12);
        Assert.Null(rule.Gain(history[1..]));
    }

    [Theory]
    [InlineData(0.0, 100)]
    [InlineData(100.0, 100)]
    [InlineData(double.NaN, 100)]
    [InlineData(1.0, 0)]
    public void A_rule_that_cannot_work_is_refused(double percent, int window) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new PlateauRule(percent, window));

    [Fact]
    public void A_render_ends_at_the_first_plateau_saves_there_and_resumes_past_it()
    {
        string image = Path.Combine(Folder, "r.png"), checkpoint = Path.ChangeExtension(image, ".ckpt");
        string[] common = ["--size", "32", "--weights", "random:0", "--print-every", "0"];
        var (code, stdout, stderr) = Run(["render", "--iterations", "400", "--plateau", "4:20", "--save-every", "50", "--out", image, .. common]);
        Assert.True(code == 0, stderr + stdout);

        // It ended at the first iteration whose window gained less than 4%, and saved the final image and checkpoint there.
        Checkpoint saved = Checkpoint.Load(checkpoint);
        int ended = saved.Iteration;
        Assert.InRange(ended, 21, 399);
        var rule = new PlateauRule(4, 20);
        LossRecord[] history = saved.History[0].ToArray();
        Assert.Equal(ended, history[^1].Iteration); // the loss of the image saved, evaluated
        Assert.True(rule.IsReached(history.Where(r => r.Iteration < ended).ToArray()));
        for (int k = 20; k < ended - 1; k++)
        {
            Assert.False(rule.IsReached(history.Where(r => r.Iteration <= k).ToArray()), $"the window ending at {k} had plateaued already");
        }

        Assert.Contains("iterations 0 → 400 or a plateau (--plateau 4:20)", stdout, StringComparison.Ordinal);
        Assert.Contains($"Ended at iteration {ended} of 400: the lowest loss fell ", stdout, StringComparison.Ordinal);
        Assert.Contains($"render --resume {checkpoint} --iterations 400", stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(image));
        Assert.Equal((ended - 1) / 50, Directory.GetFiles(Folder, "r_*.png").Length); // --save-every's images before the end, none after
        string again = Path.Combine(Folder, "again.png"); // the checkpoint's image, saved as the render saves it
        Imaging.ImageFiles.Save(new RgbImage(saved.Settings.Width, saved.Settings.Height, saved.State.Images), again);
        Assert.Equal(Imaging.ImageFiles.Load(again, longSide: null).Planes, Imaging.ImageFiles.Load(image, longSide: null).Planes);

        // Asked for exactly that many iterations, the plateau at the last one is just the end.
        string exact = Path.Combine(Folder, "exact.png");
        var atEnd = Run(["render", "--iterations", ended.ToString(CultureInfo.InvariantCulture), "--plateau", "4:20", "--out", exact, .. common]);
        Assert.True(atEnd.Code == 0, atEnd.Stderr + atEnd.Stdout);
        Assert.DoesNotContain("Ended at", atEnd.Stdout, StringComparison.Ordinal);
        Assert.Equal(ended, Checkpoint.Load(Path.ChangeExtension(exact, ".ckpt")).Iteration);

        // Resuming without it goes on to the iterations asked for.
        Assert.Equal(0, Run(["render", "--resume", checkpoint, "--iterations", (ended + 5).ToString(CultureInfo.InvariantCulture), "--print-every", "0"]).Code);
        Assert.Equal(ended + 5, Checkpoint.Load(checkpoint).Iteration);
    }

    [Fact]
    public void A_render_that_runs_all_its_iterations_says_how_much_it_still_gains()
    {
        string image = Path.Combine(Folder, "r.png"), checkpoint = Path.ChangeExtension(image, ".ckpt");
        string[] common = ["--size", "32", "--weights", "random:0", "--print-every", "0", "--out", image];
        var (code, stdout, stderr) = Run(["render", "--iterations", "40", "--plateau", "0.01:20", .. common]);
        Assert.True(code == 0, stderr + stdout);
        double gain = new PlateauRule(0.01, 20).Gain(Checkpoint.Load(checkpoint).History[0])!.Value;
        Assert.True(gain >= 0.01, $"the lowest loss fell only {gain}% over iterations 20–40"); // 40 iterations in, it still falls fast
        Assert.Contains(string.Create(CultureInfo.InvariantCulture,
            $"No plateau by iteration 40: the lowest loss still fell {gain:G3}% over iterations 20–40, more than --plateau 0.01:20 allows. To take it further: render --resume {checkpoint} --iterations 160 --plateau 0.01:20"),
            stdout, StringComparison.Ordinal);

        var shorter = Run(["render", "--iterations", "5", "--plateau", "1", .. common]);
        Assert.True(shorter.Code == 0, shorter.Stderr + shorter.Stdout);
        Assert.Contains("No plateau by iteration 5: the run is shorter than the 100 iterations --plateau 1 measures over.", shorter.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_rate_of_a_sweep_stops_at_its_own_plateau_and_goes_on_alone_from_there()
    {
        string folder = Path.Combine(Folder, "sweep");
        string[] common = ["--size", "32", "--weights", "random:0", "--lr", "5,20", "--no-estimate", "--print-every", "0"];
        var (code, stdout, stderr) = Run(["sweep", "--checkpoints", "50,400", "--plateau", "4:20", "--out-dir", folder, .. common]);
        Assert.True(code == 0, stderr + stdout);

        // Each rate stopped at the first iteration whose window gained less than 4%, with the image of that iteration.
        Checkpoint saved = Checkpoint.Load(Path.Combine(folder, "sweep.ckpt"));
        var rule = new PlateauRule(4, 20);
        int[] stops = new int[2];
        for (int n = 0; n < 2; n++)
        {
            LossRecord[] history = [.. saved.History[n]];
            int k = stops[n] = history[^1].Iteration;
            Assert.Equal(StopReasons.Plateaued(k), saved.Stopped[n]);
            Assert.Equal(k, saved.State.Steps[n]); // the update after row k was undone
            Assert.True(rule.IsReached(history));
            Assert.All(Enumerable.Range(20, k - 20), j => Assert.False(rule.IsReached(history.Where(r => r.Iteration <= j).ToArray()), $"lr {saved.Settings.LearningRates[n]} had plateaued at {j}"));
            string gain = string.Create(CultureInfo.InvariantCulture, $"{rule.Gain(history):G4}");
            Assert.Contains($"lr {saved.Settings.LearningRates[n]} plateaued at iteration {k}: its lowest loss fell {gain}% over iterations {k - 20}–{k}, less than --plateau 4:20 asks;", stdout, StringComparison.Ordinal);
        }

        Assert.NotEqual(stops[0], stops[1]); // lr 20 plateaus sooner: each stops on its own

        // The first to stop leaves the batch: the iterations left to 400 save more than a start costs (measured).
        int first = stops.Min();
        Assert.Matches($@"plateaued at iteration {first}: [^\n]*; 1 rate goes on without it: the batch starts again without it, saving about [0-9.]+(E[-+]?\d+)? s over the {400 - (first + 1)} iterations left for a start of [0-9.]+(E[-+]?\d+)? s\.", stdout);
        Assert.Contains($"plateaued at iteration {stops.Max()}: ", stdout, StringComparison.Ordinal);
        Assert.Contains("asks; no rate runs now.", stdout, StringComparison.Ordinal);
        int ended = saved.Iteration;
        Assert.Equal(stops.Max() + 1, ended); // the sweep ended with the iteration in which its last rate stopped
        string why = $"Ended at iteration {ended} of 400: every rate had stopped (lr 5 plateaued at iteration {stops[0]}, lr 20 plateaued at iteration {stops[1]}).";
        Assert.Contains(why, stdout, StringComparison.Ordinal);
        Assert.Contains(why, File.ReadAllText(Path.Combine(folder, "index.html")), StringComparison.Ordinal); // the report says why
        var measured = Cli.Reports.SweepReport.ReadMetrics(folder);
        Assert.Equal([50, 50, ended, ended], measured.Select(m => m.Iteration).Order());
        Assert.All(measured.Where(m => m.Iteration == ended), m => Assert.Equal(saved.History[m.LearningRate == 5 ? 0 : 1][^1].Loss.Total, m.Total));
        Assert.All(measured, m => Assert.True(File.Exists(Path.Combine(folder, m.Image)), m.Image));

        // The sweep cannot go on as one; each rate goes on alone from where it stopped, its image being that of its last row.
        byte[] before = File.ReadAllBytes(Path.Combine(folder, "sweep.ckpt"));
        string[] files = Directory.GetFiles(folder);
        var resumed = Run(["sweep", "--resume", folder, "--checkpoints", "400", "--print-every", "0"]);
        Assert.Equal(2, resumed.Code);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(folder, "sweep.ckpt"))); // refused before anything was written
        Assert.Equal(files, Directory.GetFiles(folder));
        Assert.Contains($"every rate has stopped (lr 5 plateaued at iteration {stops[0]}; lr 20 plateaued at iteration {stops[1]}); a rate that plateaued or was set aside goes on alone, e.g. render --resume {Path.Combine(folder, "sweep.ckpt")} --lr 5 --iterations {4 * ended}.", resumed.Stderr, StringComparison.Ordinal);
        Checkpoint alone = saved.Item(1);
        Assert.Equal((stops[1], (string?)null), (alone.Iteration, alone.Stopped[0]));
        Assert.Equal(stops[1], Checkpoint.ReadHead(Path.Combine(folder, "sweep.ckpt")).ItemIterations[1]);
        using (StyleTransferEngine engine = StyleTransferEngine.Resume(alone, NetworkWeights.Random(NetworkArchitecture.Vgg19, 0), DeviceKind.Cpu))
        {
            double evaluated = engine.Evaluate()[0].Total, recorded = saved.History[1][^1].Loss.Total;
            Assert.True(Math.Abs(evaluated - recorded) <= 1e-4 * recorded, $"the image kept has loss {evaluated}, its last row {recorded}");
        }

        string image = Path.Combine(Folder, "alone.png");
        var render = Run(["render", "--resume", Path.Combine(folder, "sweep.ckpt"), "--lr", "20", "--iterations", $"{stops[1] + 3}", "--out", image, "--print-every", "0"]);
        Assert.True(render.Code == 0, render.Stderr + render.Stdout);
        Assert.Contains($"Resuming {Path.Combine(folder, "sweep.ckpt")} at iteration {stops[1]} ", render.Stdout, StringComparison.Ordinal);
        Checkpoint continued = Checkpoint.Load(Path.ChangeExtension(image, ".ckpt"));
        Assert.Equal(stops[1] + 3, continued.Iteration);
        Assert.Equal(Enumerable.Range(0, stops[1] + 4), continued.History[0].Select(r => r.Iteration)); // rows to the stop, then the render's own, to its image at the end
    }

    [Fact]
    public void A_stopped_rate_is_said_to_leave_the_batch_or_to_stay_in_it_as_the_iterations_left_pay_for_a_start()
    {
        var content = new RgbImage(40, 32, TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, 32, 40, 1)));
        var problem = new StyleProblem { Content = content, Styles = [content], Weights = NetworkWeights.Random(NetworkArchitecture.Vgg19, 0) };
        using StyleTransferEngine engine = StyleTransferEngine.Create(problem, [2, 5, 8], DeviceKind.Cpu);
        for (int k = 0; k < 4; k++)
        {
            engine.Step();
        }

        engine.StopAtPlateau(0);
        engine.PlannedIterations = null; // no plan: the end is taken as far away
        Assert.Equal("2 rates go on without it: the batch starts again without it", SweepPlateau.GoingOn(engine));

        engine.PlannedIterations = 1_000_000;
        BatchLeaving leaving = Assert.IsType<BatchLeaving>(engine.StoppedLeaving);
        Assert.Equal((1, 1_000_000 - 4, true), (leaving.Items, leaving.IterationsLeft, leaving.Pays));
        Assert.True(leaving.SavingSeconds > leaving.StartSeconds);
        Assert.StartsWith("2 rates go on without it: the batch starts again without it, saving about ", SweepPlateau.GoingOn(engine), StringComparison.Ordinal);

        // At the planned end nothing is left to save: the stopped rates stay in the batch, frozen.
        engine.StopAtPlateau(1);
        engine.PlannedIterations = 4;
        leaving = Assert.IsType<BatchLeaving>(engine.StoppedLeaving);
        Assert.Equal((2, 0, 0.0, false), (leaving.Items, leaving.IterationsLeft, leaving.SavingSeconds, leaving.Pays));
        Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"1 rate goes on; the 2 stopped rates stay in the batch, frozen: taking them out would save about 0 s over the 0 iterations left, no more than a start of {leaving.StartSeconds:G3} s"),
            SweepPlateau.GoingOn(engine));
        engine.Step();
        Assert.Equal(3, engine.BatchSize); // as said

        engine.PlannedIterations = 1_000_000;
        engine.Step();
        Assert.Equal(1, engine.BatchSize);
        Assert.Null(engine.StoppedLeaving); // none stopped is left in the batch
    }

    [Fact]
    public void A_rate_stopped_at_its_plateau_keeps_the_image_of_its_last_row_and_leaves_the_batch()
    {
        var content = new RgbImage(40, 32, TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, 32, 40, 1)));
        var style = new RgbImage(40, 32, TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, 32, 40, 2)));
        var problem = new StyleProblem { Content = content, Styles = [style], Weights = NetworkWeights.Random(NetworkArchitecture.Vgg19, 0) };
        using StyleTransferEngine engine = StyleTransferEngine.Create(problem, [2, 5], DeviceKind.Cpu);
        engine.Step();
        engine.Step();
        float[] measured = engine.CurrentImage(0).Planes; // the image row 2 will be the loss of
        engine.Step();
        engine.StopAtPlateau(0);

        Assert.Equal("plateaued at iteration 2", engine.StopReason(0));
        Assert.Equal(measured, engine.CurrentImage(0).Planes);
        Checkpoint saved = engine.CreateCheckpoint(ProblemSettings.For(problem));
        Assert.Equal([2, 3], saved.State.Steps);
        engine.Step();
        Assert.Equal(1, engine.BatchSize);
        Assert.Equal(measured, engine.CurrentImage(0).Planes);
        Assert.Equal(2, engine.History(0)[^1].Iteration);
        Assert.Equal(3, engine.History(1)[^1].Iteration);
    }

    [Fact]
    public void A_sweep_that_reaches_its_last_checkpoint_names_the_rates_still_gaining()
    {
        string folder = Path.Combine(Folder, "sweep");
        var (code, stdout, stderr) = Run(["sweep", "--size", "32", "--weights", "random:0", "--lr", "0.5,20", "--checkpoints", "60", "--plateau", "4:20",
            "--out-dir", folder, "--no-estimate", "--print-every", "0"]);
        Assert.True(code == 0, stderr + stdout);

        Checkpoint saved = Checkpoint.Load(Path.Combine(folder, "sweep.ckpt"));
        Assert.Equal(60, saved.Iteration);
        var rule = new PlateauRule(4, 20);
        string[] gaining = new[] { 0.5, 20 }.Zip(saved.History, (rate, h) => (rate, h))
            .Where(x => !rule.IsReached(x.h))
            .Select(x => string.Create(CultureInfo.InvariantCulture, $"lr {x.rate} {rule.Gain(x.h):G3}%")).ToArray();
        Assert.NotEmpty(gaining); // at 60 iterations, lr 0.5 is far from a plateau
        Assert.Equal(saved.Stopped.Count(s => s is null), gaining.Length); // the others stopped at theirs
        Assert.Contains($"Reached the last checkpoint before a plateau: over the last 20 iterations the lowest loss still fell more than --plateau 4:20 allows at {string.Join(", ", gaining)}.",
            stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Ended at", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sweep_that_may_end_at_a_plateau_counts_images_of_any_earlier_iteration_as_replaced()
    {
        // A plateau can end the sweep, and save, at iteration 123; a file of that name is not replaced without --force.
        File.WriteAllText(Path.Combine(Folder, "lr5_it00123.png"), "the user's");
        File.WriteAllText(Path.Combine(Folder, "lr5_it00500.png"), "past the last checkpoint: never written");
        File.WriteAllText(Path.Combine(Folder, "lr5_it0123.png"), "not a name the sweep writes");
        SweepFolder.RequireNothingReplaced(Folder, [5, 20], [50, 400], anyIteration: false, [], force: false);
        var refused = Assert.Throws<UserInputException>(() =>
            SweepFolder.RequireNothingReplaced(Folder, [5, 20], [50, 400], anyIteration: true, [], force: false));
        Assert.Equal($"--out-dir '{Folder}' already holds lr5_it00123.png, which this sweep would replace; choose another --out-dir, or give --force to replace it.", refused.Message);
        SweepFolder.RequireNothingReplaced(Folder, [5, 20], [50, 400], anyIteration: true, [], force: true);
        Assert.Throws<UserInputException>(() => SweepFolder.RequireNothingReplaced(Folder, [5, 20], [50, 400], anyIteration: true,
            [Path.Combine(Folder, "lr5_it00123.png")], force: true)); // an input is never replaced, even with --force
    }
}
