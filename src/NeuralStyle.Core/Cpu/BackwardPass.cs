using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Graphs;
using NeuralStyle.Model;

namespace NeuralStyle.Cpu;

/// <summary>
/// The backward pass over a <see cref="ForwardPass"/>'s buffers: block by block from the deepest, seeded at the
/// tapped ReLU outputs, with the pool VJPs between blocks; ends in dL/dx.
/// </summary>
internal sealed class BackwardPass : IDisposable
{
    private readonly ForwardPass _forward;
    private readonly OrtIoBinding[] _bindings;
    private readonly PinnedTensor<float>?[] _fromAbove; // dL/d(last activation of block b), from the pool VJP
    private readonly PinnedTensor<float>?[] _intoBlock; // dL/d(pooled input of block b), from block b's session

    public BackwardPass(ForwardPass forward, IReadOnlyDictionary<string, PinnedTensor<float>> seeds)
    {
        _forward = forward;
        BlockSessions sessions = forward.Sessions;
        int blocks = sessions.Architecture.BlockCount;
        _bindings = sessions.Backward.Select(s => s.CreateIoBinding()).ToArray();
        _fromAbove = new PinnedTensor<float>?[blocks + 1];
        _intoBlock = new PinnedTensor<float>?[blocks + 1];
        Gradient = new PinnedTensor<float>(forward.Batch, 3, forward.Height, forward.Width);
        _bindings[0].BindOutput(GraphNames.ImageGradient, Gradient.Value);
        foreach (ConvLayer layer in sessions.Architecture.Layers)
        {
            OrtIoBinding binding = _bindings[layer.Block - 1];
            PinnedTensor<float> activation = forward.Activations[layer.ReluName];
            binding.BindInput(GraphNames.Activation(layer.ReluName), activation.Value);
            if (seeds.TryGetValue(layer.ReluName, out PinnedTensor<float>? seed))
            {
                binding.BindInput(GraphNames.Seed(layer.ReluName), seed.Value);
            }

            if (layer.Index == 1 && layer.Block > 1)
            {
                var into = new PinnedTensor<float>(forward.Batch, layer.InChannels, activation.Shape[2], activation.Shape[3]);
                _intoBlock[layer.Block] = into;
                binding.BindOutput(GraphNames.BlockInputGradient, into.Value);
                var (below, _, _) = forward.LastOf(layer.Block - 1);
                var above = new PinnedTensor<float>(below.Shape);
                _fromAbove[layer.Block - 1] = above;
                _bindings[layer.Block - 2].BindInput(GraphNames.BlockOutputGradient, above.Value);
            }
        }
    }

    /// <summary>dL/dx, [N, 3, H, W].</summary>
    public PinnedTensor<float> Gradient { get; }

    public void Run(RunOptions options)
    {
        BlockSessions sessions = _forward.Sessions;
        for (int block = sessions.Architecture.BlockCount; block >= 1; block--)
        {
            sessions.Backward[block - 1].RunWithBinding(options, _bindings[block - 1]);
            if (block > 1)
            {
                var (below, h, w) = _forward.LastOf(block - 1);
                CpuPooling.Backward(sessions.Pooling, _intoBlock[block]!.Array, _forward.Argmax(block), _forward.Batch * (int)below.Shape[1], h, w, _fromAbove[block - 1]!.Array);
            }
        }
    }

    public void Dispose()
    {
        foreach (OrtIoBinding binding in _bindings)
        {
            binding.Dispose();
        }

        foreach (PinnedTensor<float>? tensor in _fromAbove.Concat(_intoBlock).Append(Gradient))
        {
            tensor?.Dispose();
        }
    }
}
