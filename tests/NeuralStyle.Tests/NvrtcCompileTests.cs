using System.Runtime.InteropServices;
using NeuralStyle.Cuda;
using NeuralStyle.Cuda.Interop;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// Every kernel through NVIDIA's own compiler without a GPU: NVRTC 11.8 (Debian non-free, unpacked under
/// out/nvidia-debian by tools/install-deps.sh) driven by our binding and <see cref="KernelCompiler"/>, exactly as the
/// CUDA backend drives NVRTC 13 on a device. What NVRTC accepts here, clang's PTX check does not prove: NVRTC's own
/// dialect, our options, the embedded header, the CUBIN the driver will load and the entry points it must hold.
/// </summary>
public sealed class NvrtcCompileTests
{
    private static readonly Lazy<(NvrtcApi? Api, string Problem)> Nvrtc = new(Load);

    [SkippableTheory]
    [InlineData(7, 5)]
    [InlineData(9, 0)]
    public void Every_kernel_compiles_to_a_cubin_holding_the_entry_points_its_launchers_use(int major, int minor)
    {
        var compiler = new KernelCompiler(Api(), TemporaryFolder());
        foreach (string file in KernelCompiler.SourceFiles)
        {
            CubinFile cubin = CubinFile.Read(compiler.Compile(file, major, minor));
            Assert.Equal(CubinFile.CudaMachine, cubin.Machine);
            Assert.True(cubin.TargetsSm(major * 10 + minor), $"{file}: ELF flags 0x{cubin.Flags:x} do not name sm_{major}{minor}");
            foreach (string kernel in CudaKernels.KernelNames(file))
            {
                Assert.Contains(kernel, cubin.Functions);
                // Static shared memory above 48 KiB needs an opt-in the launchers do not make.
                long shared = cubin.SharedBytes.GetValueOrDefault(kernel);
                Assert.True(shared <= 48 * 1024, $"{kernel}: {shared} bytes of shared memory");
            }
        }
    }

    [SkippableFact]
    public void A_second_compile_comes_from_the_disk_cache_and_another_architecture_compiles_anew()
    {
        string cache = TemporaryFolder();
        var compiler = new KernelCompiler(Api(), cache);
        byte[] first = compiler.Compile("gram.cu", 7, 5);
        string cached = Assert.Single(Directory.GetFiles(cache, "gram-*.cubin"));
        Assert.Equal(first, File.ReadAllBytes(cached));

        // A marker in the cache file comes back unchanged: the second call read the cache and did not compile.
        byte[] marker = [1, 2, 3, 4];
        File.WriteAllBytes(cached, marker);
        Assert.Equal(marker, compiler.Compile("gram.cu", 7, 5));

        byte[] other = compiler.Compile("gram.cu", 9, 0);
        Assert.True(CubinFile.Read(other).TargetsSm(90));
        Assert.Equal(2, Directory.GetFiles(cache, "gram-*.cubin").Length);
    }

    [SkippableFact]
    public void A_compile_error_carries_the_failing_call_and_nvrtcs_log()
    {
        const string source = "extern \"C\" __global__ void broken(float* a) { a[0] = not_declared_anywhere; }";
        var error = Assert.Throws<NvrtcException>(() => Api().CompileToCubin(source, "broken.cu", new Dictionary<string, string>(), ["--gpu-architecture=sm_75"]));
        Assert.Contains("nvrtcCompileProgram(broken.cu, --gpu-architecture=sm_75)", error.Message, StringComparison.Ordinal);
        Assert.Contains("NVRTC_ERROR_COMPILATION", error.Message, StringComparison.Ordinal);
        Assert.Contains("not_declared_anywhere", error.Log, StringComparison.Ordinal);
        Assert.Contains(error.Log, error.Message, StringComparison.Ordinal);
    }

    private static NvrtcApi Api()
    {
        Skip.If(Nvrtc.Value.Api is null, Nvrtc.Value.Problem);
        return Nvrtc.Value.Api!;
    }

    private static string TemporaryFolder() => Directory.CreateTempSubdirectory("neuralstyle-nvrtc-").FullName;

    private static (NvrtcApi?, string) Load()
    {
        if (NvidiaDebianLibraries.Unavailable is string problem)
        {
            return (null, problem);
        }

        string folder = NvidiaDebianLibraries.Folder;
        // NVRTC opens its builtins library by name at the first compile; loaded first by path, that name resolves.
        NativeLibrary.Load(Path.Combine(folder, "libnvrtc-builtins.so.11.8"));
        return (new NvrtcApi(NativeLibraryLoader.Load("NVRTC", [Path.Combine(folder, "libnvrtc.so.11.2")], "Run tools/install-deps.sh.")), "");
    }
}
