using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Cpu;
using NeuralStyle.Engine;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// The targets' forward pass (<see cref="FeaturePass"/>: maps freed as soon as read, Winograd layers in strips of
/// rows) against the float64 reference network and against the optimization's own <see cref="ForwardPass"/>, which
/// it must match bit for bit: with init=content the content loss of row 0 is then exactly 0, and the targets are the
/// features the loop would compute.
/// </summary>
[Trait("Category", VectorFallbackTests.Category)]
public sealed class FeaturePassTests
{
    private static readonly Lazy<NetworkWeights> Vgg = new(() => NetworkWeights.Random(NetworkArchitecture.Vgg19, 3));

    /// <summary>
    /// winogradMinChannels 4 makes every layer after conv1_1 a Winograd stage; 6 leaves conv1_2 (4→6) and conv2_1
    /// (6→6) in graph stages, conv1_1 and conv1_2 together in one. Strip budgets: one byte (strips of one tile row,
    /// the least there can be) and the default (every map whole at this size).
    /// </summary>
    [Theory]
    [InlineData(PoolingMode.Max, 4, 1L)]
    [InlineData(PoolingMode.Max, 4, FeaturePass.StripBytes)]
    [InlineData(PoolingMode.Average, 4, 1L)]
    [InlineData(PoolingMode.Max, 6, 1L)]
    [InlineData(PoolingMode.Average, 6, FeaturePass.StripBytes)]
    public void Every_map_matches_the_float64_reference_and_the_loops_forward_pass_exactly(PoolingMode pooling, int winogradMinChannels, long stripBytes)
    {
        const int Height = 27, Width = 21; // not a whole number of tiles or strips at any block
        NetworkWeights weights = TinyNetworks.Create([[4, 6], [6, 7], [8]], 41);
        using var stages = new CpuStages(weights, PreprocessPreset.Caffe, pooling, winogradMinChannels);
        double[] image = TinyNetworks.RandomImage(3, Height, Width, 42);

        Dictionary<string, FeatureMap> maps = Features(stages, TinyNetworks.ToFloat(image), Height, Width, weights.Architecture.ReluNames, stripBytes);

        Dictionary<string, Map64> reference = new ReferenceNetwork(weights, PreprocessPreset.Caffe, pooling).Forward(TinyNetworks.ToFloat(image).Select(v => (double)v).ToArray(), Height, Width);
        Dictionary<string, float[]> loop = LoopActivations(stages, TinyNetworks.ToFloat(image), Height, Width);
        Assert.Equal(weights.Architecture.ReluNames.Order(), maps.Keys.Order());
        foreach (var (name, map) in maps)
        {
            Map64 expected = reference[name];
            Assert.Equal((expected.Channels, expected.Height, expected.Width), (map.Channels, map.Height, map.Width));
            // float32 convolutions through up to five layers, Winograd's transforms among them: 1e-4 of the largest value plus 1e-3 relative.
            Tolerance.AssertClose(expected.Data, map.Data, 1e-4 * Tolerance.MaxAbs(expected.Data), 1e-3, $"{name} against float64");
            Assert.True(loop[name].AsSpan().SequenceEqual(map.Data), $"{name} differs from the loop's forward pass");
        }
    }

