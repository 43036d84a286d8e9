using NeuralStyle.Cuda.Interop;

namespace NeuralStyle.Cuda;

/// <summary>
/// Device 0's primary context (the one the CUDA runtime, and so ONNX Runtime's CUDA provider, also uses) and one
/// non-blocking stream for all our work. Owns both; buffers and modules it creates are valid while it is alive.
/// </summary>
public sealed unsafe class CudaDevice : IDisposable
{
    private readonly DriverApi _driver;
    private readonly int _device;
    private readonly IntPtr _context;
    private bool _disposed;

    private CudaDevice(DriverApi driver, NvrtcApi nvrtc)
    {
        _driver = driver;
        Nvrtc = nvrtc;
        driver.Init();
        _device = driver.Device(0);
        _context = driver.RetainPrimaryContext(_device);
        driver.SetCurrent(_context);
        Stream = driver.CreateStream();
        ComputeCapability = (driver.Attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, _device),
                             driver.Attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, _device));
    }

    /// <summary>The stream every kernel, copy and ONNX Runtime run is ordered on (a CUstream).</summary>
    public IntPtr Stream { get; }

    /// <summary>Device 0's compute capability.</summary>
    public (int Major, int Minor) ComputeCapability { get; }

    /// <summary>
    /// The driver, with device 0's primary context made current on the calling thread first. Driver calls act on the
    /// calling thread's current context, and a host may create an engine on one thread and run it on another (ONNX
    /// Runtime, through the CUDA runtime, binds the same primary context on the threads it runs on).
    /// </summary>
    internal DriverApi DriverForThisThread()
    {
        _driver.SetCurrent(_context);
        return _driver;
    }

    /// <summary><see cref="DriverForThisThread"/> for releases, which never throw: where the context cannot be made
    /// current, the release that follows fails quietly.</summary>
    internal DriverApi DriverForRelease()
    {
        _ = _driver.TrySetCurrent(_context);
        return _driver;
    }

    internal NvrtcApi Nvrtc { get; }

    /// <summary>Opens device 0; throws <see cref="CudaLibraryException"/> or <see cref="CudaException"/> when CUDA does not work.</summary>
    public static CudaDevice Open() => Open(DriverApi.LibraryNames, NvrtcApi.LibraryNames);

    /// <summary>Opens device 0 through the first driver and NVRTC libraries of these names that load (tests pass paths).</summary>
    internal static CudaDevice Open(IReadOnlyList<string> driverNames, IReadOnlyList<string> nvrtcNames)
    {
        DriverApi driver = DriverApi.Load(driverNames);
        return new CudaDevice(driver, NvrtcApi.Load(nvrtcNames));
    }

    /// <summary>Allocates <paramref name="count"/> floats (uninitialised).</summary>
    public DeviceBuffer AllocateFloats(long count) => Allocate((ulong)count * sizeof(float));

    /// <summary>Allocates <paramref name="count"/> doubles (uninitialised).</summary>
    public DeviceBuffer AllocateDoubles(long count) => Allocate((ulong)count * sizeof(double));

    /// <summary>Allocates <paramref name="bytes"/> bytes (uninitialised).</summary>
    public DeviceBuffer Allocate(ulong bytes) => new(this, DriverForThisThread().Allocate(bytes), bytes);

    /// <summary>Copies host data to a device buffer on the stream (the host array must stay unchanged until <see cref="Synchronize"/>).</summary>
    public void Upload<T>(ReadOnlySpan<T> source, DeviceBuffer destination) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(destination);
        RequireFits((ulong)source.Length * (ulong)sizeof(T), destination);
        fixed (T* data = source)
        {
            DriverForThisThread().CopyToDevice(destination.Address, data, (ulong)(source.Length * sizeof(T)), Stream);
        }

        Synchronize(); // the span may not outlive this call
    }

    /// <summary>Copies a device buffer to host memory and waits for it.</summary>
    public void Download<T>(DeviceBuffer source, Span<T> destination) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(source);
        RequireFits((ulong)destination.Length * (ulong)sizeof(T), source);
        fixed (T* data = destination)
        {
            DriverForThisThread().CopyToHost(data, source.Address, (ulong)(destination.Length * sizeof(T)), Stream);
        }

        Synchronize();
    }

    /// <summary>Copies <paramref name="bytes"/> bytes between device buffers on the stream (offsets in bytes).</summary>
    public void Copy(DeviceBuffer source, ulong sourceOffset, DeviceBuffer destination, ulong destinationOffset, ulong bytes)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        if (sourceOffset + bytes > source.Bytes || destinationOffset + bytes > destination.Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), $"A copy of {bytes} bytes does not fit the buffers ({source.Bytes} and {destination.Bytes} bytes).");
        }

        DriverForThisThread().CopyOnDevice(destination.Address + destinationOffset, source.Address + sourceOffset, bytes, Stream);
    }

    /// <summary>Zeroes a buffer on the stream.</summary>
    public void Zero(DeviceBuffer buffer) => Fill(buffer ?? throw new ArgumentNullException(nameof(buffer)), 0, 0, buffer.Bytes);

    /// <summary>
    /// Sets <paramref name="bytes"/> bytes from <paramref name="offset"/> to <paramref name="value"/> on the stream. The
    /// value travels in the call: no host memory is read later, so unlike <see cref="Upload"/> it need not wait.
    /// </summary>
    public void Fill(DeviceBuffer buffer, ulong offset, byte value, ulong bytes)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (offset + bytes > buffer.Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), $"A fill of {bytes} bytes from byte {offset} does not fit the device buffer ({buffer.Bytes} bytes).");
        }

        DriverForThisThread().Fill(buffer.Address + offset, value, bytes, Stream);
    }

    /// <summary>
    /// Sets <paramref name="words"/> 32-bit words from word <paramref name="firstWord"/> to <paramref name="value"/> on the
    /// stream (an int's bits, or a float's): like <see cref="Fill"/>, it need not wait.
    /// </summary>
    public void FillWords(DeviceBuffer buffer, ulong firstWord, uint value, ulong words)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if ((firstWord + words) * sizeof(uint) > buffer.Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(words), $"A fill of {words} words from word {firstWord} does not fit the device buffer ({buffer.Bytes} bytes).");
        }

        DriverForThisThread().FillWords(buffer.Address + (firstWord * sizeof(uint)), value, words, Stream);
    }

    /// <summary>Waits for everything issued on the stream.</summary>
    public void Synchronize() => DriverForThisThread().Synchronize(Stream);

    /// <summary><see cref="Synchronize"/> for releases, which never throw: a device that failed has nothing more to finish.</summary>
    internal void SynchronizeForRelease() => _ = DriverApi.Succeeded(DriverForRelease().TrySynchronize(Stream));

    /// <summary>Creates an event for timing work on the stream.</summary>
    public StreamEvent CreateEvent() => new(this, DriverForThisThread().CreateEvent());

    /// <summary>Free and total device memory.</summary>
    public (ulong Free, ulong Total) MemoryInfo() => DriverForThisThread().MemoryInfo();

    /// <summary>Destroys the stream and releases the primary context (the driver keeps it while ONNX Runtime uses it).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _ = DriverApi.Succeeded(DriverForRelease().DestroyStream(Stream));
        _ = DriverApi.Succeeded(_driver.ReleasePrimaryContext(_device));
    }

    /// <summary>The driver copies whatever range it is given; a host array longer than the buffer would overwrite other allocations.</summary>
    private static void RequireFits(ulong bytes, DeviceBuffer buffer)
    {
        if (bytes > buffer.Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), $"A copy of {bytes} bytes does not fit the device buffer ({buffer.Bytes} bytes).");
        }
    }

    internal void Free(ulong pointer) => _ = DriverApi.Succeeded(DriverForRelease().Free(pointer));
}
