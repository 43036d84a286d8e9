using System.Globalization;
using NeuralStyle.Cli.Commands;
using NeuralStyle.Engine;
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
        Imaging.ImageFiles.Save(new Imaging.RgbImage(saved.Settings.Width, saved.Settings.Height, saved.State.Images), again);
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
    public void A_sweep_ends_once_every_rate_has_plateaued_and_resumes_past_it()
    {
        string folder = Path.Combine(Folder, "sweep");
        string[] common = ["--size", "32", "--weights", "random:0", "--lr", "5,20", "--no-estimate", "--print-every", "0"];
        var (code, stdout, stderr) = Run(["sweep", "--checkpoints", "50,400", "--plateau", "4:20", "--out-dir", folder, .. common]);
        Assert.True(code == 0, stderr + stdout);

        // It ended at the first iteration where both rates' windows gained less than 4%: before it, one still gained more.
        Checkpoint saved = Checkpoint.Load(Path.Combine(folder, "sweep.ckpt"));
        int ended = saved.Iteration;
        Assert.InRange(ended, 51, 399);
        var rule = new PlateauRule(4, 20);
        LossRecord[][] histories = saved.History.Select(h => h.ToArray()).ToArray();
        Assert.All(histories, h => Assert.Equal(ended, h[^1].Iteration)); // the loss of the images saved, evaluated
        Assert.All(histories, h => Assert.True(rule.IsReached(h.Where(r => r.Iteration < ended).ToArray())));
        for (int k = 20; k < ended - 1; k++)
        {
            Assert.False(histories.All(h => rule.IsReached(h.Where(r => r.Iteration <= k).ToArray())), $"both windows ending at {k} had plateaued already");
        }

        // The gains it names are those it ended on, over the window before the image it then evaluated.
        string gains = string.Join(", ", new[] { 5, 20 }.Zip(histories, (rate, h) =>
            string.Create(CultureInfo.InvariantCulture, $"lr {rate} {rule.Gain(h.Where(r => r.Iteration < ended).ToArray()):G3}%")));
        Assert.Contains($"Ended at iteration {ended} of 400: every running rate's lowest loss fell less than 4% over iterations {ended - 21}–{ended - 1} ({gains}), as --plateau 4:20 asks.",
            stdout, StringComparison.Ordinal);
        Assert.Contains($"sweep --resume {folder} --checkpoints 400", stdout, StringComparison.Ordinal);
        Assert.Contains($"Ended at iteration {ended} of 400: every running rate", File.ReadAllText(Path.Combine(folder, "index.html")), StringComparison.Ordinal); // the report says why
        var measured = Cli.Reports.SweepReport.ReadMetrics(folder);
        Assert.Equal([50, 50, ended, ended], measured.Select(m => m.Iteration).Order());
        Assert.All(measured, m => Assert.True(File.Exists(Path.Combine(folder, m.Image)), m.Image));

        // Resumed without it, it goes on to the last checkpoint.
        var resumed = Run(["sweep", "--resume", folder, "--checkpoints", "400", "--print-every", "0"]);
        Assert.True(resumed.Code == 0, resumed.Stderr + resumed.Stdout);
        Assert.Equal(400, Checkpoint.Load(Path.Combine(folder, "sweep.ckpt")).Iteration);
        Assert.Contains($"2 learning rates to iteration 400 (from {ended}) in ", resumed.Stdout, StringComparison.Ordinal); // its seconds are this run's
    }

    [Fact]
    public void A_sweep_that_reaches_its_last_checkpoint_names_the_rates_that_kept_it_running()
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
        Assert.Contains($"No plateau before the last checkpoint: over the last 20 iterations the lowest loss still fell more than --plateau 4:20 allows at {string.Join(", ", gaining)}, which kept the batch running.",
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
