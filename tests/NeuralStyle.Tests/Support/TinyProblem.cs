using NeuralStyle.Cpu;
using NeuralStyle.Engine;
using NeuralStyle.Model;

namespace NeuralStyle.Tests.Support;

/// <summary>
/// A style problem small enough for exact checks of a backend's bookkeeping: two blocks of 3 and 4 channels, 12×10
/// images, style on relu1_1 and relu2_1, content on relu2_1.
/// </summary>
internal static class TinyProblem
{
    public const int Height = 12, Width = 10;

    public static readonly LossSettings Loss = new() { StyleLayers = [new LayerWeight("relu1_1", 1), new LayerWeight("relu2_1", 1)], ContentLayers = ["relu2_1"] };

    public static NetworkWeights Network => TinyNetworks.Create(GraphGradientTests.Parse("3|4"), 5);

    public static CpuBackend NewCpuBackend() => new(Network, PreprocessPreset.Caffe, Loss, new AdamSettings());

    /// <summary>A random image (seeded), [3, H, W] on the 0..255 scale.</summary>
    public static float[] Image(ulong seed) => TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, Height, Width, seed));

    /// <summary>The style and content targets of <paramref name="image"/> through <paramref name="backend"/>.</summary>
    public static StyleTargets Targets(IStyleBackend backend, float[] image) => Support.Targets.Of(backend, Loss, image, image, Height, Width);
}
