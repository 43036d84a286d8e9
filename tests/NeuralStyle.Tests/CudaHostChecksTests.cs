using System.Diagnostics;
using NeuralStyle.Cuda;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>What is checked of the CUDA path without a GPU: the kernels compile to PTX, and the binding's failure paths.</summary>
public sealed class CudaHostChecksTests
{
    [Theory]
    [InlineData("Non-zero status code returned while running Conv node. Name:'conv3_1' Status Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:376 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for requested buffer of size 2830172160", true)]
    [InlineData("Non-zero status code returned while running Conv node. Name:'conv2_1' Status Message: CUDA failure 2: out of memory ; GPU=0 ; hostname=h ; expr=cudaMalloc(&p, size);", true)]
    [InlineData("Non-zero status code returned while running Conv node. Name:'conv4_1' Status Message: CUDNN_STATUS_ALLOC_FAILED", true)]
    [InlineData("Non-zero status code returned while running Conv node. Name:'conv1_1' Status Message: CUDNN_STATUS_NOT_SUPPORTED", false)]
    public void Onnx_runtimes_out_of_memory_message_is_recognised(string message, bool outOfMemory) =>
        Assert.Equal(outOfMemory, CudaGraphs.IsOutOfMemory(message));

    [Theory]
    [InlineData(null, "EXHAUSTIVE")]
    [InlineData("", "EXHAUSTIVE")]
    [InlineData("heuristic", "HEURISTIC")]
    [InlineData("Default", "DEFAULT")]
    public void The_cudnn_search_variable_names_a_mode_of_the_provider(string? value, string expected) =>
        Assert.Equal(expected, CudnnSearch.Parse(value));

    [Fact]
    public void A_cudnn_search_the_provider_lacks_is_refused_with_the_choices()
    {
        var e = Assert.Throws<UserInputException>(() => CudnnSearch.Parse("fast"));
        Assert.Equal("NEURALSTYLE_CUDNN_SEARCH must be HEURISTIC, EXHAUSTIVE or DEFAULT, not 'fast'.", e.Message);
    }

    [SkippableFact]
    public async Task Every_kernel_compiles_to_ptx_for_sm_75_and_sm_90()
    {
        Skip.If(!File.Exists("/usr/bin/clang-14") || !File.Exists("/usr/bin/clang-16"), "clang-14 and clang-16 are needed; tools/install-deps.sh installs them.");
        string output = Directory.CreateTempSubdirectory("neuralstyle-ptx-").FullName;
        var info = new ProcessStartInfo("bash", [Path.Combine(Repository.Root, "tools", "kernel-check.sh"), output]) { RedirectStandardOutput = true, RedirectStandardError = true };
        var (code, stdout, stderr) = await CliProcess.RunAsync(info);
        Assert.True(code == 0, stdout + stderr);
        foreach (string kernel in KernelCompiler.SourceFiles)
        {
            string name = Path.GetFileNameWithoutExtension(kernel);
            foreach (string arch in new[] { "sm_75", "sm_90" })
            {
                string ptx = File.ReadAllText(Path.Combine(output, $"{name}.{arch}.ptx"));
                Assert.Contains($".target {arch}", ptx, StringComparison.Ordinal);
                Assert.Contains(".entry", ptx, StringComparison.Ordinal);
            }
        }

        Directory.Delete(output, recursive: true);
    }

