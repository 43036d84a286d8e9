using NeuralStyle.Cpu;
using NeuralStyle.Cuda;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// The CUDA layer beyond the kernels, run without a GPU on the emulated driver (kernels/emulation/emulated_driver.cpp):
/// device memory, threads, the cuBLAS products, the driver's failures as our exceptions report them, and that
/// disposing every owner leaves nothing on the device. Tolerances: float32 results against float64 references,
/// 1e-5 of the largest magnitude plus 1e-5 relative.
/// </summary>
[Collection(EmulatedCudaDriver.Collection)]
public sealed class EmulatedDriverTests
{
    [SkippableFact]
    public void Memory_round_trips_through_upload_copy_zero_fills_and_download_and_disposing_frees_everything()
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        long buffersBefore = DeviceBuffer.LiveCount;
        using (CudaDevice device = EmulatedCudaDriver.OpenDevice())
        {
            float[] values = Random(100, 1);
            using DeviceBuffer a = device.AllocateFloats(100), b = device.AllocateFloats(60), zeroed = device.AllocateDoubles(3), mask = device.Allocate(5), words = device.Allocate(4 * sizeof(uint));
            device.Upload<float>(values, a);
            device.Copy(a, 40 * sizeof(float), b, 10 * sizeof(float), 50 * sizeof(float));
            device.Zero(zeroed);
            device.Upload<byte>([9, 9, 9, 9, 9], mask);
            device.Fill(mask, 1, 7, 3);
            device.Upload<uint>([9, 9, 9, 9], words);
            device.FillWords(words, 1, 0xDEADBEEF, 2);
            var copied = new float[50];
            var zeros = new double[3] { 1, 2, 3 };
            var filled = new byte[5];
            device.Download<float>(b, copied.AsSpan()); // the first 50 floats of b: 10 never written, then a[40..80)
            device.Download<double>(zeroed, zeros);
            device.Download<byte>(mask, filled);
            var filledWords = new uint[4];
            device.Download<uint>(words, filledWords);
            Assert.Equal(values.AsSpan(40, 40).ToArray(), copied.AsSpan(10, 40).ToArray());
            Assert.Equal(new double[3], zeros);
            Assert.Equal(new byte[] { 9, 7, 7, 7, 9 }, filled);
            Assert.Equal(new uint[] { 9, 0xDEADBEEF, 0xDEADBEEF, 9 }, filledWords);
            Assert.Throws<ArgumentOutOfRangeException>(() => device.Download<float>(b, new float[61])); // before the driver is asked
            Assert.Throws<ArgumentOutOfRangeException>(() => device.Copy(a, 60 * sizeof(float), b, 0, 50 * sizeof(float)));
            Assert.Throws<ArgumentOutOfRangeException>(() => device.Fill(mask, 3, 1, 3));
            Assert.Throws<ArgumentOutOfRangeException>(() => device.FillWords(words, 3, 1, 2));
            var (free, total) = device.MemoryInfo();
            Assert.Equal((ulong)((100 + 60) * sizeof(float)) + (3 * sizeof(double)) + 5 + (4 * sizeof(uint)), total - free);
        }

