using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Graphs;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// The generated forward graph against a float64 reference, and every piece of the backward graph (ReLU mask,
/// flipped-kernel convolution, max- and average-pool scatter, preprocessing, seed sums over several taps)
/// against central finite differences of that reference in float64.
/// </summary>
[Trait("Category", VectorFallbackTests.Category)]
public sealed class GraphGradientTests
{
    /// <summary>Finite-difference step in pixel units (0..255); small enough that no ReLU kink or pool tie is crossed.</summary>
    private const double Step = 1e-3;

    public static TheoryData<string, string, PoolingMode, PreprocessPreset, int, int> Pieces => new()
    {
        // name, blocks ("4,5" is one block; "|" separates blocks), pooling, preset, height, width
        { "conv+relu+caffe preprocessing", "4,5", PoolingMode.Max, PreprocessPreset.Caffe, 6, 5 },
        { "conv+relu+torchvision preprocessing", "4,5", PoolingMode.Max, PreprocessPreset.Torchvision, 5, 7 },
        { "max pool, odd sizes", "4|5", PoolingMode.Max, PreprocessPreset.Caffe, 9, 7 },
        { "average pool, odd sizes", "4|5", PoolingMode.Average, PreprocessPreset.Caffe, 7, 9 },
        { "three blocks, several taps, max", "3|4,5|6", PoolingMode.Max, PreprocessPreset.Caffe, 11, 9 },
        { "three blocks, several taps, average", "3|4,5|6", PoolingMode.Average, PreprocessPreset.Torchvision, 9, 11 },
    };

    [Theory]
    [MemberData(nameof(Pieces))]
    public void Forward_graph_matches_the_float64_reference(string name, string blocks, PoolingMode pooling, PreprocessPreset preset, int height, int width)
    {
        NetworkWeights weights = TinyNetworks.Create(Parse(blocks), 7);
        var reference = new ReferenceNetwork(weights, preset, pooling);
        const int Batch = 2;
        double[][] images = [TinyNetworks.RandomImage(3, height, width, 1), TinyNetworks.RandomImage(3, height, width, 2)];
        using InferenceSession forward = TinyNetworks.Session(ForwardGraphBuilder.Build(weights, preset, pooling));
        float[] batch = images.SelectMany(TinyNetworks.ToFloat).ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(batch, [Batch, 3, height, width]);
        string[] names = weights.Architecture.ReluNames.ToArray();
        using var outputs = forward.Run(new RunOptions(), [GraphNames.Image], [input], names);
        for (int n = 0; n < Batch; n++)
        {
            Dictionary<string, Map64> expected = reference.Forward(images[n], height, width);
            for (int i = 0; i < names.Length; i++)
            {
                ReadOnlySpan<float> all = outputs[i].GetTensorDataAsSpan<float>();
                int length = expected[names[i]].Data.Length;
                double scale = Tolerance.MaxAbs(expected[names[i]].Data);
                // float32 convolutions over ≤ 54 terms: errors far below 1e-5 of the layer's largest value.
                Tolerance.AssertClose(expected[names[i]].Data, all.Slice(n * length, length), 1e-5 * scale, 1e-5, $"{name}: {names[i]} item {n}");
            }
        }
    }

    [Fact]
    public void Forward_features_reads_each_named_layer_once_in_its_own_shape()
    {
        // The CUDA backend's targets and start-up probe read features this way, from its whole forward graph.
        NetworkWeights weights = TinyNetworks.Create(Parse("3|4,5|6"), 11);
        var reference = new ReferenceNetwork(weights, PreprocessPreset.Caffe, PoolingMode.Max);
        const int Height = 9, Width = 13;
        double[] image = TinyNetworks.RandomImage(3, Height, Width, 5);
        using InferenceSession forward = TinyNetworks.Session(ForwardGraphBuilder.Build(weights, PreprocessPreset.Caffe, PoolingMode.Max));
        string[] relus = weights.Architecture.ReluNames.ToArray();
        string[] asked = [relus[3], relus[0], relus[3]]; // out of graph order, one twice

        IReadOnlyDictionary<string, Engine.FeatureMap> features = ForwardFeatures.Read(forward, weights.Architecture, TinyNetworks.ToFloat(image), Height, Width, asked);

        Assert.Equal(asked.Distinct().Order(), features.Keys.Order());
        Dictionary<string, Map64> expected = reference.Forward(image, Height, Width);
        foreach (var (layer, map) in features)
        {
            Map64 want = expected[layer];
            Assert.Equal((want.Channels, want.Height, want.Width), (map.Channels, map.Height, map.Width));
            Tolerance.AssertClose(want.Data, map.Data, 1e-5 * Tolerance.MaxAbs(want.Data), 1e-5, layer);
        }
    }

