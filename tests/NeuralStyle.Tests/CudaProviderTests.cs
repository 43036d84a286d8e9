using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Cuda;
using NeuralStyle.Graphs;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;
using Onnx;

namespace NeuralStyle.Tests;

/// <summary>
/// What can be checked of ONNX Runtime's CUDA provider without a GPU, from the library we ship itself:
/// <list type="bullet">
/// <item>The graphs the CUDA backend runs use only operators the provider implements at their opset (by its kernel
/// registry; the types are not compared, the float32 kernels being the ones every operator has), and no Shape node.
/// The backend disables the CPU fallback (so that a GPU run is really one), so a node the provider lacks would fail
/// session creation on the GPU. So would a Shape node: its output stays on the CPU, and the provider places the small
/// arithmetic that consumes it on the CPU too.</item>
/// <item>Doctor looks for every CUDA library the provider links, so that it can name them all when some are
/// missing (the loader names only the first).</item>
/// <item>The sessions' options keep ONNX Runtime from folding the max pools' zeros into initializers.</item>
/// </list>
/// </summary>
public sealed class CudaProviderTests : TemporaryFolderTest
{
    private static void SkipWithoutShippedProvider() =>
        Skip.IfNot(File.Exists(ShippedCudaProvider.LibraryPath) && RuntimeInformation.ProcessArchitecture == Architecture.X64,
            $"Reads the linux-x64 {ShippedCudaProvider.LibraryName} that the build copies next to the tests.");

    [SkippableFact]
    public void The_registry_read_from_the_shipped_cuda_provider_holds_its_known_kernels()
    {
        SkipWithoutShippedProvider();
        IReadOnlyList<KernelRegistration> kernels = ShippedCudaProvider.Kernels;

        Assert.True(kernels.Count > 1000, $"only {kernels.Count} registrations read");
        // Conv is registered once per type (float, double, half) for each of its opset ranges.
        (int, int?)[] conv = kernels.Where(k => k.Domain == "" && k.Operator == "Conv").Select(k => (k.Since, k.Until)).Distinct().Order().ToArray();
        Assert.Equal([(1, 10), (11, 21), (22, null)], conv);
        Assert.Contains(kernels, k => k.Domain == "com.microsoft" && k.Operator == "FusedConv");
        // ONNX Runtime's docs list no CUDA MaxUnpool, and the provider has none.
        Assert.DoesNotContain(kernels, k => k.Operator == "MaxUnpool");
        Assert.All(kernels, k => Assert.True(k.Since >= 1 && (k.Until is null || k.Until >= k.Since), $"{k}: not an opset range"));
    }

    [SkippableFact]
    public void Doctor_checks_every_cuda_library_the_shipped_provider_links()
    {
        SkipWithoutShippedProvider();
        // The C and C++ runtimes every Linux machine has, and the driver, which doctor reports on a line of its own.
        string[] system = ["libc.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libpthread.so.0", "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2", "libcuda.so.1"];
        string[] linked = ShippedCudaProvider.LinkedLibraries.Except(system).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(linked, CudaProviderLibraries.LinuxLinked.Order(StringComparer.Ordinal));
    }

    [SkippableFact]
    public void The_coverage_check_names_an_operator_the_provider_lacks_at_the_graphs_opset()
    {
        SkipWithoutShippedProvider();
        Assert.Equal(["MaxUnpool"], OperatorsWithoutCudaKernel(["Conv", "MaxUnpool", "Relu"], 17));
        // AveragePool's CUDA kernels cover opsets 7 and up; Shape 1 and up. An opset below an operator's first is missing it.
        Assert.Empty(OperatorsWithoutCudaKernel(["AveragePool", "Shape"], 17));
        Assert.Equal(["ScatterElements"], OperatorsWithoutCudaKernel(["Relu", "ScatterElements"], 10));
    }

    private static string[] OperatorsWithoutCudaKernel(IEnumerable<string> operators, int opset) =>
        operators.Distinct().Where(op => !ShippedCudaProvider.Kernels.Any(k => k.Domain == "" && k.Operator == op && k.Covers(opset))).ToArray();

