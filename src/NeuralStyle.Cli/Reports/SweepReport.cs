using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using NeuralStyle.Cli.Commands;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Study;

namespace NeuralStyle.Cli.Reports;

/// <summary>
/// Writes a sweep folder's reports from its metrics and images: metrics.csv, metrics.json, contact_sheet.png,
/// loss_curves.png, loss_above_lowest.png, iterations_to_quality.csv and index.html. Every file is written atomically,
/// so a folder is always consistent.
/// </summary>
internal static class SweepReport
{
    public const string MetricsJson = "metrics.json", MetricsCsv = "metrics.csv", Sheet = "contact_sheet.png", Curves = "loss_curves.png", Index = "index.html", CheckpointFile = "sweep.ckpt";
    public const string QualityCsv = "iterations_to_quality.csv", AboveLowest = "loss_above_lowest.png";

    /// <summary>Every file a sweep writes into its folder besides its images.</summary>
    public static IReadOnlyList<string> Files { get; } = [CheckpointFile, MetricsCsv, MetricsJson, Sheet, Curves, AboveLowest, QualityCsv, Index];

    /// <summary>
    /// The metrics written earlier (a resumed sweep keeps its rows), or none; a <see cref="UserInputException"/> if
    /// the file is not the JSON this report writes.
    /// </summary>
    public static List<CheckpointMetrics> ReadMetrics(string folder)
    {
        string path = Path.Combine(folder, MetricsJson);
        if (!File.Exists(path))
        {
            return [];
        }

        List<CheckpointMetrics> rows;
        try
        {
            rows = JsonSerializer.Deserialize(File.ReadAllText(path), StudyJsonContext.Default.ListCheckpointMetrics) ?? [];
        }
        catch (JsonException e)
        {
            throw new UserInputException(DamagedMessage(path, e.Message.Split(" Path:")[0].TrimEnd('.')), e);
        }

        // System.Text.Json leaves a field missing from the JSON null, whatever its initializer.
        return rows.Any(r => r?.Status is null || r.Image is null) ? throw new UserInputException(DamagedMessage(path, "a row lacks its status or its image")) : rows;
    }

    private static string DamagedMessage(string path, string why) =>
        $"'{path}' is damaged ({why}); the sweep's state is in {CheckpointFile}, so move {MetricsJson} away to go on without the earlier checkpoints' rows.";

    /// <summary>Writes every report of the sweep of <paramref name="sweep"/>; <paramref name="separate"/>, where one was timed, puts its quality in seconds too.</summary>
    public static void Write(string folder, IReadOnlyList<CheckpointMetrics> metrics, SweepRates sweep, string summary, SeparateRender? separate)
    {
        AtomicFile.WriteText(Path.Combine(folder, MetricsJson), JsonSerializer.Serialize(metrics.ToList(), StudyJsonContext.Default.ListCheckpointMetrics));
        AtomicFile.WriteText(Path.Combine(folder, MetricsCsv), Csv(metrics));
        AtomicFile.Write(Path.Combine(folder, Sheet), s => s.Write(SheetPng(folder, metrics, sweep)));
        var histories = sweep.Histories;
        var stopped = sweep.Stopped;
        AtomicFile.Write(Path.Combine(folder, Curves), s => s.Write(LossCurvePlot.Render(sweep.LearningRates, histories, stopped)));
        IterationsToQuality? quality = IterationsToQuality.Measure(histories);
        if (quality is not null) // else no loss above 0 to measure from, and the page shows no such plot
        {
            AtomicFile.Write(Path.Combine(folder, AboveLowest), s => s.Write(LossCurvePlot.RenderAboveLowest(sweep.LearningRates, histories, stopped, quality)));
        }

        AtomicFile.WriteText(Path.Combine(folder, QualityCsv), QualityTable.Csv(quality, sweep));
        AtomicFile.WriteText(Path.Combine(folder, Index), Html(metrics, summary, QualityTable.Html(quality, sweep, separate)));
    }

    public static string Csv(IEnumerable<CheckpointMetrics> metrics)
    {
        var text = new StringBuilder("lr,iteration,status,total,content,style,tv,mean_luminance,ssim_vs_previous,converged_at,recent_gain_pct,above_lowest_pct,seconds,image\n");
        foreach (CheckpointMetrics m in metrics)
        {
            text.Append(string.Create(CultureInfo.InvariantCulture,
                $"{m.LearningRate:R},{m.Iteration},{m.Status},{m.Total:R},{m.Content:R},{m.Style:R},{m.Tv:R},{m.MeanLuminance:F3},{m.SsimVsPrevious?.ToString("F4", CultureInfo.InvariantCulture) ?? ""},{m.ConvergedAt},{m.RecentGainPercent?.ToString("F3", CultureInfo.InvariantCulture) ?? ""},{m.AboveLowestPercent?.ToString("F3", CultureInfo.InvariantCulture) ?? ""},{m.Seconds:F2},{m.Image}\n"));
        }

        return text.ToString();
    }

    /// <summary>
    /// An earlier checkpoint's image, or null (a grey cell) where it is gone or can no longer be read: the sweep's state
    /// is in its checkpoint, and a damaged picture of the past must not fail a sweep after its work is done. (A resume
    /// says so when it starts: <see cref="Commands.SweepCommand.PreviousImages"/>.)
    /// </summary>
    private static RgbImage? ImageOrNone(string file)
    {
        try
        {
            return File.Exists(file) ? ImageFiles.Load(file, null) : null;
        }
        catch (UserInputException)
        {
            return null;
        }
    }