    /// <summary>
    /// The loop's forward pass keeps whole the taps and the maps graph stages write; any other map passes through the
    /// two alternating buffers and leaves only its signs. The kept maps must be those of a pass that keeps every map.
    /// With Winograd from 6 channels, conv1_1 and conv1_2 (4→6) are one graph stage and conv2_1 … conv3_1 Winograd
    /// stages, so the untapped relu2_1 and relu2_3 and the pooled maps go through the buffers in turn.
    /// </summary>
    [Fact]
    public void The_loops_forward_pass_keeps_only_taps_and_graph_outputs_whole_and_they_are_unchanged()
    {
        const int Height = 27, Width = 21;
        NetworkWeights weights = TinyNetworks.Create([[4, 6], [6, 7, 7], [8]], 43);
        using var stages = new CpuStages(weights, PreprocessPreset.Caffe, PoolingMode.Max, winogradMinChannels: 6);
        float[] image = TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, Height, Width, 44));
        using var options = new RunOptions();
        using var pass = new ForwardPass(stages, 1, Height, Width, new HashSet<string> { "relu1_1", "relu2_2", "relu3_1" });
        image.CopyTo(pass.Image.Array, 0);
        pass.Run(options);

        Assert.Equal(["relu1_1", "relu1_2", "relu2_2", "relu3_1"], pass.Activations.Keys.Order()); // relu1_2: a graph stage's
        IReadOnlyList<ConvLayer> layers = weights.Architecture.Layers;
        for (int i = 0; i < layers.Count; i++)
        {
            Assert.True(pass.Activations.ContainsKey(layers[i].ReluName) == pass.PositiveBits(i) is null, $"{layers[i].ReluName}: kept whole or as bits, not both");
        }

        Dictionary<string, float[]> everything = LoopActivations(stages, image, Height, Width);
        foreach (var (name, map) in pass.Activations)
        {
            Assert.True(everything[name].AsSpan().SequenceEqual(map.Array), $"{name} differs from a pass that keeps every map");
        }
    }

    [Fact]
    public void Vgg19_in_strips_of_one_tile_row_matches_the_loops_forward_pass_exactly_and_returns_only_what_was_asked()
    {
        const int Height = 45, Width = 38;
        NetworkWeights weights = Vgg.Value.TruncatedAt("relu4_1");
        using var stages = new CpuStages(weights, PreprocessPreset.Caffe, PoolingMode.Max);
        float[] image = TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, Height, Width, 7));
        string[] asked = ["relu1_1", "relu2_2", "relu3_1"]; // relu3_1 is not the deepest layer of these stages: the pass stops there

        Dictionary<string, FeatureMap> maps = Features(stages, image, Height, Width, asked, stripBytes: 1);

        Dictionary<string, float[]> loop = LoopActivations(stages, image, Height, Width);
        Assert.Equal(asked, maps.Keys.Order());
        foreach (string name in asked)
        {
            Assert.True(loop[name].AsSpan().SequenceEqual(maps[name].Data), $"{name} differs from the loop's forward pass");
        }
    }

    [Fact]
    public void A_layer_the_network_does_not_have_is_refused_by_name()
    {
        using var stages = new CpuStages(TinyNetworks.Create([[4]], 1), PreprocessPreset.Caffe, PoolingMode.Max);
        var e = Assert.Throws<ArgumentException>(() => Features(stages, new float[3 * 8 * 8], 8, 8, ["relu1_1", "relu9_9"], FeaturePass.StripBytes));
        Assert.Contains("relu9_9", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(64, 64, 600, 800, 256L << 20, 196)] // conv1_2 of an 800 px wide style: strips of whole tile rows within the budget
    [InlineData(64, 64, 60, 80, 256L << 20, 60)] // small enough to convolve whole
    [InlineData(512, 512, 40, 30, 1, 4)] // nothing fits: one tile row at a time
    public void Strip_rows_are_whole_tile_rows_within_the_budget(int inChannels, int outChannels, int height, int width, long budget, int expected)
    {
        int rows = FeaturePass.StripRows(inChannels, outChannels, height, width, budget);
        Assert.Equal(expected, rows);
        Assert.True(rows == height || (rows % Winograd.TileSize == 0 && (rows == Winograd.TileSize || FeaturePass.StripBytesPerRow(inChannels, outChannels, width) * (rows + 5) <= budget)));
    }

    [Fact]
    public void A_kept_tensor_keeps_its_array_and_a_transient_one_refuses_use_after_it_is_freed()
    {
        var kept = PassTensor.Kept(2, 3);
        kept.Span.Fill(7);
        float[] array = kept.Array;
        kept.Dispose();
        kept.Dispose();
        Assert.All(array, v => Assert.Equal(7, v));

        var transient = PassTensor.Transient(4, 5);
        transient.Span.Fill(1);
        Assert.Throws<ArgumentException>(() => transient.View(3, 7)); // 21 of 20 elements
        Assert.Throws<InvalidOperationException>(() => transient.Array);
        transient.Dispose();
        transient.Dispose();
        Assert.Throws<ObjectDisposedException>(() => transient.Span.Length);
    }

    private static Dictionary<string, FeatureMap> Features(CpuStages stages, float[] image, int height, int width, IEnumerable<string> layers, long stripBytes)
    {
        using var options = new RunOptions();
        return FeaturePass.Run(stages, options, image, height, width, layers, stripBytes);
    }

    /// <summary>Every activation of the optimization's forward pass over a batch of one.</summary>
    private static Dictionary<string, float[]> LoopActivations(CpuStages stages, float[] image, int height, int width)
    {
        using var options = new RunOptions();
        using var pass = new ForwardPass(stages, 1, height, width, stages.Architecture.Layers.Select(l => l.ReluName).ToHashSet());
        image.CopyTo(pass.Image.Array, 0);
        pass.Run(options);
        return pass.Activations.ToDictionary(a => a.Key, a => a.Value.Array.ToArray());
    }
}
