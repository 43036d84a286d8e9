using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Study;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>A sweep through the .NET embedding API: several learning rates as one batch, read and stopped one by one, saved and resumed.</summary>
public sealed class EmbeddedSweepTests : TemporaryFolderTest
{
    private static readonly double[] SweptRates = [4, 1, 16];

    [Fact]
    public void Each_rate_of_a_sweep_is_the_transfer_of_that_rate_alone()
    {
        using StyleTransfer sweep = Started(new StyleTransferOptions { LearningRates = SweptRates, Size = null, Weights = "random:0", Device = DeviceKind.Cpu });
        var progress = new List<StyleTransferProgress>();
        Assert.Equal(3, sweep.Run(3, new SynchronousProgress<StyleTransferProgress>(progress.Add)));
        Assert.Equal(SweptRates, sweep.LearningRates);
        Assert.Equal(SweptRates, sweep.Rates.Select(r => r.LearningRate));

        foreach (double rate in SweptRates)
        {
            using StyleTransfer alone = Started(new StyleTransferOptions { LearningRate = rate, Size = null, Weights = "random:0", Device = DeviceKind.Cpu });
            alone.Run(3);
            StyleTransferRate swept = sweep.Rate(rate);

            // A batch and a single run sum in different orders: the batch-of-three tolerance of EngineTests.
            Tolerance.AssertClose(alone.LossHistory.Select(r => r.Loss.Total).ToArray(), swept.LossHistory.Select(r => r.Loss.Total).ToArray(), 1e-6, 1e-5, $"loss, lr {rate}");
            Tolerance.AssertClose(alone.CurrentImage().Planes.Select(v => (double)v).ToArray(), swept.CurrentImage().Planes, 1e-3, 1e-5, $"image, lr {rate}");
            Assert.Equal(swept.LossHistory.Where(r => r.Iteration < 3).MinBy(r => r.Loss.Total)!.Iteration, swept.BestImage()!.Value.Loss.Iteration);
            Assert.Null(swept.StopReason);
        }

        // Progress reports every rate, in the order given, and names the lowest total.
        Assert.Equal([1, 2, 3], progress.Select(p => p.Iteration));
        for (int n = 0; n < SweptRates.Length; n++)
        {
            Assert.Equal(sweep.Rates[n].LossHistory[2].Loss, progress[2].Losses[n]);
        }

        Assert.Equal(progress[2].Losses.Min(l => l.Total), progress[2].Loss.Total);

        // The sweep's table of iterations to quality, from its rates' histories.
        IterationsToQuality table = IterationsToQuality.Measure(sweep.Rates.Select(r => r.LossHistory).ToArray())!;
        (int item, LossRecord lowest) = sweep.Rates.Select((r, n) => (n, r.LossHistory.MinBy(row => row.Loss.Total)!)).MinBy(p => p.Item2.Loss.Total);
        Assert.Equal((item, lowest.Iteration, lowest.Loss.Total), (table.LowestItem, table.LowestIteration, table.LowestLoss));
    }

    [Fact]
    public void A_rate_set_aside_stops_where_it_was_measured_and_the_others_go_on()
    {
        using StyleTransfer sweep = Started(new StyleTransferOptions { LearningRates = SweptRates, Size = null, Weights = "random:0", Device = DeviceKind.Cpu });
        Assert.Throws<InvalidOperationException>(() => sweep.Rate(16).SetAside()); // nothing runs yet
        sweep.Run(2);
        StyleTransferRate high = sweep.Rate(16);
        high.SetAside();
        RgbImage asideImage = high.CurrentImage();
        sweep.Run(3);

        Assert.Equal(5, sweep.Iteration);
        Assert.Equal("set aside at iteration 1", high.StopReason);
        Assert.Equal([0, 1], high.LossHistory.Select(r => r.Iteration));
        Assert.Equal(asideImage.Planes, high.CurrentImage().Planes);
        Assert.Equal([0, 1, 2, 3, 4], sweep.Rate(4).LossHistory.Select(r => r.Iteration));

        // Set aside, it goes on alone from the checkpoint exactly as from its image after one update.
        string checkpoint = Path.Combine(Folder, "sweep.ckpt");
        sweep.SaveCheckpoint(checkpoint);
        using StyleTransfer alone = StyleTransfer.Resume(checkpoint, learningRate: 16, DeviceKind.Cpu);
        Assert.Equal(1, alone.Iteration);
        Assert.Equal(asideImage.Planes, alone.CurrentImage().Planes);

        // Once every rate has stopped, a run does nothing.
        sweep.Rate(1).SetAside();
        sweep.Rate(4).SetAside();
        Assert.Equal(0, sweep.Run(2));
    }

    [Fact]
    public void A_rate_set_aside_from_the_progress_handler_stops_at_the_row_it_reported()
    {
        using StyleTransfer sweep = Started(new StyleTransferOptions { LearningRates = SweptRates, Size = null, Weights = "random:0", Device = DeviceKind.Cpu });
        int reports = 0;
        Assert.Equal(4, sweep.Run(4, new SynchronousProgress<StyleTransferProgress>(p =>
        {
            reports++;
            if (p.Iteration == 2)
            {
                sweep.Rate(16).SetAside(); // e.g. a user's "drop this rate" while the run goes on
            }
        })));

        Assert.Equal(4, reports);
        Assert.Equal("set aside at iteration 1", sweep.Rate(16).StopReason);
        Assert.Equal([0, 1], sweep.Rate(16).LossHistory.Select(r => r.Iteration));
        Assert.Equal([0, 1, 2, 3], sweep.Rate(1).LossHistory.Select(r => r.Iteration));
    }

