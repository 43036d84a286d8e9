namespace NeuralStyle.Cli.Commands;

/// <summary>
/// Refuses options that <c>--resume</c> takes from the checkpoint instead: given with it they would be silently
/// ignored, and a user who asks for <c>--lr 5</c> must not get the stored rate without a word.
/// </summary>
internal static class ResumeConflicts
{
    /// <summary>The settings a checkpoint stores (and, for a sweep, the folder it lives in).</summary>
    private static readonly string[] Stored =
    [
        "content", "style", "style-blend", "size", "style-scale", "lr", "content-weight", "style-weight", "tv-weight",
        "style-layers", "content-layers", "pooling", "init", "seed", "weights", "preprocess", "max-megapixels", "out-dir",
        "original-colors",
    ];

    /// <summary>Throws a <see cref="UserInputException"/> naming every stored setting given on a resuming command line.</summary>
    public static void Check(object options, IEnumerable<string> args)
    {
        string? resume = options switch
        {
            RenderOptions render => render.Resume,
            SweepOptions sweep => sweep.Resume,
            _ => null,
        };
        if (resume is null)
        {
            return;
        }

        string[] given = args
            .Where(a => a.StartsWith("--", StringComparison.Ordinal))
            .Select(a => a[2..].Split('=')[0])
            .Where(Stored.Contains)
            .Where(name => !(name == "lr" && options is RenderOptions)) // render's --lr picks a sweep's item (ProblemFactory.Resume)
            .Where(name => !(name == "original-colors" && options is RenderOptions)) // a render may take them up (RenderCommand.Start); a sweep's images must all be alike
            .Distinct()
            .Select(name => "--" + name)
            .ToArray();
        if (given.Length > 0)
        {
            throw new UserInputException($"--resume continues with the settings stored in '{resume}', so it does not take {string.Join(", ", given)}; drop {(given.Length == 1 ? "it" : "them")}, or start a new run with {(given.Length == 1 ? "it" : "them")}.");
        }
    }
}
