using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Graphs;
using NeuralStyle.Model;
using NeuralStyle.Runtime;

namespace NeuralStyle.Cpu;

/// <summary>
/// The backward pass over a <see cref="ForwardPass"/>'s buffers, layer by layer from the deepest: the ReLU's VJP with
/// the layer's seed, (from above + seed)·[ReLU output &gt; 0], then the convolution's VJP — a graph session, or for a
/// Winograd layer the Winograd convolution with the flipped kernel, whose input transform does the ReLU VJP itself —
/// and the pool VJP at the start of a block. Ends in dL/dx. Of the forward pass it reads only the ReLU outputs' signs
/// (the kept outputs, or their <see cref="ReluBits"/>) and the pools' argmax, so its gradients between layers take
/// the buffers the forward pass held its other maps in.
/// </summary>
internal sealed class BackwardPass : IDisposable
{
    private readonly ForwardPass _forward;
    private readonly SeedWriter _seeds;
    private readonly OrtIoBinding?[] _bindings; // by graph layer
    private readonly WinogradBands?[] _bands; // by Winograd layer
    private readonly MapView?[] _fromAbove; // by layer: dL/d(its ReLU output) from the layers above, seed excluded
    private readonly MapView?[] _intoBlock; // by block: dL/d(its pooled input)
    private readonly MapView?[] _convGradient; // by graph layer: where dL/d(its conv output) goes, scratch
    private readonly OwnedResources _owned = new(); // tensors and bindings

    public BackwardPass(ForwardPass forward, SeedWriter seeds)
    {
        _forward = forward;
        _seeds = seeds;
        CpuStages stages = forward.Stages;
        IReadOnlyList<ConvLayer> layers = stages.Architecture.Layers;
        _fromAbove = new MapView?[layers.Count];
        _intoBlock = new MapView?[stages.Architecture.BlockCount + 1];
        _bindings = new OrtIoBinding?[layers.Count];
        _bands = new WinogradBands?[layers.Count];
        try
        {
            // Each step down reads the gradient the step before wrote and writes the next one, so two buffers taken in
            // turn hold them all; one buffer per map would cost as much again as the activations.
            // The first layer's conv gradient goes to the buffer its input does not take (its own input gradient is
            // dL/dx); a graph layer further up (only in small test networks) needs a buffer of its own.
            IReadOnlyList<PinnedTensor<float>> slots = forward.Alternating;
            int written = 0;
            for (int i = layers.Count - 1; i > 0; i--)
            {
                if (layers[i].Index == 1)
                {
                    _intoBlock[layers[i].Block] = new MapView(slots[written++ % 2], forward.Input(i).Shape);
                }

                _fromAbove[i - 1] = new MapView(slots[written++ % 2], forward.Activation(i - 1).Shape);
            }

            Gradient = _owned.Own(new PinnedTensor<float>(forward.Batch, 3, forward.Height, forward.Width));
            _convGradient = new MapView?[layers.Count];
            int[] upperGraphLayers = Enumerable.Range(1, layers.Count - 1).Where(i => stages.TransformedAt(i) is null).ToArray();
            PinnedTensor<float>? upper = upperGraphLayers.Length == 0 ? null
                : _owned.Own(new PinnedTensor<float>(upperGraphLayers.Max(i => (long)forward.Activation(i).Values.Length)));
            for (int i = 0; i < layers.Count; i++)
            {
                if (stages.TransformedAt(i) is null)
                {
                    _convGradient[i] = new MapView(i == 0 ? slots[written % 2] : upper!, forward.Activation(i).Shape);
                }
            }
            for (int i = 0; i < layers.Count; i++)
            {
                if (stages.TransformedAt(i) is WinogradKernels kernels)
                {
                    _bands[i] = _owned.Own(forward.Bands(kernels.Backward, kernels.Layer.OutChannels, kernels.Layer.InChannels, i));
                    continue;
                }

                OrtIoBinding binding = _owned.Own(stages.Backward(i).CreateIoBinding());
                _bindings[i] = binding;
                binding.BindInput(GraphNames.ConvOutputGradient, _convGradient[i]!.View());
                if (i == 0)
                {
                    binding.BindOutput(GraphNames.ImageGradient, Gradient.Value);
                }
                else
                {
                    binding.BindOutput(GraphNames.BlockInputGradient, InputGradient(i).View());
                }
            }
        }
        catch
        {
            _owned.Dispose(); // what was made before the failure
            throw;
        }
    }

