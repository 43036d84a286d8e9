using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Graphs;
using NeuralStyle.Model;
using NeuralStyle.Runtime;

namespace NeuralStyle.Cpu;

/// <summary>
/// The backward pass over a <see cref="ForwardPass"/>'s buffers, layer by layer from the deepest: the ReLU's VJP with
/// the layer's seed, (from above + seed)·[ReLU output &gt; 0], then the convolution's VJP — a graph session, or for a
/// Winograd layer the Winograd convolution with the flipped kernel, whose input transform does the ReLU VJP itself —
/// and the pool VJP at the start of a block. Ends in dL/dx.
/// </summary>
internal sealed class BackwardPass : IDisposable
{
    private readonly ForwardPass _forward;
    private readonly IReadOnlyDictionary<string, PinnedTensor<float>> _seeds;
    private readonly OrtIoBinding[] _bindings; // by layer
    private readonly GradientMap?[] _fromAbove; // by layer: dL/d(its ReLU output) from the layers above, seed excluded
    private readonly GradientMap?[] _intoBlock; // by block: dL/d(its pooled input)
    private readonly GradientMap?[] _convGradient; // by graph layer: where dL/d(its conv output) goes, scratch
    private readonly OwnedResources _owned = new(); // tensors and bindings

    public BackwardPass(ForwardPass forward, IReadOnlyDictionary<string, PinnedTensor<float>> seeds)
    {
        _forward = forward;
        _seeds = seeds;
        CpuStages stages = forward.Stages;
        IReadOnlyList<ConvLayer> layers = stages.Architecture.Layers;
        _fromAbove = new GradientMap?[layers.Count];
        _intoBlock = new GradientMap?[stages.Architecture.BlockCount + 1];
        _bindings = new OrtIoBinding[layers.Count];
        try
        {
            // Each step down reads the gradient the step before wrote and writes the next one, so two buffers taken in
            // turn hold them all; one buffer per map would cost as much again as the activations.
            // The first layer's conv gradient goes to the buffer its input does not take (its own input gradient is
            // dL/dx); a graph layer further up (only in small test networks) needs a buffer of its own.
            long[][] shapes = [.. Enumerable.Range(0, layers.Count - 1).Select(i => forward.Activation(i).Shape),
                .. Enumerable.Range(1, layers.Count - 1).Where(i => layers[i].Index == 1).Select(i => forward.Input(i).Shape), forward.Activation(0).Shape];
            PinnedTensor<float>[] slots = [_owned.Own(new PinnedTensor<float>(Largest(shapes))), _owned.Own(new PinnedTensor<float>(Largest(shapes)))];
            int written = 0;
            for (int i = layers.Count - 1; i > 0; i--)
            {
                if (layers[i].Index == 1)
                {
                    _intoBlock[layers[i].Block] = new GradientMap(slots[written++ % 2], forward.Input(i).Shape);
                }

                _fromAbove[i - 1] = new GradientMap(slots[written++ % 2], forward.Activation(i - 1).Shape);
            }

            Gradient = _owned.Own(new PinnedTensor<float>(forward.Batch, 3, forward.Height, forward.Width));
            _convGradient = new GradientMap?[layers.Count];
            int[] upperGraphLayers = Enumerable.Range(1, layers.Count - 1).Where(i => stages.TransformedAt(i) is null).ToArray();
            PinnedTensor<float>? upper = upperGraphLayers.Length == 0 ? null
                : _owned.Own(new PinnedTensor<float>(Largest(upperGraphLayers.Select(i => forward.Activation(i).Shape))));
            for (int i = 0; i < layers.Count; i++)
            {
                if (stages.TransformedAt(i) is null)
                {
                    _convGradient[i] = new GradientMap(i == 0 ? slots[written % 2] : upper!, forward.Activation(i).Shape);
                }
            }
            for (int i = 0; i < layers.Count; i++)
            {
                if (stages.TransformedAt(i) is WinogradKernels kernels)
                {
                    _bindings[i] = _owned.Own(forward.WinogradBinding(kernels.Backward, kernels.Layer.OutChannels, kernels.Layer.InChannels, i));
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

    /// <summary>dL/dx, [N, 3, H, W].</summary>
    public PinnedTensor<float> Gradient { get; }

    public void Run(RunOptions options)
    {
        CpuStages stages = _forward.Stages;
        IReadOnlyList<ConvLayer> layers = stages.Architecture.Layers;
        for (int i = layers.Count - 1; i >= 0; i--)
        {
            ConvLayer layer = layers[i];
            PinnedTensor<float> activation = _forward.Activation(i);
            ReadOnlySpan<float> fromAbove = _fromAbove[i] is GradientMap above ? above.Values : [];
            ReadOnlySpan<float> seed = _seeds.TryGetValue(layer.ReluName, out PinnedTensor<float>? s) ? s.Array : [];
            if (stages.TransformedAt(i) is not null)
            {
                RunWinograd(i, fromAbove, seed, options);
            }
            else
            {
                CpuKernels.ReluVjp(fromAbove, seed, activation.Array, _convGradient[i]!.Values);
                stages.Backward(i).RunWithBinding(options, _bindings[i]);
            }

            if (layer.Index == 1 && layer.Block > 1)
            {
                PinnedTensor<float> below = _forward.Activation(i - 1);
                CpuPooling.Backward(stages.Pooling, _intoBlock[layer.Block]!.Values, _forward.Argmax(layer.Block), _forward.Batch * (int)below.Shape[1],
                    (int)below.Shape[2], (int)below.Shape[3], _fromAbove[i - 1]!.Values);
            }
        }
    }

    public void Dispose() => _owned.Dispose();

    private static long Largest(IEnumerable<long[]> shapes) => shapes.Max(shape => shape.Aggregate(1L, (a, b) => a * b));

    /// <summary>One gradient between layers: the first elements of one of the two alternating buffers, with its shape.</summary>
    private sealed record GradientMap(PinnedTensor<float> Buffer, long[] Shape)
    {
        private readonly int _length = (int)Shape.Aggregate(1L, (a, b) => a * b); // once: the spans are taken every iteration

        public Span<float> Values => Buffer.Array.AsSpan(0, _length);

        /// <summary>The values of batch item <paramref name="n"/>.</summary>
        public Span<float> Item(int n) => Values.Slice(n * (_length / (int)Shape[0]), _length / (int)Shape[0]);

        /// <summary>An ONNX Runtime view with <see cref="Shape"/>, owned by the buffer.</summary>
        public OrtValue View() => Buffer.PrefixView(Shape);
    }

    /// <summary>Where the gradient with respect to layer <paramref name="i"/>'s input goes: the pooled map's gradient at a block start, else the layer below's "from above".</summary>
    private GradientMap InputGradient(int i)
    {
        ConvLayer layer = _forward.Stages.Architecture.Layers[i];
        return layer.Index == 1 ? _intoBlock[layer.Block]! : _fromAbove[i - 1]!;
    }

    private void RunWinograd(int i, ReadOnlySpan<float> fromAbove, ReadOnlySpan<float> seed, RunOptions options)
    {
        ConvLayer layer = _forward.Stages.Architecture.Layers[i];
        PinnedTensor<float> activation = _forward.Activation(i);
        int h = (int)activation.Shape[2], w = (int)activation.Shape[3];
        // The deepest layer has nothing from above: its seed is all there is (it is always a tap).
        ReadOnlySpan<float> first = fromAbove.Length != 0 ? fromAbove : seed;
        ReadOnlySpan<float> added = fromAbove.Length != 0 ? seed : [];
        int length = activation.ItemLength;
        for (int n = 0; n < _forward.Batch; n++) // item by item, as in the forward pass: the scratch holds one
        {
            Winograd.InputTransform(first.Slice(n * length, length), added.IsEmpty ? [] : added.Slice(n * length, length), activation.Item(n),
                1, layer.OutChannels, h, w, _forward.TransformedInput.Array);
            _forward.Stages.Products.RunWithBinding(options, _bindings[i]);
            Winograd.OutputTransform(_forward.Products.Array, [], relu: false, 1, layer.InChannels, h, w, InputGradient(i).Item(n));
        }
    }
}
