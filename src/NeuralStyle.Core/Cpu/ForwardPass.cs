using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Graphs;
using NeuralStyle.Model;
using NeuralStyle.Runtime;

namespace NeuralStyle.Cpu;

/// <summary>
/// The forward pass for one batch and image size, in pinned buffers bound once, so a run allocates nothing. It keeps
/// the maps it is asked to (the loss's taps) and the maps ONNX Runtime's graph stages write; any other map (a Winograd
/// layer's output, a pooled block input) lives in one of two buffers, <see cref="Alternating"/>, only until the next
/// layer has read it. Of such a ReLU output the backward pass needs only where it is positive, which the pass keeps as
/// <see cref="ReluBits"/>; of a pool, only its argmax. Also owns the Winograd scratch (V and M of one band of tile rows,
/// <see cref="WinogradBands"/>), which the backward pass over the same buffers shares, as it shares the two
/// alternating buffers for its gradients.
/// </summary>
internal sealed class ForwardPass : IDisposable
{
    private readonly CpuStages _stages;
    private readonly OrtIoBinding?[] _bindings; // by graph stage
    private readonly WinogradBands?[] _bands; // by Winograd stage
    private readonly MapView[] _activations;
    private readonly ReluBits?[] _bits; // by layer: where its output is positive, when the output is not kept
    private readonly Dictionary<string, PinnedTensor<float>> _kept = [];
    private readonly MapView?[] _pooled;
    private readonly byte[]?[] _argmax;
    private readonly long _bandFloats;
    private readonly OwnedResources _owned = new(); // tensors and bindings