    [Fact]
    public void A_rate_that_diverges_stops_alone_with_its_last_finite_image_and_the_others_go_on()
    {
        using StyleTransfer sweep = Started(new StyleTransferOptions { LearningRates = [1, 1e30], Size = null, Weights = "random:0", Device = DeviceKind.Cpu });
        var progress = new List<StyleTransferProgress>();
        Assert.Equal(4, sweep.Run(4, new SynchronousProgress<StyleTransferProgress>(progress.Add)));

        StyleTransferRate absurd = sweep.Rate(1e30);
        Assert.Equal("diverged at iteration 1", absurd.StopReason); // its update of iteration 0 shows at 1, and is undone
        Assert.False(absurd.DivergedAtStart);
        Assert.Equal(Content().Planes, absurd.CurrentImage().Planes);
        Assert.Null(sweep.Rate(1).StopReason);
        Assert.Equal([0, 1, 2, 3], sweep.Rate(1).LossHistory.Select(r => r.Iteration));

        // The loss reported is the lowest finite one, not the diverged rate's.
        Assert.All(progress, p => Assert.True(p.Loss.IsFinite));
        Assert.Equal(progress[1].Losses[0], progress[1].Loss);
    }

    [Fact]
    public void A_saved_sweep_resumes_whole_and_goes_on_as_if_never_stopped()
    {
        var options = new StyleTransferOptions { LearningRates = SweptRates, Size = null, Weights = "random:0", Device = DeviceKind.Cpu };
        using StyleTransfer sweep = Started(options);
        sweep.Run(2);
        string checkpoint = Path.Combine(Folder, "sweep.ckpt");
        sweep.SaveCheckpoint(checkpoint);
        sweep.Run(2);

        using StyleTransfer resumed = StyleTransfer.Resume(checkpoint, DeviceKind.Cpu);
        Assert.Equal(SweptRates, resumed.LearningRates);
        Assert.Equal(2, resumed.Run(2));
        foreach (double rate in SweptRates)
        {
            Assert.Equal(sweep.Rate(rate).CurrentImage().Planes, resumed.Rate(rate).CurrentImage().Planes);
            Assert.Equal(sweep.Rate(rate).LossHistory.Select(r => r.Loss.Total), resumed.Rate(rate).LossHistory.Select(r => r.Loss.Total));
        }

        // The content image travels with it: the colours of each rate's image.
        Assert.Equal(ColorTransfer.KeepColors(resumed.Rate(1).CurrentImage(), Content()).Planes, resumed.Rate(1).CurrentImageInContentColors().Planes);
    }

    [Fact]
    public void A_sweep_names_the_rate_to_read_and_refuses_rates_it_cannot_tell_apart()
    {
        using StyleTransfer sweep = new(new StyleTransferOptions { LearningRates = SweptRates, Weights = "random:0" });
        var e = Assert.Throws<InvalidOperationException>(() => sweep.CurrentImage());
        Assert.Equal("This transfer runs 3 learning rates (4, 1, 16); name the one to read, e.g. Rate(1).", e.Message);
        Assert.Equal("This transfer runs 3 learning rates (4, 1, 16); name the one to read, e.g. Rate(1).", Assert.Throws<InvalidOperationException>(() => sweep.LastLoss).Message);
        Assert.Equal("This transfer runs the learning rates 4, 1, 16, not 2; give one of them.", Assert.Throws<UserInputException>(() => sweep.Rate(2)).Message);

        // One rate: its own members and Rate agree.
        using StyleTransfer single = new(new StyleTransferOptions { LearningRate = 3, Weights = "random:0" });
        Assert.Same(single.OnlyRate, single.Rate(3));
        Assert.Equal([3.0], single.LearningRates);

        Assert.Equal("LearningRates lists a learning rate twice; each item needs its own rate.",
            Assert.Throws<UserInputException>(() => new StyleTransfer(new StyleTransferOptions { LearningRates = [1, 2, 1] })).Message);
        Assert.Equal("LearningRates needs one or more finite learning rates > 0, got '1,-2'.",
            Assert.Throws<UserInputException>(() => new StyleTransfer(new StyleTransferOptions { LearningRates = [1, -2] })).Message);
        Assert.Throws<UserInputException>(() => new StyleTransfer(new StyleTransferOptions { LearningRates = [] }));
        Assert.Throws<UserInputException>(() => new StyleTransfer(new StyleTransferOptions { LearningRates = [double.NaN] }));
    }

    private static RgbImage Content() => RgbImage.Noise(40, 30, 3);

    private static StyleTransfer Started(StyleTransferOptions options)
    {
        var transfer = new StyleTransfer(options);
        transfer.SetContent(Content());
        transfer.AddStyle(RgbImage.Noise(36, 28, 5));
        return transfer;
    }
}