    [Fact]
    public void Every_kernel_file_is_embedded_for_nvrtc_and_states_its_math()
    {
        foreach (string kernel in KernelCompiler.SourceFiles.Append("common.cuh"))
        {
            string source = KernelCompiler.Source(kernel);
            Assert.Equal(File.ReadAllText(Path.Combine(Repository.Root, "kernels", kernel)), source);
            if (kernel.EndsWith(".cu", StringComparison.Ordinal))
            {
                Assert.Contains("Launch:", source, StringComparison.Ordinal);
                Assert.Contains("computes", source, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [InlineData("NS_BLOCK", LaunchConfig.BlockSize)]
    [InlineData("NS_TILE", LaunchConfig.Tile)]
    [InlineData("NS_WIDE_TILE", LaunchConfig.WideTile)]
    public void The_launch_geometry_uses_the_kernels_own_constants(string define, int value)
    {
        // A kernel launched with another block shape than it was written for reads and writes the wrong elements.
        string line = KernelCompiler.Source("common.cuh").Split('\n').Single(l => l.StartsWith($"#define {define} ", StringComparison.Ordinal));
        Assert.Equal($"#define {define} {value}", line.TrimEnd());
    }

    [Fact]
    public void A_missing_driver_is_a_state_with_the_names_tried_and_what_to_install()
    {
        CudaReport report = CudaRuntime.Probe(["libnot-a-cuda-driver.so.1"], ["libnvrtc.so.13"], ["libcublas.so.13"]);
        Assert.False(report.IsAvailable);
        Assert.Contains("libnot-a-cuda-driver.so.1: not found", report.Reason, StringComparison.Ordinal);
        Assert.EndsWith("Install the NVIDIA driver (it provides libcuda.so.1).", report.Reason, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void A_library_without_the_symbols_is_named_with_the_missing_export()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "Uses libc.so.6 as a library that is not the CUDA driver.");
        CudaReport report = CudaRuntime.Probe(["libc.so.6"], ["libnvrtc.so.13"], ["libcublas.so.13"]);
        Assert.False(report.IsAvailable);
        Assert.Contains("libc.so.6 (the CUDA driver) has no export cuGetErrorName", report.Reason, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_real_driver_without_a_gpu_has_every_export_we_bind_and_its_no_device_answer_is_reported()
    {
        Skip.If(NvidiaDebianLibraries.Unavailable is not null, NvidiaDebianLibraries.Unavailable);
        // In child processes with NVIDIA's libcuda.so.1 (driver 550, CUDA 12.4) and libnvrtc.so.12 on their loader
        // path, found by the names the backend itself probes: loaded into this process, every later probe here would
        // find them.
        string loaderPath = NvidiaDebianLibraries.DriverFolder + ":" + NvidiaDebianLibraries.Folder;
        ProcessStartInfo doctor = CliProcess.StartInfo("doctor");
        doctor.Environment["LD_LIBRARY_PATH"] = loaderPath;
        var (code, stdout, stderr) = await CliProcess.RunAsync(doctor);
        Assert.True(code == 0, stderr);
        // The version line needs the whole driver table bound (a missing export would say "has no export" instead).
        Assert.Contains("CUDA driver       12.4", stdout, StringComparison.Ordinal);
        Assert.Contains("NVRTC             12.4 (libnvrtc.so.12)", stdout, StringComparison.Ordinal);
        Assert.Contains("The CUDA driver found no GPU (cuInit answered CUDA_ERROR_NO_DEVICE)", stdout, StringComparison.Ordinal);

        ProcessStartInfo render = CliProcess.StartInfo("render", "--device", "cuda", "--iterations", "1");
        render.Environment["LD_LIBRARY_PATH"] = loaderPath;
        (code, stdout, stderr) = await CliProcess.RunAsync(render);
        Assert.Equal(2, code);
        Assert.Contains("--device cuda cannot run here: The CUDA driver found no GPU", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal); // a sentence, not a stack trace
    }

    [Fact]
    public void Style_products_move_to_cublas_only_when_it_is_clearly_faster()
    {
        Assert.True(StyleProducts.PreferCublas(oursMs: 10, cublasMs: 9.4));
        Assert.False(StyleProducts.PreferCublas(oursMs: 10, cublasMs: 9.6)); // within the 5% margin: keep ours
        Assert.False(StyleProducts.PreferCublas(oursMs: 10, cublasMs: 12));

        // Without cuBLAS nothing is timed and both products stay ours.
        var products = new StyleProducts(null!, null, IntPtr.Zero, null!, null!, null!, null!, null, 64, 100, 1);
        products.Choose(StyleProductSource.Measured, _ => throw new InvalidOperationException("timed without cuBLAS"));
        Assert.Equal("Gram ours, gradient ours", products.Describe());
    }

    [Fact]
    public void Launch_geometry_covers_every_element_and_tile()
    {
        foreach (long count in new long[] { 1, 255, 256, 257, 100_000 })
        {
            LaunchConfig l = LaunchConfig.For1D(count, 3);
            Assert.True((long)l.GridX * l.BlockX >= count && (long)(l.GridX - 1) * l.BlockX < count);
            Assert.Equal(3u, l.GridY);
        }

        // Without a workspace, one slice of all positions: T × T tiles per item, straight to G.
        GramLaunch whole = LaunchConfig.Gram(70, 100_000, 2, 0);
        Assert.Equal((1, 2u, 2u, 2u, 16u, 16u), (whole.Slices, whole.Partial.GridX, whole.Partial.GridY, whole.Partial.GridZ, whole.Partial.BlockX, whole.Partial.BlockY));
        Assert.True(whole.SlicePositions >= 100_000);
        Assert.Equal(0, whole.WorkspaceFloats(70, 2));

        // VGG19's relu1_1 at 512 px: one tile at work; slices bring the grid to the target, each a multiple of the
        // inner step, together covering every position once.
        GramLaunch thin = LaunchConfig.Gram(64, 512 * 512, 1, 1 << 22);
        Assert.Equal(LaunchConfig.GramTargetBlocks, thin.Slices);
        Assert.Equal(0, thin.SlicePositions % LaunchConfig.Tile);
        Assert.True((long)thin.Slices * thin.SlicePositions >= 512 * 512 && (long)(thin.Slices - 1) * thin.SlicePositions < 512 * 512);
        Assert.Equal((uint)thin.Slices, thin.Partial.GridZ);
        Assert.Equal(thin.Slices * 64L * 64, thin.WorkspaceFloats(64, 1));

        // As many slices as the workspace holds partial Grams, and none shorter than the minimum.
        Assert.Equal(3, LaunchConfig.Gram(64, 512 * 512, 1, (3 * 64 * 64) + 5).Slices);
        Assert.Equal(4, LaunchConfig.Gram(64, 1000, 1, 1 << 22).Slices);
        Assert.Equal(1, LaunchConfig.Gram(512, 16 * 16, 4, 1 << 22).Slices); // relu5_1 at 256 px: too few positions to slice
        Assert.Equal(4, LaunchConfig.Gram(512, 32 * 32, 4, 1 << 22).Slices); // 36 tiles × 4 items, slices of 256 positions

        // The backend allocates only what its shapes use: none where no layer needs slices.
        Assert.Equal(0, CudaKernels.GramWorkspaceNeeded(512, 16 * 16, 4));
        Assert.Equal(thin.WorkspaceFloats(64, 1), CudaKernels.GramWorkspaceNeeded(64, 512 * 512, 1));
        Assert.Equal(1024u, LaunchConfig.Partials(10_000_000, 1).GridX);

        // style_grad_backward: one block per wide tile of dF, rows × positions, per item.
        Assert.Equal(new LaunchConfig(3, 2, 2, 16, 16, 1), LaunchConfig.StyleGradient(70, 130, 2));
    }

    [SkippableFact]
    [Trait("Category", "Cuda")]
    public void The_device_opens_and_buffers_round_trip_without_leaks()
    {
        Skip.IfNot(CudaRuntime.IsAvailable, $"No CUDA device: {CudaRuntime.Current.Reason}");
        long before = DeviceBuffer.LiveCount;
        using (CudaDevice device = CudaDevice.Open())
        {
            float[] data = Enumerable.Range(0, 1000).Select(i => (float)i).ToArray();
            using DeviceBuffer buffer = device.AllocateFloats(data.Length);
            device.Upload<float>(data, buffer);
            var back = new float[data.Length];
            device.Download<float>(buffer, back);
            Assert.Equal(data, back);
        }

        Assert.Equal(before, DeviceBuffer.LiveCount);
    }
}
