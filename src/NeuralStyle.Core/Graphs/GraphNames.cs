namespace NeuralStyle.Graphs;

/// <summary>The input and output names the forward and backward graphs share with the backends.</summary>
public static class GraphNames
{
    /// <summary>Forward input: the image, [N, 3, H, W], RGB 0..255.</summary>
    public const string Image = "image";

    /// <summary>Backward output: dL/d image, [N, 3, H, W].</summary>
    public const string ImageGradient = "grad_image";

    /// <summary>Forward output (and backward input) holding a layer's ReLU output: the layer's own name, e.g. <c>relu2_1</c>.</summary>
    public static string Activation(string reluName) => reluName;

    /// <summary>Backward input: the loss gradient seeded at a tapped ReLU output.</summary>
    public static string Seed(string reluName) => "grad_" + reluName;

    /// <summary>Forward output (and backward input) of max pooling's argmax after <paramref name="block"/>, int64.</summary>
    public static string PoolIndices(int block) => $"pool{block}_indices";

    /// <summary>Block graph input of every block after the first: the pooled output of the block before, [N, C, H_b, W_b].</summary>
    public const string BlockInput = "block_input";

    /// <summary>Input of a single convolution's VJP graph: dL/d(the conv output), the ReLU VJP already applied.</summary>
    public const string ConvOutputGradient = "grad_conv_output";

    /// <summary>Output of a convolution's VJP graph for every layer but the first: dL/d(the layer's input).</summary>
    public const string BlockInputGradient = "grad_block_input";
}
