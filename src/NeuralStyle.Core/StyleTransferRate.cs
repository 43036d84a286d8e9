using NeuralStyle.Engine;
using NeuralStyle.Imaging;

namespace NeuralStyle;

/// <summary>
/// One learning rate of a <see cref="StyleTransfer"/>: its loss, its images, and whether it still runs. A sweep
/// (<see cref="StyleTransferOptions.LearningRates"/>) names the rate it reads, <see cref="StyleTransfer.Rate"/>; a
/// transfer of one rate reads it through its own members too. Reads wait for the current iteration, as the
/// transfer's do. It belongs to its transfer: once that is disposed, the images can no longer be read.
/// </summary>
public sealed class StyleTransferRate
{
    private readonly StyleTransfer _transfer;
    private readonly int _item;

    internal StyleTransferRate(StyleTransfer transfer, int item, double learningRate)
    {
        _transfer = transfer;
        _item = item;
        LearningRate = learningRate;
    }

    /// <summary>The learning rate, in 0..255 pixel units.</summary>
    public double LearningRate { get; }

    /// <summary>The loss at the start of this rate's last iteration, or null before its first.</summary>
    public IterationLosses? LastLoss => _transfer.Locked(() => _transfer.Engine is { } e && e.History(_item) is [.., LossRecord last] ? last.Loss : (IterationLosses?)null);

    /// <summary>
    /// A copy of the loss of every iteration of this rate so far (row k: the image after k updates), empty before the
    /// first run; e.g. for a <see cref="Study.PlateauRule"/> that decides when more iterations stop paying.
    /// </summary>
    public IReadOnlyList<LossRecord> LossHistory => _transfer.Locked<IReadOnlyList<LossRecord>>(() => _transfer.Engine?.History(_item).ToArray() ?? []);

    /// <summary>Why this rate stopped (e.g. "diverged at iteration 12", or set aside: <see cref="SetAside"/>), or null while it runs.</summary>
    public string? StopReason => _transfer.Locked(() => _transfer.Engine?.StopReason(_item));

    /// <summary>True when this rate diverged in the first iteration after a resume; see <see cref="StyleTransferEngine.DivergedAtStart"/>.</summary>
    public bool DivergedAtStart => _transfer.Locked(() => _transfer.Engine?.DivergedAtStart(_item) ?? false);

    /// <summary>A copy of this rate's current image (the content image before the first run).</summary>
    public RgbImage CurrentImage() => _transfer.Locked(() =>
    {
        _transfer.RequireNotDisposed();
        return _transfer.Engine?.CurrentImage(_item) ?? _transfer.Content ?? throw new InvalidOperationException("Set a content image first.");
    });

    /// <summary>
    /// A copy of the image of this rate's lowest loss so far and that loss's row, or null where there is none: before
    /// the first run, and after a resume from a checkpoint that kept no best image until the next run. At a learning
    /// rate that makes the loss swing it is better than <see cref="CurrentImage"/>; the run itself goes on from the
    /// current image.
    /// </summary>
    public (RgbImage Image, LossRecord Loss)? BestImage() => _transfer.Locked<(RgbImage, LossRecord)?>(() =>
    {
        _transfer.RequireNotDisposed();
        return _transfer.Engine is { } engine && engine.Best(_item) is LossRecord best ? (engine.BestImage(_item), best) : null;
    });

    /// <summary>
    /// A copy of this rate's current image in the content image's colours (<see cref="ColorTransfer.KeepColors"/>):
    /// its luma with the content's chroma, what the command line's --original-colors saves. Needs the content image:
    /// the one set, or the one a resumed checkpoint holds (this API's checkpoints always keep it, the command line's
    /// only with --original-colors); without one, <see cref="InvalidOperationException"/>.
    /// </summary>
    public RgbImage CurrentImageInContentColors() => _transfer.Locked(() =>
    {
        _transfer.RequireNotDisposed();
        StyleTransferEngine? engine = _transfer.Engine;
        RgbImage content = _transfer.Content ?? throw new InvalidOperationException(engine is null
            ? "Set a content image first."
            : "This run was resumed from a checkpoint that holds no content image (the command line keeps one only with --original-colors), so its colours are not known here.");
        return ColorTransfer.KeepColors(engine?.CurrentImage(_item) ?? content, content);
    });

    /// <summary>
    /// Stops this rate where its loss was last measured, while the other rates of the sweep go on (at a rate that
    /// diverges or has stopped paying, that saves its share of every iteration); <see cref="StopReason"/> then says
    /// "set aside at iteration k", its images stay readable, and a checkpoint keeps it: continue it alone with
    /// <see cref="StyleTransfer.Resume(string, double, DeviceKind, MathPrecision)"/>. Harmless for a rate that has
    /// stopped already. Only after the first run (before it, leave the rate out of the options).
    /// </summary>
    public void SetAside() => _transfer.Locked(() =>
    {
        _transfer.RequireNotDisposed();
        StyleTransferEngine engine = _transfer.Engine
            ?? throw new InvalidOperationException("Nothing runs before the first Run; to run without this rate, leave it out of LearningRates.");
        engine.SetAside(_item);
    });
}
