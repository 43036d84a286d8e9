using System.Globalization;
using System.Net;
using System.Text;
using NeuralStyle.Cli.Commands;
using NeuralStyle.Engine;
using NeuralStyle.Study;

namespace NeuralStyle.Cli.Reports;

/// <summary>
/// <see cref="IterationsToQuality"/> as a sweep shows it: a table with a row per learning rate and a column per level,
/// as text for the terminal, HTML for the report and CSV for scripts, each measured from an engine's histories. A dash
/// marks a level a rate never reached; a rate that stopped has its reason beside its row, as it may have stopped first.
/// </summary>
internal static class QualityTable
{
    /// <summary>
    /// The heading and the table as aligned lines of text, ending with the rate that was fastest to each level, and,
    /// where a <paramref name="separate"/> render was timed, what the tightest level costs in seconds as a render of its
    /// own; none where no rate has a finite loss.
    /// </summary>
    public static IEnumerable<string> Text(SweepRates sweep, SeparateRender? separate)
    {
        if (IterationsToQuality.Measure(sweep.Histories) is not IterationsToQuality q)
        {
            return [];
        }

        IEnumerable<string> lines = Text(q, sweep.LearningRates, sweep.Stopped).Prepend(Heading(q, sweep.LearningRates));
        return InSeconds(q, sweep.LearningRates, separate) is string seconds ? lines.Append(seconds) : lines;
    }

    /// <summary>
    /// The section of index.html for <paramref name="q"/> (<see cref="IterationsToQuality.Measure"/> of
    /// <see cref="SweepRates.Histories"/>): the heading, <see cref="SweepReport.AboveLowest"/>, the table (each level's fastest
    /// rate in bold), the tightest level in seconds as the terminal gets it, and a link to the CSV; empty for null.
    /// </summary>
    public static string Html(IterationsToQuality? q, SweepRates sweep, SeparateRender? separate) =>
        q is null ? "" : Html(q, sweep.LearningRates, sweep.Stopped) + (InSeconds(q, sweep.LearningRates, separate) is string seconds ? $"<p>{WebUtility.HtmlEncode(seconds)}</p>\n" : "");

    /// <summary>
    /// A row per rate and level of <paramref name="q"/> (measured as for the page): the loss the level allows and the
    /// first iteration at or below it (empty: never); only the header for null.
    /// </summary>
    public static string Csv(IterationsToQuality? q, SweepRates sweep)
    {
        var csv = new StringBuilder("lr,within_pct,loss_at_most,first_iteration\n");
        for (int n = 0; q is not null && n < sweep.LearningRates.Count; n++)
        {
            for (int level = 0; level < q.Levels.Count; level++)
            {
                csv.Append(string.Create(CultureInfo.InvariantCulture,
                    $"{sweep.LearningRates[n]:R},{q.Levels[level]:R},{q.AllowedLoss(level):R},{q.FirstReached[n][level]}\n"));
            }
        }

        return csv.ToString();
    }

    /// <summary>The sentence above the table: what it counts, and the loss it counts from.</summary>
    private static string Heading(IterationsToQuality q, IReadOnlyList<double> rates) => string.Create(CultureInfo.InvariantCulture,
        $"Iterations each rate took to come within {string.Join(", ", q.Levels.SkipLast(1).Select(Percent))}{(q.Levels.Count > 1 ? " and " : "")}{Percent(q.Levels[^1])} of the sweep's lowest loss, {q.LowestLoss:E3} (lr {rates[q.LowestItem]:G6} at iteration {q.LowestIteration}); an iteration costs the same at every rate, so fewer is cheaper:");

    private static IEnumerable<string> Text(IterationsToQuality q, IReadOnlyList<double> rates, IReadOnlyList<string?> stopped)
    {
        string[] fastest = q.Fastest.Select(n => Rate(rates[n])).ToArray();
        string[] labels = rates.Select(r => r.ToString("G6", CultureInfo.InvariantCulture)).ToArray();
        int width = Math.Max(6, fastest.Max(f => f.Length)) + 2, labelWidth = Math.Max(8, labels.Max(l => l.Length) + 1);
        string Row(string label, IEnumerable<string> cells) => "  " + label.PadRight(labelWidth) + string.Concat(cells.Select(c => c.PadLeft(width)));
        yield return Row("lr", q.Levels.Select(p => "+" + Percent(p)));
        for (int n = 0; n < rates.Count; n++)
        {
            yield return Row(labels[n], q.FirstReached[n].Select(Cell)) + (stopped[n] is string why ? $"  ({why})" : "");
        }

        yield return Row("fastest", fastest);
    }

    private static string Html(IterationsToQuality q, IReadOnlyList<double> rates, IReadOnlyList<string?> stopped)
    {
        var html = new StringBuilder("<h2>Compute to quality</h2>\n<p>");
        html.Append(WebUtility.HtmlEncode(Heading(q, rates).TrimEnd(':')));
        html.Append(CultureInfo.InvariantCulture,
            $". Where a rate's line below first crosses a dashed level is its iteration in the table. A dash: not reached (a rate that stopped may have stopped before it could). The levels are measured from this sweep's best rate: where every rate is too low, they ask little. Also as <a href=\"{SweepReport.QualityCsv}\">{SweepReport.QualityCsv}</a>.</p>\n");
        html.Append(CultureInfo.InvariantCulture, $"<p><img src=\"{SweepReport.AboveLowest}\" alt=\"loss above the lowest\"></p>\n<table><tr><th>lr</th>");
        foreach (double level in q.Levels)
        {
            html.Append(CultureInfo.InvariantCulture, $"<th>within {Percent(level)}</th>");
        }

        html.Append("<th>stopped</th></tr>\n");
        IReadOnlyList<int> fastest = q.Fastest;
        for (int n = 0; n < rates.Count; n++)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{rates[n]:G6}</td>");
            for (int level = 0; level < q.Levels.Count; level++)
            {
                string cell = Cell(q.FirstReached[n][level]);
                html.Append(fastest[level] == n ? $"<td><b>{cell}</b></td>" : $"<td>{cell}</td>");
            }

            html.Append(CultureInfo.InvariantCulture, $"<td>{WebUtility.HtmlEncode(stopped[n] ?? "")}</td></tr>\n");
        }

        return html.Append("</table>\n").ToString();
    }

    /// <summary>What the tightest level costs in seconds as a render of its own at the rate fastest to it, where a <paramref name="separate"/> render was timed; else null.</summary>
    private static string? InSeconds(IterationsToQuality q, IReadOnlyList<double> rates, SeparateRender? separate)
    {
        if (separate is null)
        {
            return null;
        }

        int fastest = q.Fastest[^1], iterations = q.FirstReached[fastest][^1]!.Value;
        return string.Create(CultureInfo.InvariantCulture,
            $"As a render of its own, {Rate(rates[fastest])} would come within {Percent(q.Levels[^1])} in about {separate.Seconds(iterations):F1} s here ({separate.SetupSeconds:F1} s setup + {iterations} iterations × {separate.IterationSeconds:F3} s, timed before the sweep).");
    }

    private static string Percent(double level) => level.ToString("G4", CultureInfo.InvariantCulture) + "%";

    private static string Cell(int? iteration) => iteration?.ToString(CultureInfo.InvariantCulture) ?? "–";

    private static string Rate(double rate) => string.Create(CultureInfo.InvariantCulture, $"lr {rate:G6}");
}
