using NeuralStyle.Model;

namespace NeuralStyle.Graphs;

/// <summary>
/// Writes the backward graph: the vector–Jacobian product of the forward graph. Inputs are the seeds dL/dF_l at
/// the tapped ReLU outputs plus the activations and pool indices the forward graph saved; the output is dL/dx.
/// Walking from the deepest layer down, each piece is the exact VJP of its forward op:
/// <list type="bullet">
/// <item>ReLU: g · [F &gt; 0] (the derivative at 0 is taken as 0, as PyTorch does).</item>
/// <item>3×3 pad-1 conv: a 3×3 pad-1 conv with the kernel transposed over channels and flipped in space,
/// W'[i,o,a,b] = W[o,i,2−a,2−b]; a plain Conv is faster than ConvTranspose on ONNX Runtime's CPU provider.</item>
/// <item>Max pool: scatter g to the saved argmax positions (ScatterElements over the flattened tensor; the
/// windows do not overlap, so no two updates collide); rows and columns the pool dropped get zero.</item>
/// <item>Average pool: each input of a window gets g/4 (a depthwise stride-2 ConvTranspose), padded with zeros
/// back to the input size when it was odd.</item>
/// <item>Preprocessing: the 1×1 conv with Mᵀ.</item>
/// </list>
/// </summary>
public static class BackwardGraphBuilder
{
    /// <summary>
    /// Builds the backward model; <paramref name="taps"/> are the ReLU names that receive seeds, and the last layer of
    /// the weights must be one of them. Without <paramref name="shape"/> the graph takes any batch and image size and
    /// reads the pools' input sizes with Shape nodes. With it those sizes are constants and the graph has no Shape
    /// node: ONNX Runtime keeps a Shape's output on the CPU, and its CUDA provider then places the small arithmetic
    /// that follows on the CPU too, which a session without CPU fallback (the CUDA backend's) refuses to create.
    /// </summary>
    public static Onnx.ModelProto Build(NetworkWeights weights, PreprocessPreset preprocess, PoolingMode pooling, IReadOnlyCollection<string> taps, BatchShape? shape = null)
    {
        CheckTaps(weights, taps);
        NetworkArchitecture architecture = weights.Architecture;
        var w = new OnnxGraphWriter("neuralstyle_backward");
        for (int block = 1; block <= architecture.BlockCount; block++)
        {
            DeclareInputs(w, architecture.Layers.Where(l => l.Block == block), taps);
            if (pooling == PoolingMode.Max && block > 1)
            {
                ConvLayer first = architecture.Layers.First(l => l.Block == block);
                w.Input(GraphNames.PoolIndices(block - 1), true, "N", first.InChannels, $"H{block}", $"W{block}");
            }
        }

        string zero = w.Scalar("zero", 0f);
        string? g = null;
        for (int block = architecture.BlockCount; block >= 1; block--)
        {
            g = WriteLayersVjp(w, weights, architecture.Layers.Where(l => l.Block == block).ToArray(), taps, g, zero, null);
            if (block > 1)
            {
                ConvLayer below = ForwardGraphBuilder.LastOfBlock(architecture, block - 1);
                long[]? poolInput = shape is BatchShape known ? KnownPoolInputShape(known, below) : null;
                g = pooling == PoolingMode.Max
                    ? MaxPoolVjp(w, g, GraphNames.Activation(below.ReluName), GraphNames.PoolIndices(below.Block), below.Block, poolInput)
                    : AveragePoolVjp(w, g, GraphNames.Activation(below.ReluName), below, poolInput);
            }
        }

        WriteImageGradient(w, preprocess, g!);
        return w.Build($"NeuralStyle backward graph (VJP): {weights.Identity}, {preprocess} preprocessing, {pooling} pooling, taps {string.Join(",", taps)}.");
    }

    /// <summary>
    /// Builds the VJP of one layer's convolution alone, for a backend that applies the ReLU VJP, seeds and pools
    /// itself: input <see cref="GraphNames.ConvOutputGradient"/> (dL/d the conv output, already masked by the ReLU),
    /// output dL/dx through the preprocessing for layer 0, else <see cref="GraphNames.BlockInputGradient"/>
    /// (dL/d the layer's input). The convolution's VJP is a ConvTranspose with the layer's own kernel, not the
    /// flipped-kernel Conv of the whole graphs: on ONNX Runtime's CPU provider (the only user of these graphs) it is a
    /// GEMM with 9·C_in rows and a col2im, where the Conv is a GEMM with C_in rows, 3 for conv1_1. Profiled, conv1_1's
    /// VJP session took 3.9–5.3 ms per run instead of 7.3–11.6 ms at 256 px, 15.2–24.1 instead of 29.9–30.7 ms at
    /// 512 px (three alternated rounds each).
    /// </summary>
    public static Onnx.ModelProto BuildConvVjp(NetworkWeights weights, PreprocessPreset preprocess, int layer)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ConvLayer l = ForwardGraphBuilder.CheckRange(weights.Architecture, layer, 1);
        var w = new OnnxGraphWriter($"neuralstyle_backward_{l.ConvName}");
        w.Input(GraphNames.ConvOutputGradient, false, "N", l.OutChannels, $"H{l.Block}", $"W{l.Block}");
        if (layer == 0)
        {
            WriteImageGradient(w, preprocess, WriteTransposedConvVjp(w, weights, l, GraphNames.ConvOutputGradient, null));
        }
        else
        {
            WriteTransposedConvVjp(w, weights, l, GraphNames.ConvOutputGradient, GraphNames.BlockInputGradient);
            w.Output(GraphNames.BlockInputGradient, false, "N", l.InChannels, $"H{l.Block}", $"W{l.Block}");
        }

