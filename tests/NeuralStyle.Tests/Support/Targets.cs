using NeuralStyle.Engine;

namespace NeuralStyle.Tests.Support;

/// <summary>Style and content targets as a backend computes them, for tests that start a backend by hand.</summary>
internal static class Targets
{
    /// <summary>The Grams of <paramref name="style"/> at <paramref name="loss"/>'s style layers and the features of <paramref name="content"/> at its content layers.</summary>
    public static StyleTargets Of(IStyleBackend backend, LossSettings loss, float[] style, float[] content, int height, int width) => new(
        backend.Features(style, height, width, loss.StyleLayers.Select(l => l.ReluName)).ToDictionary(p => p.Key, p => backend.Gram(p.Value)),
        backend.Features(content, height, width, loss.ContentLayers).ToDictionary(p => p.Key, p => p.Value.Data));
}
