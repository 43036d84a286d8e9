using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Cpu;
using NeuralStyle.Engine;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// The targets' forward pass (<see cref="FeaturePass"/>: maps freed as soon as read, Winograd layers in bands of
/// tile rows) against the float64 reference network and against the optimization's own <see cref="ForwardPass"/>, which
/// it must match bit for bit: with init=content the content loss of row 0 is then exactly 0, and the targets are the
/// features the loop would compute.
/// </summary>
[Trait("Category", VectorFallbackTests.Category)]
public sealed class FeaturePassTests
{
    private static readonly Lazy<NetworkWeights> Vgg = new(() => NetworkWeights.Random(NetworkArchitecture.Vgg19, 3));

    /// <summary>
    /// winogradMinChannels 4 makes every layer after conv1_1 a Winograd stage; 6 leaves conv1_2 (4→6) and conv2_1
    /// (6→6) in graph stages, conv1_1 and conv1_2 together in one. Band bounds: one value (bands of one tile row,
    /// the least there can be), two tile rows of conv1_2 (36 values × 6 channels × 6 tile columns × 2: its seven
    /// tile rows go as three bands of two and one of one) and the default (every map whole at this size).
    /// </summary>
    [Theory]
    [InlineData(PoolingMode.Max, 4, 1L)]
    [InlineData(PoolingMode.Max, 4, WinogradBands.DefaultScratchFloats)]
    [InlineData(PoolingMode.Average, 4, 1L)]
    [InlineData(PoolingMode.Average, 4, Winograd.Positions * 6 * 6 * 2)]
    [InlineData(PoolingMode.Max, 6, 1L)]
    [InlineData(PoolingMode.Average, 6, WinogradBands.DefaultScratchFloats)]
    public void Every_map_matches_the_float64_reference_and_the_loops_forward_pass_exactly(PoolingMode pooling, int winogradMinChannels, long bandFloats)
    {
        const int Height = 27, Width = 21; // not a whole number of tiles at any block
        NetworkWeights weights = TinyNetworks.Create([[4, 6], [6, 7], [8]], 41);
        using var stages = new CpuStages(weights, PreprocessPreset.Caffe, pooling, winogradMinChannels);
        double[] image = TinyNetworks.RandomImage(3, Height, Width, 42);

        Dictionary<string, FeatureMap> maps = Features(stages, TinyNetworks.ToFloat(image), Height, Width, weights.Architecture.ReluNames, bandFloats);

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
    /// stages, so the untapped relu2_1 and relu2_3 and the pooled maps go through the buffers in turn. The pass runs
    /// its Winograd layers in bands of two tile rows (36 values × 7 channels × 3 tile columns × 2), so block 2's four
    /// go as two bands; the pass it is compared with runs each layer in one band.
    /// </summary>
    [Fact]
    public void The_loops_forward_pass_keeps_only_taps_and_graph_outputs_whole_and_they_are_unchanged()
    {
        const int Height = 27, Width = 21;
        NetworkWeights weights = TinyNetworks.Create([[4, 6], [6, 7, 7], [8]], 43);
        using var stages = new CpuStages(weights, PreprocessPreset.Caffe, PoolingMode.Max, winogradMinChannels: 6);
        float[] image = TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, Height, Width, 44));
        using var options = new RunOptions();
        using var pass = new ForwardPass(stages, 1, Height, Width, new HashSet<string> { "relu1_1", "relu2_2", "relu3_1" },
            bandFloats: Winograd.Positions * 7 * 3 * 2);
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
    public void Vgg19_in_bands_of_one_tile_row_matches_the_loops_forward_pass_exactly_and_returns_only_what_was_asked()
    {
        const int Height = 45, Width = 38;
        NetworkWeights weights = Vgg.Value.TruncatedAt("relu4_1");
        using var stages = new CpuStages(weights, PreprocessPreset.Caffe, PoolingMode.Max);
        float[] image = TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, Height, Width, 7));
        string[] asked = ["relu1_1", "relu2_2", "relu3_1"]; // relu3_1 is not the deepest layer of these stages: the pass stops there

        Dictionary<string, FeatureMap> maps = Features(stages, image, Height, Width, asked, bandFloats: 1);

        Dictionary<string, float[]> loop = LoopActivations(stages, image, Height, Width);
        Assert.Equal(asked, maps.Keys.Order());
        foreach (string name in asked)
        {
            Assert.True(loop[name].AsSpan().SequenceEqual(maps[name].Data), $"{name} differs from the loop's forward pass");
        }
    }

    /// <summary>
    /// At 512 px every Winograd layer of VGG19 but conv5_1 runs in more than one band, and the maps come out bit for
    /// bit as from one band per map: no band is so narrow that ONNX Runtime's MatMul rounds it differently (with conv4_1's
    /// 16 tile rows as bands of 14 and 2, relu4_1 differed in 124387 values).
    /// </summary>
    [Fact]
    public void Vgg19_in_the_default_bands_matches_one_band_per_map_exactly()
    {
        const int Side = 512;
        NetworkWeights weights = Vgg.Value.TruncatedAt("relu5_1");
        using var stages = new CpuStages(weights, PreprocessPreset.Caffe, PoolingMode.Max);
        float[] image = TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, Side, Side, 8));

        Dictionary<string, FeatureMap> banded = Features(stages, image, Side, Side, weights.Architecture.ReluNames, WinogradBands.DefaultScratchFloats);
        Dictionary<string, FeatureMap> whole = Features(stages, image, Side, Side, weights.Architecture.ReluNames, long.MaxValue);

        foreach (string name in weights.Architecture.ReluNames)
        {
            Assert.True(whole[name].Data.AsSpan().SequenceEqual(banded[name].Data), $"{name} differs between bands and whole maps");
        }
    }

    [Fact]
    public void A_layer_the_network_does_not_have_is_refused_by_name()
    {
        using var stages = new CpuStages(TinyNetworks.Create([[4]], 1), PreprocessPreset.Caffe, PoolingMode.Max);
        var e = Assert.Throws<ArgumentException>(() => Features(stages, new float[3 * 8 * 8], 8, 8, ["relu1_1", "relu9_9"], WinogradBands.DefaultScratchFloats));
        Assert.Contains("relu9_9", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(64, 1024, 1024, WinogradBands.DefaultScratchFloats, 7)] // conv1_2 at 1024 px: 36 × 64 × 256 values per tile row, 7 fit
    [InlineData(512, 64, 64, WinogradBands.DefaultScratchFloats, 8)] // conv4_1 at 512 px: 14 of 16 tile rows fit; two bands of 8, not 14 and 2
    [InlineData(256, 256, 256, WinogradBands.DefaultScratchFloats, 7)] // conv3 at 1024 px: 64 tile rows as 4 bands of 7 and 6 of 6, not 9 of 7 and 1
    [InlineData(64, 60, 80, WinogradBands.DefaultScratchFloats, 15)] // small enough to convolve whole
    [InlineData(512, 40, 30, 1, 1)] // nothing fits: one tile row at a time
    public void Bands_are_the_fewest_that_fit_with_the_rows_spread_evenly(int channels, int height, int width, long bound, int tallest)
    {
        TileRows[] plan = WinogradBands.Plan(channels, height, width, bound);
        var (th, tw) = Winograd.Tiles(height, width);
        Assert.Equal(tallest, plan[0].Count);
        Assert.Equal((long)Winograd.Positions * channels * tallest * tw, WinogradBands.ScratchFloats(channels, height, width, bound));

        int next = 0; // every tile row once, in order, the taller bands first and the others one row shorter
        for (int b = 0; b < plan.Length; b++)
        {
            Assert.Equal(next, plan[b].First);
            Assert.True(plan[b].Count == tallest || plan[b].Count == tallest - 1, $"a band of {plan[b].Count} rows among bands of {tallest}");
            Assert.True(b == 0 || plan[b].Count <= plan[b - 1].Count, "a taller band after a shorter one");
            next += plan[b].Count;
        }

        Assert.Equal(th, next);
        long perRow = (long)Winograd.Positions * channels * tw;
        Assert.True(tallest * perRow <= bound || tallest == 1, $"bands of {tallest} rows exceed {bound} values");
        Assert.True(plan.Length == 1 || (th + plan.Length - 2) / (plan.Length - 1) * perRow > bound, "one band fewer would still fit");
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

    private static Dictionary<string, FeatureMap> Features(CpuStages stages, float[] image, int height, int width, IEnumerable<string> layers, long bandFloats)
    {
        using var options = new RunOptions();
        return FeaturePass.Run(stages, options, image, height, width, layers, bandFloats);
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