    private static byte[] SheetPng(string folder, IReadOnlyList<CheckpointMetrics> metrics, SweepRates sweep)
    {
        int[] iterations = metrics.Select(m => m.Iteration).Distinct().Order().ToArray();
        // Cells 160 to 256 px on their long side: labels fit, and a 7×3 sheet stays a reasonable size.
        double scale = Math.Clamp(sweep.Width, 160, 256) / (double)Math.Max(sweep.Width, sweep.Height);
        int cellWidth = Math.Max(1, (int)(sweep.Width * scale)), cellHeight = Math.Max(1, (int)(sweep.Height * scale));
        var rows = new List<IReadOnlyList<RgbImage?>>();
        var labels = new List<IReadOnlyList<string>>();
        foreach (double lr in sweep.LearningRates)
        {
            var row = new List<RgbImage?>();
            var rowLabels = new List<string>();
            foreach (int iteration in iterations)
            {
                CheckpointMetrics? m = metrics.FirstOrDefault(x => x.LearningRate == lr && x.Iteration == iteration);
                row.Add(m is null ? null : ImageOrNone(Path.Combine(folder, m.Image)));
                rowLabels.Add(CellLabel(lr, iteration, m?.Status));
            }

            rows.Add(row);
            labels.Add(rowLabels);
        }

        return ContactSheet.Render(rows, labels, cellWidth, cellHeight);
    }

    /// <summary>A contact sheet cell's label: the rate, the checkpoint and, for a rate that stopped, how (the metrics say where).</summary>
    internal static string CellLabel(double rate, int iteration, string? status)
    {
        string how = status switch
        {
            null or "ok" => "",
            _ when StopReasons.IsDivergence(status) => " (diverged)",
            _ when StopReasons.IsPlateau(status) => " (plateaued)",
            _ when StopReasons.CanGoOnAlone(status) => " (set aside)",
            _ => $" ({status})",
        };
        return string.Create(CultureInfo.InvariantCulture, $"lr {rate:G6} · {iteration} it{how}");
    }

    private static string Html(IReadOnlyList<CheckpointMetrics> metrics, string summary, string quality)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>NeuralStyle learning-rate sweep</title>\n");
        html.Append("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}img.thumb{height:64px}</style></head><body>\n");
        html.Append("<h1>Learning-rate sweep</h1>\n<p>").Append(WebUtility.HtmlEncode(summary)).Append("</p>\n");
        html.Append(CultureInfo.InvariantCulture, $"<h2>Contact sheet</h2>\n<p><img src=\"{Sheet}\" alt=\"contact sheet\"></p>\n");
        html.Append(CultureInfo.InvariantCulture, $"<h2>Loss curves</h2>\n<p><img src=\"{Curves}\" alt=\"loss curves\"></p>\n");
        html.Append(quality);
        html.Append(CultureInfo.InvariantCulture, $"<h2>Metrics</h2>\n<p>Also as <a href=\"{MetricsCsv}\">{MetricsCsv}</a> and <a href=\"{MetricsJson}\">{MetricsJson}</a>. Losses are weighted terms; SSIM compares each image with the same learning rate's previous checkpoint; 'converged at' is the first iteration within 1% of the checkpoint's loss; 'recent gain' is how much the lowest loss so far fell over the {PlateauRule.DefaultWindow} iterations before the checkpoint (large: more iterations still pay; below about 1%: it has plateaued; 0: no new low, as where a rate too high swings); 'above lowest' is how far the loss at the checkpoint stands above the lowest it reached (a rate that settles: 0 or nearly; one too high swings, and its image is worse than one it passed through).</p>\n");
        html.Append("<table><tr><th>lr</th><th>iteration</th><th>status</th><th>total</th><th>content</th><th>style</th><th>tv</th><th>mean luminance</th><th>SSIM vs previous</th><th>converged at</th><th>recent gain</th><th>above lowest</th><th>seconds</th><th>image</th></tr>\n");
        foreach (CheckpointMetrics m in metrics.OrderBy(m => m.LearningRate).ThenBy(m => m.Iteration))
        {
            string image = WebUtility.HtmlEncode(m.Image);
            html.Append(CultureInfo.InvariantCulture,
                $"<tr><td>{m.LearningRate:G6}</td><td>{m.Iteration}</td><td>{WebUtility.HtmlEncode(m.Status)}</td><td>{m.Total:E3}</td><td>{m.Content:E3}</td><td>{m.Style:E3}</td><td>{m.Tv:E3}</td><td>{m.MeanLuminance:F1}</td><td>{m.SsimVsPrevious?.ToString("F3", CultureInfo.InvariantCulture) ?? "–"}</td><td>{m.ConvergedAt}</td><td>{Percent(m.RecentGainPercent)}</td><td>{Percent(m.AboveLowestPercent)}</td><td>{m.Seconds:F1}</td><td><a href=\"{image}\"><img class=\"thumb\" src=\"{image}\" alt=\"{image}\"></a></td></tr>\n");
        }

        html.Append("</table>\n</body></html>\n");
        return html.ToString();
    }

    /// <summary>A percentage for the table, or a dash where there is none.</summary>
    private static string Percent(double? value) => value is double v ? v.ToString("F2", CultureInfo.InvariantCulture) + "%" : "–";
}
