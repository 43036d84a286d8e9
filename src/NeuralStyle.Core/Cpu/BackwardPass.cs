using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Graphs;
using NeuralStyle.Model;

namespace NeuralStyle.Cpu;

/// <summary>
/// The backward pass over a <see cref="ForwardPass"/>'s buffers: stage by stage from the deepest, seeded at the
/// tapped ReLU outputs, with the pool VJPs between blocks; ends in dL/dx. A Winograd stage's input gradient is the
/// Winograd convolution, with the flipped kernel, of (gradient from above + seed)·[ReLU output &gt; 0].
/// </summary>
internal sealed class BackwardPass : IDisposable
{
    private readonly ForwardPass _forward;
    private readonly IReadOnlyDictionary<string, PinnedTensor<float>> _seeds;
    private readonly OrtIoBinding?[] _bindings;
    private readonly PinnedTensor<float>?[] _fromAbove; // by layer: dL/d(its ReLU output) from the layers above, seed excluded
    private readonly PinnedTensor<float>?[] _intoBlock; // by block: dL/d(its pooled input)

    public BackwardPass(ForwardPass forward, IReadOnlyDictionary<string, PinnedTensor<float>> seeds)
    {
        _forward = forward;
        _seeds = seeds;
        CpuStages stages = forward.Stages;
        IReadOnlyList<ConvLayer> layers = stages.Architecture.Layers;
        _fromAbove = new PinnedTensor<float>?[layers.Count];
        _intoBlock = new PinnedTensor<float>?[stages.Architecture.BlockCount + 1];
        for (int i = 0; i + 1 < layers.Count; i++)
        {
            _fromAbove[i] = new PinnedTensor<float>(forward.Activation(i).Shape);
        }

        for (int i = 1; i < layers.Count; i++)
        {
            if (layers[i].Index == 1)
            {
                _intoBlock[layers[i].Block] = new PinnedTensor<float>(forward.Input(i).Shape);
            }
        }

        Gradient = new PinnedTensor<float>(forward.Batch, 3, forward.Height, forward.Width);
        _bindings = new OrtIoBinding?[stages.Stages.Count];
        for (int s = 0; s < stages.Stages.Count; s++)
        {
            CpuStage stage = stages.Stages[s];
            if (stage.Winograd)
            {
                WinogradKernels kernels = stages.Transformed[s]!;
                _bindings[s] = forward.WinogradBinding(kernels.Backward, kernels.Layer.OutChannels, kernels.Layer.InChannels, stage.First);
                continue;
            }

            OrtIoBinding binding = stages.Backward(s).CreateIoBinding();
            _bindings[s] = binding;
            for (int i = stage.First; i <= stage.Last; i++)
            {
                binding.BindInput(GraphNames.Activation(layers[i].ReluName), forward.Activation(i).Value);
                if (seeds.TryGetValue(layers[i].ReluName, out PinnedTensor<float>? seed))
                {
                    binding.BindInput(GraphNames.Seed(layers[i].ReluName), seed.Value);
                }
            }

            if (_fromAbove[stage.Last] is PinnedTensor<float> above)
            {
                binding.BindInput(GraphNames.BlockOutputGradient, above.Value);
            }

            if (stage.First == 0)
            {
                binding.BindOutput(GraphNames.ImageGradient, Gradient.Value);
            }
            else
            {
                binding.BindOutput(GraphNames.BlockInputGradient, InputGradient(stage.First).Value);
            }
        }
    }

    /// <summary>dL/dx, [N, 3, H, W].</summary>
    public PinnedTensor<float> Gradient { get; }

    public void Run(RunOptions options)
    {
        CpuStages stages = _forward.Stages;
        IReadOnlyList<ConvLayer> layers = stages.Architecture.Layers;
        for (int s = stages.Stages.Count - 1; s >= 0; s--)
        {
            CpuStage stage = stages.Stages[s];
            if (stage.Winograd)
            {
                RunWinograd(s, stage.First, options);
            }
            else
            {
                stages.Backward(s).RunWithBinding(options, _bindings[s]!);
            }

            ConvLayer head = layers[stage.First];
            if (head.Index == 1 && head.Block > 1)
            {
                PinnedTensor<float> below = _forward.Activation(stage.First - 1);
                CpuPooling.Backward(stages.Pooling, _intoBlock[head.Block]!.Array, _forward.Argmax(head.Block), _forward.Batch * (int)below.Shape[1],
                    (int)below.Shape[2], (int)below.Shape[3], _fromAbove[stage.First - 1]!.Array);
            }
        }
    }

    public void Dispose()
    {
        foreach (OrtIoBinding? binding in _bindings)
        {
            binding?.Dispose();
        }

        foreach (PinnedTensor<float>? tensor in _fromAbove.Concat(_intoBlock).Append(Gradient))
        {
            tensor?.Dispose();
        }
    }

    /// <summary>Where the gradient with respect to layer <paramref name="i"/>'s input goes: the pooled map's gradient at a block start, else the layer below's "from above".</summary>
    private PinnedTensor<float> InputGradient(int i)
    {
        ConvLayer layer = _forward.Stages.Architecture.Layers[i];
        return layer.Index == 1 ? _intoBlock[layer.Block]! : _fromAbove[i - 1]!;
    }

    private void RunWinograd(int stage, int i, RunOptions options)
    {
        ConvLayer layer = _forward.Stages.Architecture.Layers[i];
        PinnedTensor<float> activation = _forward.Activation(i);
        int h = (int)activation.Shape[2], w = (int)activation.Shape[3];
        PinnedTensor<float>? seed = _seeds.GetValueOrDefault(layer.ReluName);
        // The deepest layer has nothing from above: its seed is all there is (it is always a tap).
        ReadOnlySpan<float> above = _fromAbove[i] is PinnedTensor<float> a ? a.Array : seed!.Array;
        ReadOnlySpan<float> added = _fromAbove[i] is not null && seed is not null ? seed.Array : [];
        Winograd.InputTransform(above, added, activation.Array, _forward.Batch, layer.OutChannels, h, w, _forward.TransformedInput.Array);
        _forward.Stages.Products.RunWithBinding(options, _bindings[stage]!);
        Winograd.OutputTransform(_forward.Products.Array, [], relu: false, _forward.Batch, layer.InChannels, h, w, InputGradient(i).Array);
    }
}
