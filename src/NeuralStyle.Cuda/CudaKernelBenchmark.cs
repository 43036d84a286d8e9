using NeuralStyle.Cpu;
using NeuralStyle.Cuda.Interop;

namespace NeuralStyle.Cuda;

/// <summary>
/// Times our CUDA kernels at several sizes, odd ones included, with device events on our stream and the L2 cache
/// flushed (a 256 MB memset, untimed) before every repetition: the products against cuBLAS (SGEMM, and SSYRK for
/// the Gram matrix), the element-wise kernels and reductions against the device's own measured copy bandwidth
/// for the same bytes (read plus written per element: content 12, squared difference 8, TV 12, Adam 28).
/// </summary>
/// <remarks>Gram rates count 2·C²·M FLOPs for every contender, though SSYRK and our kernel compute one triangle.</remarks>
public sealed class CudaKernelBenchmark : IDisposable
{
    private const ulong FlushBytes = 256UL << 20;
    private readonly CudaDevice _device;
    private readonly CudaKernels _kernels;
    private readonly CublasApi? _cublas;
    private readonly IntPtr _handle;
    private readonly DeviceBuffer _flush;
    private readonly StreamEvent _start, _end;
    private readonly int _repeats;

    /// <summary>Opens device 0 and compiles the kernels; cuBLAS is optional (its rows are left out without it).</summary>
    public CudaKernelBenchmark(int repeats = 20)
        : this(CudaSetup.Gpu, repeats)
    {
    }

    /// <summary>The benchmark on <paramref name="setup"/>'s device and cuBLAS (tests pass the emulated driver).</summary>
    internal CudaKernelBenchmark(CudaSetup setup, int repeats)
    {
        ArgumentNullException.ThrowIfNull(setup);
        _repeats = repeats;
        _device = setup.OpenDevice();
        _kernels = new CudaKernels(_device, setup.KernelCache);
        try
        {
            _cublas = setup.LoadCublas();
            _handle = _cublas.Create(_device.Stream, allowTf32: false);
        }
        catch (CudaLibraryException)
        {
            _cublas = null;
        }

        _flush = _device.Allocate(FlushBytes);
        _start = _device.CreateEvent();
        _end = _device.CreateEvent();
    }

    /// <summary>The device's copy bandwidth (read + write) in GB/s, for <paramref name="bytes"/> copied.</summary>
    public double CopyGigabytesPerSecond(ulong bytes)
    {
        using DeviceBuffer source = _device.Allocate(bytes), destination = _device.Allocate(bytes);
        double ms = Median(() => _device.Copy(source, 0, destination, 0, bytes));
        return 2.0 * bytes / ms / 1e6;
    }

    /// <summary>Runs every kernel: the products at VGG19's style-layer shapes and an odd one, the element-wise kernels at image and activation lengths.</summary>
    public IReadOnlyList<KernelTiming> Run() => Run(
        [(64, 512 * 512), (128, 256 * 256), (256, 128 * 128), (512, 64 * 64), (512, 32 * 32), (67, 3001)],
        [3L * 1024 * 1024, (3L * 2048 * 2048) + 7, 64L * 512 * 512]);

    /// <summary>Runs the products at each (channels, positions) and the element-wise kernels at each length.</summary>
    internal IReadOnlyList<KernelTiming> Run(IEnumerable<(int Channels, int Positions)> products, IEnumerable<long> lengths)
    {
        var rows = new List<KernelTiming>();
        foreach (var (c, m) in products)
        {
            rows.AddRange(Products(c, m));
        }

        foreach (long n in lengths)
        {
            rows.AddRange(ElementWise(n));
        }

        return rows;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_cublas is not null && _handle != IntPtr.Zero)
        {
            _ = _cublas.Destroy(_handle);
        }

