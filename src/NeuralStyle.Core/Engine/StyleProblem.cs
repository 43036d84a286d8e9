using NeuralStyle.Imaging;
using NeuralStyle.Model;

namespace NeuralStyle.Engine;

/// <summary>
/// Everything that defines one optimization except the learning rates: the images (already at their working
/// sizes), the weights and the loss. The images are not copied; do not change them while an engine uses them.
/// </summary>
public sealed record StyleProblem
{
    /// <summary>The content image; the optimized image has its size.</summary>
    public required RgbImage Content { get; init; }

    /// <summary>One or more style images, each at its own size.</summary>
    public required IReadOnlyList<RgbImage> Styles { get; init; }

    /// <summary>Blend weights of the style images' Gram matrices (normalized to sum 1); null means equal weights.</summary>
    public IReadOnlyList<double>? StyleBlend { get; init; }

    /// <summary>The starting image (content size); null starts from the content image.</summary>
    public RgbImage? Initial { get; init; }

    /// <summary>The network weights (full table; the engine truncates at the deepest tap).</summary>
    public required NetworkWeights Weights { get; init; }

    /// <summary>Preprocessing; null uses the weights' own preset.</summary>
    public PreprocessPreset? Preprocess { get; init; }

    /// <summary>The loss definition.</summary>
    public LossSettings Loss { get; init; } = new();

    /// <summary>Adam's constants.</summary>
    public AdamSettings Adam { get; init; } = new();

    /// <summary>Memory the run may use, in bytes; null means what the machine has available now.</summary>
    public long? MemoryLimitBytes { get; init; }

    /// <summary>The normalized style blend, or a sentence saying what is wrong with it.</summary>
    public double[] NormalizedBlend() => NormalizeBlend(StyleBlend, Styles.Count);

    /// <summary>
    /// <paramref name="blend"/> (null: equal) normalized to sum 1 for <paramref name="styles"/> style images, or a
    /// sentence saying what is wrong with it; the command line checks it before loading anything.
    /// </summary>
    public static double[] NormalizeBlend(IReadOnlyList<double>? blend, int styles)
    {
        if (blend is null)
        {
            return Enumerable.Repeat(1.0 / styles, styles).ToArray();
        }

        if (blend.Count != styles)
        {
            throw new UserInputException($"There {(blend.Count == 1 ? "is 1 style blend weight" : $"are {blend.Count} style blend weights")} ({SettingNames.Current.StyleBlend}) for {styles} style image{(styles == 1 ? "" : "s")}; give one weight per style image.");
        }

        if (blend.Any(b => !double.IsFinite(b) || b < 0) || blend.Sum() <= 0)
        {
            throw new UserInputException($"The style blend weights ({SettingNames.Current.StyleBlend}) must be finite, ≥ 0 and not all 0.");
        }

        double sum = blend.Sum();
        return blend.Select(b => b / sum).ToArray();
    }
}
