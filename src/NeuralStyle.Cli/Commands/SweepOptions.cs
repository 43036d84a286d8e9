using CommandLine;

namespace NeuralStyle.Cli.Commands;

[Verb("sweep", HelpText = "Render one content/style pair at several learning rates as one batch, with checkpoints, a contact sheet, loss curves, metrics and the iterations each rate took to each quality.")]
internal sealed class SweepOptions : OptimizationOptions
{
    [Option("lr", Separator = ',', Default = new[] { 0.1, 0.5, 1, 5, 10, 20, 100 }, HelpText = "Learning rates, comma-separated; all run as one batch.")]
    public IEnumerable<double> LearningRates { get; set; } = [];

    [Option("checkpoints", Separator = ',', Default = new[] { 50, 200 }, HelpText = "Iterations at which every item is saved and measured, comma-separated; the last is where the sweep ends.")]
    public IEnumerable<int> Checkpoints { get; set; } = [];

    [Option("out-dir", Default = "out/sweep", HelpText = "Folder for images, contact_sheet.png, loss_curves.png, loss_above_lowest.png, metrics.csv/json, iterations_to_quality.csv, index.html and sweep.ckpt.")]
    public string OutDir { get; set; } = "";

    [Option("resume", HelpText = "Continue the sweep in this folder (its sweep.ckpt) up to the new --checkpoints, with its stored settings (giving one of them, e.g. --lr, is refused).")]
    public string? Resume { get; set; }

    [Option("only", Separator = ',', HelpText = "With --resume: take only these of the sweep's rates on, as one batch; the others are set aside where the sweep is, and can go on alone (render --resume … --lr RATE). A rate named here that was set aside or plateaued earlier first catches up alone to the sweep's iteration, then rejoins.")]
    public IEnumerable<double> Only { get; set; } = [];

    [Option("add-lr", Separator = ',', HelpText = "With --resume: add these learning rates to the sweep; each starts from the image the others started from, catches up alone to the sweep's iteration, measured at its checkpoints, and joins the batch.")]
    public IEnumerable<double> AddLearningRates { get; set; } = [];

    [Option("force", HelpText = "Start the sweep even where --out-dir holds files it would replace (an earlier sweep: its images are removed).")]
    public bool Force { get; set; }

    [Option("no-estimate", HelpText = "Skip timing a single render to compare against (and to put the quality table's tightest level in seconds).")]
    public bool NoEstimate { get; set; }
}
