using System.Globalization;
using System.Text;
using NeuralStyle.Engine;

namespace NeuralStyle.Cli.Commands;

/// <summary>Text forms of losses for progress lines and the CSV loss log.</summary>
internal static class LossSummary
{
    /// <summary>"loss 1.2345E+005 (content … style … tv …)".</summary>
    public static string Describe(IterationLosses loss) => string.Create(CultureInfo.InvariantCulture,
        $"loss {loss.Total:E4}  content {loss.Content:E3}  style {loss.Style:E3}  tv {loss.Tv:E3}");

    /// <summary>
    /// Where a run diverged because a loss weight is absurdly large, not because of its learning rate: from about
    /// 1e30 a weight makes the float32 gradients overflow in the first updates (smaller huge weights stall Adam
    /// instead, which the engine refuses at the first update). The sentence to give instead of "a lower --lr", or null.
    /// </summary>
    public static string? HugeWeightAdvice(LossSettings loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        double styleLayer = loss.StyleLayers.Select(l => l.Weight).DefaultIfEmpty(0).Max();
        var (option, value) = new[] { ("--content-weight", loss.ContentWeight), ("--style-weight", loss.StyleWeight * styleLayer), ("--tv-weight", loss.TvWeight) }
            .MaxBy(w => w.Item2);
        string named = option == "--style-weight" && styleLayer != 1 ? "--style-weight times its largest layer weight" : option;
        return value >= HugeWeight
            ? string.Create(CultureInfo.InvariantCulture, $"{named} ({value:G3}) is so large that the gradients overflow float32; divide the loss weights by one factor (Adam follows only their ratios)")
            : null;
    }

    private const double HugeWeight = 1e30;

    /// <summary>The <c>--loss-log</c> CSV: iteration,total,content,style,tv,elapsed_s; one row per recorded iteration.</summary>
    public static string Csv(IEnumerable<LossRecord> history)
    {
        var text = new StringBuilder("iteration,total,content,style,tv,elapsed_s\n");
        foreach (LossRecord r in history)
        {
            text.Append(string.Create(CultureInfo.InvariantCulture,
                $"{r.Iteration},{r.Loss.Total:R},{r.Loss.Content:R},{r.Loss.Style:R},{r.Loss.Tv:R},{r.Seconds:F4}\n"));
        }

        return text.ToString();
    }
}
