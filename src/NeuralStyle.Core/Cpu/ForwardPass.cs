using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Graphs;
using NeuralStyle.Model;

namespace NeuralStyle.Cpu;

/// <summary>
/// The forward pass for one batch and image size: every activation, pooled block input and argmax in pinned
/// buffers bound once, so a run allocates nothing.
/// </summary>
internal sealed class ForwardPass : IDisposable
{
    private readonly BlockSessions _sessions;
    private readonly OrtIoBinding[] _bindings;
    private readonly Dictionary<string, PinnedTensor<float>> _activations = [];
    private readonly PinnedTensor<float>?[] _pooled;
    private readonly byte[]?[] _argmax;

    public ForwardPass(BlockSessions sessions, int batch, int height, int width)
    {
        _sessions = sessions;
        Batch = batch;
        Height = height;
        Width = width;
        NetworkArchitecture architecture = sessions.Architecture;
        int blocks = architecture.BlockCount;
        Image = new PinnedTensor<float>(batch, 3, height, width);
        _bindings = sessions.Forward.Select(s => s.CreateIoBinding()).ToArray();
        _pooled = new PinnedTensor<float>?[blocks + 1];
        _argmax = new byte[]?[blocks + 1];
        _bindings[0].BindInput(GraphNames.Image, Image.Value);
        foreach (ConvLayer layer in architecture.Layers)
        {
            var (h, w) = NetworkArchitecture.SpatialSize(layer.Block, height, width);
            if (layer.Index == 1 && layer.Block > 1)
            {
                var pooled = new PinnedTensor<float>(batch, layer.InChannels, h, w);
                _pooled[layer.Block] = pooled;
                _argmax[layer.Block] = sessions.Pooling == PoolingMode.Max ? GC.AllocateUninitializedArray<byte>(pooled.Array.Length) : [];
                _bindings[layer.Block - 1].BindInput(GraphNames.BlockInput, pooled.Value);
            }

            var activation = new PinnedTensor<float>(batch, layer.OutChannels, h, w);
            _activations[layer.ReluName] = activation;
            _bindings[layer.Block - 1].BindOutput(GraphNames.Activation(layer.ReluName), activation.Value);
        }
    }

    public int Batch { get; }

    public int Height { get; }

    public int Width { get; }

    /// <summary>The input, [N, 3, H, W], RGB 0..255.</summary>
    public PinnedTensor<float> Image { get; }

    /// <summary>Every layer's ReLU output, by ReLU name.</summary>
    public IReadOnlyDictionary<string, PinnedTensor<float>> Activations => _activations;

    public BlockSessions Sessions => _sessions;

    /// <summary>The argmax of the pool into <paramref name="block"/> (max pooling; empty for average pooling).</summary>
    public byte[] Argmax(int block) => _argmax[block] ?? throw new ArgumentOutOfRangeException(nameof(block), $"Block {block} has no pool before it.");

    /// <summary>Runs every block, pooling between them.</summary>
    public void Run(RunOptions options)
    {
        for (int block = 1; block <= _sessions.Architecture.BlockCount; block++)
        {
            if (block > 1)
            {
                var (below, h, w) = LastOf(block - 1);
                CpuPooling.Forward(_sessions.Pooling, below.Array, Batch * (int)below.Shape[1], h, w, _pooled[block]!.Array, _argmax[block]);
            }

            _sessions.Forward[block - 1].RunWithBinding(options, _bindings[block - 1]);
        }
    }

    /// <summary>The last activation of <paramref name="block"/> and its spatial size.</summary>
    public (PinnedTensor<float> Activation, int Height, int Width) LastOf(int block)
    {
        PinnedTensor<float> activation = _activations[ForwardGraphBuilder.LastOfBlock(_sessions.Architecture, block).ReluName];
        return (activation, (int)activation.Shape[2], (int)activation.Shape[3]);
    }

    public void Dispose()
    {
        foreach (OrtIoBinding binding in _bindings)
        {
            binding.Dispose();
        }

        foreach (PinnedTensor<float>? tensor in _activations.Values.Concat(_pooled).Append(Image))
        {
            tensor?.Dispose();
        }
    }
}