        _start.Dispose();
        _end.Dispose();
        _flush.Dispose();
        _kernels.Dispose();
        _device.Dispose();
    }

    private IEnumerable<KernelTiming> Products(int c, int m)
    {
        using DeviceBuffer f = Filled((long)c * m), g = Filled((long)c * c), a = Filled((long)c * c), dF = Filled((long)c * m);
        using DeviceBuffer? workspace = CudaKernels.AllocateWorkspace(_device, CudaKernels.GramWorkspaceNeeded(c, m, 1)); // as the backend gives it
        double flops = 2.0 * c * c * m;
        string size = $"C={c} M={m}";
        double gram = Median(() => _kernels.Gram(f, g, c, m, 1, 1f, workspace));
        double style = Median(() => _kernels.StyleGradient(g, a, f, dF, c, m, 1, 1f, accumulate: false));
        if (_cublas is null)
        {
            yield return new KernelTiming("gram", size, gram, flops / gram / 1e6, "GFLOP/s", double.NaN);
            yield return new KernelTiming("style grad", size, style, flops / style / 1e6, "GFLOP/s", double.NaN);
            yield break;
        }

        double gemm = Median(() => _cublas.GemmBatchedRowMajor(_handle, false, true, c, c, m, 1f, f.Address, m, (long)c * m, f.Address, m, (long)c * m, 0f, g.Address, c, (long)c * c, 1));
        double syrk = Median(() => _cublas.SyrkRowMajorGram(_handle, c, m, 1f, f.Address, g.Address));
        double apply = Median(() => _cublas.GemmBatchedRowMajor(_handle, false, false, c, m, c, 1f, a.Address, c, (long)c * c, f.Address, m, (long)c * m, 0f, dF.Address, m, (long)c * m, 1));
        double gemmRate = flops / gemm / 1e6;
        yield return new KernelTiming("gram", size, gram, flops / gram / 1e6, "GFLOP/s", gemmRate);
        yield return new KernelTiming("gram cuBLAS SYRK", size, syrk, flops / syrk / 1e6, "GFLOP/s", gemmRate);
        yield return new KernelTiming("gram cuBLAS GEMM", size, gemm, gemmRate, "GFLOP/s", gemmRate);
        yield return new KernelTiming("style grad", size, style, flops / style / 1e6, "GFLOP/s", flops / apply / 1e6);
    }

    private KernelTiming[] ElementWise(long n)
    {
        int count = checked((int)n);
        using DeviceBuffer x = Filled(n), y = Filled(n), z = Filled(n), m = Filled(n), v = Filled(n);
        int side = (int)Math.Sqrt(n / 3.0);
        long partialsLength = Math.Max(LaunchConfig.Partials(n, 1).GridX, LaunchConfig.For1D(n, 1).GridX);
        using DeviceBuffer partials = _device.AllocateFloats(partialsLength), loss = _device.AllocateDoubles(1);
        using var adam = new AdamBuffers(_device, [1.0]);
        string size = $"n={n}";
        return
        [
            Rate("content grad", size, 12.0 * n, Median(() => _kernels.ContentGradient(x, y, z, count, 1, 0.5f, accumulate: false))),
            Rate("squared diff", size, 8.0 * n, Median(() => _kernels.SumSquaredDifference(x, y, partials, loss, count, 1, 1f))),
            Rate("tv", $"3×{side}×{side}", 12.0 * 3 * side * side, Median(() => _kernels.TotalVariation(x, y, partials, loss, 3, side, side, 1, 1e-3f))),
            Rate("adam", size, 28.0 * n, Median(() => _kernels.Adam(adam, x, m, v, y, count, 1, 0.9, 0.999, 1e-8f))),
        ];
    }

    private KernelTiming Rate(string kernel, string size, double bytes, double ms) =>
        new(kernel, size, ms, bytes / ms / 1e6, "GB/s", CopyGigabytesPerSecond((ulong)(bytes / 2)));

    private DeviceBuffer Filled(long count)
    {
        DeviceBuffer buffer = _device.AllocateFloats(count);
        var values = new float[count];
        new Model.DeterministicRandom((ulong)count).FillUniform(values, 0, 1);
        _device.Upload<float>(values, buffer);
        return buffer;
    }

    /// <summary>Median device time of <paramref name="launch"/> over the repetitions, after one warm-up, with L2 flushed before each.</summary>
    private double Median(Action launch)
    {
        launch();
        var times = new double[_repeats];
        for (int i = 0; i < _repeats; i++)
        {
            _device.Zero(_flush);
            _start.Record();
            launch();
            _end.Record();
            times[i] = _end.MillisecondsSince(_start);
        }

        Array.Sort(times);
        return times[_repeats / 2];
    }
}
