using System.Diagnostics;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// tools/fatal-test.awk, with which tools/gpu-check.sh finds the test after which CUDA was unusable in the test
/// runner's process (then runs it alone and the others without it). It runs only on a GPU machine, once, so its
/// reading of the runner's output is checked here, on logs in that output's form (tests/NeuralStyle.TestRunner's
/// ConsoleReporter).
/// </summary>
public sealed class FatalTestScriptTests
{
    private const string Header = """
        47 of 1733 tests selected (Category=Cuda).
        Vector instructions: AVX True, AVX2 True, FMA True, AdvSimd False; Vector<float> holds 8.
          Starting NeuralStyle.Tests.CudaKernelTests.Adam_matches_the_float64_reference(length: 257)
          Passed NeuralStyle.Tests.CudaKernelTests.Adam_matches_the_float64_reference(length: 257) [0.120 s]
          Starting NeuralStyle.Tests.CudaKernelTests.Tv_matches(size: 3)
          Skipped NeuralStyle.Tests.CudaKernelTests.Tv_matches(size: 3): not here
          Starting NeuralStyle.Tests.CudaKernelTests.Adam_matches_the_float64_reference(length: 600)
          Failed NeuralStyle.Tests.CudaKernelTests.Adam_matches_the_float64_reference(length: 600) [0.131 s]
              Xunit.Sdk.XunitException: 3 of 1800 values outside 1e-05: the first at 17
                 at NeuralStyle.Tests.Support.Tolerance.AssertClose(…)

        """;

    private const string StickyFailure = """
          Starting NeuralStyle.Tests.CudaKernelTests.Gram_matches_the_reference(channels: 130, positions: 37, items: 2)
          Failed NeuralStyle.Tests.CudaKernelTests.Gram_matches_the_reference(channels: 130, positions: 37, items: 2) [0.259 s]
              NeuralStyle.Cuda.CudaException: cuStreamSynchronize failed: CUDA_ERROR_ILLEGAL_ADDRESS (700): an illegal memory access was encountered
                 at NeuralStyle.Cuda.Interop.DriverApi.Check(…)
          Starting NeuralStyle.Tests.CudaBackendTests.Iterations_match_the_cpu_backend(pooling: Max, products: Ours)
          Failed NeuralStyle.Tests.CudaBackendTests.Iterations_match_the_cpu_backend(pooling: Max, products: Ours) [0.020 s]
              Microsoft.ML.OnnxRuntime.OnnxRuntimeException: [ErrorCode:Fail] CUDA failure 700: an illegal memory access was encountered

        """;

    private const string Total = "Total tests: 4, Passed: 1, Failed: 3, Skipped: 1\n";

    [Fact]
    public async Task It_names_the_first_test_whose_failure_left_cuda_unusable()
    {
        Assert.Equal("NeuralStyle.Tests.CudaKernelTests.Gram_matches_the_reference", await FatalTest(Header + StickyFailure + Total));
    }

    [Fact]
    public async Task It_names_the_test_a_native_fault_ended_the_process_in()
    {
        const string crashed = "  Starting NeuralStyle.Tests.CudaBackendTests.Tf32_iterations_stay_within_a_percent(pooling: Max)\n";
        Assert.Equal("NeuralStyle.Tests.CudaBackendTests.Tf32_iterations_stay_within_a_percent", await FatalTest(Header + crashed));
        Assert.Equal("NeuralStyle.Tests.CudaKernelTests.Gram_matches_the_reference", await FatalTest(Header + StickyFailure + crashed)); // the earlier cause
        // What a dying process prints is the running test's, not that of the failure before it.
        Assert.Equal("NeuralStyle.Tests.CudaBackendTests.Tf32_iterations_stay_within_a_percent",
            await FatalTest(Header + crashed + "terminate called after throwing an instance of 'onnxruntime::OnnxRuntimeException'\n  what():  CUDA failure 700: an illegal memory access was encountered\n"));
    }

    [Fact]
    public async Task It_names_none_where_failures_left_cuda_usable_or_all_passed()
    {
        Assert.Equal("", await FatalTest(Header + Total));
        Assert.Equal("", await FatalTest(Header.Replace("  Failed ", "  Passed ", StringComparison.Ordinal) + Total));
        // A failure whose message merely follows a test's result is not that test's: only a failure's own lines count.
        Assert.Equal("", await FatalTest(Header + "  Starting NeuralStyle.Tests.X.Y\n  Passed NeuralStyle.Tests.X.Y [0.1 s]\n      CUDA_ERROR_ILLEGAL_ADDRESS in its output\n" + Total));
    }

    private static async Task<string> FatalTest(string log)
    {
        string path = Path.Combine(Path.GetTempPath(), $"ns-fatal-{Guid.NewGuid():N}.log");
        await File.WriteAllTextAsync(path, log);
        try
        {
            var info = new ProcessStartInfo("awk", ["-f", Path.Combine(Repository.Root, "tools", "fatal-test.awk"), path])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            var (code, stdout, stderr) = await CliProcess.RunAsync(info);
            Assert.True(code == 0, stderr);
            return stdout.Trim();
        }
        finally
        {
            File.Delete(path);
        }
    }
}
