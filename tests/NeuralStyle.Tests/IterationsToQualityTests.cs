using System.Globalization;
using NeuralStyle.Engine;
using NeuralStyle.Study;
using NeuralStyle.Tests.Support;
using static NeuralStyle.Tests.Support.InProcessCli;
using static NeuralStyle.Tests.Support.LossRows;

namespace NeuralStyle.Tests;

/// <summary>What quality costs per learning rate: the iterations each rate took to come within given distances of the sweep's lowest loss.</summary>
public sealed class IterationsToQualityTests : TemporaryFolderTest
{
    [Fact]
    public void Each_rate_counts_the_first_iteration_at_or_below_each_level_of_the_lowest_loss_any_rate_reached()
    {
        LossRecord[] slow = [At(0, 1000), At(1, 150), At(2, 130), At(3, 119), At(4, 112)];
        LossRecord[] fast = [At(0, 1000), At(1, 160), At(2, 100), At(3, 140), At(4, 130)]; // its lowest, then it swings
        LossRecord[] diverged = [At(0, 1000), At(1, double.PositiveInfinity)];
        IterationsToQuality q = IterationsToQuality.Measure([slow, fast, diverged])!;

        Assert.Equal((100.0, 1, 2), (q.LowestLoss, q.LowestItem, q.LowestIteration));
        Assert.Equal([50.0, 20, 10, 5], q.Levels);
        Assert.Equal([150.0, 120, 110, 105], Enumerable.Range(0, 4).Select(q.AllowedLoss).Select(l => Math.Round(l, 9)));
        Assert.Equal([1, 3, null, null], q.FirstReached[0]); // 150 is exactly 50% above: it counts
        Assert.Equal([2, 2, 2, 2], q.FirstReached[1]);
        Assert.Equal([null, null, null, null], q.FirstReached[2]); // an infinite loss is below no level
        Assert.Equal([0, 1, 1, 1], q.Fastest); // the slow rate was first to within 50%
    }

    [Fact]
    public void Levels_are_ordered_loosest_first_a_tie_goes_to_the_first_rate_and_no_finite_loss_gives_nothing()
    {
        LossRecord[] a = [At(0, 300), At(1, 110), At(2, 100)], b = [At(0, 300), At(1, 110), At(2, 101)];
        IterationsToQuality q = IterationsToQuality.Measure([a, b], [1, 15])!;
        Assert.Equal([15.0, 1], q.Levels);
        Assert.Equal([1, 2], q.FirstReached[0]);
        Assert.Equal([1, 2], q.FirstReached[1]); // 101 is within 1% of 100
        Assert.Equal([0, 0], q.Fastest);

        Assert.Equal(50.0, IterationsToQuality.Measure([[At(0, double.NaN), At(1, 50)]])!.LowestLoss); // a loss that is not finite is never the lowest
        Assert.Null(IterationsToQuality.Measure([]));
        Assert.Null(IterationsToQuality.Measure([[At(0, double.NaN)], []]));
        Assert.Throws<ArgumentOutOfRangeException>(() => IterationsToQuality.Measure([a], [-1]));
    }

    [Fact]
    public void A_sweep_shows_and_writes_each_rates_iterations_to_quality_from_its_stored_history()
    {
        string folder = Path.Combine(Folder, "sweep");
        var (code, stdout, stderr) = Run(["sweep", "--size", "40", "--weights", "random:0", "--lr", "1,8,1e30", "--checkpoints", "12", "--out-dir", folder,
            "--no-estimate", "--print-every", "0"]);
        Assert.True(code == 0, stderr + stdout);

        // The reference, from the checkpoint's rows: the lowest finite loss of any rate, then per rate and level the first row at or below it.
        Checkpoint stored = Checkpoint.Load(Path.Combine(folder, "sweep.ckpt"));
        double lowest = stored.History.SelectMany(h => h).Where(r => r.Loss.IsFinite).Min(r => r.Loss.Total);
        string[] expected = new[] { 1.0, 8, 1e30 }.SelectMany((rate, n) => new[] { 50.0, 20, 10, 5 }.Select(level =>
        {
            double allowed = lowest * (1 + (level / 100));
            int? first = stored.History[n].Where(r => r.Loss.IsFinite && r.Loss.Total <= allowed).Select(r => (int?)r.Iteration).FirstOrDefault();
            return string.Create(CultureInfo.InvariantCulture, $"{rate:R},{level:R},{allowed:R},{first}");
        })).ToArray();
        Assert.Equal(["lr,within_pct,loss_at_most,first_iteration", .. expected], File.ReadAllLines(Path.Combine(folder, "iterations_to_quality.csv")));

        string[] lines = stdout.Split('\n').Select(l => l.TrimEnd()).ToArray();
        int heading = Array.FindIndex(lines, l => l.StartsWith("Iterations each rate took to come within 50%, 20%, 10% and 5% of the sweep's lowest loss, ", StringComparison.Ordinal));
        Assert.True(heading >= 0, stdout);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{lowest:E3} (lr 8 at iteration "), lines[heading], StringComparison.Ordinal);
        Assert.Equal("  lr          +50%    +20%    +10%     +5%", lines[heading + 1]);
        Assert.Matches(@"^  1E\+30 +– +– +– +–  \(diverged at iteration \d+\)$", lines[heading + 4]); // why its dashes
        Assert.Equal("  fastest     lr 8    lr 8    lr 8    lr 8", lines[heading + 5]); // 12 iterations at lr 1 reach no level
        Assert.DoesNotContain("As a render of its own", stdout, StringComparison.Ordinal); // with --no-estimate no render was timed to say it in seconds

        string html = File.ReadAllText(Path.Combine(folder, "index.html"));
        Assert.Contains("<h2>Compute to quality</h2>", html, StringComparison.Ordinal);
        Assert.Contains("<tr><td>1E+30</td><td>–</td><td>–</td><td>–</td><td>–</td><td>diverged at iteration", html, StringComparison.Ordinal);
    }
}
