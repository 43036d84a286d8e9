using NeuralStyle.Engine;
using NeuralStyle.Tests.Support;
using static NeuralStyle.Tests.Support.InProcessCli;

namespace NeuralStyle.Tests;

/// <summary>
/// sweep --resume --only: a sweep continues some of its rates as one batch and sets the others aside as they are,
/// each able to go on alone later or to rejoin; nothing of a rate set aside is lost. --add-lr: a rate added later
/// catches up from the start and ends as if the sweep had had it all along.
/// </summary>
public sealed class SetAsideTests : TemporaryFolderTest
{
    private static readonly string[] Common = ["--size", "40", "--weights", "random:0", "--lr", "2,5,10", "--no-estimate", "--print-every", "0"];

    [Fact]
    public void A_resumed_sweep_takes_only_the_rates_named_on_and_a_rate_set_aside_goes_on_alone_as_it_would_have()
    {
        string straight = Path.Combine(Folder, "straight"), split = Path.Combine(Folder, "split");
        Succeeds(Run(["sweep", .. Common, "--checkpoints", "3,6", "--out-dir", straight]));
        Succeeds(Run(["sweep", .. Common, "--checkpoints", "3", "--out-dir", split]));
        Checkpoint atThree = Checkpoint.Load(Path.Combine(split, "sweep.ckpt"));

        var (_, stdout, _) = Succeeds(Run(["sweep", "--resume", split, "--checkpoints", "6", "--only", "5,10", "--print-every", "0"]));

        string checkpoint = Path.Combine(split, "sweep.ckpt");
        Assert.Contains($"lr 2 set aside at iteration 3 and stays there; to take it further alone: render --resume {checkpoint} --lr 2 --iterations N --out {split}-lr2.png, N beyond 3", stdout, StringComparison.Ordinal);
        Assert.Contains("Sweeping 40×27, lr 5, 10 as one batch", stdout, StringComparison.Ordinal);
        Assert.Contains("3 learning rates to iteration 6 (from 3; lr 5, 10 went on) in ", stdout, StringComparison.Ordinal);
        Checkpoint reference = Checkpoint.Load(Path.Combine(straight, "sweep.ckpt")), continued = Checkpoint.Load(checkpoint);
        Assert.Equal(["set aside at iteration 3", null, null], continued.Stopped);
        Assert.Equal([3, 6, 6], continued.State.Steps);
        int length = continued.State.Images.Length / 3;
        Assert.Equal(atThree.State.Images[..length], continued.State.Images[..length]); // kept as it was
        Assert.Equal(reference.State.Images[length..], continued.State.Images[length..]); // on the CPU a batch's size changes no item's result
        Assert.Equal(reference.History[1].Select(r => r.Loss.Total), continued.History[1].Select(r => r.Loss.Total));
        Assert.Contains(File.ReadAllLines(Path.Combine(split, "metrics.csv")), row => row.StartsWith("2,6,set aside at iteration 3,", StringComparison.Ordinal));

        // Taken on alone from where it was set aside, lr 2 reaches the state it has in the sweep that never split.
        Succeeds(Run(["render", "--resume", checkpoint, "--lr", "2", "--iterations", "6", "--print-every", "0"]));
        Checkpoint alone = Checkpoint.Load($"{split}-lr2.ckpt");
        Assert.Equal(reference.State.Images[..length], alone.State.Images);
        Assert.Equal(reference.History[0].Select(r => r.Loss.Total), alone.History[0].Select(r => r.Loss.Total));
    }

