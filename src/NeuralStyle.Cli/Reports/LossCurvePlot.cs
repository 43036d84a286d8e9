using System.Globalization;
using NeuralStyle.Engine;
using NeuralStyle.Study;
using ScottPlot;

namespace NeuralStyle.Cli.Reports;

/// <summary>
/// A sweep's loss curves, one labelled line per learning rate (ScottPlot, headless): log10(total loss) against
/// iteration, and how far each loss stands above the lowest any rate reached, with the levels of
/// <see cref="IterationsToQuality"/> drawn across it.
/// </summary>
internal static class LossCurvePlot
{
    public const int Width = 900, Height = 560;

    /// <summary>Where the distance to the lowest loss is drawn when it is smaller (the lowest itself is 0): 0.1%.</summary>
    private const double FloorPercent = 0.1;

    /// <summary>log10 of each rate's total loss against iteration; a rate that stopped (<paramref name="stopped"/>: why, or null) ends in a marker, its reason in the legend.</summary>
    public static byte[] Render(IReadOnlyList<double> learningRates, IReadOnlyList<IReadOnlyList<LossRecord>> histories, IReadOnlyList<string?> stopped)
    {
        Plot plot = Lines(learningRates, histories, stopped, Math.Log10);
        plot.Title("Total loss per learning rate");
        plot.YLabel("log10 total loss");
        return Png(plot);
    }

    /// <summary>
    /// How far each rate's loss stands above <paramref name="quality"/>'s lowest loss, in percent on a log axis, with a
    /// dashed line at each of its levels: where a rate's line first crosses one is the iteration its table gives.
    /// </summary>
    public static byte[] RenderAboveLowest(IReadOnlyList<double> learningRates, IReadOnlyList<IReadOnlyList<LossRecord>> histories, IReadOnlyList<string?> stopped,
        IterationsToQuality quality)
    {
        double lowest = quality.LowestLoss;
        Plot plot = Lines(learningRates, histories, stopped, loss => Math.Log10(Math.Max(FloorPercent, 100 * (loss - lowest) / lowest)));
        // Each level's name just above its line at the left edge, where the curves are still high above it.
        double first = histories.SelectMany(h => h).Select(r => (double)r.Iteration).DefaultIfEmpty(0).Min();
        foreach (double level in quality.Levels)
        {
            plot.Add.HorizontalLine(Math.Log10(level), 1, Colors.Gray, LinePattern.Dashed);
            var name = plot.Add.Text($"within {Percent(level)}", first, Math.Log10(level));
            name.Alignment = Alignment.LowerLeft;
            name.LabelFontSize = 11;
            name.LabelFontColor = Colors.Gray;
        }

        // Decades labelled as percentages, from the floor to the highest loss drawn.
        double top = histories.SelectMany(h => h).Where(r => r.Loss.IsFinite).Select(r => 100 * (r.Loss.Total - lowest) / lowest).DefaultIfEmpty(100).Max();
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (double percent = FloorPercent; percent <= Math.Max(top, 100) * 10; percent *= 10)
        {
            ticks.AddMajor(Math.Log10(percent), Percent(percent));
        }

        plot.Axes.Left.TickGenerator = ticks;
        plot.Title(string.Create(CultureInfo.InvariantCulture, $"Total loss above the sweep's lowest ({lowest:E3})"));
        plot.YLabel("above the lowest (log scale)");
        return Png(plot);
    }

    /// <summary>
    /// A plot with a line per rate of <paramref name="y"/> of each finite positive total loss against its iteration. A
    /// rate that stopped ends in a marker of its line's colour (a cross where it diverged, else a dot), and its legend
    /// entry says why ("lr 20, plateaued at iteration 369"), so a line that ends early is not read as a sweep that did.
    /// </summary>
    private static Plot Lines(IReadOnlyList<double> learningRates, IReadOnlyList<IReadOnlyList<LossRecord>> histories, IReadOnlyList<string?> stopped,
        Func<double, double> y)
    {
        var plot = new Plot();
        for (int n = 0; n < learningRates.Count; n++)
        {
            LossRecord[] finite = histories[n].Where(r => r.Loss.IsFinite && r.Loss.Total > 0).ToArray();
            if (finite.Length == 0)
            {
                continue;
            }

            var line = plot.Add.ScatterLine(finite.Select(r => (double)r.Iteration).ToArray(), finite.Select(r => y(r.Loss.Total)).ToArray());
            line.LegendText = string.Create(CultureInfo.InvariantCulture, $"lr {learningRates[n]:G6}{(stopped[n] is string why ? $", {why}" : "")}");
            line.LineWidth = 2;
            if (stopped[n] is string reason)
            {
                MarkerShape shape = StopReasons.IsDivergence(reason) ? MarkerShape.Eks : MarkerShape.FilledCircle;
                plot.Add.Marker(finite[^1].Iteration, y(finite[^1].Loss.Total), shape, 9, line.Color);
            }
        }

        // Iterations are whole numbers: a short sweep would otherwise get ticks at 0.5, 1.5, …
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Axes.Margins(horizontal: 0);
        plot.XLabel("iteration");
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>"0.1%", "20%", "10000%": no exponent, which reads poorly as a percentage.</summary>
    private static string Percent(double percent) => percent.ToString("0.###", CultureInfo.InvariantCulture) + "%";

    private static byte[] Png(Plot plot) => plot.GetImageBytes(Width, Height, ImageFormat.Png);
}
