namespace NeuralStyle.Graphs;

/// <summary>
/// Two tiny batched matrix-product graphs, so that the CPU backend's style-loss products run on ONNX Runtime's
/// MLAS GEMM rather than a hand-written one: <c>gram</c> computes F·Fᵀ for x = F [N, C, M]; <c>apply</c>
/// computes D·F for d = D [N, C, C]. All sizes are symbolic, so one session serves every layer.
/// </summary>
internal static class ProductGraphBuilder
{
    public const string Features = "x";
    public const string Difference = "d";
    public const string Result = "y";

    /// <summary>y = x·xᵀ over the last two axes ([N,C,M] → [N,C,C]).</summary>
    public static byte[] Gram()
    {
        var w = new OnnxGraphWriter("neuralstyle_gram");
        w.Input(Features, false, "N", "C", "M");
        string transposed = w.Node("Transpose", [Features], "xt", OnnxGraphWriter.Ints("perm", 0, 2, 1));
        w.Node("MatMul", [Features, transposed], Result);
        w.Output(Result, false, "N", "C", "C");
        return Google.Protobuf.MessageExtensions.ToByteArray(w.Build("F·Fᵀ per batch item."));
    }

    /// <summary>y = d·x ([N,C,C] × [N,C,M] → [N,C,M]).</summary>
    public static byte[] Apply()
    {
        var w = new OnnxGraphWriter("neuralstyle_apply");
        w.Input(Difference, false, "N", "C", "C");
        w.Input(Features, false, "N", "C", "M");
        w.Node("MatMul", [Difference, Features], Result);
        w.Output(Result, false, "N", "C", "M");
        return Google.Protobuf.MessageExtensions.ToByteArray(w.Build("(G−A)·F per batch item."));
    }

    /// <summary>The Winograd products, y[n, q] = d[q]·x[n, q] ([P, K, C] × [N, P, C, T] → [N, P, K, T]): one GEMM per item and tile position q &lt; P.</summary>
    public static byte[] WinogradProducts(int positions)
    {
        var w = new OnnxGraphWriter("neuralstyle_winograd_products");
        w.Input(Difference, false, positions, "K", "C");
        w.Input(Features, false, "N", positions, "C", "T");
        w.Node("MatMul", [Difference, Features], Result);
        w.Output(Result, false, "N", positions, "K", "T");
        return Google.Protobuf.MessageExtensions.ToByteArray(w.Build($"Winograd products U[q]·V[n,q], {positions} tile positions."));
    }
}
