using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Graphs;
using NeuralStyle.Model;
using NeuralStyle.Runtime;

namespace NeuralStyle.Cpu;

/// <summary>Consecutive layers of one block run as one unit: <see cref="Count"/> layers from index <see cref="First"/>.</summary>
/// <param name="First">Index of the first layer in the architecture.</param>
/// <param name="Count">Layers in the stage.</param>
/// <param name="Winograd">One layer convolved by <see cref="Winograd"/> transforms around ONNX Runtime's MatMul, instead of an ONNX Runtime graph.</param>
internal sealed record CpuStage(int First, int Count, bool Winograd)
{
    public int Last => First + Count - 1;
}

/// <summary>
/// How the CPU backend runs the network. Forward: stages in order, each either an ONNX Runtime graph over
/// consecutive layers of a block or one layer done as Winograd F(4×4, 3×3) (its transformed kernels). Backward: layer
/// by layer, the ReLU VJP in <see cref="CpuKernels.ReluVjp"/> and then the convolution's VJP, as a graph
/// (<see cref="BackwardGraphBuilder.BuildConvVjp"/>) or as Winograd. The pools between blocks run in <see cref="CpuPooling"/>.
/// </summary>
/// <remarks>
/// Winograd is used where both channel counts are at least <see cref="DefaultWinogradMinChannels"/>, which in VGG19
/// is every layer but the first (3 input channels): its matrix products ([K, C]·[C, tiles], 36 of them) run at
/// MLAS's GEMM rate on 4× fewer multiplications than the direct convolution, and the transforms' few operations per
/// value are cheap against C·K. F(2×2, 3×3) (16 products, 2.25× fewer) paid only from 256 channels up; with F(4×4)
/// the products session's time per run over those same layers fell from 10.4 to 6.2 ms (ONNX Runtime profile,
/// 256 px), and taking the layers from 64 channels too brought iterations at 256 px from 446–515 to 337–383 ms
/// (3 alternated runs each).
/// </remarks>
internal sealed class CpuStages : IDisposable
{
    /// <summary>Smallest input and output channel count for which a layer is done as Winograd, by default.</summary>
    public const int DefaultWinogradMinChannels = 64;

    private readonly InferenceSession?[] _forward; // by stage
    private readonly InferenceSession?[] _backward; // by layer
    private readonly WinogradKernels?[] _transformedByLayer;

    /// <param name="weights">The network, truncated at its deepest tap.</param>
    /// <param name="preprocess">The preprocessing of the first graph.</param>
    /// <param name="pooling">The pooling between blocks.</param>
    /// <param name="winogradMinChannels">Layers with at least this many input and output channels are Winograd stages (tests lower it for tiny networks).</param>
    public CpuStages(NetworkWeights weights, PreprocessPreset preprocess, PoolingMode pooling, int winogradMinChannels = DefaultWinogradMinChannels)
    {
        Weights = weights;
        Pooling = pooling;
        Stages = Plan(weights.Architecture, winogradMinChannels);
        _forward = new InferenceSession?[Stages.Count];
        _backward = new InferenceSession?[weights.Architecture.Layers.Count];
        _transformedByLayer = new WinogradKernels?[weights.Architecture.Layers.Count];
        for (int s = 0; s < Stages.Count; s++)
        {
            CpuStage stage = Stages[s];
            string name = weights.Architecture.Layers[stage.First].ConvName;
            if (stage.Winograd)
            {
                _transformedByLayer[stage.First] = new WinogradKernels(weights, stage.First);
            }
            else
            {
                _forward[s] = OrtRuntime.CreateCpuSession(ForwardGraphBuilder.BuildRange(weights, preprocess, stage.First, stage.Count).ToByteArray(), $"forward_{name}");
                for (int i = stage.First; i <= stage.Last; i++)
                {
                    _backward[i] = OrtRuntime.CreateCpuSession(BackwardGraphBuilder.BuildConvVjp(weights, preprocess, i).ToByteArray(), $"backward_{weights.Architecture.Layers[i].ConvName}");
                }
            }
        }

        Products = OrtRuntime.CreateCpuSession(ProductGraphBuilder.WinogradProducts(Winograd.Positions), "winograd_products");
    }

    public NetworkWeights Weights { get; }

    public NetworkArchitecture Architecture => Weights.Architecture;

