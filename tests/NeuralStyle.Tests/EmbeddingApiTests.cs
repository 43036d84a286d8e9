using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>The .NET embedding API: pixel buffers in and out, progress, cancellation, checkpoints, disposal.</summary>
public sealed class EmbeddingApiTests : TemporaryFolderTest
{
    [Fact]
    public void Pixels_in_progress_out_cancel_and_resume()
    {
        byte[] content = Gradient(40, 32, 4, out int stride);
        var options = new StyleTransferOptions { Size = null, Weights = "random:0", Device = DeviceKind.Cpu };
        using var transfer = new StyleTransfer(options);
        transfer.SetContent(RgbImage.FromPixels(content, 40, 32, stride, 4));
        transfer.AddStyle(RgbImage.Noise(36, 28, 5));

        Assert.Null(transfer.DeviceDescription); // chosen by the first run
        var seen = new List<int>();
        Assert.Equal(3, transfer.Run(3, new SynchronousProgress<StyleTransferProgress>(p => seen.Add(p.Iteration))));
        Assert.Equal([1, 2, 3], seen);
        Assert.NotNull(transfer.LastLoss);
        Assert.StartsWith("CPU (", transfer.DeviceDescription, StringComparison.Ordinal);

        using var cancel = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => transfer.Run(10, new SynchronousProgress<StyleTransferProgress>(p =>
        {
            if (p.Iteration == 5)
            {
                cancel.Cancel();
            }
        }), cancel.Token));
        Assert.Equal(5, transfer.Iteration);

        var pixels = new byte[40 * 32 * 3];
        transfer.CurrentImage().CopyToPixels(pixels, 40 * 3, 3);
        Assert.True(pixels.Where((_, i) => i % 3 == 0).Select((b, i) => b != content[((i / 40) * stride) + ((i % 40) * 4)]).Count(changed => changed) > 600);

        string checkpoint = Path.Combine(Folder, "api.ckpt");
        transfer.SaveCheckpoint(checkpoint);
        transfer.Run(2);
        using StyleTransfer resumed = StyleTransfer.Resume(checkpoint, DeviceKind.Cpu);
        resumed.Run(2);
        Assert.Equal(transfer.CurrentImage().Planes, resumed.CurrentImage().Planes);