    [Fact]
    public void Rates_set_aside_rejoin_the_batch_after_catching_up_and_end_as_in_a_sweep_that_never_split()
    {
        // lr 2 is set aside at 3 and lr 5 at 6 while lr 10 goes on to 9; then all three go on to 12 as one batch.
        string straight = Path.Combine(Folder, "straight"), split = Path.Combine(Folder, "split"), checkpoint = Path.Combine(split, "sweep.ckpt");
        Succeeds(Run(["sweep", .. Common, "--checkpoints", "3,6,9,12", "--out-dir", straight]));
        Succeeds(Run(["sweep", .. Common, "--checkpoints", "3", "--out-dir", split]));
        Succeeds(Run(["sweep", "--resume", split, "--checkpoints", "6", "--only", "5,10", "--print-every", "0"]));
        var (_, aside, _) = Succeeds(Run(["sweep", "--resume", split, "--checkpoints", "9", "--only", "10", "--print-every", "0"]));
        Assert.Contains($"lr 2 set aside at iteration 3 and stays there; to take it further alone: render --resume {checkpoint} --lr 2 --iterations N --out {split}-lr2.png, N beyond 3; or back into the batch, where it catches up first: sweep --resume {split} --checkpoints N --only 10,2", aside, StringComparison.Ordinal);
        Assert.Equal(["set aside at iteration 3", "set aside at iteration 6", null], Checkpoint.Load(checkpoint).Stopped);

        var (_, stdout, _) = Succeeds(Run(["sweep", "--resume", split, "--checkpoints", "12", "--only", "2,5,10", "--print-every", "0"]));

        Assert.Contains("lr 2 (set aside at iteration 3): catching up alone from 3 to 6, measured at checkpoint 6, then it joins the batch.", stdout, StringComparison.Ordinal);
        Assert.Contains("lr 2, 5 (set aside at iteration 6): catching up alone from 6 to 9, measured at checkpoint 9, then they join the batch.", stdout, StringComparison.Ordinal);
        Assert.Contains("lr 2, 5 join the batch at iteration 9.", stdout, StringComparison.Ordinal);
        string[] lines = stdout.Split('\n');
        Assert.Single(lines, line => line.StartsWith("Preparing the network", StringComparison.Ordinal)); // one backend for the three batches
        // Where it runs is said before the rates catch up (their way alone can be long), and again for the batch.
        int[] deviceLines = Enumerable.Range(0, lines.Length).Where(i => lines[i].StartsWith("Device: CPU", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, deviceLines.Length);
        Assert.True(deviceLines[0] < Array.FindIndex(lines, line => line.StartsWith("lr 2, 5 (set aside at iteration 6)", StringComparison.Ordinal)));
        Assert.Contains("Sweeping 40×27, lr 2, 5, 10 as one batch", stdout, StringComparison.Ordinal);
        Checkpoint reference = Checkpoint.Load(Path.Combine(straight, "sweep.ckpt")), joined = Checkpoint.Load(checkpoint);
        Assert.Equal([null, null, null], joined.Stopped);
        Assert.Equal([12, 12, 12], joined.State.Steps);
        Assert.Equal(reference.State.Images, joined.State.Images); // on the CPU a batch's size changes no item's result
        Assert.Equal(reference.State.SecondMoment, joined.State.SecondMoment);
        for (int n = 0; n < 3; n++)
        {
            Assert.Equal(reference.History[n].Select(r => (r.Iteration, r.Loss.Total)), joined.History[n].Select(r => (r.Iteration, r.Loss.Total)));
        }

        // The rows that said lr 2 and 5 were set aside are replaced by their measures there, as the straight sweep's.
        string[] Rows(string folder) => File.ReadAllLines(Path.Combine(folder, "metrics.csv")).Select(row => string.Join(',', row.Split(',')[..8].Append(row.Split(',')[^1]))).Order().ToArray();
        Assert.Equal(Rows(straight), Rows(split));
        Assert.True(File.Exists(Path.Combine(split, "lr2_it00006.png")) && File.Exists(Path.Combine(split, "lr5_it00009.png")));
    }

    [Fact]
    public void A_rate_added_to_a_sweep_catches_up_from_its_start_and_ends_as_if_the_sweep_had_had_it_all_along()
    {
        // lr 5 added to a sweep of lr 2 and 10: the reports show it between them, as the sweep of all three does.
        string straight = Path.Combine(Folder, "straight"), grown = Path.Combine(Folder, "grown"), checkpoint = Path.Combine(grown, "sweep.ckpt");
        Succeeds(Run(["sweep", .. Common, "--checkpoints", "3,6,9", "--out-dir", straight]));
        Succeeds(Run(["sweep", .. Common[..4], "--lr", "2,10", .. Common[6..], "--checkpoints", "3,6", "--out-dir", grown]));

        var (_, stdout, _) = Succeeds(Run(["sweep", "--resume", grown, "--checkpoints", "9", "--add-lr", "5", "--print-every", "0"]));

        Assert.Contains("lr 5 (added): catching up alone from 0 to 6, measured at checkpoints 3, 6, then it joins the batch.", stdout, StringComparison.Ordinal);
        Assert.Contains("Sweeping 40×27, lr 2, 5, 10 as one batch", stdout, StringComparison.Ordinal);
        Checkpoint reference = Checkpoint.Load(Path.Combine(straight, "sweep.ckpt")), joined = Checkpoint.Load(checkpoint);
        Assert.Equal([2.0, 10, 5], joined.Settings.LearningRates);
        Assert.Equal([null, null, null], joined.Stopped);
        Assert.Equal(reference.StartImage!.Planes, joined.StartImage!.Planes);
        int length = reference.State.Images.Length / 3;
        foreach (var (inReference, inJoined) in new[] { (0, 0), (1, 2), (2, 1) })
        {
            Assert.Equal(reference.State.Images.AsSpan(inReference * length, length), joined.State.Images.AsSpan(inJoined * length, length));
            Assert.Equal(reference.Best!.Images.AsSpan(inReference * length, length), joined.Best!.Images.AsSpan(inJoined * length, length));
            Assert.Equal(reference.History[inReference].Select(r => (r.Iteration, r.Loss.Total)), joined.History[inJoined].Select(r => (r.Iteration, r.Loss.Total)));
        }

        string[] Rows(string folder) => File.ReadAllLines(Path.Combine(folder, "metrics.csv")).Select(row => string.Join(',', row.Split(',')[..8].Append(row.Split(',')[^1]))).ToArray();
        Assert.Equal(Rows(straight), Rows(grown)); // in the same order too: by checkpoint, then rate
        Assert.Equal(File.ReadAllText(Path.Combine(straight, "iterations_to_quality.csv")), File.ReadAllText(Path.Combine(grown, "iterations_to_quality.csv")));
        Assert.StartsWith("  5 ", stdout.Split('\n').SkipWhile(l => !l.StartsWith("  lr ", StringComparison.Ordinal)).ElementAt(2), StringComparison.Ordinal); // the table's second rate

        // Lines that name some of the rates name them lowest first too, the rate added among the others.
        var (_, further, _) = Succeeds(Run(["sweep", "--resume", grown, "--checkpoints", "12", "--only", "10,5", "--print-every", "0"]));
        Assert.Contains("3 learning rates to iteration 12 (from 9; lr 5, 10 went on) in ", further, StringComparison.Ordinal);
        Assert.Contains($"sweep --resume {grown} --checkpoints N --only 5,10,2", further, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sweep_suggests_rates_between_its_best_and_their_neighbours_which_catch_up_to_where_it_is()
    {
        string folder = Path.Combine(Folder, "sweep"), checkpoint = Path.Combine(folder, "sweep.ckpt");
        var (_, stdout, _) = Succeeds(Run(["sweep", .. Common, "--checkpoints", "6", "--out-dir", folder]));

        // The reference: the rate of the lowest last loss, and the geometric means with its neighbours, to 3 digits.
        Checkpoint swept = Checkpoint.Load(checkpoint);
        int best = Enumerable.Range(0, 3).MinBy(n => swept.History[n][^1].Loss.Total);
        Assert.Equal(10, swept.Settings.LearningRates[best]); // the highest of 2, 5 and 10: one neighbour
        string line = stdout.Split('\n').Single(l => l.StartsWith("To look closer around lr 10,", StringComparison.Ordinal)).TrimEnd();
        Assert.EndsWith($"sweep --resume {folder} --checkpoints 6 --add-lr {Math.Sqrt(5 * 10):G3}", line, StringComparison.Ordinal);

        var (_, added, _) = Succeeds(Run([.. line[line.IndexOf("sweep --resume", StringComparison.Ordinal)..].Split(' '), "--print-every", "0"]));

        Assert.Contains("The sweep is at iteration 6, its last checkpoint: no iteration is left to run.", added, StringComparison.Ordinal);
        Assert.DoesNotContain("To look closer", added, StringComparison.Ordinal); // lr 7.07 is within 1.5 times lr 10: no closer rate is worth adding
        Checkpoint grown = Checkpoint.Load(checkpoint);
        Assert.Equal([2, 5, 10, 7.07], grown.Settings.LearningRates);
        Assert.Equal(6, grown.Iteration);
        Assert.Equal(Enumerable.Range(0, 7), grown.History[3].Select(r => r.Iteration));
        Assert.Contains(File.ReadAllLines(Path.Combine(folder, "metrics.csv")), row => row.StartsWith("7.07,6,ok,", StringComparison.Ordinal));
    }

    [Fact]
    public void A_rate_added_and_set_aside_before_its_first_iteration_keeps_its_start()
    {
        // As where a sweep is interrupted as soon as an added rate begins to catch up.
        string folder = Path.Combine(Folder, "sweep");
        Succeeds(Run(["sweep", .. Common, "--checkpoints", "2", "--out-dir", folder]));
        Checkpoint grown = Checkpoint.Load(Path.Combine(folder, "sweep.ckpt")).WithNewItems([7]);
        Checkpoint part = grown.Items([3]);
        using StyleTransferEngine engine = StyleTransferEngine.Resume(part, Model.NetworkWeights.Random(Model.NetworkArchitecture.Vgg19, 0), DeviceKind.Cpu);

        engine.SetAside(0);

        Checkpoint back = grown.WithItems(engine.CreateCheckpoint(part.Settings), [3]);
        int length = grown.StartImage!.Planes.Length;
        Assert.Equal("set aside at iteration 0", back.Stopped[3]);
        Assert.Equal(0, back.State.Steps[3]);
        Assert.Equal(grown.StartImage.Planes, back.State.Images[(3 * length)..]);
        Assert.Empty(back.History[3]);
    }

    [Theory]
    [InlineData("--only", "--only picks which rates of a resumed sweep go on")]
    [InlineData("--add-lr", "--add-lr adds rates to a resumed sweep")]
    public void A_new_sweep_refuses_the_options_of_a_resumed_one(string option, string expected)
    {
        string folder = Path.Combine(Folder, "sweep");
        var (code, _, stderr) = Run(["sweep", .. Common, "--checkpoints", "2", "--out-dir", folder, option, "5"]);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public void Add_lr_is_refused_for_a_sweep_saved_without_its_starting_image()
    {
        string folder = Path.Combine(Folder, "sweep"), checkpoint = Path.Combine(folder, "sweep.ckpt");
        Succeeds(Run(["sweep", .. Common, "--checkpoints", "2", "--out-dir", folder]));
        (Checkpoint.Load(checkpoint) with { StartImage = null }).Save(checkpoint); // as sweeps saved before they kept it
        var (code, _, stderr) = Run(["sweep", "--resume", folder, "--checkpoints", "4", "--add-lr", "7"]);
        Assert.Equal(2, code);
        Assert.Contains("was saved before sweeps kept the image their rates start from, so it cannot take new rates; start a new sweep with them (sweep --lr 2,5,10,7).", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_refuses_a_rate_that_diverged()
    {
        string folder = Path.Combine(Folder, "sweep");
        Succeeds(Run(["sweep", .. Common[..4], "--lr", "5,1e30", "--no-estimate", "--print-every", "0", "--checkpoints", "2", "--out-dir", folder]));
        byte[] before = File.ReadAllBytes(Path.Combine(folder, "sweep.ckpt"));

        var (code, _, stderr) = Run(["sweep", "--resume", folder, "--checkpoints", "4", "--only", "5,1e30"]);

        Assert.Equal(2, code);
        Assert.EndsWith("lr 1E+30 diverged at iteration 1, so it cannot go on; leave it out of --only.", stderr.TrimEnd(), StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(folder, "sweep.ckpt")));
    }

    [Fact]
    public void A_sweep_names_the_rates_within_ten_percent_of_its_lowest_loss_and_how_to_take_only_them_further()
    {
        string folder = Path.Combine(Folder, "sweep");
        var (_, stdout, _) = Succeeds(Run(["sweep", .. Common[..4], "--lr", "0.01,8,9", "--no-estimate", "--print-every", "0", "--checkpoints", "30", "--out-dir", folder]));

        // The reference: each rate's lowest loss against 1.1 times the sweep's.
        Checkpoint swept = Checkpoint.Load(Path.Combine(folder, "sweep.ckpt"));
        double lowest = swept.History.SelectMany(h => h).Min(r => r.Loss.Total);
        Assert.Equal([false, true, true], swept.History.Select(h => h.Min(r => r.Loss.Total) <= 1.1 * lowest));
        string line = stdout.Split('\n').Single(l => l.StartsWith("Rates whose lowest loss came within 10% of the sweep's: lr 8, 9.", StringComparison.Ordinal)).TrimEnd();
        string command = line[line.IndexOf("sweep --resume", StringComparison.Ordinal)..];
        Assert.Equal($"sweep --resume {folder} --checkpoints 120 --only 8,9", command);

        Succeeds(Run([.. command.Split(' '), "--print-every", "0"]));
        Checkpoint further = Checkpoint.Load(Path.Combine(folder, "sweep.ckpt"));
        Assert.Equal(120, further.Iteration);
        Assert.Equal(["set aside at iteration 30", null, null], further.Stopped);
    }

    [Fact]
    public void A_resumed_batch_is_estimated_at_the_memory_of_the_rates_it_runs()
    {
        // At 128 px three images' buffers outweigh the fixed part of the estimate (at 40 px the targets' pass is the peak).
        string folder = Path.Combine(Folder, "sweep");
        Succeeds(Run(["sweep", .. Common[2..], "--size", "128", "--checkpoints", "1", "--out-dir", folder]));
        Checkpoint saved = Checkpoint.Load(Path.Combine(folder, "sweep.ckpt"));
        Model.NetworkWeights weights = Model.NetworkWeights.Random(Model.NetworkArchitecture.Vgg19, 0);
        double? Estimate(Checkpoint checkpoint)
        {
            using StyleTransferEngine engine = StyleTransferEngine.Resume(checkpoint, weights, DeviceKind.Cpu);
            return engine.EstimatedPeakBytes;
        }

        double? one = Estimate(saved.SetAsideAllBut([1]));
        Assert.Equal(Estimate(saved.Item(1)), one); // a batch of one, whatever the checkpoint holds besides
        Assert.True(one < Estimate(saved), $"{one} bytes for one rate of three");
    }

    [Theory]
    [InlineData("--only", "7", "holds the learning rates 2, 5, 10, not 7; give --only some of them.")]
    [InlineData("--only", "5,5", "--only lists a learning rate twice; name each once.")]
    [InlineData("--add-lr", "5", "has lr 5 already; --add-lr takes rates the sweep does not have (it has 2, 5, 10).")]
    [InlineData("--add-lr", "7,7", "--add-lr lists a learning rate twice; each item needs its own rate.")]
    [InlineData("--add-lr", "-1", "--add-lr needs one or more finite learning rates > 0, got '-1'.")]
    public void Only_takes_rates_the_sweep_has_and_add_lr_rates_it_has_not_each_once(string option, string rates, string expected)
    {
        string folder = Path.Combine(Folder, "sweep");
        Succeeds(Run(["sweep", .. Common, "--checkpoints", "2", "--out-dir", folder]));
        byte[] before = File.ReadAllBytes(Path.Combine(folder, "sweep.ckpt"));

        var (code, _, stderr) = Run(["sweep", "--resume", folder, "--checkpoints", "4", option, rates]);

        Assert.Equal(2, code);
        Assert.EndsWith(expected, stderr.TrimEnd(), StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(folder, "sweep.ckpt")));
    }

    [Fact]
    public void Only_is_refused_where_the_sweep_stopped_between_checkpoints()
    {
        // As if interrupted after iteration 2: the images' loss (row 2) not yet measured.
        string folder = Path.Combine(Folder, "sweep"), checkpoint = Path.Combine(folder, "sweep.ckpt");
        Succeeds(Run(["sweep", .. Common, "--checkpoints", "2", "--out-dir", folder]));
        Checkpoint saved = Checkpoint.Load(checkpoint);
        (saved with { History = saved.History.Select(h => (IReadOnlyList<LossRecord>)h.SkipLast(1).ToArray()).ToArray(), Best = null }).Save(checkpoint);

        var (code, _, stderr) = Run(["sweep", "--resume", folder, "--checkpoints", "4", "--only", "5"]);
        Assert.Equal(2, code);
        Assert.Contains("between checkpoints, before the loss of its last images was measured, so its items cannot be set aside there; resume it whole to its next checkpoint first.", stderr, StringComparison.Ordinal);
    }

    private static (int Code, string Stdout, string Stderr) Succeeds((int Code, string Stdout, string Stderr) run)
    {
        Assert.True(run.Code == 0, run.Stderr + run.Stdout);
        return run;
    }
}
