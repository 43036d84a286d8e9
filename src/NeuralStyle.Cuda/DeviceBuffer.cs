namespace NeuralStyle.Cuda;

/// <summary>
/// One device allocation of float32 (or bytes), owned: freed on <see cref="Dispose"/>. Valid while its
/// <see cref="CudaDevice"/> is alive. The live count lets tests assert that nothing leaks.
/// </summary>
public sealed class DeviceBuffer : IDisposable
{
    private static long _live;
    private readonly CudaDevice _device;
    private bool _disposed;

    internal DeviceBuffer(CudaDevice device, ulong address, ulong bytes)
    {
        _device = device;
        Address = address;
        Bytes = bytes;
        Interlocked.Increment(ref _live);
    }

    /// <summary>Device allocations alive in this process.</summary>
    public static long LiveCount => Interlocked.Read(ref _live);

    /// <summary>The CUdeviceptr.</summary>
    public ulong Address { get; }

    /// <summary>Size in bytes.</summary>
    public ulong Bytes { get; }

    /// <summary>Frees the allocation (once; later calls do nothing). A failure to free is not thrown: it would hide the error that caused the disposal.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _device.Free(Address);
        Interlocked.Decrement(ref _live);
    }
}
