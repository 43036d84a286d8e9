using CommandLine;

namespace NeuralStyle.Cli.Commands;

[Verb("render", HelpText = "Render the content image in the style of the style image(s).")]
internal sealed class RenderOptions : OptimizationOptions
{
    [Option("out", HelpText = "Output image; PNG, JPEG or WebP by extension. Default: out/render.png; with --resume, the image the checkpoint was saved with (continuing in place), or for a sweep's rate FOLDER-lrRATE.png beside the sweep's folder.")]
    public string? Out { get; set; }

    // Render's alone: a sweep runs to the last of its --checkpoints.
    [Option("iterations", Default = 200, HelpText = "Adam iterations in total (with --resume: the total to reach).")]
    public int Iterations { get; set; }

    /// <summary>The learning rate when --lr is not given.</summary>
    public const double DefaultLearningRate = 10;

    [Option("lr", HelpText = "(Default: 10) Adam learning rate in 0..255 pixel units. With --resume of a sweep's checkpoint: which of its rates to continue alone.")]
    public double? LearningRate { get; set; }

    [Option("save-every", Default = 0, HelpText = "Also save the image every N iterations, as OUT_NNNNN.EXT (0: never).")]
    public int SaveEvery { get; set; }

    [Option("checkpoint", HelpText = "Where to keep the run's checkpoint (written with every saved image and at the end). Default: OUT with .ckpt.")]
    public string? Checkpoint { get; set; }

    [Option("resume", HelpText = "Continue the run saved in this checkpoint up to --iterations in total, with its stored settings (giving one of them, e.g. --size, is refused); a sweep's sweep.ckpt continues the rate --lr names, alone.")]
    public string? Resume { get; set; }

    [Option("keep-best", HelpText = "Save the image of the lowest loss the run has reached rather than its last one (at a too-high --lr the loss swings and the last image can be far from the best); the checkpoint holds both and the run goes on from its last. With --resume, --iterations may be the checkpoint's own: it then saves the best image the checkpoint holds.")]
    public bool KeepBest { get; set; }

    [Option("loss-log", HelpText = "Write the loss per iteration to this CSV file (iteration,total,content,style,tv,elapsed_s). With --resume: the one the checkpoint records, if any.")]
    public string? LossLog { get; set; }
}