    public PoolingMode Pooling { get; }

    public IReadOnlyList<CpuStage> Stages { get; }

    /// <summary>The batched MatMul of the Winograd stages, M[n, q] = U[q]·V[n, q].</summary>
    public InferenceSession Products { get; }

    /// <summary>A binding of <see cref="Products"/>: the kernels U [36, K, C] times V [N, 36, C, T] into M [N, 36, K, T].</summary>
    public OrtIoBinding BindProducts(OrtValue kernels, OrtValue transformed, OrtValue products)
    {
        OrtIoBinding binding = Products.CreateIoBinding();
        binding.BindInput(ProductGraphBuilder.Difference, kernels);
        binding.BindInput(ProductGraphBuilder.Features, transformed);
        binding.BindOutput(ProductGraphBuilder.Result, products);
        return binding;
    }

    public InferenceSession Forward(int stage) => _forward[stage] ?? throw new InvalidOperationException($"Stage {stage} is a Winograd stage.");

    /// <summary>The convolution VJP session of graph layer <paramref name="layer"/>.</summary>
    public InferenceSession Backward(int layer) => _backward[layer] ?? throw new InvalidOperationException($"Layer {layer} is a Winograd layer.");

    /// <summary>The Winograd kernels of layer <paramref name="layer"/>, or null for a graph layer.</summary>
    public WinogradKernels? TransformedAt(int layer) => _transformedByLayer[layer];

    /// <summary>Whether <paramref name="layer"/> is a Winograd stage by default.</summary>
    public static bool IsWinograd(ConvLayer layer) => IsWinograd(layer, DefaultWinogradMinChannels);

    /// <summary>Splits each block into runs of graph layers and single Winograd layers.</summary>
    internal static List<CpuStage> Plan(NetworkArchitecture architecture, int winogradMinChannels)
    {
        bool IsWinograd(ConvLayer layer) => CpuStages.IsWinograd(layer, winogradMinChannels);

        var stages = new List<CpuStage>();
        IReadOnlyList<ConvLayer> layers = architecture.Layers;
        int start = 0;
        for (int i = 0; i < layers.Count; i++)
        {
            bool endsRun = i + 1 == layers.Count || layers[i + 1].Block != layers[i].Block || IsWinograd(layers[i + 1]);
            if (IsWinograd(layers[i]))
            {
                stages.Add(new CpuStage(i, 1, true));
                start = i + 1;
            }
            else if (endsRun)
            {
                stages.Add(new CpuStage(start, i - start + 1, false));
                start = i + 1;
            }
        }

        return stages;
    }

    private static bool IsWinograd(ConvLayer layer, int minChannels) => Math.Min(layer.InChannels, layer.OutChannels) >= minChannels;

    public void Dispose()
    {
        foreach (InferenceSession? session in _forward.Concat(_backward).Append(Products))
        {
            session?.Dispose();
        }

        foreach (WinogradKernels? kernels in _transformedByLayer)
        {
            kernels?.Dispose();
        }
    }
}

/// <summary>One layer's Winograd kernels, pinned for ONNX Runtime: U [36, K, C] forward, U' [36, C, K] for the input gradient (the flipped, transposed kernel), and the bias.</summary>
internal sealed class WinogradKernels : IDisposable
{
    public WinogradKernels(NetworkWeights weights, int layer)
    {
        ConvLayer l = weights.Architecture.Layers[layer];
        Layer = l;
        // Transformed straight into the pinned buffers: a managed copy of each would double the peak until a GC.
        Forward = new PinnedTensor<float>(Winograd.Positions, l.OutChannels, l.InChannels);
        Winograd.KernelTransform(weights.Kernels[layer], l.OutChannels, l.InChannels, Forward.Array);
        Backward = new PinnedTensor<float>(Winograd.Positions, l.InChannels, l.OutChannels);
        Winograd.KernelTransform(BackwardGraphBuilder.FlipTranspose(weights.Kernels[layer], l.OutChannels, l.InChannels), l.InChannels, l.OutChannels, Backward.Array);
        Bias = weights.Biases[layer];
    }

    public ConvLayer Layer { get; }

    public PinnedTensor<float> Forward { get; }

    public PinnedTensor<float> Backward { get; }

    public float[] Bias { get; }

    public void Dispose()
    {
        Forward.Dispose();
        Backward.Dispose();
    }
}
