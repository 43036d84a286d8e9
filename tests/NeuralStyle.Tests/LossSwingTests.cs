using System.Globalization;
using NeuralStyle.Engine;
using NeuralStyle.Study;
using NeuralStyle.Tests.Support;
using static NeuralStyle.Tests.Support.InProcessCli;
using static NeuralStyle.Tests.Support.LossRows;

namespace NeuralStyle.Tests;

/// <summary>A run whose loss ended well above the lowest it reached says so: its image is not the best it passed through.</summary>
public sealed class LossSwingTests : TemporaryFolderTest
{
    [Fact]
    public void The_excess_is_the_last_finite_losss_over_the_lowest_in_percent_of_the_lowest()
    {
        var (above, lowest) = LossSwing.AboveLowest([At(0, 100), At(1, 80), At(2, 90)])!.Value;
        Assert.Equal(12.5, above, 12);
        Assert.Equal(1, lowest.Iteration);
        Assert.Equal(0.0, LossSwing.AboveLowest([At(0, 100), At(1, 80), At(2, 70)])!.Value.Percent); // settling: at its lowest
        Assert.Equal(12.5, LossSwing.AboveLowest([At(0, 100), At(1, 80), At(2, 90), At(3, double.NaN)])!.Value.Percent, 12); // the last finite row
        Assert.Null(LossSwing.AboveLowest([]));
        Assert.Null(LossSwing.AboveLowest([At(0, double.PositiveInfinity)]));
        Assert.Null(LossSwing.Noticeable([At(0, 100), At(1, 104.9)])); // below the 5% worth a word
        Assert.Equal(5.0, LossSwing.Noticeable([At(0, 100), At(1, 105)])!.Value.Percent, 12);
    }

    [Fact]
    public void A_render_that_ends_well_above_its_lowest_loss_says_so_and_one_that_settles_does_not()
    {
        string image = Path.Combine(Folder, "r.png"), checkpoint = Path.ChangeExtension(image, ".ckpt");
        var (code, stdout, stderr) = Run(["render", "--size", "32", "--weights", "random:0", "--iterations", "10", "--print-every", "0", "--out", image]);
        Assert.True(code == 0, stderr + stdout);
        Assert.DoesNotContain("above the lowest", stdout, StringComparison.Ordinal); // 10 iterations at lr 10 only fall

        // The same run, as if it had passed through an image with half the loss it ends with at iteration 3.
        Checkpoint saved = Checkpoint.Load(checkpoint);
        LossRecord[] history = saved.History[0].ToArray();
        double low = history[^1].Loss.Total / 2;
        history[3] = history[3] with { Loss = new IterationLosses(0, low, 0) };
        (saved with { History = [history] }).Save(checkpoint);

        var resumed = Run(["render", "--resume", checkpoint, "--iterations", "11", "--print-every", "0"]);
        Assert.True(resumed.Code == 0, resumed.Stderr + resumed.Stdout);
        double last = Checkpoint.Load(checkpoint).History[0][^1].Loss.Total;
        Assert.Contains(string.Create(CultureInfo.InvariantCulture,
            $"The loss ended {100 * (last - low) / low:F0}% above the lowest it reached ({low:E4} at iteration 3): at lr 10 Adam's steps make the loss swing, and a lower --lr (e.g. 5) settles. The image saved is the last, not that one."),
            resumed.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sweep_measures_how_far_each_rate_stands_above_its_lowest_and_names_one_that_swung()
    {
        string folder = Path.Combine(Folder, "sweep"), checkpoint = Path.Combine(folder, "sweep.ckpt");
        var (code, stdout, stderr) = Run(["sweep", "--size", "32", "--weights", "random:0", "--lr", "5,20", "--checkpoints", "5", "--out-dir", folder,
            "--no-estimate", "--print-every", "0"]);
        Assert.True(code == 0, stderr + stdout);

        // As if lr 20 had passed through an image with half the loss it has now, at iteration 2.
        Checkpoint saved = Checkpoint.Load(checkpoint);
        LossRecord[] swung = saved.History[1].ToArray();
        double low = swung[^1].Loss.Total / 2;
        swung[2] = swung[2] with { Loss = new IterationLosses(0, low, 0) };
        (saved with { History = [saved.History[0], swung] }).Save(checkpoint);

        var resumed = Run(["sweep", "--resume", folder, "--checkpoints", "6", "--print-every", "0"]);
        Assert.True(resumed.Code == 0, resumed.Stderr + resumed.Stdout);
        var measured = Cli.Reports.SweepReport.ReadMetrics(folder).Where(m => m.Iteration == 6).OrderBy(m => m.LearningRate).ToArray();
        LossRecord[][] histories = Checkpoint.Load(checkpoint).History.Select(h => h.ToArray()).ToArray();
        for (int n = 0; n < 2; n++)
        {
            double lowest = histories[n].Min(r => r.Loss.Total), now = histories[n][^1].Loss.Total;
            Assert.Equal(100 * (now - lowest) / lowest, measured[n].AboveLowestPercent!.Value, 9);
        }

        Assert.Equal(0.0, measured[0].AboveLowestPercent); // lr 5 only fell
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"lr 20 {measured[1].Total:E3} ({measured[1].AboveLowestPercent:F0}% above its lowest)"),
            resumed.Stdout, StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"lr 5 {measured[0].Total:E3};"), resumed.Stdout, StringComparison.Ordinal); // nothing to say
    }
}
