using NeuralStyle.Engine;

namespace NeuralStyle.Cli.Reports;

/// <summary>
/// What a sweep's reports show of its rates, in item order: each one's learning rate, loss history and stop reason
/// (null while it runs), and the image size. Taken from the engine as it runs, or from a checkpoint where no engine
/// runs all the rates (while a rate set aside catches up with the others).
/// </summary>
internal sealed record SweepRates(IReadOnlyList<double> LearningRates, IReadOnlyList<IReadOnlyList<LossRecord>> Histories, IReadOnlyList<string?> Stopped, int Width, int Height)
{
    public static SweepRates Of(StyleTransferEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        int[] items = Enumerable.Range(0, engine.LearningRates.Count).ToArray();
        return new SweepRates(engine.LearningRates, items.Select(engine.History).ToArray(), items.Select(engine.StopReason).ToArray(), engine.Width, engine.Height);
    }

    public static SweepRates Of(Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return new SweepRates(checkpoint.Settings.LearningRates, checkpoint.History, checkpoint.Stopped, checkpoint.Settings.Width, checkpoint.Settings.Height);
    }
}
