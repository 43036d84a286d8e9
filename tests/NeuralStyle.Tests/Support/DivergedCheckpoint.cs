using NeuralStyle.Engine;

namespace NeuralStyle.Tests.Support;

/// <summary>Checkpoints that diverge as soon as they are resumed.</summary>
internal static class DivergedCheckpoint
{
    /// <summary>
    /// <paramref name="saved"/> as an interruption would have left it after an absurd update: the images near the
    /// float maximum, and no history row yet for its iteration, whose loss was never evaluated; no best image, whose
    /// iteration that row was (as in a checkpoint from before best images were kept).
    /// </summary>
    public static Checkpoint BlownUp(Checkpoint saved) => saved with
    {
        State = saved.State with { Images = saved.State.Images.Select(v => v * 1e36f).ToArray() },
        History = saved.History.Select(h => (IReadOnlyList<LossRecord>)h.Where(r => r.Iteration < saved.Iteration).ToArray()).ToArray(),
        Best = null,
    };
}
