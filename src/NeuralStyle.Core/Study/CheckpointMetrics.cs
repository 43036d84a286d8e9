using System.Text.Json.Serialization;

namespace NeuralStyle.Study;

/// <summary>One item of a sweep at one checkpoint: its loss terms (weighted), image measures, timing and status.</summary>
public sealed record CheckpointMetrics
{
    /// <summary>The item's learning rate.</summary>
    public double LearningRate { get; init; }

    /// <summary>The checkpoint's iteration.</summary>
    public int Iteration { get; init; }

    /// <summary>
    /// "ok", "diverged at iteration k" (the values are then those of its last finite state), or "plateaued at iteration
    /// k" or "set aside at iteration k" (those of the state it stopped in).
    /// </summary>
    public string Status { get; init; } = "ok";

    /// <summary>Total loss.</summary>
    public double Total { get; init; }

    /// <summary>cw·Σ content_l.</summary>
    public double Content { get; init; }

    /// <summary>sw·Σ w_l·style_l.</summary>
    public double Style { get; init; }

    /// <summary>tvw·TV.</summary>
    public double Tv { get; init; }

    /// <summary>Mean Rec. 601 luma of the image, 0..255.</summary>
    public double MeanLuminance { get; init; }

    /// <summary>SSIM against this item's previous checkpoint image (null at the first checkpoint): is the structure kept?</summary>
    public double? SsimVsPrevious { get; init; }

    /// <summary>The first iteration whose loss was within 1% of the loss at this checkpoint.</summary>
    public int ConvergedAt { get; init; }

    /// <summary>
    /// How much the lowest loss so far fell over the <see cref="PlateauRule.DefaultWindow"/> iterations before the
    /// checkpoint, in percent (<see cref="PlateauRule.GainOver"/>); null before that many iterations or once the item
    /// diverged. Still large: the rate is slow and more iterations pay; below about 1%: it has plateaued (render
    /// --plateau); 0: no new low (a rate too high swings).
    /// </summary>
    public double? RecentGainPercent { get; init; }

    /// <summary>
    /// How far <see cref="Total"/> stands above the lowest loss the item reached so far, in percent
    /// (<see cref="LossSwing.AboveLowest"/>): 0 or nearly for a rate that settles; large for one too high, whose loss
    /// swings, so that its image at the checkpoint is worse than one it passed through.
    /// </summary>
    public double? AboveLowestPercent { get; init; }

    /// <summary>Seconds of optimization when the checkpoint was reached (the whole batch).</summary>
    public double Seconds { get; init; }

    /// <summary>The image file, relative to the output folder.</summary>
    public string Image { get; init; } = "";
}

/// <summary>Source-generated JSON for study reports (works under NativeAOT and trimming).</summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(List<CheckpointMetrics>))]
public sealed partial class StudyJsonContext : JsonSerializerContext;
