using System.Globalization;
using System.Text.RegularExpressions;
using NeuralStyle.Cli;
using NeuralStyle.Cli.Reports;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static NeuralStyle.Tests.Support.LossRows;

namespace NeuralStyle.Tests;

/// <summary>The learning-rate study: batched sweeps, exact resume, divergence per item, and the report files.</summary>
public sealed partial class SweepTests : TemporaryFolderTest
{
    [Fact]
    public void A_sweep_gives_the_images_of_separate_renders()
    {
        string sweep = Path.Combine(Folder, "sweep");
        Cli("sweep", "--size", "48", "--lr", "2,8", "--checkpoints", "4", "--out-dir", sweep, "--weights", "random", "--no-estimate");
        foreach (string lr in new[] { "2", "8" })
        {
            string single = Path.Combine(Folder, $"single{lr}.png");
            Cli("render", "--size", "48", "--lr", lr, "--iterations", "4", "--out", single, "--weights", "random");
            // Both are 8-bit PNGs of float images equal within float rounding: at most one level apart.
            AssertImagesClose(ImageFiles.Load(single, null), ImageFiles.Load(Path.Combine(sweep, $"lr{lr}_it00004.png"), null), 1f);
        }
    }

    [Fact]
    public void A_sweep_in_the_contents_colours_saves_measures_resumes_and_hands_on_in_them()
    {
        string sweep = Path.Combine(Folder, "kept");
        Cli("sweep", "--size", "40", "--lr", "5,20", "--checkpoints", "10", "--out-dir", sweep, "--weights", "random", "--no-estimate", "--original-colors");
        Cli("sweep", "--resume", sweep, "--checkpoints", "10,20");
        string alone = Path.Combine(Folder, "alone.png");
        Cli("render", "--resume", Path.Combine(sweep, "sweep.ckpt"), "--lr", "20", "--iterations", "25", "--out", alone);

        RgbImage content = ImageFiles.Load(Path.Combine(Repository.Examples, "content-cat-chelsea.png"), 40);
        var metrics = SweepReport.ReadMetrics(sweep);
        Assert.Equal(4, metrics.Count);
        foreach (Study.CheckpointMetrics m in metrics)
        {
            RgbImage saved = ImageFiles.Load(Path.Combine(sweep, m.Image), null);
            Assert.InRange(ColourMeasures.MeanDifference(saved, content, ColourMeasures.Chroma), 0, ColourMeasures.Tolerance);
            Assert.Equal(ImageMetrics.MeanLuminance(saved), m.MeanLuminance, 1e-9); // measured on the image saved, not the one optimized
        }

        Assert.InRange(ColourMeasures.MeanDifference(ImageFiles.Load(alone, null), content, ColourMeasures.Chroma), 0, ColourMeasures.Tolerance);

        // The same sweep without them is far from the content's colours by then: the checks above can tell.
        string plain = Path.Combine(Folder, "plain");
        Cli("sweep", "--size", "40", "--lr", "20", "--checkpoints", "20", "--out-dir", plain, "--weights", "random", "--no-estimate");
        Assert.True(ColourMeasures.MeanDifference(ImageFiles.Load(Path.Combine(plain, "lr20_it00020.png"), null), content, ColourMeasures.Chroma) > 10 * ColourMeasures.Tolerance);
    }

    [Fact]
    public void A_sweep_times_one_separate_render_and_states_what_the_separate_renders_would_cost()
    {
        string sweep = Path.Combine(Folder, "estimated");
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);
        Assert.Equal(0, Program.Run(["sweep", "--size", "32", "--lr", "1,3,9", "--checkpoints", "2,40", "--out-dir", sweep, "--weights", "random"], output, error, interactive: false));

