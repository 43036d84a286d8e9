using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace NeuralStyle.Cpu;

/// <summary>
/// A pinned host array with ONNX Runtime views over it. The array never moves, so views stay valid for the
/// tensor's lifetime and ONNX Runtime reads and writes our memory directly (no copies through IOBinding).
/// Owns its views; disposing the tensor disposes them.
/// </summary>
internal sealed class PinnedTensor<T> : IDisposable where T : unmanaged
{
    private readonly List<OrtValue> _views = [];

    public PinnedTensor(params long[] shape)
    {
        Shape = shape;
        long count = shape.Aggregate(1L, (a, b) => a * b);
        Array = GC.AllocateArray<T>(checked((int)count), pinned: true);
        Value = View(shape);
    }

    /// <summary>The data, row-major in <see cref="Shape"/>.</summary>
    public T[] Array { get; }

    /// <summary>The logical shape.</summary>
    public long[] Shape { get; }

    /// <summary>A view with <see cref="Shape"/>.</summary>
    public OrtValue Value { get; }

    /// <summary>Elements per batch item (the product of all but the first dimension).</summary>
    public int ItemLength => Array.Length / (int)Shape[0];

    /// <summary>The elements of batch item <paramref name="n"/>.</summary>
    public Span<T> Item(int n) => Array.AsSpan(n * ItemLength, ItemLength);

    /// <summary>Another view of the same memory with a different shape of the same element count; valid while this tensor lives.</summary>
    public OrtValue View(params long[] shape)
    {
        if (shape.Aggregate(1L, (a, b) => a * b) != Array.Length)
        {
            throw new ArgumentException($"A view of shape [{string.Join(",", shape)}] does not match {Array.Length} elements.", nameof(shape));
        }

        return PrefixView(shape);
    }

    /// <summary>A view of the first elements, as many as <paramref name="shape"/> holds (scratch memory shared by several shapes).</summary>
    public unsafe OrtValue PrefixView(params long[] shape)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count > Array.Length)
        {
            throw new ArgumentException($"A view of shape [{string.Join(",", shape)}] needs {count} elements; the tensor has {Array.Length}.", nameof(shape));
        }

        TensorElementType type = typeof(T) == typeof(float) ? TensorElementType.Float
            : typeof(T) == typeof(long) ? TensorElementType.Int64
            : throw new NotSupportedException($"No ONNX element type for {typeof(T).Name}.");
        var pointer = (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(Array));
        OrtValue view = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, shape, pointer, count * sizeof(T));
        _views.Add(view);
        return view;
    }

    public void Dispose()
    {
        foreach (OrtValue view in _views)
        {
            view.Dispose();
        }

        _views.Clear();
    }
}
