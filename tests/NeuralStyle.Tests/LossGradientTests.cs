using NeuralStyle.Cpu;
using NeuralStyle.Engine;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// The CPU backend's whole loss (content + style + TV, each weighted) and its gradient dL/dx against the float64
/// reference loss and its central finite differences, for a batch of two different images.
/// </summary>
[Trait("Category", VectorFallbackTests.Category)]
public sealed class LossGradientTests
{
    private const int Height = 10, Width = 9;

    /// <summary>relu2_1 is both a style and a content layer, so the seed-accumulation path runs too.</summary>
    private static readonly LossSettings Loss = new()
    {
        StyleLayers = [new LayerWeight("relu1_1", 1.0), new LayerWeight("relu2_1", 0.5), new LayerWeight("relu3_1", 2.0)],
        ContentLayers = ["relu2_1", "relu2_2"],
        ContentWeight = 3.0,
        StyleWeight = 1e-2,
        TvWeight = 0.05,
    };

    /// <summary>
    /// Winograd from 5 channels makes conv1_1 and conv1_2 one graph stage, conv2_1 (4→5) a graph stage and conv2_2
    /// (5→6), conv2_3 (6→6), conv3_1 (6→7) Winograd stages, one of them the deepest; from 4 channels conv1_2 is one too.
    /// relu1_2 and relu2_3 are no taps, so the forward pass keeps a Winograd stage's output only as its signs. With
    /// bands of one value, each band is one tile row: three in block 1, two in block 2; with room for two of block 1's
    /// tile rows (36 values × 4 channels × 3 tile columns × 2), its three go as bands of two and one.
    /// </summary>
    [Theory]
    [InlineData(PoolingMode.Max, int.MaxValue, WinogradBands.DefaultScratchFloats)]
    [InlineData(PoolingMode.Average, int.MaxValue, WinogradBands.DefaultScratchFloats)]
    [InlineData(PoolingMode.Max, 5, WinogradBands.DefaultScratchFloats)]
    [InlineData(PoolingMode.Average, 5, WinogradBands.DefaultScratchFloats)]
    [InlineData(PoolingMode.Max, 4, WinogradBands.DefaultScratchFloats)]
    [InlineData(PoolingMode.Max, 4, 1)]
    [InlineData(PoolingMode.Average, 4, Winograd.Positions * 4 * 3 * 2)]
    public void Loss_and_gradient_match_the_float64_reference(PoolingMode pooling, int winogradMinChannels, long bandFloats)
    {
        NetworkWeights weights = TinyNetworks.Create([[4, 4], [5, 6, 6], [7]], 21);
        LossSettings loss = Loss with { Pooling = pooling };
        var reference = new ReferenceNetwork(weights, PreprocessPreset.Caffe, pooling);
        using var backend = new CpuBackend(weights, PreprocessPreset.Caffe, loss, new AdamSettings(), winogradMinChannels, bandFloats);
        StyleTargets targets = Targets(backend, loss);
        double[][] images = [TinyNetworks.RandomImage(3, Height, Width, 31), TinyNetworks.RandomImage(3, Height, Width, 32)];
        float[] batch = images.SelectMany(TinyNetworks.ToFloat).ToArray();
        backend.Start(targets, new OptimizerState(new int[2], batch, new float[batch.Length], new float[batch.Length]), Height, Width, [1.0, 1.0]);

        IterationLosses[] losses = backend.Iterate([true, true]);
        float[] gradient = backend.LastGradient.ToArray();

        for (int n = 0; n < 2; n++)
        {
            // Reference terms from the float32 image the backend actually saw.
            double[] x = TinyNetworks.ToFloat(images[n]).Select(v => (double)v).ToArray();
            var (content, style, tv) = ReferenceLoss.Evaluate(reference, x, Height, Width, loss, targets);
            // Loss values: float32 features, float64 sums: 1e-4 relative.
            Tolerance.AssertClose([content, style, tv], [losses[n].Content, losses[n].Style, losses[n].Tv], 1e-9, 1e-4, $"loss terms, item {n}");

            double Total(double[] image)
            {
                var (c, s, t) = ReferenceLoss.Evaluate(reference, image, Height, Width, loss, targets);
                return c + s + t;
            }

            double[] expected = FiniteDifferences.Gradient(Total, x, 1e-3);

            // float32 pipeline vs float64 differences: 1e-4 of the largest entry plus 1e-3 relative.
            int length = x.Length;
            Tolerance.AssertClose(expected, gradient.AsSpan(n * length, length), 1e-4 * Tolerance.MaxAbs(expected), 1e-3, $"dL/dx item {n}, {pooling}, Winograd from {winogradMinChannels} channels in bands of {bandFloats} values");
        }
    }

    [Fact]
    public void Frozen_items_keep_their_image_and_step_count()
    {
        NetworkWeights weights = TinyNetworks.Create([[4], [5]], 3);
        LossSettings loss = new() { StyleLayers = [new LayerWeight("relu2_1", 1)], ContentLayers = ["relu1_1"] };
        using var backend = new CpuBackend(weights, PreprocessPreset.Caffe, loss, new AdamSettings());
        StyleTargets targets = Targets(backend, loss);
        float[] batch = Enumerable.Range(0, 2).SelectMany(i => TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, Height, Width, (ulong)i))).ToArray();
        backend.Start(targets, new OptimizerState(new int[2], batch, new float[batch.Length], new float[batch.Length]), Height, Width, [5.0, 5.0]);
        backend.Iterate([false, true]);
        OptimizerState state = backend.ReadState();
        Assert.Equal([1, 0], state.Steps);
        Assert.NotEqual(batch.AsSpan(0, Height * Width * 3).ToArray(), state.Images.AsSpan(0, Height * Width * 3).ToArray());
        Assert.Equal(batch.AsSpan(Height * Width * 3).ToArray(), state.Images.AsSpan(Height * Width * 3).ToArray());
    }

    [Fact]
    public void Start_refuses_content_targets_of_another_size()
    {
        NetworkWeights weights = TinyNetworks.Create([[4], [5]], 3);
        LossSettings loss = new() { StyleLayers = [new LayerWeight("relu2_1", 1)], ContentLayers = ["relu1_1"] };
        using var backend = new CpuBackend(weights, PreprocessPreset.Caffe, loss, new AdamSettings());
        StyleTargets targets = Targets(backend, loss);
        var images = new float[3 * 8 * 8];
        var e = Assert.Throws<ArgumentException>(() => backend.Start(targets, new OptimizerState([0], images, new float[images.Length], new float[images.Length]), 8, 8, [1.0]));
        Assert.Contains("relu1_1", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Targets from two other random images, through the backend's own forward and Gram.</summary>
    internal static StyleTargets Targets(IStyleBackend backend, LossSettings loss)
    {
        float[] content = TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, Height, Width, 41));
        float[] style = TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, 12, 11, 42));
        var contentFeatures = backend.Features(content, Height, Width, loss.ContentLayers).ToDictionary(p => p.Key, p => p.Value.Data);
        var grams = backend.Features(style, 12, 11, loss.StyleLayers.Select(l => l.ReluName)).ToDictionary(p => p.Key, p => backend.Gram(p.Value));
        return new StyleTargets(grams, contentFeatures);
    }
}
