using System.Globalization;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;

namespace NeuralStyle.Study;

/// <summary>What a sweep produced at one checkpoint: every item's image and metrics.</summary>
public sealed record SweepCheckpoint(int Iteration, IReadOnlyList<RgbImage> Images, IReadOnlyList<CheckpointMetrics> Metrics);

/// <summary>
/// Runs a batch engine (one item per learning rate) to a list of checkpoint iterations and measures each item at
/// each one. A diverged item stops where it diverged, keeps its last finite state, and is reported as such; one
/// stopped at a plateau keeps the state it stopped in; the others go on, without them in the batch where the
/// iterations left to the last checkpoint pay for starting it again (<see cref="StyleTransferEngine.PlannedIterations"/>).
/// </summary>
public sealed class LearningRateSweep
{
    private readonly StyleTransferEngine _engine;
    private readonly RgbImage?[] _previous;
    private readonly Func<RgbImage, RgbImage>? _present;

    /// <summary>
    /// Drives <paramref name="engine"/> (not owned). <paramref name="previousImages"/> are the images of the last
    /// checkpoint before a resume, for SSIM. <paramref name="present"/> turns each item's image into the one that is
    /// saved and measured (e.g. in the content's colours, <see cref="ColorTransfer"/>); null takes it as optimized.
    /// </summary>
    public LearningRateSweep(StyleTransferEngine engine, IReadOnlyList<RgbImage?>? previousImages = null, Func<RgbImage, RgbImage>? present = null)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _previous = previousImages?.ToArray() ?? new RgbImage?[engine.LearningRates.Count];
        _present = present;
    }

    /// <summary>The file name of an item's image at a checkpoint, e.g. <c>lr5_it00500.png</c>.</summary>
    public static string ImageName(double learningRate, int iteration) =>
        string.Create(CultureInfo.InvariantCulture, $"lr{learningRate:G6}_it{iteration:D5}.png");

    /// <summary>
    /// Runs to every checkpoint in <paramref name="checkpoints"/> beyond the engine's current iteration, calling
    /// <paramref name="reached"/> at each (to save images, metrics and a checkpoint) and <paramref name="iterated"/>
    /// after every iteration. Stops early, between iterations, when <paramref name="cancel"/> is signalled (throwing
    /// <see cref="OperationCanceledException"/>), and ends early, measured as at a checkpoint, when
    /// <paramref name="enough"/> says after an iteration that the run has gone far enough (e.g. a <see cref="PlateauRule"/>),
    /// or once no item runs: <paramref name="enough"/> may also stop items (a sweep's rates at their plateaus).
    /// </summary>
    public void Run(IReadOnlyList<int> checkpoints, Action<SweepCheckpoint> reached, Action<int, IterationLosses[]>? iterated = null,
        Func<bool>? enough = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        ArgumentNullException.ThrowIfNull(reached);
        int[] pending = checkpoints.Where(c => c >= _engine.Iteration).Order().Distinct().ToArray();
        _engine.PlannedIterations = pending.Length > 0 ? pending[^1] : _engine.Iteration;
        foreach (int checkpoint in pending)
        {
            while (_engine.Iteration < checkpoint)
            {
                cancel.ThrowIfCancellationRequested();
                int k = _engine.Iteration;
                IterationLosses[] losses = _engine.Step();
                iterated?.Invoke(k, losses);
                bool ends = _engine.RunningItems.Any() && enough?.Invoke() == true;
                if (!_engine.RunningItems.Any())
                {
                    // Every item has stopped: report where they are and end the run.
                    reached(Measure(_engine.Iteration));
                    return;
                }

                if (ends)
                {
                    _engine.Evaluate();
                    reached(Measure(_engine.Iteration));
                    return;
                }
            }

            // Row `checkpoint` of the history is the loss of the images as they are now.
            _engine.Evaluate();
            reached(Measure(checkpoint));
        }
    }

    /// <summary>
    /// The 'converged at' metric: the first iteration whose total loss came within 1% of <paramref name="final"/>, the
    /// loss at the checkpoint (for a diverged item, its last finite loss). Non-finite losses never count.
    /// </summary>
    internal static int FirstWithinOnePercent(IEnumerable<LossRecord> history, double final) =>
        history.First(r => r.Loss.IsFinite && Math.Abs(r.Loss.Total - final) <= 0.01 * Math.Abs(final)).Iteration;

    private SweepCheckpoint Measure(int iteration)
    {
        var images = new List<RgbImage>();
        var metrics = new List<CheckpointMetrics>();
        for (int n = 0; n < _engine.LearningRates.Count; n++)
        {
            RgbImage image = _present is null ? _engine.CurrentImage(n) : _present(_engine.CurrentImage(n));
            IReadOnlyList<LossRecord> history = _engine.History(n);
            LossRecord last = history.Last(r => r.Loss.IsFinite);
            metrics.Add(new CheckpointMetrics
            {
                LearningRate = _engine.LearningRates[n],
                Iteration = iteration,
                Status = _engine.StopReason(n) ?? "ok",
                Total = last.Loss.Total,
                Content = last.Loss.Content,
                Style = last.Loss.Style,
                Tv = last.Loss.Tv,
                MeanLuminance = ImageMetrics.MeanLuminance(image),
                SsimVsPrevious = _previous[n] is RgbImage previous ? ImageMetrics.Ssim(previous, image) : null,
                ConvergedAt = FirstWithinOnePercent(history, last.Loss.Total),
                RecentGainPercent = PlateauRule.GainOver(history, PlateauRule.DefaultWindow),
                AboveLowestPercent = LossSwing.AboveLowest(history)?.Percent,
                Seconds = _engine.ElapsedSeconds,
                Image = ImageName(_engine.LearningRates[n], iteration),
            });
            images.Add(image);
            _previous[n] = image;
        }

        return new SweepCheckpoint(iteration, images, metrics);
    }
}