        return w.Build($"NeuralStyle backward graph (VJP) of {l.ConvName}'s convolution, {weights.Identity}.");
    }

    private static void CheckTaps(NetworkWeights weights, IReadOnlyCollection<string> taps)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(taps);
        IReadOnlyList<ConvLayer> layers = weights.Architecture.Layers;
        if (!taps.Contains(layers[^1].ReluName))
        {
            throw new ArgumentException($"The graph ends at {layers[^1].ReluName}, which no loss uses; truncate the weights at the deepest tap.", nameof(taps));
        }
    }

    private static void DeclareInputs(OnnxGraphWriter w, IEnumerable<ConvLayer> layers, IReadOnlyCollection<string> taps)
    {
        foreach (ConvLayer layer in layers)
        {
            w.Input(GraphNames.Activation(layer.ReluName), false, "N", layer.OutChannels, $"H{layer.Block}", $"W{layer.Block}");
            if (taps.Contains(layer.ReluName))
            {
                w.Input(GraphNames.Seed(layer.ReluName), false, "N", layer.OutChannels, $"H{layer.Block}", $"W{layer.Block}");
            }
        }
    }

    /// <summary>
    /// The VJP of consecutive conv + ReLU layers, from the last down: <paramref name="g"/> is dL/d(last ReLU output)
    /// from above, or null when the last is the network's last. Returns dL/d(the first layer's input), named <paramref name="outputName"/> when given.
    /// </summary>
    private static string WriteLayersVjp(OnnxGraphWriter w, NetworkWeights weights, ConvLayer[] layers, IReadOnlyCollection<string> taps, string? g, string zero, string? outputName)
    {
        for (int i = layers.Length - 1; i >= 0; i--)
        {
            ConvLayer layer = layers[i];
            string activation = GraphNames.Activation(layer.ReluName);
            if (taps.Contains(layer.ReluName))
            {
                string seed = GraphNames.Seed(layer.ReluName);
                g = g is null ? seed : w.Node("Add", [g, seed], $"{layer.ReluName}_grad_total");
            }

            // g·[F > 0] as a product with a 0/1 float mask: ONNX Runtime's Mul is vectorized, its Where is not
            // (Greater + Where took 50 ms of a 256 px iteration's profile, Greater + Cast + Mul 37 ms).
            string mask = w.Node("Cast", [w.Node("Greater", [activation, zero])], $"{layer.ReluName}_mask", OnnxGraphWriter.Int("to", (int)Onnx.TensorProto.Types.DataType.Float));
            string gradConv = w.Node("Mul", [g!, mask], $"{layer.ConvName}_grad_out");
            g = WriteConvVjp(w, weights, layer, gradConv, i == 0 ? outputName : null);
        }

        return g!;
    }

    /// <summary>
    /// dL/d(conv input) from dL/d(conv output): the conv with the flipped, transposed kernel. On ONNX Runtime's CUDA
    /// provider, which runs the whole graphs, that is cuDNN's forward convolution, its most tuned path; ConvTranspose
    /// has not been measured there.
    /// </summary>
    private static string WriteConvVjp(OnnxGraphWriter w, NetworkWeights weights, ConvLayer layer, string gradConv, string? outputName)
    {
        float[] flipped = FlipTranspose(weights.Kernels[ForwardGraphBuilder.IndexOf(weights.Architecture, layer)], layer.OutChannels, layer.InChannels);
        string kernel = w.Initializer(layer.ConvName + "_w_flipped", [layer.InChannels, layer.OutChannels, 3, 3], flipped);
        return w.Node("Conv", [gradConv, kernel], outputName ?? $"{layer.ConvName}_grad_in", ForwardGraphBuilder.ConvAttributes());
    }

    /// <summary>dL/d(conv input) from dL/d(conv output) as ConvTranspose with the layer's own kernel (see <see cref="BuildConvVjp"/>).</summary>
    private static string WriteTransposedConvVjp(OnnxGraphWriter w, NetworkWeights weights, ConvLayer layer, string gradConv, string? outputName)
    {
        float[] kernel = weights.Kernels[ForwardGraphBuilder.IndexOf(weights.Architecture, layer)];
        string name = w.Initializer(layer.ConvName + "_w", [layer.OutChannels, layer.InChannels, 3, 3], kernel);
        return w.Node("ConvTranspose", [gradConv, name], outputName ?? $"{layer.ConvName}_grad_in", ForwardGraphBuilder.ConvAttributes());
    }

    private static void WriteImageGradient(OnnxGraphWriter w, PreprocessPreset preprocess, string g)
    {
        float[] preprocessT = ForwardGraphBuilder.PreprocessKernel(PreprocessTransform.For(preprocess), transpose: true);
        string prepKernel = w.Initializer("preprocess_w_transposed", [3, 3, 1, 1], preprocessT);
        w.Node("Conv", [g, prepKernel], GraphNames.ImageGradient, OnnxGraphWriter.Ints("kernel_shape", 1, 1));
        w.Output(GraphNames.ImageGradient, false, "N", 3, "H", "W");
    }

    /// <summary>W'[i,o,a,b] = W[o,i,2−a,2−b]: the kernel of the conv that computes a 3×3 pad-1 conv's input gradient.</summary>
    internal static float[] FlipTranspose(float[] kernel, int outChannels, int inChannels)
    {
        var flipped = new float[kernel.Length];
        for (int o = 0; o < outChannels; o++)
        {
            for (int i = 0; i < inChannels; i++)
            {
                for (int a = 0; a < 3; a++)
                {
                    for (int b = 0; b < 3; b++)
                    {
                        flipped[(((i * outChannels) + o) * 9) + (a * 3) + b] = kernel[(((o * inChannels) + i) * 9) + ((2 - a) * 3) + (2 - b)];
                    }
                }
            }
        }

        return flipped;
    }

    /// <summary>[N, C, H, W] of the pool after <paramref name="below"/>'s block: that block's output size.</summary>
    private static long[] KnownPoolInputShape(BatchShape shape, ConvLayer below)
    {
        var (height, width) = NetworkArchitecture.SpatialSize(below.Block, shape.Height, shape.Width);
        return [shape.Batch, below.OutChannels, height, width];
    }

    /// <summary>The pool input's shape: the constant <paramref name="known"/>, or read from the tensor at run time.</summary>
    private static string PoolInputShape(OnnxGraphWriter w, string poolInput, int block, long[]? known) =>
        known is null ? w.Node("Shape", [poolInput], $"pool{block}_in_shape") : w.Int64Initializer($"pool{block}_in_shape", known);

    private static string MaxPoolVjp(OnnxGraphWriter w, string g, string poolInput, string indices, int block, long[]? poolInputShape)
    {
        string shape = PoolInputShape(w, poolInput, block, poolInputShape);
        string flat = w.Int64Initializer($"pool{block}_flat", -1);
        string zeros = w.Node("Reshape", [w.Node("ConstantOfShape", [shape], $"pool{block}_zeros"), flat]);
        string scattered = w.Node("ScatterElements",
            [zeros, w.Node("Reshape", [indices, flat]), w.Node("Reshape", [g, flat])],
            $"pool{block}_scattered", OnnxGraphWriter.Int("axis", 0));
        return w.Node("Reshape", [scattered, shape], $"pool{block}_grad_in");
    }

    private static string AveragePoolVjp(OnnxGraphWriter w, string g, string poolInput, ConvLayer below, long[]? poolInputShape)
    {
        int channels = below.OutChannels;
        float[] quarter = Enumerable.Repeat(0.25f, channels * 4).ToArray();
        string kernel = w.Initializer($"pool{below.Block}_spread", [channels, 1, 2, 2], quarter);
        string spread = w.Node("ConvTranspose", [g, kernel], $"pool{below.Block}_spread_out",
            OnnxGraphWriter.Ints("kernel_shape", 2, 2), OnnxGraphWriter.Ints("strides", 2, 2), OnnxGraphWriter.Int("group", channels));

        // Odd inputs lose their last row/column to the pool: pad the gradient back with zeros there.
        if (poolInputShape is not null)
        {
            long height = poolInputShape[2], width = poolInputShape[3];
            string known = w.Int64Initializer($"pool{below.Block}_pads", 0, 0, 0, 0, 0, 0, height % 2, width % 2);
            return w.Node("Pad", [spread, known], $"pool{below.Block}_grad_in");
        }

        string starts = w.Int64Initializer($"pool{below.Block}_hw_start", 2);
        string ends = w.Int64Initializer($"pool{below.Block}_hw_end", 4);
        string inputHw = w.Node("Slice", [w.Node("Shape", [poolInput]), starts, ends]);
        string spreadHw = w.Node("Slice", [w.Node("Shape", [spread]), starts, ends]);
        string missing = w.Node("Sub", [inputHw, spreadHw]);
        string leading = w.Int64Initializer($"pool{below.Block}_pads_head", 0, 0, 0, 0, 0, 0);
        string pads = w.Node("Concat", [leading, missing], null, OnnxGraphWriter.Int("axis", 0));
        return w.Node("Pad", [spread, pads], $"pool{below.Block}_grad_in");
    }
}
