using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace NeuralStyle.Cpu;

/// <summary>
/// A float tensor of the <see cref="FeaturePass"/>: either a pinned managed array that outlives the tensor (a map the
/// caller asked for) or native memory that <see cref="Dispose"/> hands back to the system at once (a map only the next
/// layer reads, or scratch). A dropped managed array would stay allocated until a full garbage collection, so it would
/// not lower the pass's peak. Owns its ONNX Runtime views; disposing twice is harmless.
/// </summary>
internal sealed unsafe class PassTensor : IDisposable
{
    private readonly List<OrtValue> _views = [];
    private readonly float[]? _kept;
    private float* _native;

    private PassTensor(long[] shape, bool keep)
    {
        Shape = shape;
        Length = checked((int)shape.Aggregate(1L, (a, b) => a * b));
        if (keep)
        {
            _kept = GC.AllocateUninitializedArray<float>(Length, pinned: true);
        }
        else
        {
            _native = (float*)NativeMemory.AlignedAlloc((nuint)Math.Max(1, Length) * sizeof(float), 64);
        }
    }

    /// <summary>A tensor over a pinned managed array, which <see cref="Array"/> hands out and which outlives it.</summary>
    public static PassTensor Kept(params long[] shape) => new(shape, keep: true);

    /// <summary>A tensor in native memory, freed by <see cref="Dispose"/>.</summary>
    public static PassTensor Transient(params long[] shape) => new(shape, keep: false);

    public long[] Shape { get; }

    public int Length { get; }

    /// <summary>The managed array of a <see cref="Kept"/> tensor.</summary>
    public float[] Array => _kept ?? throw new InvalidOperationException("A transient tensor has no managed array.");

    public Span<float> Span => _kept ?? new Span<float>(Address, Length);

    /// <summary>A view of the first elements, as many as <paramref name="shape"/> holds; valid while this tensor lives.</summary>
    public OrtValue View(params long[] shape)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count > Length)
        {
            throw new ArgumentException($"A view of shape [{string.Join(",", shape)}] needs {count} elements; the tensor has {Length}.", nameof(shape));
        }

        OrtValue view = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, shape, (IntPtr)Address, count * sizeof(float));
        _views.Add(view);
        return view;
    }

    private float* Address
    {
        get
        {
            ObjectDisposedException.ThrowIf(_kept is null && _native is null, this);
            // A kept array is pinned, so its address is fixed for its lifetime.
            return _kept is null ? _native : (float*)Marshal.UnsafeAddrOfPinnedArrayElement(_kept, 0);
        }
    }

    public void Dispose()
    {
        foreach (OrtValue view in _views)
        {
            view.Dispose();
        }

        _views.Clear();
        if (_native is not null)
        {
            NativeMemory.AlignedFree(_native);
            _native = null;
        }
    }
}
