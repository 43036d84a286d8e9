using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Graphs;
using NeuralStyle.Model;
using NeuralStyle.Runtime;

namespace NeuralStyle.Cpu;

/// <summary>
/// The forward pass for one batch and image size: every activation, pooled block input and argmax in pinned
/// buffers bound once, so a run allocates nothing. Also owns the Winograd scratch (V and M), which the backward
/// pass over the same buffers shares.
/// </summary>
internal sealed class ForwardPass : IDisposable
{
    private readonly CpuStages _stages;
    private readonly OrtIoBinding?[] _bindings;
    private readonly PinnedTensor<float>[] _activations;
    private readonly Dictionary<string, PinnedTensor<float>> _byName = [];
    private readonly PinnedTensor<float>?[] _pooled;
    private readonly byte[]?[] _argmax;
    private readonly OwnedResources _owned = new(); // tensors and bindings

    public ForwardPass(CpuStages stages, int batch, int height, int width)
    {
        _stages = stages;
        Batch = batch;
        Height = height;
        Width = width;
        NetworkArchitecture architecture = stages.Architecture;
        _activations = new PinnedTensor<float>[architecture.Layers.Count];
        _pooled = new PinnedTensor<float>?[architecture.BlockCount + 1];
        _argmax = new byte[]?[architecture.BlockCount + 1];
        _bindings = new OrtIoBinding?[stages.Stages.Count];
        try
        {
            Image = _owned.Own(new PinnedTensor<float>(batch, 3, height, width));
            long scratch = 0;
            for (int i = 0; i < architecture.Layers.Count; i++)
            {
                ConvLayer layer = architecture.Layers[i];
                var (h, w) = NetworkArchitecture.SpatialSize(layer.Block, height, width);
                if (layer.Index == 1 && layer.Block > 1)
                {
                    var pooled = _owned.Own(new PinnedTensor<float>(batch, layer.InChannels, h, w));
                    _pooled[layer.Block] = pooled;
                    _argmax[layer.Block] = stages.Pooling == PoolingMode.Max ? GC.AllocateUninitializedArray<byte>(pooled.Array.Length) : [];
                }

                _activations[i] = _owned.Own(new PinnedTensor<float>(batch, layer.OutChannels, h, w));
                _byName[layer.ReluName] = _activations[i];
                if (stages.TransformedAt(i) is not null)
                {
                    var (th, tw) = Winograd.Tiles(h, w);
                    scratch = Math.Max(scratch, (long)Winograd.Positions * Math.Max(layer.InChannels, layer.OutChannels) * th * tw);
                }
            }

            // Sized for one item of the widest Winograd layer (one element when there is none: a tensor cannot be empty
            // here). The Winograd layers run item by item: each item's products are its own anyway, and scratch for
            // the whole batch would be a fifth of a 7-rate sweep's memory.
            TransformedInput = _owned.Own(new PinnedTensor<float>(Math.Max(1, scratch)));
            Products = _owned.Own(new PinnedTensor<float>(Math.Max(1, scratch)));
            for (int s = 0; s < stages.Stages.Count; s++)
            {
                CpuStage stage = stages.Stages[s];
                if (stage.Winograd)
                {
                    WinogradKernels kernels = stages.TransformedAt(stage.First)!;
                    _bindings[s] = _owned.Own(WinogradBinding(kernels.Forward, kernels.Layer.InChannels, kernels.Layer.OutChannels, stage.First));
                    continue;
                }

                OrtIoBinding binding = _owned.Own(stages.Forward(s).CreateIoBinding());
                _bindings[s] = binding;
                if (stage.First == 0)
                {
                    binding.BindInput(GraphNames.Image, Image.Value);
                }
                else
                {
                    binding.BindInput(GraphNames.BlockInput, Input(stage.First).Value);
                }

                for (int i = stage.First; i <= stage.Last; i++)
                {
                    binding.BindOutput(GraphNames.Activation(architecture.Layers[i].ReluName), _activations[i].Value);
                }
            }
        }
        catch
        {
            _owned.Dispose(); // what was made before the failure
            throw;
        }
    }