        string text = output.ToString();
        Match measured = Regex.Match(text, @"One separate render: (\d+\.\d) s setup \+ (\d+\.\d{3}) s per iteration \(measured\)\.");
        Match summary = Regex.Match(text, @"3 learning rates to iteration 40 in (\d+\.\d) s; 3 separate renders would take about (\d+\.\d) s \((\d+\.\d\d)× the sweep\)\.");
        Assert.True(measured.Success && summary.Success, text + error);
        double Number(Match m, int group) => double.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);
        // 3 × (setup + 40 iterations), from the printed (rounded) figures: setup to 0.05 s, an iteration to 0.0005 s.
        Assert.Equal(3 * (Number(measured, 1) + (40 * Number(measured, 2))), Number(summary, 2), (3 * (0.05 + (40 * 0.0005))) + 0.05);
        Assert.Equal(Number(summary, 2) / Number(summary, 1), Number(summary, 3), 0.1 + (Number(summary, 3) * 0.1));
        Assert.Contains(System.Net.WebUtility.HtmlEncode(summary.Value), File.ReadAllText(Path.Combine(sweep, "index.html")), StringComparison.Ordinal);

        // The tightest quality level in seconds, as a render of its own at the rate that got there first: that render's setup and iterations.
        Match alone = Regex.Match(text, @"As a render of its own, lr (\d+) would come within 5% in about (\d+\.\d) s here \((\d+\.\d) s setup \+ (\d+) iterations × (\d+\.\d{3}) s, timed before the sweep\)\.");
        Assert.True(alone.Success, text);
        string[] fifth = File.ReadAllLines(Path.Combine(sweep, "iterations_to_quality.csv")).Where(l => l.Split(',')[1] == "5" && l.Split(',')[3].Length > 0)
            .MinBy(l => int.Parse(l.Split(',')[3], CultureInfo.InvariantCulture))!.Split(',');
        Assert.Equal((fifth[0], fifth[3]), (alone.Groups[1].Value, alone.Groups[4].Value));
        Assert.Equal((Number(measured, 1), Number(measured, 2)), (Number(alone, 3), Number(alone, 5)));
        Assert.Equal(Number(alone, 3) + (Number(alone, 4) * Number(alone, 5)), Number(alone, 2), 0.05 + (Number(alone, 4) * 0.0005) + 0.05);
        Assert.Contains(System.Net.WebUtility.HtmlEncode(alone.Value), File.ReadAllText(Path.Combine(sweep, "index.html")), StringComparison.Ordinal); // the page says so too

        // The sweep takes over the timed render's network: built once, and the sweep ends as one without the timing.
        Assert.Single(text.Split('\n'), line => line.StartsWith("Preparing the network", StringComparison.Ordinal));
        string untimed = Path.Combine(Folder, "untimed");
        Assert.Equal(0, Program.Run(["sweep", "--size", "32", "--lr", "1,3,9", "--checkpoints", "2,40", "--out-dir", untimed, "--weights", "random", "--no-estimate"], output, error, interactive: false));
        Checkpoint expected = Checkpoint.Load(Path.Combine(untimed, "sweep.ckpt")), actual = Checkpoint.Load(Path.Combine(sweep, "sweep.ckpt"));
        Assert.Equal(expected.State.Images, actual.State.Images);
        Assert.Equal(expected.Best!.Images, actual.Best!.Images);
        Assert.Equal(expected.StartImage!.Planes, actual.StartImage!.Planes);
        Assert.Equal(expected.History.Select(h => h.Select(r => r.Loss.Total)), actual.History.Select(h => h.Select(r => r.Loss.Total)));
    }

    /// <summary>
    /// The separate render the sweep is compared with is timed before the sweep allocates, so a sweep that cannot fit
    /// must be refused before that timing, not after it. 1100 MB holds one 256 px render (estimated 0.89 GB), not
    /// seven (1.34 GB). Nor is its --out-dir made for it.
    /// </summary>
    [Fact]
    public void A_sweep_that_cannot_fit_is_refused_before_the_separate_render_is_timed()
    {
        string folder = Path.Combine(Folder, "sweep");
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);
        int code = Program.Run(["sweep", "--size", "256", "--lr", "1,2,3,4,5,6,7", "--checkpoints", "1", "--weights", "random:0", "--device", "cpu",
            "--max-memory-mb", "1100", "--out-dir", folder], output, error, interactive: false);

        Assert.Equal(2, code);
        Assert.Contains("(7 × 256×170), more than the 1100 MB that --max-memory-mb allows", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Timing one separate render", output.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(folder), "a refused sweep left its --out-dir behind");
    }

    [Fact]
    public void A_resumed_sweep_is_bit_identical_to_an_uninterrupted_one()
    {
        string straight = Path.Combine(Folder, "straight"), split = Path.Combine(Folder, "split");
        string[] common = ["--size", "40", "--lr", "3,30", "--weights", "random", "--no-estimate"];
        Cli(["sweep", .. common, "--checkpoints", "3,6", "--out-dir", straight]);
        Cli(["sweep", .. common, "--checkpoints", "3", "--out-dir", split]);
        Cli("sweep", "--resume", split, "--checkpoints", "6");

        Checkpoint a = Checkpoint.Load(Path.Combine(straight, "sweep.ckpt")), b = Checkpoint.Load(Path.Combine(split, "sweep.ckpt"));
        Assert.Equal(6, b.Iteration);
        Assert.Equal(a.State.Images, b.State.Images);
        Assert.Equal(a.State.FirstMoment, b.State.FirstMoment);
        Assert.Equal(a.State.SecondMoment, b.State.SecondMoment);
        Assert.Equal(a.State.Steps, b.State.Steps);
        Assert.Equal(a.History[1].Select(r => r.Loss), b.History[1].Select(r => r.Loss));
        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "lr30_it00006.png")), File.ReadAllBytes(Path.Combine(split, "lr30_it00006.png")));
        // The resumed report still holds the first checkpoint's rows.
        Assert.Equal(4, SweepReport.ReadMetrics(split).Count);
    }

    /// <summary>
    /// The study's second step: one good rate of a sweep taken further alone, at the cost of one image per iteration
    /// instead of the whole batch. It goes on as that rate would have, within float rounding (a batch's convolutions
    /// may round differently), and leaves the sweep as it was.
    /// </summary>
    [Fact]
    public void One_rate_of_a_sweep_continues_alone_in_a_render()
    {
        string sweep = Path.Combine(Folder, "sweep"), sweepCheckpoint = Path.Combine(sweep, "sweep.ckpt");
        Cli("sweep", "--size", "40", "--lr", "1,4", "--checkpoints", "3", "--out-dir", sweep, "--weights", "random", "--no-estimate");
        byte[] before = File.ReadAllBytes(sweepCheckpoint);
        string continued = Path.Combine(Folder, "lr4.png"), straight = Path.Combine(Folder, "straight.png");

        Cli("render", "--resume", sweepCheckpoint, "--lr", "4", "--iterations", "6", "--out", continued);
        Cli("render", "--size", "40", "--lr", "4", "--iterations", "6", "--out", straight, "--weights", "random");

        AssertImagesClose(ImageFiles.Load(straight, null), ImageFiles.Load(continued, null), 1f);
        Checkpoint alone = Checkpoint.Load(Path.ChangeExtension(continued, ".ckpt")), batch = Checkpoint.Load(sweepCheckpoint);
        Assert.Equal([4.0], alone.Settings.LearningRates);
        Assert.Equal(6, alone.Iteration);
        Assert.Equal(batch.History[1].Select(r => r.Loss), alone.History[0].Take(batch.History[1].Count).Select(r => r.Loss));
        Assert.Equal(before, File.ReadAllBytes(sweepCheckpoint));
    }

    [Theory]
    [InlineData(null, "holds a sweep of 2 learning rates (1, 4); continue one of them alone with --lr (e.g. --lr 4), or all of them with 'sweep --resume SWEEP'.")]
    [InlineData("3", "holds the learning rates 1, 4, not 3; give --lr one of them.")]
    public void A_render_resuming_a_sweep_needs_one_of_its_rates(string? rate, string expected)
    {
        string sweep = Path.Combine(Folder, "sweep");
        Cli("sweep", "--size", "40", "--lr", "1,4", "--checkpoints", "1", "--out-dir", sweep, "--weights", "random", "--no-estimate");
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);
        string[] lr = rate is null ? [] : ["--lr", rate];
        int code = Program.Run(["render", "--resume", Path.Combine(sweep, "sweep.ckpt"), "--iterations", "2", .. lr], output, error, interactive: false);

        Assert.Equal(2, code);
        Assert.EndsWith(expected.Replace("SWEEP", sweep, StringComparison.Ordinal), error.ToString().TrimEnd(), StringComparison.Ordinal);
        Assert.Equal([sweep], Directory.GetFileSystemEntries(Folder)); // nothing written beside the sweep
    }

    [Fact]
    public void A_sweep_saved_through_the_embedding_api_goes_on_a_rate_at_a_time_on_the_command_line()
    {
        string saved = Path.Combine(Folder, "api-sweep.ckpt");
        using (var transfer = new StyleTransfer(new StyleTransferOptions { LearningRates = [1, 4], Size = 32, Weights = "random", Device = DeviceKind.Cpu }))
        {
            transfer.SetContent(RgbImage.Noise(40, 30, 1));
            transfer.AddStyle(RgbImage.Noise(30, 30, 2));
            transfer.Run(2);
            transfer.SaveCheckpoint(saved);
        }

        // Not a sweep's folder: each command says what does take it.
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);
        Assert.Equal(2, Program.Run(["render", "--resume", saved, "--iterations", "3"], output, error, interactive: false));
        Assert.EndsWith($"'{saved}' holds a sweep of 2 learning rates (1, 4); continue one of them alone with --lr (e.g. --lr 4), or all of them with 'sweep --resume FOLDER' once it is FOLDER/sweep.ckpt.",
            error.ToString().TrimEnd(), StringComparison.Ordinal);
        error.GetStringBuilder().Clear();
        Assert.Equal(2, Program.Run(["sweep", "--resume", saved, "--checkpoints", "3"], output, error, interactive: false));
        Assert.EndsWith($"'{saved}' is a file: --resume takes the folder of an earlier sweep, which holds its sweep.ckpt. Put the file in a folder of its own under that name (cp {saved} FOLDER/sweep.ckpt) and resume the folder, or take its rates on one at a time: render --resume {saved} --lr RATE.",
            error.ToString().TrimEnd(), StringComparison.Ordinal);

        // One rate goes on as that message says, and all of them as a sweep of the command line's, with its reports.
        string png = Path.Combine(Folder, "lr4.png");
        Assert.Equal(0, Program.Run(["render", "--resume", saved, "--lr", "4", "--iterations", "3", "--out", png], output, error, interactive: false));
        Assert.Equal(3, Checkpoint.Load(Path.ChangeExtension(png, ".ckpt")).Iteration);
        string study = Path.Combine(Folder, "study");
        Directory.CreateDirectory(study);
        File.Copy(saved, Path.Combine(study, "sweep.ckpt"));
        Assert.Equal(0, Program.Run(["sweep", "--resume", study, "--checkpoints", "3"], output, error, interactive: false));
        Assert.Equal([1.0, 4.0], SweepReport.ReadMetrics(study).Where(m => m.Iteration == 3).Select(m => m.LearningRate).Order());
        Assert.True(File.Exists(Path.Combine(study, "lr4_it00003.png")), output.ToString());
    }

    [Fact]
    public void A_sweep_ends_with_the_command_that_takes_its_lowest_loss_further()
    {
        string sweep = Path.Combine(Folder, "sweep");
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);
        Assert.Equal(0, Program.Run(["sweep", "--size", "40", "--lr", "0.01,4,1e30", "--checkpoints", "3", "--out-dir", sweep, "--weights", "random", "--no-estimate"], output, error, interactive: false));

        Checkpoint ended = Checkpoint.Load(Path.Combine(sweep, "sweep.ckpt"));
        Assert.True(ended.History[1][^1].Loss.Total < ended.History[0][^1].Loss.Total, "lr 4 should have the lower loss"); // lr 1e30 diverged
        string hint = output.ToString().Split('\n').Single(l => l.StartsWith("Lowest loss now:", StringComparison.Ordinal)).TrimEnd();
        string command = hint[(hint.IndexOf("render ", StringComparison.Ordinal))..];
        Assert.Equal($"render --resume {Path.Combine(sweep, "sweep.ckpt")} --lr 4 --iterations 12 --plateau 1 --out {sweep}-lr4.png", command);

        Cli(command.Split(' '));
        Assert.Equal(12, Checkpoint.Load($"{sweep}-lr4.ckpt").Iteration); // 12 iterations reach back no window: no plateau yet
    }

    [Fact]
    public void A_rate_that_has_plateaued_is_called_so_rather_than_continued_to_a_plateau()
    {
        Assert.Equal("Lowest loss now: lr 5, which has plateaued (its lowest loss fell 0.84% in the last 100 iterations), so more iterations will change it little. To take it further alone all the same: render X --out Y",
            NeuralStyle.Cli.Commands.SweepCommand.NextStepAdvice(5, 0.84, "render X", "Y"));
        Assert.Equal("Lowest loss now: lr 5. To take it further alone, until its lowest loss falls less than 1% per 100 iterations: render X --plateau 1 --out Y",
            NeuralStyle.Cli.Commands.SweepCommand.NextStepAdvice(5, 1.5, "render X", "Y"));
        Assert.EndsWith("render X --plateau 1 --out Y", NeuralStyle.Cli.Commands.SweepCommand.NextStepAdvice(5, null, "render X", "Y"), StringComparison.Ordinal); // before 100 iterations
    }

    [Fact]
    public void A_new_sweep_replaces_an_earlier_one_only_with_force_and_then_leaves_one_sweep()
    {
        string sweep = Path.Combine(Folder, "sweep"), sweepCheckpoint = Path.Combine(sweep, "sweep.ckpt");
        string[] common = ["--size", "32", "--out-dir", sweep, "--weights", "random", "--no-estimate"];
        Cli(["sweep", "--lr", "1,4", "--checkpoints", "2", .. common]);
        byte[] before = File.ReadAllBytes(sweepCheckpoint);
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);

        int code = Program.Run(["sweep", "--lr", "3", "--checkpoints", "1", .. common], output, error, interactive: false);

        Assert.Equal(2, code);
        Assert.Contains($"continue it with 'sweep --resume {sweep} --checkpoints N'", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(sweepCheckpoint));

        Cli(["sweep", "--lr", "3", "--checkpoints", "1", "--force", .. common]);
        Assert.Equal([3.0], Checkpoint.Load(sweepCheckpoint).Settings.LearningRates);
        string[] images = Directory.GetFiles(sweep, "lr*.png").Select(Path.GetFileName).ToArray()!;
        Assert.Equal(["lr3_it00001.png"], images); // the earlier sweep's images went with it

        // An earlier sweep whose report is damaged names no images to remove: --force still replaces it.
        File.WriteAllText(Path.Combine(sweep, "metrics.json"), "[{\"lr\": ");
        Cli(["sweep", "--lr", "5", "--checkpoints", "1", "--force", .. common]);
        Assert.Equal([5.0], Checkpoint.Load(sweepCheckpoint).Settings.LearningRates);
        Assert.Contains("lr5_it00001.png", File.ReadAllText(Path.Combine(sweep, "metrics.json")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("index.html", null)] // a page of the user's own, in --out-dir .
    [InlineData("iterations_to_quality.csv", null)]
    [InlineData("contact_sheet.png", "--content")] // an input is kept even with --force
    public void A_new_sweep_never_writes_over_a_file_it_did_not_make(string name, string? usedAs)
    {
        string sweep = Path.Combine(Folder, "sweep"), file = Path.Combine(sweep, name);
        Directory.CreateDirectory(sweep);
        File.Copy(Path.Combine(Support.Repository.Root, "examples", "content-cat-chelsea.png"), file);
        byte[] before = File.ReadAllBytes(file);
        string[] input = usedAs is null ? [] : [usedAs, file, "--force"];
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);

        int code = Program.Run(["sweep", "--size", "32", "--lr", "3", "--checkpoints", "1", "--out-dir", sweep, "--weights", "random", "--no-estimate", .. input], output, error, interactive: false);

        Assert.Equal(2, code);
        Assert.Contains(usedAs is null ? "give --force to replace it" : "one of its inputs", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(file));
        Assert.Single(Directory.GetFiles(sweep));
    }

    [Fact]
    public void A_resumed_sweep_whose_earlier_images_are_gone_replaced_or_damaged_goes_on_without_their_ssim()
    {
        // The checkpoint holds the state; the images only serve the next SSIM and the contact sheet, so losing one must
        // not stop the sweep, before its work or after.
        string sweep = Path.Combine(Folder, "sweep"), sheet = Path.Combine(sweep, "contact_sheet.png");
        Cli("sweep", "--size", "32", "--lr", "1,4,8", "--checkpoints", "2", "--out-dir", sweep, "--weights", "random", "--no-estimate");
        File.Delete(Path.Combine(sweep, "lr1_it00002.png"));
        File.Copy(Path.Combine(Support.Repository.Root, "examples", "content-cat-chelsea.png"), Path.Combine(sweep, "lr4_it00002.png"), overwrite: true);
        File.WriteAllText(Path.Combine(sweep, "lr8_it00002.png"), "not a picture any more");
        byte[] sheetBefore = File.ReadAllBytes(sheet);
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);

        int code = Program.Run(["sweep", "--resume", sweep, "--checkpoints", "3"], output, error, interactive: false);

        Assert.True(code == 0, $"exit {code}: {error}{output}");
        Assert.Contains("lr 1's next SSIM has no image to compare with", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("is 451×300, not the sweep's 32×21: lr 4's next SSIM", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("lr8_it00002.png' is not an image this program can read", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("lr 8's next SSIM has no image to compare with", output.ToString(), StringComparison.Ordinal);
        string[] rows = File.ReadAllLines(Path.Combine(sweep, "metrics.csv"));
        Assert.All(rows.Where(r => r.Contains(",3,ok,", StringComparison.Ordinal)), r => Assert.Equal("", r.Split(',')[8]));
        Assert.Equal(3, rows.Count(r => r.Contains(",3,ok,", StringComparison.Ordinal)));
        Assert.NotEqual(sheetBefore, File.ReadAllBytes(sheet)); // drawn again, with the new checkpoint's column
    }

    [Fact]
    public void A_sweep_of_one_rate_continued_by_render_goes_beside_its_folder_too()
    {
        string sweep = Path.Combine(Folder, "sweep"), sweepCheckpoint = Path.Combine(sweep, "sweep.ckpt");
        Cli("sweep", "--size", "32", "--lr", "5", "--checkpoints", "1", "--out-dir", sweep, "--weights", "random", "--no-estimate");
        byte[] before = File.ReadAllBytes(sweepCheckpoint);

        Cli("render", "--resume", sweepCheckpoint, "--iterations", "2"); // no --lr: a render refuses it for one rate

        Assert.Equal(2, Checkpoint.Load($"{sweep}-lr5.ckpt").Iteration);
        Assert.Equal(before, File.ReadAllBytes(sweepCheckpoint));
    }

    [Fact]
    public void A_resumed_sweep_measures_no_checkpoint_twice()
    {
        // --checkpoints 1,2,4 at iteration 2: 1 and 2 were measured before (2 used to be measured again, its rows twice).
        string sweep = Path.Combine(Folder, "sweep");
        Cli("sweep", "--size", "32", "--lr", "1,4", "--checkpoints", "2", "--out-dir", sweep, "--weights", "random", "--no-estimate");
        Cli("sweep", "--resume", sweep, "--checkpoints", "1,2,4");

        string[] iterations = File.ReadAllLines(Path.Combine(sweep, "metrics.csv")).Skip(1).Select(r => r.Split(',')[1]).ToArray();
        Assert.Equal(["2", "2", "4", "4"], iterations);
    }

    [Theory]
    [InlineData(@"^(?s).*$", @"[{""lr"": ", "open JSON object or array")] // cut short
    [InlineData(@"^(?s).*$", "[null]", "a row lacks its status or its image")]
    [InlineData(@",\s*""Image"": ""[^""]*""", "", "a row lacks its status or its image")] // from one row
    public void A_damaged_metrics_file_is_named_with_what_to_do_and_the_sweep_is_kept(string pattern, string replacement, string why)
    {
        string sweep = Path.Combine(Folder, "sweep"), sweepCheckpoint = Path.Combine(sweep, "sweep.ckpt"), metrics = Path.Combine(sweep, "metrics.json");
        Cli("sweep", "--size", "32", "--lr", "1,4", "--checkpoints", "1", "--out-dir", sweep, "--weights", "random", "--no-estimate");
        File.WriteAllText(metrics, new System.Text.RegularExpressions.Regex(pattern).Replace(File.ReadAllText(metrics), replacement, 1));
        byte[] before = File.ReadAllBytes(sweepCheckpoint);
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);

        int code = Program.Run(["sweep", "--resume", sweep, "--checkpoints", "2"], output, error, interactive: false);

        Assert.Equal(2, code);
        Assert.Contains("metrics.json' is damaged", error.ToString(), StringComparison.Ordinal);
        Assert.Contains(why, error.ToString(), StringComparison.Ordinal);
        Assert.Contains("move metrics.json away", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(sweepCheckpoint));
    }

    [Theory]
    [InlineData("--out", "sweep/sweep.png")] // its checkpoint would be sweep/sweep.ckpt
    [InlineData("--checkpoint", "sweep/sweep.ckpt")]
    [InlineData("--loss-log", "sweep/sweep.ckpt")]
    public void A_rate_continued_alone_never_writes_over_the_sweeps_checkpoint(string option, string file)
    {
        // That checkpoint keeps every rate of the sweep; one rate's state written over it would lose the others.
        string sweep = Path.Combine(Folder, "sweep"), sweepCheckpoint = Path.Combine(sweep, "sweep.ckpt");
        Cli("sweep", "--size", "40", "--lr", "1,4", "--checkpoints", "1", "--out-dir", sweep, "--weights", "random", "--no-estimate");
        byte[] before = File.ReadAllBytes(sweepCheckpoint);
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);

        int code = Program.Run(["render", "--resume", sweepCheckpoint, "--lr", "4", "--iterations", "2", option, Path.Combine(Folder, file)], output, error, interactive: false);

        Assert.Equal(2, code);
        Assert.Contains("keeps all of its rates", error.ToString(), StringComparison.Ordinal);
        Assert.Contains($"--out {sweep}-lr4.png", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(sweepCheckpoint));
    }

    [Fact]
    public void Without_out_a_rate_continued_alone_goes_beside_the_sweeps_folder()
    {
        string sweep = Path.Combine(Folder, "sweep"), sweepCheckpoint = Path.Combine(sweep, "sweep.ckpt");
        Cli("sweep", "--size", "40", "--lr", "1,4", "--checkpoints", "1", "--out-dir", sweep, "--weights", "random", "--no-estimate");
        byte[] before = File.ReadAllBytes(sweepCheckpoint);

        Cli("render", "--resume", sweepCheckpoint, "--lr", "4", "--iterations", "2");

        Assert.True(File.Exists($"{sweep}-lr4.png"));
        Assert.Equal([4.0], Checkpoint.Load($"{sweep}-lr4.ckpt").Settings.LearningRates);
        Assert.Equal(before, File.ReadAllBytes(sweepCheckpoint));

        // A sweep checkpoint kept under another name, out of its folder: beside it, named after it.
        string kept = Path.Combine(Folder, "study.ckpt");
        File.Copy(sweepCheckpoint, kept);
        Cli("render", "--resume", kept, "--lr", "1", "--iterations", "2");
        Assert.Equal([1.0], Checkpoint.Load(Path.Combine(Folder, "study-lr1.ckpt")).Settings.LearningRates);
        Assert.True(File.Exists(Path.Combine(Folder, "study-lr1.png")));
    }

    [Fact]
    public void A_render_resuming_its_own_run_refuses_a_rate_as_it_is_stored()
    {
        string first = Path.Combine(Folder, "first.png");
        Cli("render", "--size", "40", "--iterations", "1", "--out", first, "--weights", "random");
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);
        string checkpoint = Path.ChangeExtension(first, ".ckpt");
        int code = Program.Run(["render", "--resume", checkpoint, "--lr", "5", "--iterations", "2", "--out", Path.Combine(Folder, "x.png")], output, error, interactive: false);

        Assert.Equal(2, code);
        Assert.Equal($"--resume continues with the settings stored in '{checkpoint}', so it does not take --lr (its rate is 10); drop it, or start a new run with it.", error.ToString().TrimEnd());
    }

    [Fact]
    public void A_resumed_render_is_bit_identical_to_an_uninterrupted_one()
    {
        string straight = Path.Combine(Folder, "straight.png"), first = Path.Combine(Folder, "first.png"), resumed = Path.Combine(Folder, "resumed.png");
        Cli("render", "--size", "40", "--iterations", "6", "--out", straight, "--weights", "random");
        Cli("render", "--size", "40", "--iterations", "3", "--out", first, "--weights", "random");
        Cli("render", "--resume", Path.ChangeExtension(first, ".ckpt"), "--iterations", "6", "--out", resumed);
        Assert.Equal(Checkpoint.Load(Path.ChangeExtension(straight, ".ckpt")).State.Images, Checkpoint.Load(Path.ChangeExtension(resumed, ".ckpt")).State.Images);
        Assert.Equal(File.ReadAllBytes(straight), File.ReadAllBytes(resumed));
    }

    [Fact]
    public void A_diverging_item_stops_at_its_last_finite_state_and_leaves_the_batch_without_disturbing_the_others()
    {
        StyleProblem problem = DivergingProblem();
        using StyleTransferEngine three = StyleTransferEngine.Create(problem, [5, 1e30, 2], DeviceKind.Cpu);
        using StyleTransferEngine five = StyleTransferEngine.Create(problem, [5], DeviceKind.Cpu);
        using StyleTransferEngine two = StyleTransferEngine.Create(problem, [2], DeviceKind.Cpu);
        RgbImage start = three.CurrentImage(1);
        Assert.Equal(3, three.BatchSize);
        for (int k = 0; k < 4; k++)
        {
            three.Step();
            five.Step();
            two.Step();
        }

        Assert.Null(three.StopReason(0));
        Assert.Equal("diverged at iteration 1", three.StopReason(1));
        Assert.Equal(2, three.BatchSize); // the diverged item costs nothing from the iteration after it stopped
        Assert.Equal(start.Planes, three.CurrentImage(1).Planes); // back to the state whose loss was finite
        Assert.Equal(start.Planes, three.BestImage(1).Planes);
        AssertImagesClose(five.CurrentImage(0), three.CurrentImage(0), 1e-3f);
        AssertImagesClose(two.CurrentImage(0), three.CurrentImage(2), 1e-3f); // items after the one taken out keep their own state
        Assert.Equal(3, two.Best(0)?.Iteration); // the loss fell at every iteration, so the best image is the last one evaluated
        Assert.Equal(3, three.Best(2)?.Iteration);
        AssertImagesClose(two.BestImage(0), three.BestImage(2), 1e-3f);
        Assert.Equal(five.History(0).Count, three.History(0).Count);
        Assert.Equal(2, three.History(1).Count); // rows 0 (finite) and 1 (the divergence)
        Assert.Equal(two.History(0).Select(r => r.Loss.Total), three.History(2).Select(r => r.Loss.Total), (a, b) => Math.Abs(a - b) <= 1e-4 * Math.Abs(a));

        Checkpoint saved = three.CreateCheckpoint(ProblemSettings.For(problem));
        Assert.Equal(new[] { 4, 0, 4 }, saved.State.Steps); // the whole run's state: the item taken out included
        Assert.Equal(start.Planes, saved.State.Images.AsSpan(start.Planes.Length, start.Planes.Length).ToArray());
    }

    [Fact]
    public void A_stopped_item_stays_in_the_batch_where_the_iterations_left_do_not_pay_for_a_start_and_that_changes_no_result()
    {
        StyleProblem problem = DivergingProblem();
        using StyleTransferEngine kept = StyleTransferEngine.Create(problem, [5, 1e30, 2], DeviceKind.Cpu);
        using StyleTransferEngine leaving = StyleTransferEngine.Create(problem, [5, 1e30, 2], DeviceKind.Cpu);
        kept.PlannedIterations = 1; // past iteration 1 nothing is left to save, and any start costs some time
        leaving.PlannedIterations = 1_000_000;
        RgbImage start = kept.CurrentImage(1);
        for (int k = 0; k < 4; k++)
        {
            kept.Step();
            leaving.Step();
        }

        Assert.Equal("diverged at iteration 1", kept.StopReason(1));
        Assert.Equal(3, kept.BatchSize);
        Assert.Equal(2, leaving.BatchSize);
        Assert.Equal(start.Planes, kept.CurrentImage(1).Planes); // frozen in the batch at its last finite state
        Assert.Equal(kept.History(1).Select(r => r.Loss.Total), leaving.History(1).Select(r => r.Loss.Total));
        foreach (int n in new[] { 0, 2 })
        {
            AssertImagesClose(leaving.CurrentImage(n), kept.CurrentImage(n), 1e-3f);
            AssertImagesClose(leaving.BestImage(n), kept.BestImage(n), 1e-3f);
            Assert.Equal(leaving.History(n).Select(r => r.Loss.Total), kept.History(n).Select(r => r.Loss.Total), (a, b) => Math.Abs(a - b) <= 1e-4 * Math.Abs(a));
        }

        Assert.Equal(new[] { 4, 0, 4 }, kept.CreateCheckpoint(ProblemSettings.For(problem)).State.Steps);
    }

    [Fact]
    public void A_run_resumed_after_an_item_left_the_batch_goes_on_bit_for_bit_as_the_one_that_never_stopped()
    {
        StyleProblem problem = DivergingProblem();
        using StyleTransferEngine straight = StyleTransferEngine.Create(problem, [5, 1e30, 2], DeviceKind.Cpu);
        for (int k = 0; k < 3; k++)
        {
            straight.Step();
        }

        Checkpoint saved = straight.CreateCheckpoint(ProblemSettings.For(problem));
        using StyleTransferEngine resumed = StyleTransferEngine.Resume(saved, problem.Weights, DeviceKind.Cpu);
        Assert.Equal(2, resumed.BatchSize); // started without the stopped item
        for (int k = 0; k < 3; k++)
        {
            straight.Step();
            resumed.Step();
        }

        for (int n = 0; n < 3; n++)
        {
            Assert.Equal(straight.CurrentImage(n).Planes, resumed.CurrentImage(n).Planes);
            Assert.Equal(straight.BestImage(n).Planes, resumed.BestImage(n).Planes);
            Assert.Equal(straight.History(n).Select(r => r.Loss.Total), resumed.History(n).Select(r => r.Loss.Total));
        }
    }

    /// <summary>A 40×32 problem in which a learning rate of 1e30 diverges in its first iteration and small ones lower the loss.</summary>
    private static StyleProblem DivergingProblem()
    {
        var vgg = NetworkWeights.Random(NetworkArchitecture.Vgg19, 0);
        var content = new RgbImage(40, 32, TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, 32, 40, 1)));
        var style = new RgbImage(40, 32, TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, 32, 40, 2)));
        return new StyleProblem { Content = content, Styles = [style], Weights = vgg, Loss = new LossSettings { StyleWeight = 1e6 } };
    }

    [Fact]
    public void The_report_files_exist_the_html_names_only_existing_files_and_the_sheet_has_its_grid_size()
    {
        string sweep = Path.Combine(Folder, "report");
        Cli("sweep", "--size", "40", "--lr", "1,4,1e30", "--checkpoints", "2,4", "--out-dir", sweep, "--weights", "random", "--no-estimate");

        string html = File.ReadAllText(Path.Combine(sweep, "index.html"));
        string[] referenced = Reference().Matches(html).Select(m => m.Groups[1].Value).Distinct().ToArray();
        Assert.Contains("contact_sheet.png", referenced);
        Assert.Contains("loss_curves.png", referenced);
        Assert.Contains("metrics.csv", referenced);
        Assert.Contains("loss_above_lowest.png", referenced);
        Assert.Contains("iterations_to_quality.csv", referenced);
        Assert.All(referenced, file => Assert.True(File.Exists(Path.Combine(sweep, file)), $"index.html names {file}, which is missing"));

        string[] csv = File.ReadAllLines(Path.Combine(sweep, "metrics.csv"));
        Assert.Equal(1 + (3 * 2), csv.Length);
        Assert.Contains(csv, row => row.Contains("diverged at iteration", StringComparison.Ordinal));
        Assert.Contains(csv, row => row.StartsWith("4,4,ok,", StringComparison.Ordinal));

        // 40×27 images get 160-px cells: 3 rows × 2 columns with labels and 6-px gaps.
        using var sheet = Image.Load<Rgb24>(Path.Combine(sweep, "contact_sheet.png"));
        int cellHeight = (int)(27 * (160 / 40.0));
        Assert.Equal((6 + (2 * (160 + 6)), 6 + (3 * (cellHeight + ContactSheet.LabelHeight + 6))), (sheet.Width, sheet.Height));
        using var plot = Image.Load<Rgb24>(Path.Combine(sweep, "loss_curves.png"));
        Assert.Equal((LossCurvePlot.Width, LossCurvePlot.Height), (plot.Width, plot.Height));
        using var above = Image.Load<Rgb24>(Path.Combine(sweep, "loss_above_lowest.png"));
        Assert.Equal((LossCurvePlot.Width, LossCurvePlot.Height), (above.Width, above.Height));
    }

    [Fact]
    public void Labels_are_drawn_on_the_sheet_and_the_plot()
    {
        var grey = new RgbImage(8, 8, Enumerable.Repeat(128f, 192).ToArray());
        byte[] labelled = ContactSheet.Render([[grey]], [["lr 5 · 500 it"]], 120, 40);
        byte[] blank = ContactSheet.Render([[grey]], [[""]], 120, 40);
        using var a = Image.Load<Rgb24>(labelled);
        int dark = 0;
        for (int y = 6; y < 6 + ContactSheet.LabelHeight; y++)
        {
            for (int x = 6; x < 126; x++)
            {
                dark += a[x, y].R < 128 ? 1 : 0;
            }
        }

        Assert.True(dark > 20, $"only {dark} dark pixels in the label strip");
        Assert.NotEqual(labelled, blank);

        // A stopped rate's cells say how it stopped.
        Assert.Equal("lr 5 · 500 it", SweepReport.CellLabel(5, 500, "ok"));
        Assert.Equal("lr 100 · 500 it (diverged)", SweepReport.CellLabel(100, 500, StopReasons.Diverged(3)));
        Assert.Equal("lr 20 · 500 it (plateaued)", SweepReport.CellLabel(20, 500, StopReasons.Plateaued(452)));
        Assert.Equal("lr 0.1 · 500 it (set aside)", SweepReport.CellLabel(0.1, 500, StopReasons.SetAside(200)));

        LossRecord[] history = [new(0, new IterationLosses(1, 100, 1), 0), new(1, new IterationLosses(1, 10, 1), 1)];
        Assert.NotEqual(LossCurvePlot.Render([5], [history], [null]), LossCurvePlot.Render([7], [history], [null]));
        Assert.NotEqual(LossCurvePlot.Render([5], [history], [null]), LossCurvePlot.Render([5], [history], [StopReasons.Plateaued(1)])); // its marker and legend
        Study.IterationsToQuality quality = Study.IterationsToQuality.Measure([history])!;
        Assert.NotEqual(LossCurvePlot.RenderAboveLowest([5], [history], [null], quality), LossCurvePlot.RenderAboveLowest([5], [history], [null], quality with { Levels = [50, 20, 10, 4] }));
    }

    [Fact]
    public void Ssim_is_one_for_equal_images_and_follows_the_closed_form_for_flat_ones()
    {
        RgbImage noise = RgbImage.Noise(23, 17, 3);
        Assert.Equal(1.0, ImageMetrics.Ssim(noise, noise), 12);
        // For flat images the variances vanish: SSIM = (2ab + C1)/(a² + b² + C1).
        var a = new RgbImage(9, 7, Enumerable.Repeat(100f, 189).ToArray());
        var b = new RgbImage(9, 7, Enumerable.Repeat(140f, 189).ToArray());
        const double C1 = 0.01 * 255 * 0.01 * 255;
        Assert.Equal(((2 * 100.0 * 140) + C1) / ((100.0 * 100) + (140.0 * 140) + C1), ImageMetrics.Ssim(a, b), 9);
        Assert.True(ImageMetrics.Ssim(noise, RgbImage.Noise(23, 17, 4)) < 0.2);
        Assert.Equal(100.0, ImageMetrics.MeanLuminance(a), 9);
    }

    [Fact]
    public void Converged_at_is_the_first_finite_loss_within_one_percent_of_the_checkpoints()
    {
        LossRecord[] falling = [At(0, 1000), At(1, 300), At(2, 102), At(3, 100.8), At(4, 100)];
        Assert.Equal(3, Study.LearningRateSweep.FirstWithinOnePercent(falling, 100)); // 102 is 2% away, 100.8 within 1%
        Assert.Equal(2, Study.LearningRateSweep.FirstWithinOnePercent(falling, 101)); // |102 − 101| ≤ 1.01

        // An oscillating item: the first visit counts, even if the loss left the band again; NaN never counts.
        LossRecord[] oscillating = [At(0, double.NaN), At(1, 99.5), At(2, 500), At(3, 100)];
        Assert.Equal(1, Study.LearningRateSweep.FirstWithinOnePercent(oscillating, 100));
    }

    [Fact]
    public void The_metrics_converged_at_recent_gain_and_above_lowest_columns_follow_the_stored_history()
    {
        string sweep = Path.Combine(Folder, "converged");
        Cli("sweep", "--size", "40", "--lr", "1,8", "--checkpoints", "3,9,110", "--out-dir", sweep, "--weights", "random", "--no-estimate");

        Checkpoint stored = Checkpoint.Load(Path.Combine(sweep, "sweep.ckpt"));
        string[] rows = File.ReadAllLines(Path.Combine(sweep, "metrics.csv"));
        int convergedAt = Array.IndexOf(rows[0].Split(','), "converged_at"), recentGain = Array.IndexOf(rows[0].Split(','), "recent_gain_pct");
        int aboveLowest = Array.IndexOf(rows[0].Split(','), "above_lowest_pct");
        Assert.Equal(6, rows.Length - 1);
        foreach (string row in rows.Skip(1))
        {
            string[] cells = row.Split(',');
            int item = cells[0] == "1" ? 0 : 1, checkpoint = int.Parse(cells[1], CultureInfo.InvariantCulture);
            LossRecord[] upTo = stored.History[item].Where(r => r.Iteration <= checkpoint).ToArray();
            double final = upTo.Last().Loss.Total;
            int expected = upTo.First(r => Math.Abs(r.Loss.Total - final) <= 0.01 * final).Iteration;
            Assert.Equal(expected.ToString(CultureInfo.InvariantCulture), cells[convergedAt]);

            // The fall of the lowest loss so far over the 100 iterations before the checkpoint, in percent; none before iteration 100.
            double? before = checkpoint < 100 ? null : upTo.Where(r => r.Iteration <= checkpoint - 100).Min(r => r.Loss.Total);
            double? gain = 100 * (before - upTo.Min(r => r.Loss.Total)) / before;
            Assert.Equal(gain?.ToString("F3", CultureInfo.InvariantCulture) ?? "", cells[recentGain]);

            // How far the loss at the checkpoint stands above the lowest so far, in percent.
            double lowest = upTo.Min(r => r.Loss.Total);
            Assert.Equal((100 * (final - lowest) / lowest).ToString("F3", CultureInfo.InvariantCulture), cells[aboveLowest]);
        }

        Assert.Contains("<th>recent gain</th><th>above lowest</th>", File.ReadAllText(Path.Combine(sweep, "index.html")), StringComparison.Ordinal);
    }

    [GeneratedRegex("(?:src|href)=\"([^\"]+)\"")]
    private static partial Regex Reference();

    private static void AssertImagesClose(RgbImage expected, RgbImage actual, float levels)
    {
        Assert.Equal((expected.Width, expected.Height), (actual.Width, actual.Height));
        float worst = expected.Planes.Zip(actual.Planes, (x, y) => MathF.Abs(x - y)).Max();
        Assert.True(worst <= levels, $"images differ by up to {worst} levels");
    }

    private static void Cli(params string[] args)
    {
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);
        int code = Program.Run(args, output, error, interactive: false);
        Assert.True(code == 0, $"{string.Join(' ', args)} → {code}: {error}{output}");
    }
}
