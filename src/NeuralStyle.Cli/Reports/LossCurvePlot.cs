using NeuralStyle.Engine;
using ScottPlot;

namespace NeuralStyle.Cli.Reports;

/// <summary>log10(total loss) against iteration, one labelled line per learning rate (ScottPlot, headless).</summary>
internal static class LossCurvePlot
{
    public const int Width = 900, Height = 560;

    public static byte[] Render(IReadOnlyList<double> learningRates, IReadOnlyList<IReadOnlyList<LossRecord>> histories)
    {
        var plot = new Plot();
        for (int n = 0; n < learningRates.Count; n++)
        {
            LossRecord[] finite = histories[n].Where(r => r.Loss.IsFinite && r.Loss.Total > 0).ToArray();
            if (finite.Length == 0)
            {
                continue;
            }

            var line = plot.Add.ScatterLine(finite.Select(r => (double)r.Iteration).ToArray(), finite.Select(r => Math.Log10(r.Loss.Total)).ToArray());
            line.LegendText = $"lr {learningRates[n]:G6}";
            line.LineWidth = 2;
        }

        // Iterations are whole numbers: a short sweep would otherwise get ticks at 0.5, 1.5, …
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Axes.Margins(horizontal: 0);
        plot.Title("Total loss per learning rate");
        plot.XLabel("iteration");
        plot.YLabel("log10 total loss");
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }
}
