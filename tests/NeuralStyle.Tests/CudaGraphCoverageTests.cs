using NeuralStyle.Graphs;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;
using Onnx;

namespace NeuralStyle.Tests;

/// <summary>
/// The graphs the CUDA backend runs use only operators that ONNX Runtime's CUDA provider implements for float32 at
/// our opset, and no Shape node. The backend disables the CPU fallback (so that a GPU run is really one), so a node
/// the provider lacks would fail session creation on the GPU. So would a Shape node: its output stays on the CPU,
/// and the provider places the small arithmetic that consumes it on the CPU too. This test catches both on any
/// machine, when a graph change brings one in.
/// </summary>
public sealed class CudaGraphCoverageTests
{
    /// <summary>
    /// Operators with a CUDA kernel covering opset 17 for the types our graphs give them (float32, and int64 for the
    /// shape helpers) in ONNX Runtime 1.31, per ORT's docs/OperatorKernels.md. MaxUnpool, for one, has none.
    /// </summary>
    private static readonly HashSet<string> CudaOperators =
    [
        "Add", "AveragePool", "Cast", "Concat", "ConstantOfShape", "Conv", "ConvTranspose", "Greater", "MaxPool", "Mul",
        "Pad", "Relu", "Reshape", "ScatterElements",
    ];

    [Theory]
    [InlineData(PoolingMode.Max, PreprocessPreset.Caffe)]
    [InlineData(PoolingMode.Average, PreprocessPreset.Torchvision)]
    public void Forward_and_backward_graphs_use_only_operators_the_cuda_provider_has(PoolingMode pooling, PreprocessPreset preset)
    {
        NetworkWeights weights = TinyNetworks.Create(GraphGradientTests.Parse("3|4,5|6"), 3);
        string[] taps = weights.Architecture.ReluNames.ToArray();
        // As CudaBackend builds them: the backward graph for the run's batch and size (here odd at every pool).
        ModelProto[] graphs = [ForwardGraphBuilder.Build(weights, preset, pooling), BackwardGraphBuilder.Build(weights, preset, pooling, taps, new BatchShape(2, 11, 9))];
        foreach (ModelProto model in graphs)
        {
            Assert.DoesNotContain(model.Graph.Node, n => n.OpType == "Shape");
            Assert.Equal(OnnxGraphWriter.Opset, Assert.Single(model.OpsetImport).Version);
            Assert.Equal(17, OnnxGraphWriter.Opset); // the list above is for this opset
            string[] missing = model.Graph.Node.Select(n => n.OpType).Where(op => !CudaOperators.Contains(op)).Distinct().ToArray();
            Assert.True(missing.Length == 0, $"{model.Graph.Name}: no CUDA kernel for {string.Join(", ", missing)}");

            // The CUDA provider hands ConvTranspose back to the CPU for auto_pad or asymmetric pads.
            foreach (NodeProto node in model.Graph.Node.Where(n => n.OpType == "ConvTranspose"))
            {
                Assert.DoesNotContain(node.Attribute, a => a.Name == "auto_pad");
                long[] pads = node.Attribute.FirstOrDefault(a => a.Name == "pads")?.Ints.ToArray() ?? [];
                Assert.True(pads.Length == 0 || pads.Take(pads.Length / 2).SequenceEqual(pads.Skip(pads.Length / 2)), $"{node.Name}: asymmetric pads");
            }
        }
    }
}