        Assert.Equal(buffersBefore, DeviceBuffer.LiveCount);
        AssertNothingLeftOnTheDevice();
    }

    [SkippableFact]
    public void Running_out_of_device_memory_is_the_drivers_own_error()
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        using CudaDevice device = EmulatedCudaDriver.OpenDevice();
        var (_, total) = device.MemoryInfo();
        CudaException e = Assert.Throws<CudaException>(() => device.Allocate(total + 1));
        Assert.Equal(CUresult.CUDA_ERROR_OUT_OF_MEMORY, e.Status);
        Assert.Contains("CUDA_ERROR_OUT_OF_MEMORY (2)", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Driver calls act on the calling thread's current context; an embedding host may create on one thread and run on another.</summary>
    [SkippableFact]
    public void A_device_opened_on_one_thread_works_from_another()
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        const int C = 5, M = 9;
        float[] features = Random(C * M, 2);
        var gram = new float[C * C];
        using (CudaDevice device = EmulatedCudaDriver.OpenDevice())
        using (var kernels = new CudaKernels(device, EmulatedCudaDriver.KernelCache))
        {
            Exception? failure = null;
            var worker = new Thread(() =>
            {
                try
                {
                    using DeviceBuffer f = device.AllocateFloats(C * M), g = device.AllocateFloats(C * C);
                    device.Upload<float>(features, f);
                    kernels.Gram(f, g, C, M, 1, 1f / (C * M));
                    device.Download<float>(g, gram);
                }
                catch (CudaException e)
                {
                    failure = e;
                }
            });
            worker.Start();
            worker.Join();
            Assert.Null(failure);
        }

        double[] expected = ReferenceLoss.Gram(C, M, features.Select(v => (double)v).ToArray());
        Tolerance.AssertClose(expected, gram, 1e-5 * Tolerance.MaxAbs(expected), 1e-5, "G computed on another thread");
        AssertNothingLeftOnTheDevice();
    }

    [SkippableTheory]
    [InlineData(StyleProductSource.Cublas)]
    [InlineData(StyleProductSource.Ours)]
    [InlineData(StyleProductSource.Measured)]
    public void Style_products_match_the_float64_reference_wherever_they_run(StyleProductSource source)
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        const int C = 19, M = 520, Items = 2; // our Gram in 3 slices of the positions (176, 176, 168)
        const float K = 0.5f;
        float[] features = Random(Items * C * M, 3), target = Random(C * C, 4);
        var gram = new float[Items * C * C];
        var gradient = new float[Items * C * M];
        string described;
        using (CudaDevice device = EmulatedCudaDriver.OpenDevice())
        using (var kernels = new CudaKernels(device, EmulatedCudaDriver.KernelCache))
        using (DeviceBuffer f = device.AllocateFloats(features.Length), g = device.AllocateFloats(gram.Length), a = device.AllocateFloats(target.Length), d = device.AllocateFloats(gradient.Length))
        using (DeviceBuffer workspace = device.AllocateFloats(CudaKernels.GramWorkspaceFloats))
        using (StreamEvent start = device.CreateEvent(), end = device.CreateEvent())
        {
            var cublas = EmulatedCudaDriver.Cublas();
            IntPtr handle = cublas.Create(device.Stream, allowTf32: false);
            try
            {
                device.Upload<float>(features, f);
                device.Upload<float>(target, a);
                var products = new StyleProducts(kernels, cublas, handle, f, g, a, d, workspace, C, M, Items);
                products.Choose(source, run =>
                {
                    start.Record();
                    run();
                    end.Record();
                    float ms = end.MillisecondsSince(start);
                    Assert.True(ms >= 0, $"{ms} ms");
                    return ms;
                });
                products.Gram(1f / (C * M));
                device.Download<float>(g, gram);
                products.Gradient(K);
                device.Download<float>(d, gradient);
                described = products.Describe();
                if (products.GradientOnCublas)
                {
                    // cuBLAS's gradient leaves G − A in the Gram buffer, as StyleProducts documents.
                    var difference = new float[gram.Length];
                    device.Download<float>(g, difference);
                    Assert.Equal(gram.Select((v, i) => v - target[i % (C * C)]).ToArray(), difference);
                }
            }
            finally
            {
                Assert.Equal(0, cublas.Destroy(handle));
            }
        }

        if (source != StyleProductSource.Measured)
        {
            string where = source == StyleProductSource.Cublas ? "cuBLAS" : "ours";
            Assert.Equal($"Gram {where}, gradient {where}", described);
        }

        for (int n = 0; n < Items; n++)
        {
            double[] item = features.AsSpan(n * C * M, C * M).ToArray().Select(v => (double)v).ToArray();
            double[] expectedGram = ReferenceLoss.Gram(C, M, item);
            Tolerance.AssertClose(expectedGram, gram.AsSpan(n * C * C, C * C), 1e-5 * Tolerance.MaxAbs(expectedGram), 1e-5, $"G item {n} ({described})");
            var expectedGradient = new double[C * M];
            for (int i = 0; i < C; i++)
            {
                for (int p = 0; p < M; p++)
                {
                    double sum = 0;
                    for (int c = 0; c < C; c++)
                    {
                        sum += (gram[(n * C * C) + (i * C) + c] - (double)target[(i * C) + c]) * item[(c * M) + p];
                    }

                    expectedGradient[(i * M) + p] = K * sum;
                }
            }

            Tolerance.AssertClose(expectedGradient, gradient.AsSpan(n * C * M, C * M), 1e-5 * Tolerance.MaxAbs(expectedGradient), 1e-5, $"dF item {n} ({described})");
        }

        AssertNothingLeftOnTheDevice();
    }

    /// <summary>The benchmark's SSYRK row: one triangle of F·Fᵀ, read through the row-major to column-major mapping.</summary>
    [SkippableFact]
    public void Cublas_syrk_writes_the_upper_triangle_of_the_row_major_gram_matrix()
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        const int C = 7, M = 11;
        float[] features = Random(C * M, 5);
        float[] gram = Enumerable.Repeat(-1f, C * C).ToArray();
        using (CudaDevice device = EmulatedCudaDriver.OpenDevice())
        using (DeviceBuffer f = device.AllocateFloats(C * M), g = device.AllocateFloats(C * C))
        {
            var cublas = EmulatedCudaDriver.Cublas();
            IntPtr handle = cublas.Create(device.Stream, allowTf32: true);
            device.Upload<float>(features, f);
            device.Upload<float>(gram, g);
            cublas.SyrkRowMajorGram(handle, C, M, 1f / (C * M), f.Address, g.Address);
            device.Download<float>(g, gram);
            Assert.Equal(0, cublas.Destroy(handle));
        }

        double[] expected = ReferenceLoss.Gram(C, M, features.Select(v => (double)v).ToArray());
        for (int i = 0; i < C; i++)
        {
            for (int j = 0; j < C; j++)
            {
                int at = (i * C) + j;
                if (j >= i)
                {
                    Assert.True(Math.Abs(gram[at] - expected[at]) <= 1e-5 * Tolerance.MaxAbs(expected), $"G[{i},{j}] = {gram[at]}, expected {expected[at]}");
                }
                else
                {
                    Assert.Equal(-1f, gram[at]); // the other triangle is not written
                }
            }
        }
    }

    [SkippableFact]
    public void An_image_the_driver_cannot_load_is_refused_with_its_log()
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        using CudaDevice device = EmulatedCudaDriver.OpenDevice();
        byte[] notACubin = "// a PTX file would start like this\n"u8.ToArray().Concat(new byte[64]).ToArray();
        CudaException e = Assert.Throws<CudaException>(() => device.DriverForThisThread().LoadModule(notACubin));
        Assert.Equal(CUresult.CUDA_ERROR_INVALID_IMAGE, e.Status);
        Assert.Equal("cuModuleLoadDataEx", e.Call);
        Assert.Contains("the image is not an ELF64 CUBIN", e.Message, StringComparison.Ordinal); // the JIT log, carried into the message
    }

    [SkippableFact]
    public void A_damaged_kernel_cache_entry_is_compiled_again_and_replaced()
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        string cache = Directory.CreateTempSubdirectory("neuralstyle-kernel-cache-").FullName;
        using (CudaDevice device = EmulatedCudaDriver.OpenDevice())
        {
            new CudaKernels(device, cache).Dispose();
            string entry = Directory.GetFiles(cache, "gram-*.cubin").Single();
            File.WriteAllBytes(entry, Enumerable.Repeat((byte)'x', 100).ToArray());
            using (new CudaKernels(device, cache))
            {
                Assert.Equal("\u007fELF"u8.ToArray(), File.ReadAllBytes(entry)[..4]); // a CUBIN again
            }
        }

        Directory.Delete(cache, recursive: true);
        AssertNothingLeftOnTheDevice();
    }

    /// <summary>A kernel given an address outside every allocation faults, and, as on a GPU, every later call fails until the context goes.</summary>
    [SkippableFact]
    public void A_launch_on_a_freed_buffer_faults_and_the_fault_is_reported_by_later_calls_until_the_context_is_released()
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        using (CudaDevice device = EmulatedCudaDriver.OpenDevice())
        using (var kernels = new CudaKernels(device, EmulatedCudaDriver.KernelCache))
        {
            using DeviceBuffer gram = device.AllocateFloats(4);
            DeviceBuffer features = device.AllocateFloats(4);
            features.Dispose();
            CudaException e = Assert.Throws<CudaException>(() => kernels.Gram(features, gram, 2, 2, 1, 1f));
            Assert.Equal(CUresult.CUDA_ERROR_ILLEGAL_ADDRESS, e.Status);
            Assert.Equal("cuLaunchKernel(gram_forward)", e.Call);
            Assert.Equal(CUresult.CUDA_ERROR_ILLEGAL_ADDRESS, Assert.Throws<CudaException>(device.Synchronize).Status);
        }

        AssertNothingLeftOnTheDevice();
        using CudaDevice fresh = EmulatedCudaDriver.OpenDevice();
        fresh.Synchronize(); // a new context: the fault is gone
    }

    /// <summary>
    /// The backend's loop has its reductions write every term's per-item loss into one buffer that the host then reads
    /// at once: each writes its items' doubles where it is told and nothing else, and a place outside the buffer (or
    /// too small a partials buffer) is refused before anything is launched. Sums of up to 4·5·6 float32 terms against float64: 1e-5 relative.
    /// </summary>
    [SkippableFact]
    public void Reductions_write_each_items_loss_at_the_place_they_are_given_and_refuse_one_past_the_end()
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        const int Items = 2, Count = 120, Channels = 4, Height = 5, Width = 6;
        using (CudaDevice device = EmulatedCudaDriver.OpenDevice())
        using (var kernels = new CudaKernels(device, EmulatedCudaDriver.KernelCache))
        {
            float[] a = Random(Items * Count, 11), target = Random(Count, 12);
            using DeviceBuffer da = device.AllocateFloats(a.Length), dt = device.AllocateFloats(Count), gradient = device.AllocateFloats(a.Length),
                partials = device.AllocateFloats(Items * LaunchConfig.Partials(Count, Items).GridX), values = device.AllocateDoubles(4 * Items);
            device.Upload<float>(a, da);
            device.Upload<float>(target, dt);
            device.Zero(gradient);
            device.Upload<double>([-1, -1, -1, -1, -1, -1, -1, -1], values);
            kernels.SumSquaredDifference(da, dt, partials, values, Count, Items, 2, firstOutput: 1 * Items);
            kernels.TotalVariation(da, gradient, partials, values, Channels, Height, Width, Items, 3, firstOutput: 3 * Items);
            var written = new double[4 * Items];
            device.Download<double>(values, written);

            double[] squares = Enumerable.Range(0, Items).Select(n => 2 * Enumerable.Range(0, Count).Sum(i => Math.Pow((double)a[(n * Count) + i] - target[i], 2))).ToArray();
            double[] tv = Enumerable.Range(0, Items)
                .Select(n => 3 * ReferenceLoss.TotalVariation(Array.ConvertAll(a[(n * Count)..((n + 1) * Count)], v => (double)v), Channels, Height, Width)).ToArray();
            Assert.Equal(new double[] { -1, -1, -1, -1 }, new[] { written[0], written[1], written[4], written[5] }); // the places not given stay as they were
            Tolerance.AssertClose(squares, written.AsSpan(2, Items), 1e-6, 1e-5, "Σ (a − t)² at its place");
            Tolerance.AssertClose(tv, written.AsSpan(6, Items), 1e-6, 1e-5, "TV at its place");

            ArgumentException pastTheEnd = Assert.Throws<ArgumentException>(() => kernels.SumSquaredDifference(da, dt, partials, values, Count, Items, 2, firstOutput: 3 * Items + 1));
            Assert.Equal("output", pastTheEnd.ParamName);
            Assert.StartsWith("The output buffer holds 8 doubles; a reduction of 2 items cannot write doubles 7..8.", pastTheEnd.Message, StringComparison.Ordinal);
            var gradientBefore = new float[a.Length];
            var gradientAfter = new float[a.Length];
            device.Download<float>(gradient, gradientBefore);
            Assert.Throws<ArgumentException>(() => kernels.TotalVariation(da, gradient, partials, values, Channels, Height, Width, Items, 3, firstOutput: -1));
            device.Download<float>(gradient, gradientAfter);
            Assert.Equal(gradientBefore, gradientAfter); // refused before TV's gradient kernel ran
            using DeviceBuffer fewPartials = device.AllocateFloats(1);
            Assert.Equal("partials", Assert.Throws<ArgumentException>(() => kernels.SumSquaredDifference(da, dt, fewPartials, values, Count, Items, 2)).ParamName);
        }

        AssertNothingLeftOnTheDevice();
    }

    /// <summary>
    /// The kernel benchmark, whose rows tools/gpu-check.sh prints, end to end at small sizes: every row timed with the
    /// stream's events, cuBLAS's rows present, copy-bandwidth references, and its buffers freed. (The emulated times say
    /// nothing of a GPU's.)
    /// </summary>
    [SkippableFact]
    public void The_kernel_benchmark_produces_every_row_and_frees_its_buffers()
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        IReadOnlyList<KernelTiming> rows;
        using (var benchmark = new CudaKernelBenchmark(new CudaSetup(EmulatedCudaDriver.OpenDevice, EmulatedCudaDriver.Cublas, EmulatedCudaDriver.KernelCache, GraphsOnHost: false), repeats: 2))
        {
            rows = benchmark.Run([(17, 33), (5, 100)], [3L * 16 * 16]);
        }

        string[] expected = ["gram", "gram cuBLAS SYRK", "gram cuBLAS GEMM", "style grad", "content grad", "squared diff", "tv", "adam"];
        Assert.Equal(expected.Order(), rows.Select(r => r.Kernel).Distinct().Order());
        Assert.Equal(2 * 4 + 4, rows.Count);
        Assert.All(rows, r => Assert.True(r.Milliseconds > 0 && double.IsFinite(r.Rate) && r.Rate > 0, $"{r.Kernel} {r.Size}: {r.Milliseconds} ms, {r.Rate} {r.Unit}"));
        Assert.Contains(rows, r => r.Kernel == "tv" && r.Size == "3×16×16");
        AssertNothingLeftOnTheDevice();
    }

    /// <summary>
    /// The common broken set-up: a driver and GPU that work, and none of the CUDA 13 libraries ONNX Runtime's provider
    /// links. doctor says renders run on the CPU and why; --device auto renders on the CPU saying why; --device cuda is
    /// refused in a sentence with exit code 2, before any work, rather than failing inside ONNX Runtime.
    /// </summary>
    [SkippableFact]
    public async Task A_working_gpu_without_cuda_13s_libraries_renders_on_the_cpu_and_refuses_device_cuda()
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        Skip.If(CudaProviderLibraries.Missing(CudaProviderLibraries.Linked).Count == 0, "CUDA 13's libraries are installed here.");
        string output = Directory.CreateTempSubdirectory("neuralstyle-emulated-render-").FullName;
        string loaderPath = EmulatedCudaDriver.LoaderPath();
        const string Why = "ONNX Runtime's CUDA provider does not load: the loader cannot find libcudart.so.13";

        var (code, stdout, stderr) = await RunWithLoaderPath(loaderPath, "doctor");
        Assert.True(code == 0, stderr);
        Assert.Contains($"GPU               {EmulatedCudaDriver.DeviceName}, compute capability 9.0", stdout, StringComparison.Ordinal);
        Assert.Contains("Verdict: the GPU and NVRTC work, but renders run on the CPU: " + Why, stdout, StringComparison.Ordinal);

        (code, stdout, stderr) = await RunWithLoaderPath(loaderPath, "render", "--size", "32", "--iterations", "1", "--out", Path.Combine(output, "auto.png"));
        Assert.True(code == 0, stderr);
        Assert.Contains("Device: CPU", stdout, StringComparison.Ordinal);
        Assert.Contains("(CUDA not used: " + Why, stdout, StringComparison.Ordinal);
        // Loading the provider to find that out must not take ONNX Runtime's environment from the engine (its shared pool).
        Assert.DoesNotContain("a pool per session", stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(output, "auto.png")));

        (code, stdout, stderr) = await RunWithLoaderPath(loaderPath, "render", "--device", "cuda", "--size", "32", "--iterations", "1", "--out", Path.Combine(output, "cuda.png"));
        Assert.Equal(2, code);
        Assert.Contains("--device cuda cannot run here: " + Why, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Preparing the network", stdout, StringComparison.Ordinal); // refused before any work
        Assert.False(File.Exists(Path.Combine(output, "cuda.png")));
        Directory.Delete(output, recursive: true);
    }

    /// <summary>
    /// The kernel benchmark needs the driver, a GPU and NVRTC, not ONNX Runtime's provider: on the same set-up it starts
    /// (its first line is the device's copy bandwidth; the emulated full-size rows would take hours, so it is stopped there).
    /// </summary>
    [SkippableFact]
    public async Task The_kernel_benchmark_runs_where_only_onnx_runtimes_provider_is_missing()
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        System.Diagnostics.ProcessStartInfo info = CliProcess.StartInfo("bench", "kernels", "--device", "cuda");
        info.Environment["LD_LIBRARY_PATH"] = EmulatedCudaDriver.LoaderPath();
        info.Environment["NS_EMULATED_DEVICE_MB"] = "2048"; // the benchmark takes 1.3 GB: a flush buffer and a 512 MB copy
        using var process = System.Diagnostics.Process.Start(info)!;
        Task<string> errors = process.StandardError.ReadToEndAsync();
        string? first;
        using (var patience = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
        {
            first = await process.StandardOutput.ReadLineAsync(patience.Token);
        }

        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        Assert.True(first is not null, await errors);
        Assert.Matches($@"^{EmulatedCudaDriver.DeviceName}: device copy 512 MB \(read \+ write\) \d+ GB/s", first);
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunWithLoaderPath(string loaderPath, params string[] args)
    {
        System.Diagnostics.ProcessStartInfo info = CliProcess.StartInfo(args);
        info.Environment["LD_LIBRARY_PATH"] = loaderPath;
        return await CliProcess.RunAsync(info);
    }

    private static void AssertNothingLeftOnTheDevice()
    {
        Assert.Equal(0, EmulatedCudaDriver.LiveAllocations);
        Assert.Equal(0, EmulatedCudaDriver.LiveHandles);
        Assert.Equal(0, EmulatedCudaDriver.PrimaryContextRetains);
    }

    private static float[] Random(int length, ulong seed)
    {
        var values = new float[length];
        new DeterministicRandom(seed).FillUniform(values, -1, 1);
        return values;
    }
}
