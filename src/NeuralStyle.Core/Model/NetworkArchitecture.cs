namespace NeuralStyle.Model;

/// <summary>One 3×3, pad-1 convolution followed by a ReLU, named as in the VGG papers (conv{block}_{index}).</summary>
/// <param name="Block">1-based block number; a 2×2 stride-2 pool sits between consecutive blocks.</param>
/// <param name="Index">1-based position inside the block.</param>
/// <param name="InChannels">Channels the convolution reads.</param>
/// <param name="OutChannels">Channels the convolution writes (and the ReLU outputs).</param>
public sealed record ConvLayer(int Block, int Index, int InChannels, int OutChannels)
{
    /// <summary>The convolution's name, e.g. <c>conv3_2</c>.</summary>
    public string ConvName => $"conv{Block}_{Index}";

    /// <summary>The ReLU output's name, e.g. <c>relu3_2</c>; losses tap these.</summary>
    public string ReluName => $"relu{Block}_{Index}";

    /// <summary>Number of weights: OutChannels × InChannels × 3 × 3.</summary>
    public int WeightCount => OutChannels * InChannels * 9;
}

/// <summary>
/// The layer table: a VGG-style stack of 3×3 conv + ReLU layers grouped in blocks with a 2×2 pool between
/// blocks. VGG19 is one instance; tests use tiny instances so that float64 finite differences stay cheap.
/// </summary>
public sealed class NetworkArchitecture
{
    /// <summary>Channel counts per block of VGG19's 16 convolution layers.</summary>
    private static readonly int[][] Vgg19Blocks =
    [
        [64, 64],
        [128, 128],
        [256, 256, 256, 256],
        [512, 512, 512, 512],
        [512, 512, 512, 512],
    ];

    private NetworkArchitecture(IReadOnlyList<ConvLayer> layers) => Layers = layers;

    /// <summary>VGG19's convolution stack, conv1_1 … conv5_4.</summary>
    public static NetworkArchitecture Vgg19 { get; } = FromBlocks(Vgg19Blocks);

    /// <summary>The conv layers in graph order.</summary>
    public IReadOnlyList<ConvLayer> Layers { get; }

    /// <summary>Number of blocks (pools sit between them).</summary>
    public int BlockCount => Layers[^1].Block;

    /// <summary>Builds a table from per-block output channel counts; the input has 3 channels (RGB).</summary>
    public static NetworkArchitecture FromBlocks(IReadOnlyList<IReadOnlyList<int>> blocks)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        var layers = new List<ConvLayer>();
        int channels = 3;
        for (int b = 0; b < blocks.Count; b++)
        {
            if (blocks[b].Count == 0)
            {
                throw new ArgumentException($"Block {b + 1} has no layers.", nameof(blocks));
            }

            for (int i = 0; i < blocks[b].Count; i++)
            {
                layers.Add(new ConvLayer(b + 1, i + 1, channels, blocks[b][i]));
                channels = blocks[b][i];
            }
        }

        return new NetworkArchitecture(layers);
    }

    /// <summary>Finds the layer whose ReLU output is called <paramref name="reluName"/>, or null.</summary>
    public ConvLayer? FindRelu(string reluName) => Layers.FirstOrDefault(l => l.ReluName == reluName);

    /// <summary>All tap names this table offers, in graph order.</summary>
    public IEnumerable<string> ReluNames => Layers.Select(l => l.ReluName);

    /// <summary>Spatial size of a block's feature maps for an input of <paramref name="height"/> × <paramref name="width"/>: each pool floors the size by half.</summary>
    public static (int Height, int Width) SpatialSize(int block, int height, int width)
    {
        for (int b = 1; b < block; b++)
        {
            height /= 2;
            width /= 2;
        }

        return (height, width);
    }

    /// <summary>The smallest input side for which the given block still has at least one pixel.</summary>
    public static int MinimumInputSide(int block) => 1 << (block - 1);

    /// <summary>The table cut after the layer producing <paramref name="deepestRelu"/>; graphs stop there.</summary>
    public NetworkArchitecture TruncatedAt(string deepestRelu)
    {
        int index = Layers.ToList().FindIndex(l => l.ReluName == deepestRelu);
        if (index < 0)
        {
            throw new ArgumentException($"Unknown layer '{deepestRelu}'.", nameof(deepestRelu));
        }

        return new NetworkArchitecture(Layers.Take(index + 1).ToList());
    }

    /// <summary>True when the first <see cref="Layers"/> of <paramref name="other"/> equal this table's layers (same shapes).</summary>
    public bool IsPrefixOf(NetworkArchitecture other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Layers.Count <= other.Layers.Count && Layers.Select((l, i) => l == other.Layers[i]).All(x => x);
    }
}