    [Theory]
    [MemberData(nameof(Pieces))]
    public void Backward_graph_matches_central_differences(string name, string blocks, PoolingMode pooling, PreprocessPreset preset, int height, int width)
    {
        NetworkWeights weights = TinyNetworks.Create(Parse(blocks), 11);
        var reference = new ReferenceNetwork(weights, preset, pooling);
        // Tap every layer: the graph must sum seeds arriving at several depths.
        string[] taps = weights.Architecture.ReluNames.ToArray();
        double[] image = TinyNetworks.RandomImage(3, height, width, 3);
        Dictionary<string, Map64> features = reference.Forward(image, height, width);
        var rng = new DeterministicRandom(5);
        var seeds = taps.ToDictionary(t => t, t =>
        {
            var s = new float[features[t].Data.Length];
            rng.FillGaussian(s, 1.0);
            return s;
        });

        float[] gradient = RunBackward(weights, preset, pooling, taps, image, height, width, seeds);

        // φ(x) = Σ_l ⟨s_l, F_l(x)⟩, so ∂φ/∂x is exactly the VJP the backward graph computes.
        double Phi(double[] x)
        {
            Dictionary<string, Map64> f = reference.Forward(x, height, width);
            return taps.Sum(t => f[t].Data.Select((v, i) => v * seeds[t][i]).Sum());
        }

        double[] expected = FiniteDifferences.Gradient(Phi, image, Step);

        // float32 graph vs float64 differences: 1e-4 of the largest entry plus 1e-3 relative.
        Tolerance.AssertClose(expected, gradient, 1e-4 * Tolerance.MaxAbs(expected), 1e-3, $"{name}: dφ/dx");
    }

    [Theory]
    [InlineData(PoolingMode.Max)]
    [InlineData(PoolingMode.Average)]
    public void A_backward_graph_built_for_one_size_has_no_shape_nodes_and_gives_the_same_gradient(PoolingMode pooling)
    {
        const int Height = 11, Width = 9; // odd at both pools: 11 → 5 → 2 and 9 → 4 → 2
        NetworkWeights weights = TinyNetworks.Create(Parse("3|4,5|6"), 13);
        string[] taps = weights.Architecture.ReluNames.ToArray();
        double[] image = TinyNetworks.RandomImage(3, Height, Width, 7);
        Dictionary<string, Map64> features = new ReferenceNetwork(weights, PreprocessPreset.Caffe, pooling).Forward(image, Height, Width);
        var rng = new DeterministicRandom(9);
        var seeds = taps.ToDictionary(t => t, t =>
        {
            var s = new float[features[t].Data.Length];
            rng.FillGaussian(s, 1.0);
            return s;
        });
        var shape = new BatchShape(1, Height, Width);

        Assert.DoesNotContain(BackwardGraphBuilder.Build(weights, PreprocessPreset.Caffe, pooling, taps, shape).Graph.Node, n => n.OpType == "Shape");
        // The same operations on the same numbers, only with constant sizes: the same bits.
        Assert.Equal(
            RunBackward(weights, PreprocessPreset.Caffe, pooling, taps, image, Height, Width, seeds),
            RunBackward(weights, PreprocessPreset.Caffe, pooling, taps, image, Height, Width, seeds, shape));
    }

    [Fact]
    public void Backward_graph_refuses_an_untapped_last_layer()
    {
        NetworkWeights weights = TinyNetworks.Create([[3], [4]], 1);
        var e = Assert.Throws<ArgumentException>(() => BackwardGraphBuilder.Build(weights, PreprocessPreset.Caffe, PoolingMode.Max, ["relu1_1"]));
        Assert.Contains("relu2_1", e.Message, StringComparison.Ordinal);
    }

    internal static int[][] Parse(string blocks) =>
        blocks.Split('|').Select(b => b.Split(',').Select(int.Parse).ToArray()).ToArray();

    private static float[] RunBackward(NetworkWeights weights, PreprocessPreset preset, PoolingMode pooling, string[] taps,
        double[] image, int height, int width, Dictionary<string, float[]> seeds, BatchShape? fixedShape = null)
    {
        using InferenceSession forward = TinyNetworks.Session(ForwardGraphBuilder.Build(weights, preset, pooling));
        using InferenceSession backward = TinyNetworks.Session(BackwardGraphBuilder.Build(weights, preset, pooling, taps, fixedShape));
        using var runOptions = new RunOptions();
        using var input = OrtValue.CreateTensorValueFromMemory(TinyNetworks.ToFloat(image), [1, 3, height, width]);
        string[] saved = forward.OutputNames.ToArray();
        using var outputs = forward.Run(runOptions, [GraphNames.Image], [input], saved);
        var names = new List<string>(saved);
        var values = new List<OrtValue>(outputs);
        var owned = new List<OrtValue>();
        foreach (string tap in taps)
        {
            int index = Array.IndexOf(saved, tap);
            long[] shape = outputs[index].GetTensorTypeAndShape().Shape;
            var seed = OrtValue.CreateTensorValueFromMemory(seeds[tap], shape);
            owned.Add(seed);
            names.Add(GraphNames.Seed(tap));
            values.Add(seed);
        }

        using var result = backward.Run(runOptions, names, values, [GraphNames.ImageGradient]);
        float[] gradient = result[0].GetTensorDataAsSpan<float>().ToArray();
        owned.ForEach(v => v.Dispose());
        return gradient;
    }
}