    /// <summary>
    /// Buffers for <paramref name="batch"/> images of <paramref name="width"/> × <paramref name="height"/>, keeping the
    /// ReLU outputs named in <paramref name="keep"/> whole (<see cref="Activations"/>); <paramref name="bandFloats"/>
    /// bounds the Winograd scratch (tests lower it).
    /// </summary>
    public ForwardPass(CpuStages stages, int batch, int height, int width, IReadOnlySet<string> keep, long bandFloats = WinogradBands.DefaultScratchFloats)
    {
        _stages = stages;
        Batch = batch;
        Height = height;
        Width = width;
        NetworkArchitecture architecture = stages.Architecture;
        IReadOnlyList<ConvLayer> layers = architecture.Layers;
        _activations = new MapView[layers.Count];
        _bits = new ReluBits?[layers.Count];
        _pooled = new MapView?[architecture.BlockCount + 1];
        _argmax = new byte[]?[architecture.BlockCount + 1];
        _bandFloats = bandFloats;
        _bindings = new OrtIoBinding?[stages.Stages.Count];
        _bands = new WinogradBands?[stages.Stages.Count];
        try
        {
            Image = _owned.Own(new PinnedTensor<float>(batch, 3, height, width));
            long largestMap = 0, scratch = 0;
            for (int i = 0; i < layers.Count; i++)
            {
                ConvLayer layer = layers[i];
                var (h, w) = NetworkArchitecture.SpatialSize(layer.Block, height, width);
                largestMap = Math.Max(largestMap, (long)batch * Math.Max(layer.InChannels, layer.OutChannels) * h * w); // the pooled input or the output
                if (stages.TransformedAt(i) is not null)
                {
                    scratch = Math.Max(scratch, WinogradBands.ScratchFloats(Math.Max(layer.InChannels, layer.OutChannels), h, w, bandFloats));
                }
            }

            Alternating = [_owned.Own(new PinnedTensor<float>(largestMap)), _owned.Own(new PinnedTensor<float>(largestMap))];
            int? reading = null; // which alternating buffer holds the map the next step reads, if one does
            for (int i = 0; i < layers.Count; i++)
            {
                ConvLayer layer = layers[i];
                var (h, w) = NetworkArchitecture.SpatialSize(layer.Block, height, width);
                if (layer.Index == 1 && layer.Block > 1)
                {
                    reading = reading == 0 ? 1 : 0;
                    _pooled[layer.Block] = new MapView(Alternating[reading.Value], [batch, layer.InChannels, h, w]);
                    _argmax[layer.Block] = stages.Pooling == PoolingMode.Max ? GC.AllocateUninitializedArray<byte>(batch * layer.InChannels * h * w) : [];
                }

                long[] shape = [batch, layer.OutChannels, h, w];
                if (keep.Contains(layer.ReluName) || stages.TransformedAt(i) is null)
                {
                    PinnedTensor<float> kept = _owned.Own(new PinnedTensor<float>(shape));
                    _activations[i] = new MapView(kept, shape);
                    _kept[layer.ReluName] = kept;
                    reading = null;
                }
                else
                {
                    reading = reading == 0 ? 1 : 0;
                    _activations[i] = new MapView(Alternating[reading.Value], shape);
                    _bits[i] = new ReluBits(batch, layer.OutChannels, h, w);
                }
            }

            // Sized for the largest band (one element when there is none: a tensor cannot be empty here). The Winograd
            // layers run item by item and band by band: each item's products are its own anyway.
            TransformedInput = _owned.Own(new PinnedTensor<float>(Math.Max(1, scratch)));
            Products = _owned.Own(new PinnedTensor<float>(Math.Max(1, scratch)));
            for (int s = 0; s < stages.Stages.Count; s++)
            {
                CpuStage stage = stages.Stages[s];
                if (stage.Winograd)
                {
                    WinogradKernels kernels = stages.TransformedAt(stage.First)!;
                    _bands[s] = _owned.Own(Bands(kernels.Forward, kernels.Layer.InChannels, kernels.Layer.OutChannels, stage.First));
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
                    binding.BindInput(GraphNames.BlockInput, Input(stage.First).View());
                }

                for (int i = stage.First; i <= stage.Last; i++)
                {
                    binding.BindOutput(GraphNames.Activation(layers[i].ReluName), _activations[i].View());
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

    /// <summary>The ReLU outputs kept whole, by ReLU name.</summary>
    public IReadOnlyDictionary<string, PinnedTensor<float>> Activations => _kept;

    public CpuStages Stages => _stages;

    /// <summary>
    /// Two buffers, each as large as the largest map: the forward pass holds the maps it does not keep there, and the
    /// backward pass, which needs none of them, then alternates its gradients between layers in them.
    /// </summary>
    public IReadOnlyList<PinnedTensor<float>> Alternating { get; }

    /// <summary>Winograd scratch: V, the transformed input tiles of the layer, item and band at hand.</summary>
    public PinnedTensor<float> TransformedInput { get; }

    /// <summary>Winograd scratch: M = U·V.</summary>
    public PinnedTensor<float> Products { get; }

    /// <summary>Layer <paramref name="i"/>'s ReLU output; one not kept is overwritten once the backward pass starts.</summary>
    public MapView Activation(int i) => _activations[i];

    /// <summary>Where layer <paramref name="i"/>'s ReLU output is positive, when the output is not kept; null when it is.</summary>
    public ReluBits? PositiveBits(int i) => _bits[i];

    /// <summary>What layer <paramref name="i"/> reads: the pooled map at the start of a block, else the layer before's output (not the image).</summary>
    public MapView Input(int i)
    {
        ConvLayer layer = _stages.Architecture.Layers[i];
        return layer.Index == 1 ? _pooled[layer.Block]! : _activations[i - 1];
    }

    /// <summary>The argmax of the pool into <paramref name="block"/> (max pooling; empty for average pooling).</summary>
    public byte[] Argmax(int block) => _argmax[block] ?? throw new ArgumentOutOfRangeException(nameof(block), $"Block {block} has no pool before it.");

    /// <summary>
    /// The bands of a Winograd convolution of one item of layer <paramref name="layer"/>'s map size from
    /// <paramref name="inChannels"/> to <paramref name="outChannels"/> (the layer's, or swapped for its backward pass),
    /// with <paramref name="kernels"/> [36, out, in], on the scratch V and M.
    /// </summary>
    public WinogradBands Bands(PinnedTensor<float> kernels, int inChannels, int outChannels, int layer)
    {
        long[] shape = _activations[layer].Shape;
        return new WinogradBands(_stages, kernels.Value, inChannels, outChannels, (int)shape[2], (int)shape[3], _bandFloats, TransformedInput.PrefixView, Products.PrefixView);
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
                MapView below = _activations[stage.First - 1];
                CpuPooling.Forward(_stages.Pooling, below.Values, Batch * (int)below.Shape[1], (int)below.Shape[2], (int)below.Shape[3], _pooled[head.Block]!.Values, _argmax[head.Block]);
            }

            if (!stage.Winograd)
            {
                _stages.Forward(s).RunWithBinding(options, _bindings[s]!);
                continue;
            }

            MapView input = Input(stage.First), output = _activations[stage.First];
            ReluBits? bits = _bits[stage.First];
            WinogradBands bands = _bands[s]!;
            int h = (int)output.Shape[2], w = (int)output.Shape[3];
            for (int n = 0; n < Batch; n++)
            {
                foreach (TileRows band in bands.Rows)
                {
                    Winograd.InputTransform(input.Item(n), [], [], 1, head.InChannels, h, w, TransformedInput.Array, rows: band);
                    bands.Multiply(options, band);
                    Winograd.OutputTransform(Products.Array, _stages.TransformedAt(stage.First)!.Bias, relu: true, 1, head.OutChannels, h, w, output.Item(n),
                        bits is null ? [] : bits.Item(n), band);
                }
            }
        }
    }

    public void Dispose() => _owned.Dispose();
}