    [SkippableTheory]
    [InlineData(PoolingMode.Max, PreprocessPreset.Caffe)]
    [InlineData(PoolingMode.Average, PreprocessPreset.Torchvision)]
    public void Forward_and_backward_graphs_use_only_operators_the_cuda_provider_has(PoolingMode pooling, PreprocessPreset preset)
    {
        SkipWithoutShippedProvider();
        NetworkWeights weights = TinyNetworks.Create(GraphGradientTests.Parse("3|4,5|6"), 3);
        string[] taps = weights.Architecture.ReluNames.ToArray();
        // As CudaBackend builds them: the backward graph for the run's batch and size (here odd at every pool).
        ModelProto[] graphs = [ForwardGraphBuilder.Build(weights, preset, pooling), BackwardGraphBuilder.Build(weights, preset, pooling, taps, new BatchShape(2, 11, 9))];
        foreach (ModelProto model in graphs)
        {
            Assert.DoesNotContain(model.Graph.Node, n => n.OpType == "Shape");
            OperatorSetIdProto opset = Assert.Single(model.OpsetImport);
            Assert.Equal("", opset.Domain);
            string[] missing = OperatorsWithoutCudaKernel(model.Graph.Node.Select(n => n.OpType), (int)opset.Version);
            Assert.True(missing.Length == 0, $"{model.Graph.Name}: no CUDA kernel at opset {opset.Version} for {string.Join(", ", missing)}");

            // The CUDA provider hands ConvTranspose back to the CPU for auto_pad or asymmetric pads.
            foreach (NodeProto node in model.Graph.Node.Where(n => n.OpType == "ConvTranspose"))
            {
                Assert.DoesNotContain(node.Attribute, a => a.Name == "auto_pad");
                long[] pads = node.Attribute.FirstOrDefault(a => a.Name == "pads")?.Ints.ToArray() ?? [];
                Assert.True(pads.Length == 0 || pads.Take(pads.Length / 2).SequenceEqual(pads.Skip(pads.Length / 2)), $"{node.Name}: asymmetric pads");
            }
        }
    }

    /// <summary>
    /// The backward graph for a fixed batch and size fills each max pool's gradient from ConstantOfShape of a constant
    /// shape. Folded, that is an initializer of zeros the size of the pool's input, on the device for good; with the
    /// options the CUDA sessions use, the optimized graph keeps its ConstantOfShape nodes and no initializer as large as
    /// a pool's input. Checked on the CPU provider, whose optimizer runs the same constant folding.
    /// </summary>
    [Fact]
    public void The_cuda_sessions_keep_the_max_pools_zeros_out_of_the_initializers()
    {
        NetworkWeights weights = TinyNetworks.Create(GraphGradientTests.Parse("3|4,5|6"), 3);
        var shape = new BatchShape(2, 64, 48);
        byte[] model = BackwardGraphBuilder.Build(weights, PreprocessPreset.Caffe, PoolingMode.Max, weights.Architecture.ReluNames.ToArray(), shape).ToByteArray();
        // The inputs of the two max pools: the last layer of blocks 1 and 2, at their blocks' sizes.
        long[] poolInputs = weights.Architecture.Layers.GroupBy(l => l.Block).SkipLast(1).Select(block =>
        {
            var (h, w) = NetworkArchitecture.SpatialSize(block.Key, shape.Height, shape.Width);
            return (long)shape.Batch * block.Last().OutChannels * h * w;
        }).ToArray();

        ModelProto folded = Optimized(model, new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL });
        Assert.Contains(folded.Graph.Initializer, i => ElementCount(i) >= poolInputs.Max()); // what the option prevents

        ModelProto kept = Optimized(model, CudaGraphs.Options());
        Assert.Equal(poolInputs.Length, kept.Graph.Node.Count(n => n.OpType == "ConstantOfShape"));
        Assert.All(kept.Graph.Initializer, i => Assert.True(ElementCount(i) < poolInputs.Min(), $"{i.Name}: {ElementCount(i)} values"));
    }

    private ModelProto Optimized(byte[] model, SessionOptions options)
    {
        string path = Path.Combine(Folder, $"optimized{Directory.GetFiles(Folder).Length}.onnx");
        using (options)
        {
            options.OptimizedModelFilePath = path;
            using var session = new InferenceSession(model, options);
        }

        return ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
    }

    private static long ElementCount(TensorProto tensor) => tensor.Dims.Aggregate(1L, (a, b) => a * b);
}
