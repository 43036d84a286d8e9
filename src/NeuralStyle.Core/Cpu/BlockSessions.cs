using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Graphs;
using NeuralStyle.Model;

namespace NeuralStyle.Cpu;

/// <summary>
/// One ONNX Runtime session per VGG block for the forward and the backward pass (<see cref="ForwardGraphBuilder.BuildBlock"/>,
/// <see cref="BackwardGraphBuilder.BuildBlock"/>); the pools between blocks run in <see cref="CpuPooling"/>.
/// </summary>
internal sealed class BlockSessions : IDisposable
{
    public BlockSessions(NetworkWeights weights, PreprocessPreset preprocess, PoolingMode pooling, IReadOnlyCollection<string> taps)
    {
        Architecture = weights.Architecture;
        Pooling = pooling;
        int blocks = Architecture.BlockCount;
        Forward = Enumerable.Range(1, blocks).Select(b => Runtime.OrtRuntime.CreateCpuSession(
            Google.Protobuf.MessageExtensions.ToByteArray(ForwardGraphBuilder.BuildBlock(weights, preprocess, b)), $"forward_block{b}")).ToArray();
        Backward = Enumerable.Range(1, blocks).Select(b => Runtime.OrtRuntime.CreateCpuSession(
            Google.Protobuf.MessageExtensions.ToByteArray(BackwardGraphBuilder.BuildBlock(weights, preprocess, taps, b)), $"backward_block{b}")).ToArray();
    }

    public NetworkArchitecture Architecture { get; }

    public PoolingMode Pooling { get; }

    /// <summary>Forward sessions, block 1 first.</summary>
    public InferenceSession[] Forward { get; }

    /// <summary>Backward sessions, block 1 first.</summary>
    public InferenceSession[] Backward { get; }

    public void Dispose()
    {
        foreach (InferenceSession session in Forward.Concat(Backward))
        {
            session.Dispose();
        }
    }
}