    /// <summary>
    /// Writes the loss's gradient with respect to <paramref name="layer"/>'s ReLU output (its seed, [N, C, H, W]) when
    /// the backward pass reaches the layer, and returns it; empty for a layer no loss term taps. The pass reads it
    /// before it asks for the next, so one buffer can hold every seed in turn.
    /// </summary>
    public delegate ReadOnlySpan<float> SeedWriter(ConvLayer layer);

    /// <summary>dL/dx, [N, 3, H, W].</summary>
    public PinnedTensor<float> Gradient { get; }

    public void Run(RunOptions options)
    {
        CpuStages stages = _forward.Stages;
        IReadOnlyList<ConvLayer> layers = stages.Architecture.Layers;
        for (int i = layers.Count - 1; i >= 0; i--)
        {
            ConvLayer layer = layers[i];
            ReadOnlySpan<float> fromAbove = _fromAbove[i] is MapView above ? above.Values : [];
            ReadOnlySpan<float> seed = _seeds(layer);
            if (stages.TransformedAt(i) is not null)
            {
                RunWinograd(i, fromAbove, seed, options);
            }
            else
            {
                // A graph layer's output is always kept: ONNX Runtime writes it to a buffer of its own.
                CpuKernels.ReluVjp(fromAbove, seed, _forward.Activation(i).Values, _convGradient[i]!.Values);
                stages.Backward(i).RunWithBinding(options, _bindings[i]!);
            }

            if (layer.Index == 1 && layer.Block > 1)
            {
                long[] below = _forward.Activation(i - 1).Shape;
                CpuPooling.Backward(stages.Pooling, _intoBlock[layer.Block]!.Values, _forward.Argmax(layer.Block), _forward.Batch * (int)below[1],
                    (int)below[2], (int)below[3], _fromAbove[i - 1]!.Values);
            }
        }
    }

    public void Dispose() => _owned.Dispose();

    /// <summary>Where the gradient with respect to layer <paramref name="i"/>'s input goes: the pooled map's gradient at a block start, else the layer below's "from above".</summary>
    private MapView InputGradient(int i)
    {
        ConvLayer layer = _forward.Stages.Architecture.Layers[i];
        return layer.Index == 1 ? _intoBlock[layer.Block]! : _fromAbove[i - 1]!;
    }

    private void RunWinograd(int i, ReadOnlySpan<float> fromAbove, ReadOnlySpan<float> seed, RunOptions options)
    {
        ConvLayer layer = _forward.Stages.Architecture.Layers[i];
        MapView activation = _forward.Activation(i);
        ReluBits? bits = _forward.PositiveBits(i); // when set, the activation's buffer holds something else by now
        int h = (int)activation.Shape[2], w = (int)activation.Shape[3];
        // The deepest layer has nothing from above: its seed is all there is (it is always a tap).
        ReadOnlySpan<float> first = fromAbove.Length != 0 ? fromAbove : seed;
        ReadOnlySpan<float> added = fromAbove.Length != 0 ? seed : [];
        int length = activation.ItemLength;
        WinogradBands bands = _bands[i]!;
        for (int n = 0; n < _forward.Batch; n++) // item by item and band by band, as in the forward pass: the scratch holds one
        {
            foreach (TileRows band in bands.Rows)
            {
                Winograd.InputTransform(first.Slice(n * length, length), added.IsEmpty ? [] : added.Slice(n * length, length), bits is null ? activation.Item(n) : [],
                    1, layer.OutChannels, h, w, _forward.TransformedInput.Array, bits is null ? [] : bits.Item(n), band);
                bands.Multiply(options, band);
                Winograd.OutputTransform(_forward.Products.Array, [], relu: false, 1, layer.InChannels, h, w, InputGradient(i).Item(n), rows: band);
            }
        }
    }
}
