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
