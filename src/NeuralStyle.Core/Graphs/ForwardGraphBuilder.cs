using NeuralStyle.Model;
using Onnx;

namespace NeuralStyle.Graphs;

/// <summary>
/// Writes the forward graph: image [N,3,H,W] (0..255 RGB) → preprocessing (1×1 conv) → conv/ReLU/pool stack up to
/// the last layer of the weights. Every ReLU output is a graph output, because the backward graph needs each
/// layer's mask; with max pooling the argmax indices are outputs too. Batch and spatial sizes are symbolic.
/// </summary>
public static class ForwardGraphBuilder
{
    /// <summary>Builds the forward model for the given weights (already truncated at the deepest tap).</summary>
    public static ModelProto Build(NetworkWeights weights, PreprocessPreset preprocess, PoolingMode pooling)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var w = new OnnxGraphWriter("neuralstyle_forward");
        w.Input(GraphNames.Image, false, "N", 3, "H", "W");
        string x = ApplyPreprocess(w, preprocess);
        for (int block = 1; block <= weights.Architecture.BlockCount; block++)
        {
            if (block > 1)
            {
                x = Pool(w, x, LastOfBlock(weights.Architecture, block - 1), pooling);
            }

            x = WriteLayers(w, weights, weights.Architecture.Layers.Where(l => l.Block == block), x);
        }

        return w.Build($"NeuralStyle forward graph: {weights.Identity}, {preprocess} preprocessing, {pooling} pooling, up to {weights.Architecture.Layers[^1].ReluName}.");
    }

    /// <summary>
    /// Builds the forward model of consecutive layers of one block, <paramref name="count"/> from layer
    /// <paramref name="first"/> (an index into the weights' layers), without pooling, so that a backend can pool and
    /// run other layers itself between such graphs: from layer 0 it reads the image and preprocesses it, otherwise
    /// <see cref="GraphNames.BlockInput"/> (the pooled or computed input of layer <paramref name="first"/>). Every ReLU
    /// output of the range is an output.
    /// </summary>
    public static ModelProto BuildRange(NetworkWeights weights, PreprocessPreset preprocess, int first, int count)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ConvLayer head = CheckRange(weights.Architecture, first, count);
        var w = new OnnxGraphWriter($"neuralstyle_forward_{head.ConvName}_x{count}");
        string x;
        if (first == 0)
        {
            w.Input(GraphNames.Image, false, "N", 3, "H", "W");
            x = ApplyPreprocess(w, preprocess);
        }
        else
        {
            w.Input(GraphNames.BlockInput, false, "N", head.InChannels, $"H{head.Block}", $"W{head.Block}");
            x = GraphNames.BlockInput;
        }

        WriteLayers(w, weights, weights.Architecture.Layers.Skip(first).Take(count), x);
        return w.Build($"NeuralStyle forward graph, {count} layers from {head.ConvName} of {weights.Identity}, {preprocess} preprocessing.");
    }

    /// <summary>Checks that layers first … first+count−1 exist and share one block; returns the first.</summary>
    internal static ConvLayer CheckRange(NetworkArchitecture architecture, int first, int count)
    {
        if (first < 0 || count < 1 || first + count > architecture.Layers.Count
            || architecture.Layers[first].Block != architecture.Layers[first + count - 1].Block)
        {
            throw new ArgumentException($"Layers {first}…{first + count - 1} are not a range of one block of this {architecture.Layers.Count}-layer table.");
        }

        return architecture.Layers[first];
    }

    /// <summary>Attributes of every 3×3, pad-1, stride-1 convolution (forward and backward).</summary>
    internal static AttributeProto[] ConvAttributes() =>
    [
        OnnxGraphWriter.Ints("kernel_shape", 3, 3),
        OnnxGraphWriter.Ints("pads", 1, 1, 1, 1),
        OnnxGraphWriter.Ints("strides", 1, 1),
    ];

    /// <summary>The preprocessing matrix as a [3,3,1,1] kernel (float32), <paramref name="transpose"/>d for the backward pass.</summary>
    internal static float[] PreprocessKernel(PreprocessTransform transform, bool transpose)
    {
        var k = new float[9];
        for (int o = 0; o < 3; o++)
        {
            for (int i = 0; i < 3; i++)
            {
                k[(o * 3) + i] = (float)(transpose ? transform.Matrix[i, o] : transform.Matrix[o, i]);
            }
        }

        return k;
    }

    /// <summary>The last conv layer of <paramref name="block"/>, whose ReLU output is pooled into the next block.</summary>
    internal static ConvLayer LastOfBlock(NetworkArchitecture architecture, int block) => architecture.Layers.Last(l => l.Block == block);

    internal static int IndexOf(NetworkArchitecture architecture, ConvLayer layer)
    {
        for (int i = 0; i < architecture.Layers.Count; i++)
        {
            if (ReferenceEquals(architecture.Layers[i], layer))
            {
                return i;
            }
        }

        throw new ArgumentException($"{layer.ConvName} is not part of this table.", nameof(layer));
    }

    private static string ApplyPreprocess(OnnxGraphWriter w, PreprocessPreset preset)
    {
        PreprocessTransform transform = PreprocessTransform.For(preset);
        string kernel = w.Initializer("preprocess_w", [3, 3, 1, 1], PreprocessKernel(transform, transpose: false));
        string bias = w.Initializer("preprocess_b", [3], transform.Bias.Select(b => (float)b).ToArray());
        return w.Node("Conv", [GraphNames.Image, kernel, bias], "preprocessed", OnnxGraphWriter.Ints("kernel_shape", 1, 1));
    }

    /// <summary>Writes conv + ReLU <paramref name="layers"/> on <paramref name="x"/>; each ReLU output is a graph output. Returns the last.</summary>
    private static string WriteLayers(OnnxGraphWriter w, NetworkWeights weights, IEnumerable<ConvLayer> layers, string x)
    {
        foreach (ConvLayer layer in layers)
        {
            int index = IndexOf(weights.Architecture, layer);
            string kernel = w.Initializer(layer.ConvName + "_w", [layer.OutChannels, layer.InChannels, 3, 3], weights.Kernels[index]);
            string bias = w.Initializer(layer.ConvName + "_b", [layer.OutChannels], weights.Biases[index]);
            string conv = w.Node("Conv", [x, kernel, bias], layer.ConvName, ConvAttributes());
            x = w.Node("Relu", [conv], GraphNames.Activation(layer.ReluName));
            w.Output(x, false, "N", layer.OutChannels, $"H{layer.Block}", $"W{layer.Block}");
        }

        return x;
    }

    private static string Pool(OnnxGraphWriter w, string x, ConvLayer lastOfBlock, PoolingMode pooling)
    {
        AttributeProto[] attributes = [OnnxGraphWriter.Ints("kernel_shape", 2, 2), OnnxGraphWriter.Ints("strides", 2, 2)];
        string pooled = $"pool{lastOfBlock.Block}";
        if (pooling == PoolingMode.Average)
        {
            return w.Node("AveragePool", [x], pooled, attributes);
        }

        string indices = GraphNames.PoolIndices(lastOfBlock.Block);
        w.Nodes("MaxPool", [x], [pooled, indices], attributes);
        w.Output(indices, true, "N", lastOfBlock.OutChannels, $"H{lastOfBlock.Block + 1}", $"W{lastOfBlock.Block + 1}");
        return pooled;
    }
}