        Assert.Throws<InvalidOperationException>(() => transfer.AddStyle(RgbImage.Noise(8, 8, 1)));
        transfer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => transfer.Run(1));
    }

    [Fact]
    public void The_image_in_the_contents_colours_needs_the_content_image()
    {
        var options = new StyleTransferOptions { Size = null, Weights = "random:0", Device = DeviceKind.Cpu };
        using var transfer = new StyleTransfer(options);
        Assert.Equal("Set a content image first.", Assert.Throws<InvalidOperationException>(() => transfer.CurrentImageInContentColors()).Message);
        RgbImage content = RgbImage.FromPixels(Gradient(40, 32, 3, out int stride), 40, 32, stride, 3);
        transfer.SetContent(content);
        transfer.AddStyle(RgbImage.Noise(36, 28, 5));
        transfer.Run(3);

        // What the command line's --original-colors saves, from the image and the content set.
        Assert.Equal(ColorTransfer.KeepColors(transfer.CurrentImage(), content).Planes, transfer.CurrentImageInContentColors().Planes);

        // This API's checkpoints keep the content image, through a resume and the checkpoint saved after it.
        string api = Path.Combine(Folder, "api.ckpt"), again = Path.Combine(Folder, "again.ckpt");
        transfer.SaveCheckpoint(api);
        using (StyleTransfer resumed = StyleTransfer.Resume(api, DeviceKind.Cpu))
        {
            resumed.Run(1);
            resumed.SaveCheckpoint(again);
        }

        using (StyleTransfer resumedAgain = StyleTransfer.Resume(again, DeviceKind.Cpu))
        {
            Assert.Equal(ColorTransfer.KeepColors(resumedAgain.CurrentImage(), content).Planes, resumedAgain.CurrentImageInContentColors().Planes);
        }

        // A command-line render keeps it only with --original-colors.
        string plain = Path.Combine(Folder, "plain.png"), image = Path.Combine(Folder, "kept.png");
        Assert.Equal(0, Cli(["render", "--size", "32", "--iterations", "2", "--weights", "random", "--out", plain]));
        using (StyleTransfer fromPlain = StyleTransfer.Resume(Path.ChangeExtension(plain, ".ckpt"), DeviceKind.Cpu))
        {
            Assert.Contains("holds no content image", Assert.Throws<InvalidOperationException>(() => fromPlain.CurrentImageInContentColors()).Message, StringComparison.Ordinal);
        }

        Assert.Equal(0, Cli(["render", "--size", "32", "--iterations", "2", "--weights", "random", "--original-colors", "--out", image]));
        using StyleTransfer fromCli = StyleTransfer.Resume(Path.ChangeExtension(image, ".ckpt"), DeviceKind.Cpu);
        RgbImage cat = ImageFiles.Load(Path.Combine(Repository.Examples, "content-cat-chelsea.png"), 32);
        Assert.Equal(ColorTransfer.KeepColors(fromCli.CurrentImage(), cat).Planes, fromCli.CurrentImageInContentColors().Planes);
    }

    [Fact]
    public void The_command_line_continues_this_APIs_checkpoint_in_the_content_colours_it_holds()
    {
        var options = new StyleTransferOptions { Size = null, Weights = "random:0", Device = DeviceKind.Cpu };
        using var transfer = new StyleTransfer(options);
        RgbImage content = RgbImage.FromPixels(Gradient(40, 32, 3, out int stride), 40, 32, stride, 3);
        transfer.SetContent(content);
        transfer.AddStyle(RgbImage.Noise(36, 28, 5));
        transfer.Run(2);
        string api = Path.Combine(Folder, "api.ckpt"), kept = Path.Combine(Folder, "kept.png"), plain = Path.Combine(Folder, "plain.png");
        transfer.SaveCheckpoint(api);

        // The checkpoint names no content file; the image it holds gives the colours.
        Assert.Equal(0, Cli(["render", "--resume", api, "--iterations", "4", "--original-colors", "--out", kept]));
        Assert.Equal(0, Cli(["render", "--resume", api, "--iterations", "4", "--out", plain]));
        RgbImage keptImage = ImageFiles.Load(kept, null), plainImage = ImageFiles.Load(plain, null);
        Assert.InRange(ColourMeasures.MeanDifference(keptImage, content, ColourMeasures.Chroma), 0, ColourMeasures.Tolerance);
        Assert.InRange(ColourMeasures.MeanDifference(keptImage, plainImage, ColourMeasures.Luma), 0, ColourMeasures.Tolerance);
        Assert.True(Checkpoint.Load(Path.ChangeExtension(kept, ".ckpt")).Settings.OriginalColors);
        Assert.False(Checkpoint.Load(Path.ChangeExtension(plain, ".ckpt")).Settings.OriginalColors);
    }

    [Fact]
    public void The_loss_history_lets_a_host_end_at_a_plateau()
    {
        var options = new StyleTransferOptions { Size = null, Weights = "random:0", Device = DeviceKind.Cpu };
        using var transfer = new StyleTransfer(options);
        transfer.SetContent(RgbImage.Noise(32, 24, 1));
        transfer.AddStyle(RgbImage.Noise(32, 24, 2));
        Assert.Empty(transfer.LossHistory);

        // The README's loop, checked every 5 iterations.
        var rule = new Study.PlateauRule(5, window: 10);
        while (transfer.Iteration < 300 && transfer.StopReason is null && !rule.IsReached(transfer.LossHistory))
        {
            transfer.Run(5);
        }

        IReadOnlyList<LossRecord> history = transfer.LossHistory;
        Assert.Null(transfer.StopReason);
        Assert.InRange(transfer.Iteration, 15, 295);
        Assert.Equal(Enumerable.Range(0, transfer.Iteration), history.Select(r => r.Iteration));
        Assert.Equal(transfer.LastLoss, history[^1].Loss);
        Assert.True(rule.Gain(history) < 5);
    }

    private static int Cli(string[] arguments)
    {
        using var output = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        return NeuralStyle.Cli.Program.Run(arguments, output, output, interactive: false);
    }

    [Fact]
    public void Image_files_in_give_what_the_same_images_loaded_by_hand_give()
    {
        // README's example: SetContentFile and AddStyleFile, with the size and style scale applied.
        string cat = Path.Combine(Repository.Examples, "content-cat-chelsea.png");
        string painting = Path.Combine(Repository.Examples, "style-van-gogh-starry-night.jpg");
        var options = new StyleTransferOptions { Size = 64, StyleScale = 0.5, Weights = "random:0", Device = DeviceKind.Cpu };
        using var fromFiles = new StyleTransfer(options);
        fromFiles.SetContentFile(cat);
        fromFiles.AddStyleFile(painting, 3);
        fromFiles.AddStyleFile(cat);
        Assert.Equal((64, 43), (fromFiles.Width, fromFiles.Height)); // the 451×300 cat with a long side of 64

        using var byHand = new StyleTransfer(options);
        byHand.SetContent(ImageFiles.Load(cat, longSide: null));
        byHand.AddStyle(ImageFiles.Load(painting, longSide: null), 3);
        byHand.AddStyle(ImageFiles.Load(cat, longSide: null));
        fromFiles.Run(2);
        byHand.Run(2);
        Assert.Equal(byHand.LastLoss, fromFiles.LastLoss);
        Assert.Equal(byHand.CurrentImage().Planes, fromFiles.CurrentImage().Planes);

        // A different style scale changes the style's Gram targets, so the loss.
        using var fuller = new StyleTransfer(options with { StyleScale = 1 });
        fuller.SetContentFile(cat);
        fuller.AddStyleFile(painting, 3);
        fuller.AddStyleFile(cat);
        fuller.Run(2);
        Assert.NotEqual(fromFiles.LastLoss, fuller.LastLoss);
    }

    [Fact]
    public async Task While_run_runs_another_thread_may_read_the_image_and_dispose()
    {
        // A UI shows the image as progress arrives (Progress<T> posts to its own thread) and disposes on Cancel.
        var options = new StyleTransferOptions { Size = null, Weights = "random:0", Device = DeviceKind.Cpu, Loss = new LossSettings { StyleLayers = [new LayerWeight("relu2_1", 1)], ContentLayers = ["relu2_1"] } };
        var transfer = new StyleTransfer(options);
        transfer.SetContent(RgbImage.Noise(64, 48, 1));
        transfer.AddStyle(RgbImage.Noise(64, 48, 2));
        using var started = new SemaphoreSlim(0);
        // Its own thread, not the pool's, which the other tests' parallel loops may keep busy.
        Task<int> running = Task.Factory.StartNew(() => transfer.Run(100_000, new SynchronousProgress<StyleTransferProgress>(p => started.Release())),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(await started.WaitAsync(TimeSpan.FromMinutes(2)) || running.IsFaulted, "the run reported no iteration in two minutes");
        Assert.False(running.IsFaulted, running.Exception?.ToString());

        Assert.Throws<InvalidOperationException>(() => transfer.Run(1)); // one run at a time
        for (int read = 0; read < 20; read++)
        {
            RgbImage image = transfer.CurrentImage();
            Assert.Equal((64, 48), (image.Width, image.Height));
            Assert.True(image.Planes.All(float.IsFinite));
        }

        transfer.Dispose(); // waits for the iteration under way; the run then stops
        await Assert.ThrowsAsync<ObjectDisposedException>(() => running.WaitAsync(TimeSpan.FromMinutes(2)));
        Assert.Throws<ObjectDisposedException>(() => transfer.CurrentImage());
    }

    [Fact]
    public void A_divergence_says_whether_it_kept_the_last_finite_image_or_the_resumed_one()
    {
        var options = new StyleTransferOptions { Size = null, Weights = "random:0", Device = DeviceKind.Cpu, LearningRate = 1e30 };
        using var transfer = new StyleTransfer(options);
        transfer.SetContent(RgbImage.Noise(36, 32, 1));
        transfer.AddStyle(RgbImage.Noise(36, 32, 2));
        transfer.Run(1);
        string checkpoint = Path.Combine(Folder, "one.ckpt");
        transfer.SaveCheckpoint(checkpoint);

        Assert.Equal(1, transfer.Run(5)); // the absurd update of iteration 0 shows at iteration 1, and is undone
        Assert.Equal("diverged at iteration 1", transfer.StopReason);
        Assert.False(transfer.DivergedAtStart);

        string blown = Path.Combine(Folder, "blown.ckpt");
        DivergedCheckpoint.BlownUp(Checkpoint.Load(checkpoint)).Save(blown);
        using StyleTransfer resumed = StyleTransfer.Resume(blown, DeviceKind.Cpu);
        Assert.Equal(1, resumed.Run(5));
        Assert.Equal("diverged at iteration 1", resumed.StopReason);
        Assert.True(resumed.DivergedAtStart);
    }

    [Fact]
    public void A_starting_loss_that_overflows_is_a_user_error_naming_the_weight()
    {
        var options = new StyleTransferOptions { Size = null, Weights = "random:0", Device = DeviceKind.Cpu, Loss = new LossSettings { StyleWeight = 1e308 } };
        using var transfer = new StyleTransfer(options);
        transfer.SetContent(RgbImage.Noise(36, 32, 1));
        transfer.AddStyle(RgbImage.Noise(36, 32, 2));

        var error = Assert.Throws<UserInputException>(() => transfer.Run(3));
        Assert.Contains("lower LossSettings.StyleWeight or the style layers' weights", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, transfer.Iteration);
    }

    [Fact]
    public void Pixel_buffers_round_trip_and_bad_layouts_are_refused()
    {
        byte[] rgba = Gradient(5, 3, 4, out int stride);
        RgbImage image = RgbImage.FromPixels(rgba, 5, 3, stride, 4);
        var back = new byte[rgba.Length];
        image.CopyToPixels(back, stride, 4);
        for (int y = 0; y < 3; y++)
        {
            Assert.Equal(rgba.AsSpan(y * stride, 20).ToArray(), back.AsSpan(y * stride, 20).ToArray());
        }

        Assert.Throws<ArgumentException>(() => RgbImage.FromPixels(rgba, 5, 3, 19, 4));
        Assert.Throws<ArgumentException>(() => RgbImage.FromPixels(rgba, 5, 3, stride, 2));
        Assert.Throws<ArgumentException>(() => RgbImage.FromPixels(rgba.AsSpan(0, 40), 5, 3, stride, 4));
    }

    [Fact]
    public void A_rate_of_a_command_line_sweep_continues_alone_as_render_resume_continues_it_and_the_sweep_is_left_as_it_was()
    {
        string sweep = Path.Combine(Folder, "sweep"), checkpoint = Path.Combine(sweep, "sweep.ckpt");
        Assert.Equal(0, Cli(["sweep", "--size", "32", "--lr", "1,2,4", "--checkpoints", "2", "--weights", "random", "--no-estimate", "--out-dir", sweep]));
        byte[] swept = File.ReadAllBytes(checkpoint);

        string api = Path.Combine(Folder, "api.ckpt");
        using (StyleTransfer resumed = StyleTransfer.Resume(checkpoint, learningRate: 2, DeviceKind.Cpu))
        {
            Assert.Equal(2, resumed.Iteration);
            Assert.Equal(2, resumed.Run(2));
            resumed.SaveCheckpoint(api);
        }

        string cli = Path.Combine(Folder, "cli.png");
        Assert.Equal(0, Cli(["render", "--resume", checkpoint, "--lr", "2", "--iterations", "4", "--out", cli]));
        Checkpoint expected = Checkpoint.Load(Path.ChangeExtension(cli, ".ckpt")), actual = Checkpoint.Load(api);
        Assert.Equal([2.0], actual.Settings.LearningRates);
        Assert.Equal(expected.State.Images, actual.State.Images);
        Assert.Equal(expected.History[0].Take(4).Select(r => r.Loss.Total), actual.History[0].Select(r => r.Loss.Total)); // render also measures its last image
        Assert.Equal(swept, File.ReadAllBytes(checkpoint)); // only read

        // A rate the sweep lacks, in a sentence that says what to give; without a rate, the whole sweep goes on.
        var e = Assert.Throws<UserInputException>(() => StyleTransfer.Resume(checkpoint, learningRate: 3, DeviceKind.Cpu));
        Assert.Equal($"'{checkpoint}' holds the learning rates 1, 2, 4, not 3; give one of them.", e.Message);
        using (StyleTransfer whole = StyleTransfer.Resume(checkpoint, DeviceKind.Cpu))
        {
            Assert.Equal([1.0, 2, 4], whole.LearningRates);
            Assert.Equal(2, whole.Iteration);
            Assert.Equal(2, whole.Run(2));

            // Its rate 2 is where the render took it alone, to the batch's summation order (EngineTests' tolerance).
            Tolerance.AssertClose(expected.State.Images.Select(v => (double)v).ToArray(), whole.Rate(2).CurrentImage().Planes, 1e-3, 1e-5, "lr 2 at iteration 4");
            Tolerance.AssertClose(expected.History[0].Take(4).Select(r => r.Loss.Total).ToArray(), whole.Rate(2).LossHistory.Select(r => r.Loss.Total).ToArray(), 1e-6, 1e-5, "lr 2's losses");
        }


        // A checkpoint of one run: its own rate continues it, another is refused.
        using (StyleTransfer again = StyleTransfer.Resume(api, learningRate: 2, DeviceKind.Cpu))
        {
            Assert.Equal(4, again.Iteration);
        }

        e = Assert.Throws<UserInputException>(() => StyleTransfer.Resume(api, learningRate: 4, DeviceKind.Cpu));
        Assert.Equal($"'{api}' holds the learning rate 2, not 4; give that one.", e.Message);
    }

    [Fact]
    public void A_first_run_cancelled_as_it_starts_builds_nothing_and_the_next_run_starts_afresh()
    {
        var options = new StyleTransferOptions { Size = 32, Weights = "random:0", Device = DeviceKind.Cpu };
        using var transfer = new StyleTransfer(options);
        transfer.SetContent(RgbImage.Noise(32, 24, 1));
        transfer.AddStyle(RgbImage.Noise(40, 30, 2));

        // It used to build the network and compute the targets (seconds, with a large style image) before it looked.
        Assert.Throws<OperationCanceledException>(() => transfer.Run(3, cancellationToken: new CancellationToken(canceled: true)));
        Assert.Null(transfer.DeviceDescription); // no engine was kept
        Assert.Equal(0, transfer.Iteration);

        Assert.Equal(2, transfer.Run(2));
        using var straight = new StyleTransfer(options);
        straight.SetContent(RgbImage.Noise(32, 24, 1));
        straight.AddStyle(RgbImage.Noise(40, 30, 2));
        Assert.Equal(2, straight.Run(2));
        Assert.Equal(straight.CurrentImage().Planes, transfer.CurrentImage().Planes);
    }

    [Fact]
    public void Running_without_images_is_a_state_error()
    {
        using var transfer = new StyleTransfer(new StyleTransferOptions { Weights = "random" });
        Assert.Throws<InvalidOperationException>(() => transfer.Run(1));
        transfer.SetContent(RgbImage.Noise(32, 32, 1));
        Assert.Throws<InvalidOperationException>(() => transfer.Run(1));
    }

    // By name, so that each case is a test of its own (xunit serialises a theory's cases by their data, and options are not serialisable).
    private static readonly Dictionary<string, (StyleTransferOptions Options, string Sentence)> BadOptionCases = new()
    {
        ["Size = 0"] = (new StyleTransferOptions { Size = 0 }, "Size must be between 1 and 16384"),
        ["Size = 16385"] = (new StyleTransferOptions { Size = 16385 }, "Size must be between 1 and 16384"),
        ["StyleScale = 0"] = (new StyleTransferOptions { StyleScale = 0 }, "StyleScale must be > 0"),
        ["LearningRate = NaN"] = (new StyleTransferOptions { LearningRate = double.NaN }, "LearningRate must be a finite number > 0, not NaN"),
        ["LearningRate = -1"] = (new StyleTransferOptions { LearningRate = -1 }, "LearningRate must be a finite number > 0, not -1"),
        ["MaxMegapixels = 0"] = (new StyleTransferOptions { MaxMegapixels = 0 }, "MaxMegapixels must be > 0"),
    };

    public static TheoryData<string> BadOptions => new(BadOptionCases.Keys);

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Options_that_cannot_work_are_refused_when_the_transfer_is_created(string option)
    {
        var (options, sentence) = BadOptionCases[option];
        var refused = Assert.Throws<UserInputException>(() => new StyleTransfer(options));
        Assert.StartsWith(sentence, refused.Message, StringComparison.Ordinal);
    }

    /// <summary>RGBA (alpha 255) or RGB gradient with 8 bytes of row padding.</summary>
    private static byte[] Gradient(int width, int height, int channels, out int stride)
    {
        stride = (width * channels) + 8;
        var pixels = new byte[height * stride];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int i = (y * stride) + (x * channels);
                pixels[i] = (byte)(x * 6);
                pixels[i + 1] = (byte)(y * 7);
                pixels[i + 2] = 128;
                if (channels == 4)
                {
                    pixels[i + 3] = 255;
                }
            }
        }

        return pixels;
    }
}
