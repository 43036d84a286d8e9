using System.Globalization;
using System.Text;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;

namespace NeuralStyle.Cli.Commands;

/// <summary>The <c>render</c> verb: one image, one learning rate.</summary>
internal static class RenderCommand
{
    public static int Run(RenderOptions o, TextWriter output, bool interactive)
    {
        ProblemFactory.CheckArguments(o);
        if (!double.IsFinite(o.LearningRate) || o.LearningRate <= 0)
        {
            throw new UserInputException($"--lr must be a finite number > 0, not {o.LearningRate}.");
        }

        if (o.SaveEvery < 0)
        {
            throw new UserInputException($"--save-every must be ≥ 0, not {o.SaveEvery}.");
        }

        _ = ImageFiles.EncoderFor(o.Out);
        PrepareOutputFolder(o.Out, isDefault: o.Out == "out/render.png");
        if (o.LossLog is not null)
        {
            PrepareOutputFolder(o.LossLog, isDefault: false);
        }

        StyleProblem problem = ProblemFactory.Build(o, output.WriteLine);
        using StyleTransferEngine engine = StyleTransferEngine.Create(problem, [o.LearningRate], ProblemFactory.ParseDevice(o.Device));
        output.WriteLine($"Device: {engine.DeviceDescription}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Rendering {engine.Width}×{engine.Height}, {o.Iterations} iterations, lr {o.LearningRate}, weights {problem.Weights.Identity}."));

        var log = new LossLog();
        var progress = new ProgressReporter(o.Iterations, o.PrintEvery, interactive, output);
        for (int i = 0; i < o.Iterations; i++)
        {
            double started = progress.ElapsedSeconds;
            IterationLosses loss = engine.Step()[0];
            log.Add(i, loss, started);
            if (!loss.IsFinite)
            {
                progress.Line($"The loss became {loss.Total} at iteration {i}: the optimization diverged. {o.Out} was not written; try a lower --lr (e.g. {o.LearningRate / 4:G3}).");
                WriteLog(o.LossLog, log);
                return 1;
            }

            progress.Report(i, loss);
            if (o.SaveEvery > 0 && (i + 1) % o.SaveEvery == 0 && i + 1 < o.Iterations)
            {
                ImageFiles.Save(engine.CurrentImage(0), Intermediate(o.Out, i + 1));
                WriteLog(o.LossLog, log);
            }
        }

        IterationLosses final = engine.Evaluate()[0];
        log.Add(o.Iterations, final, progress.ElapsedSeconds);
        ImageFiles.Save(engine.CurrentImage(0), o.Out);
        WriteLog(o.LossLog, log);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Wrote {o.Out}: loss {log.First.Total:E4} → {final.Total:E4} (style {log.First.Style:E3} → {final.Style:E3}) in {progress.ElapsedSeconds:F1} s."));
        return 0;
    }

    /// <summary>OUT_00100.png for iteration 100.</summary>
    public static string Intermediate(string path, int iteration) =>
        Path.Combine(Path.GetDirectoryName(path) ?? "", $"{Path.GetFileNameWithoutExtension(path)}_{iteration:D5}{Path.GetExtension(path)}");

    /// <summary>Refuses a missing output folder (creating only our own default one) and an output that is an input.</summary>
    private static void PrepareOutputFolder(string path, bool isDefault)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (Directory.Exists(folder))
        {
            return;
        }

        if (!isDefault)
        {
            throw new UserInputException($"Cannot write '{path}': the folder '{folder}' does not exist; create it first.");
        }

        Directory.CreateDirectory(folder);
    }

    private static void WriteLog(string? path, LossLog log)
    {
        if (path is not null)
        {
            AtomicFile.WriteText(path, log.ToCsv());
        }
    }

    /// <summary>The rows of <c>--loss-log</c>: the loss at the start of each iteration, each term already weighted.</summary>
    private sealed class LossLog
    {
        private readonly List<(int Iteration, IterationLosses Loss, double Seconds)> _rows = [];

        public IterationLosses First => _rows[0].Loss;

        public void Add(int iteration, IterationLosses loss, double seconds) => _rows.Add((iteration, loss, seconds));

        public string ToCsv()
        {
            var text = new StringBuilder("iteration,total,content,style,tv,elapsed_s\n");
            foreach (var (iteration, loss, seconds) in _rows)
            {
                text.Append(string.Create(CultureInfo.InvariantCulture,
                    $"{iteration},{loss.Total:R},{loss.Content:R},{loss.Style:R},{loss.Tv:R},{seconds:F4}\n"));
            }

            return text.ToString();
        }
    }
}
