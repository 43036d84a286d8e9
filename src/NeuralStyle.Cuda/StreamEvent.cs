namespace NeuralStyle.Cuda;

/// <summary>
/// A CUDA event for timing work on the device's stream, owned: destroyed on <see cref="Dispose"/>. Valid while its
/// <see cref="CudaDevice"/> is alive.
/// </summary>
public sealed class StreamEvent : IDisposable
{
    private readonly CudaDevice _device;
    private readonly IntPtr _event;
    private bool _disposed;

    internal StreamEvent(CudaDevice device, IntPtr cudaEvent)
    {
        _device = device;
        _event = cudaEvent;
    }

    /// <summary>Records the event on the stream: it completes when everything issued before it has.</summary>
    public void Record() => _device.DriverForThisThread().Record(_event, _device.Stream);

    /// <summary>Device milliseconds from <paramref name="start"/> to this event (waits for this one).</summary>
    public float MillisecondsSince(StreamEvent start) =>
        _device.DriverForThisThread().ElapsedMilliseconds((start ?? throw new ArgumentNullException(nameof(start)))._event, _event);

    /// <summary>Destroys the event (once; never throws, so as not to hide the error that caused the disposal).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _ = Interop.DriverApi.Succeeded(_device.DriverForRelease().DestroyEvent(_event));
    }
}
