namespace NeuralStyle.Model;

/// <summary>
/// Convolution weights and biases for every layer of an <see cref="NetworkArchitecture"/>, plus where they came
/// from. Weights are laid out as ONNX Conv expects: [out, in, 3, 3], row-major.
/// </summary>
public sealed class NetworkWeights
{
    /// <summary>Takes ownership of the arrays; checks every length against the table.</summary>
    public NetworkWeights(NetworkArchitecture architecture, IReadOnlyList<float[]> kernels, IReadOnlyList<float[]> biases,
        string identity, PreprocessPreset preprocess)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(kernels);
        ArgumentNullException.ThrowIfNull(biases);
        if (kernels.Count != architecture.Layers.Count || biases.Count != architecture.Layers.Count)
        {
            throw new ArgumentException($"Expected {architecture.Layers.Count} layers of weights, got {kernels.Count} kernels and {biases.Count} biases.");
        }

        for (int i = 0; i < kernels.Count; i++)
        {
            ConvLayer layer = architecture.Layers[i];
            if (kernels[i].Length != layer.WeightCount || biases[i].Length != layer.OutChannels)
            {
                throw new ArgumentException($"{layer.ConvName}: expected {layer.WeightCount} weights and {layer.OutChannels} biases, got {kernels[i].Length} and {biases[i].Length}.");
            }
        }

        Architecture = architecture;
        Kernels = kernels;
        Biases = biases;
        Identity = identity;
        Preprocess = preprocess;
    }

    /// <summary>The layer table these weights fill.</summary>
    public NetworkArchitecture Architecture { get; }

    /// <summary>Per layer, [out, in, 3, 3].</summary>
    public IReadOnlyList<float[]> Kernels { get; }

    /// <summary>Per layer, [out].</summary>
    public IReadOnlyList<float[]> Biases { get; }

    /// <summary>A short, stable name of the source (e.g. <c>random:1</c> or <c>file:vgg19.onnx sha256:…</c>); checkpoints record it.</summary>
    public string Identity { get; }

    /// <summary>The preprocessing these weights were trained with (the default for <c>--preprocess</c>).</summary>
    public PreprocessPreset Preprocess { get; }

    /// <summary>
    /// Deterministic random features: He-normal kernels, N(0, 2/(9·C_in)), and zero biases. He initialisation
    /// keeps the mean square of a ReLU layer's output equal to its input's (He et al. 2015, §2.2), so the
    /// features neither vanish nor explode through all 16 layers. Each layer draws from its own stream seeded by
    /// (seed, layer index), so a truncated table gets exactly the first layers of the full one.
    /// conv1_1 is then multiplied by <see cref="RandomInputGain"/>: with zero biases the network is positively
    /// homogeneous, so this scales every feature map by the same factor, content losses by its square and style
    /// losses by its fourth power. With He scaling alone the total-variation term dominates the default weights
    /// (cw 5, sw 100, tvw 1e-3) and renders come out blurred; a gain of 3 balances the three terms (chosen by
    /// rendering the example images with gains 0.5, 1, 2, 3 and 4).
    /// </summary>
    public static NetworkWeights Random(NetworkArchitecture architecture, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        var kernels = new List<float[]>();
        var biases = new List<float[]>();
        for (int i = 0; i < architecture.Layers.Count; i++)
        {
            ConvLayer layer = architecture.Layers[i];
            var rng = new DeterministicRandom((seed * 1_000_003UL) + (ulong)i);
            var kernel = new float[layer.WeightCount];
            double gain = i == 0 ? RandomInputGain : 1.0;
            rng.FillGaussian(kernel, gain * Math.Sqrt(2.0 / (9.0 * layer.InChannels)));
            kernels.Add(kernel);
            biases.Add(new float[layer.OutChannels]);
        }

        return new NetworkWeights(architecture, kernels, biases, $"random:{seed}", PreprocessPreset.Caffe);
    }

    /// <summary>The factor applied to conv1_1 of random features (see <see cref="Random"/>).</summary>
    public const double RandomInputGain = 3.0;

    /// <summary>The first layers only, up to and including the one producing <paramref name="deepestRelu"/>.</summary>
    public NetworkWeights TruncatedAt(string deepestRelu)
    {
        NetworkArchitecture cut = Architecture.TruncatedAt(deepestRelu);
        int n = cut.Layers.Count;
        return new NetworkWeights(cut, Kernels.Take(n).ToList(), Biases.Take(n).ToList(), Identity, Preprocess);
    }
}
