using Microsoft.ML.OnnxRuntime;

namespace NeuralStyle.Cpu;

/// <summary>
/// A map of <see cref="Shape"/> in the first elements of <see cref="Buffer"/>: a buffer of its own, or one of the two
/// that the passes share (the maps the forward pass does not keep, then the gradients between layers).
/// </summary>
internal sealed record MapView(PinnedTensor<float> Buffer, long[] Shape)
{
    private readonly int _length = checked((int)Shape.Aggregate(1L, (a, b) => a * b)); // once: the spans are taken every iteration

    public Span<float> Values => Buffer.Array.AsSpan(0, _length);

    /// <summary>Elements per batch item.</summary>
    public int ItemLength => _length / (int)Shape[0];

    /// <summary>The values of batch item <paramref name="n"/>.</summary>
    public Span<float> Item(int n) => Values.Slice(n * ItemLength, ItemLength);

    /// <summary>An ONNX Runtime view with <see cref="Shape"/>, owned by the buffer.</summary>
    public OrtValue View() => Buffer.PrefixView(Shape);
}
