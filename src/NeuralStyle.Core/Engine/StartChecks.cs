using NeuralStyle.Model;

namespace NeuralStyle.Engine;

/// <summary>
/// What every backend's <see cref="IStyleBackend.Start"/> checks before it touches anything: a target for every loss
/// layer, of that layer's size for the run's image size, and a state that holds the whole batch. In one place, so
/// that every backend refuses the same input with the same message, and a refused start leaves the backend as it
/// was.
/// </summary>
public static class StartChecks
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first target, state or best-image array that does not fit a batch of one item per learning rate.</summary>
    public static void Require(NetworkArchitecture architecture, LossSettings loss, StyleTargets targets, OptimizerState initial,
        int height, int width, IReadOnlyList<double> learningRates, float[]? bestImages = null)
    {
        if (Misfit(architecture, loss, targets, initial, height, width, learningRates, bestImages) is string problem)
        {
            throw new ArgumentException(problem);
        }
    }

    /// <summary>
    /// The sentence <see cref="Require"/> throws, or null where everything fits: for a caller whose arrays come from a
    /// file (a checkpoint), where a misfit is damage to report, not a program's error.
    /// </summary>
    public static string? Misfit(NetworkArchitecture architecture, LossSettings loss, StyleTargets targets, OptimizerState initial,
        int height, int width, IReadOnlyList<double> learningRates, float[]? bestImages = null)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(initial);
        ArgumentNullException.ThrowIfNull(learningRates);
        if (loss.Taps.FirstOrDefault(name => architecture.FindRelu(name) is null) is string unknown)
        {
            return $"The network has no layer {unknown}.";
        }

        int batch = learningRates.Count;
        foreach (string name in loss.ContentLayers)
        {
            var (channels, positions) = Size(architecture, name, height, width);
            long expected = (long)channels * positions;
            if (!targets.ContentFeatures.TryGetValue(name, out float[]? features) || features.Length != expected)
            {
                return $"The content target of {name} holds {features?.Length ?? 0} values; {width}×{height} images need {expected}.";
            }
        }

        foreach (LayerWeight style in loss.StyleLayers)
        {
            int channels = Size(architecture, style.ReluName, height, width).Channels;
            if (!targets.Grams.TryGetValue(style.ReluName, out float[]? gram) || gram.Length != (long)channels * channels)
            {
                return $"The style target of {style.ReluName} must be a {channels}×{channels} Gram matrix; it holds {gram?.Length ?? 0} values.";
            }
        }

        long length = (long)batch * 3 * height * width;
        if (initial.Steps.Length != batch || initial.Images.Length != length || initial.FirstMoment.Length != length || initial.SecondMoment.Length != length)
        {
            return $"The state holds {initial.Steps.Length} step counts and {initial.Images.Length}, {initial.FirstMoment.Length} and {initial.SecondMoment.Length} "
                + $"values (images, first and second moments); a batch of {batch} at {width}×{height} needs {batch} and {length} each.";
        }

        return bestImages is not null && bestImages.Length != length
            ? $"The best images hold {bestImages.Length} values; a batch of {batch} at {width}×{height} needs {length}."
            : null;
    }

    private static (int Channels, int Positions) Size(NetworkArchitecture architecture, string reluName, int height, int width)
    {
        ConvLayer layer = architecture.FindRelu(reluName)!; // every tap was found above
        var (h, w) = NetworkArchitecture.SpatialSize(layer.Block, height, width);
        return (layer.OutChannels, h * w);
    }
}
