using System.Globalization;
using NeuralStyle.Engine;

namespace NeuralStyle.Cli.Reports;

/// <summary>
/// What a sweep's reports show of its rates, from the lowest rate to the highest: each one's learning rate, loss
/// history and stop reason (null while it runs), and the image size. Taken from the engine as it runs, or from a
/// checkpoint where no engine runs all the rates (while a rate set aside catches up with the others). In order of rate
/// rather than of item, so a rate added to a sweep later (--add-lr) takes its place among the others.
/// </summary>
internal sealed record SweepRates(IReadOnlyList<double> LearningRates, IReadOnlyList<IReadOnlyList<LossRecord>> Histories, IReadOnlyList<string?> Stopped, int Width, int Height)
{
    public static SweepRates Of(StyleTransferEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return InRateOrder(engine.LearningRates, engine.History, engine.StopReason, engine.Width, engine.Height);
    }

    public static SweepRates Of(Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return InRateOrder(checkpoint.Settings.LearningRates, n => checkpoint.History[n], n => checkpoint.Stopped[n], checkpoint.Settings.Width, checkpoint.Settings.Height);
    }

    /// <summary>
    /// The rates of <paramref name="items"/> as a sweep names them everywhere, lowest first (items are in the order
    /// the rates were given, and an added rate comes last), joined by <paramref name="separator"/>: ", " in a sentence,
    /// "," in an option.
    /// </summary>
    public static string Named(IReadOnlyList<double> rates, IEnumerable<int> items, string separator) =>
        string.Join(separator, items.Select(n => rates[n]).Order().Select(Name));

    /// <summary>A rate as a sweep names it in its files, reports and lines: 6 significant digits.</summary>
    public static string Name(double rate) => rate.ToString("G6", CultureInfo.InvariantCulture);

    /// <summary>Items <paramref name="items"/> from the lowest rate to the highest.</summary>
    public static IEnumerable<int> ByRate(IReadOnlyList<double> rates, IEnumerable<int> items) => items.OrderBy(n => rates[n]);

    private static SweepRates InRateOrder(IReadOnlyList<double> rates, Func<int, IReadOnlyList<LossRecord>> history, Func<int, string?> stopped, int width, int height)
    {
        int[] order = ByRate(rates, Enumerable.Range(0, rates.Count)).ToArray();
        return new SweepRates(order.Select(n => rates[n]).ToArray(), order.Select(history).ToArray(), order.Select(stopped).ToArray(), width, height);
    }
}