    public int Batch { get; }

    public int Height { get; }

    public int Width { get; }

    /// <summary>The input, [N, 3, H, W], RGB 0..255.</summary>
    public PinnedTensor<float> Image { get; }

    /// <summary>Every layer's ReLU output, by ReLU name.</summary>
    public IReadOnlyDictionary<string, PinnedTensor<float>> Activations => _byName;

    public CpuStages Stages => _stages;

    /// <summary>Winograd scratch: V, the transformed input tiles of the layer and item at hand.</summary>
    public PinnedTensor<float> TransformedInput { get; }

    /// <summary>Winograd scratch: M = U·V.</summary>
    public PinnedTensor<float> Products { get; }

    /// <summary>Layer <paramref name="i"/>'s ReLU output.</summary>
    public PinnedTensor<float> Activation(int i) => _activations[i];

    /// <summary>What layer <paramref name="i"/> reads: the pooled map at the start of a block, else the layer before's output (not the image).</summary>
    public PinnedTensor<float> Input(int i)
    {
        ConvLayer layer = _stages.Architecture.Layers[i];
        return layer.Index == 1 ? _pooled[layer.Block]! : _activations[i - 1];
    }

    /// <summary>The argmax of the pool into <paramref name="block"/> (max pooling; empty for average pooling).</summary>
    public byte[] Argmax(int block) => _argmax[block] ?? throw new ArgumentOutOfRangeException(nameof(block), $"Block {block} has no pool before it.");

    /// <summary>
    /// A binding of the Winograd products for a convolution of one item of layer <paramref name="layer"/>'s map size
    /// from <paramref name="inChannels"/> to <paramref name="outChannels"/>: <paramref name="kernels"/> [36, out, in]
    /// times the scratch V [1, 36, in, tiles] into the scratch M [1, 36, out, tiles].
    /// </summary>
    public OrtIoBinding WinogradBinding(PinnedTensor<float> kernels, int inChannels, int outChannels, int layer)
    {
        PinnedTensor<float> map = _activations[layer];
        var (th, tw) = Winograd.Tiles((int)map.Shape[2], (int)map.Shape[3]);
        long tiles = (long)th * tw;
        return _stages.BindProducts(kernels.Value, TransformedInput.PrefixView(1, Winograd.Positions, inChannels, tiles),
            Products.PrefixView(1, Winograd.Positions, outChannels, tiles));
    }

    /// <summary>Runs every stage, pooling between blocks.</summary>
    public void Run(RunOptions options)
    {
        NetworkArchitecture architecture = _stages.Architecture;
        for (int s = 0; s < _stages.Stages.Count; s++)
        {
            CpuStage stage = _stages.Stages[s];
            ConvLayer head = architecture.Layers[stage.First];
            if (head.Index == 1 && head.Block > 1)
            {
                PinnedTensor<float> below = _activations[stage.First - 1];
                CpuPooling.Forward(_stages.Pooling, below.Array, Batch * (int)below.Shape[1], (int)below.Shape[2], (int)below.Shape[3], _pooled[head.Block]!.Array, _argmax[head.Block]);
            }

            if (!stage.Winograd)
            {
                _stages.Forward(s).RunWithBinding(options, _bindings[s]!);
                continue;
            }

            PinnedTensor<float> input = Input(stage.First), output = _activations[stage.First];
            int h = (int)output.Shape[2], w = (int)output.Shape[3];
            for (int n = 0; n < Batch; n++)
            {
                Winograd.InputTransform(input.Item(n), [], [], 1, head.InChannels, h, w, TransformedInput.Array);
                _stages.Products.RunWithBinding(options, _bindings[s]!);
                Winograd.OutputTransform(Products.Array, _stages.TransformedAt(stage.First)!.Bias, relu: true, 1, head.OutChannels, h, w, output.Item(n));
            }
        }
    }

    public void Dispose() => _owned.Dispose();
}
