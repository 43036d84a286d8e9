using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using NeuralStyle.Cuda;
using NeuralStyle.Cuda.Interop;
using NeuralStyle.Tests.Support;
using Xunit.Abstractions;

namespace NeuralStyle.Tests;

/// <summary>
/// Every kernel through NVIDIA's own compiler without a GPU: NVRTC 12.4 (Debian non-free, unpacked under
/// out/nvidia-debian by tools/install-deps.sh) driven by our binding and <see cref="KernelCompiler"/>, exactly as the
/// CUDA backend drives NVRTC 13 on a device. What NVRTC accepts here, clang's PTX check does not prove: NVRTC's own
/// dialect, our options, the embedded header, the CUBIN the driver will load and the entry points it must hold.
/// </summary>
public sealed partial class NvrtcCompileTests(ITestOutputHelper output) : TemporaryFolderTest
{
    private static readonly Lazy<(NvrtcApi? Api, string Problem)> Nvrtc = new(Load);

    [SkippableTheory]
    [InlineData(7, 5)]
    [InlineData(9, 0)]
    public void Every_kernel_compiles_to_a_cubin_holding_the_entry_points_its_launchers_use(int major, int minor)
    {
        var compiler = new KernelCompiler(Api(), Folder);
        foreach (string file in KernelCompiler.SourceFiles)
        {
            CubinFile cubin = CubinFile.Read(compiler.Compile(file, major, minor));
            Assert.Equal(CubinFile.CudaMachine, cubin.Machine);
            Assert.True(cubin.TargetsSm(major * 10 + minor), $"{file}: ELF flags 0x{cubin.Flags:x} do not name sm_{major}{minor}");
            foreach (string kernel in KernelModules.KernelNames(file))
            {
                Assert.Contains(kernel, cubin.Functions);
                // Static shared memory above 48 KiB needs an opt-in the launchers do not make.
                long shared = cubin.SharedBytes.GetValueOrDefault(kernel);
                Assert.True(shared <= 48 * 1024, $"{kernel}: {shared} bytes of shared memory");
            }
        }
    }

    [SkippableTheory]
    [InlineData(7, 5)]
    [InlineData(9, 0)]
    public void No_kernel_spills_registers_and_a_product_block_leaves_room_for_a_second(int major, int minor)
    {
        // ptxas's own report (--ptxas-options=-v) for every entry point. A spill puts values in local memory, which the
        // register-tiled products exist to avoid; above 128 registers a 256-thread product block would have a
        // multiprocessor's 65,536 registers to itself.
        var reported = new Dictionary<string, (int StackFrame, int SpillStores, int SpillLoads, int Registers)>();
        foreach (string file in KernelCompiler.SourceFiles)
        {
            var headers = new Dictionary<string, string> { [KernelCompiler.Header] = KernelCompiler.Source(KernelCompiler.Header) };
            Api().CompileToCubin(KernelCompiler.Source(file), file, headers, [.. KernelCompiler.Options(major, minor), "--ptxas-options=-v"], out string log);
            foreach (Match m in PtxasReport().Matches(log))
            {
                reported[m.Groups["kernel"].Value] = (Number(m, "frame"), Number(m, "stores"), Number(m, "loads"), Number(m, "registers"));
            }
        }

        foreach (string kernel in KernelCompiler.SourceFiles.SelectMany(KernelModules.KernelNames))
        {
            Assert.True(reported.TryGetValue(kernel, out var r), $"ptxas reported nothing for {kernel}");
            Assert.True(r.StackFrame == 0 && r.SpillStores == 0 && r.SpillLoads == 0, $"{kernel} on sm_{major}{minor}: {r}");
        }

        foreach (string kernel in new[] { "gram_forward", "style_grad_backward" })
        {
            output.WriteLine($"{kernel} on sm_{major}{minor}: {reported[kernel].Registers} registers a thread");
        }

        Assert.InRange(reported["gram_forward"].Registers, 1, 128);
        Assert.InRange(reported["style_grad_backward"].Registers, 1, 128);
    }

    [SkippableFact]
    public void Every_launcher_passes_as_many_arguments_of_the_sizes_its_compiled_kernel_declares()
    {
        var compiler = new KernelCompiler(Api(), Folder);
        Dictionary<string, int[]> declared = KernelCompiler.SourceFiles
            .SelectMany(file => CubinFile.Read(compiler.Compile(file, 9, 0)).ParameterSizes)
            .ToDictionary(p => p.Key, p => p.Value);

        // Every launcher once, recorded instead of launched; the buffers are placeholders that own no memory.
        var launches = new LaunchRecorder();
        var kernels = new CudaKernels(launches);
        DeviceBuffer b = Placeholder<DeviceBuffer>();
        // Large enough for the launchers' own size checks (a reduction's partials); it is never dereferenced.
        typeof(DeviceBuffer).GetField("<Bytes>k__BackingField", BindingFlags.Instance | BindingFlags.NonPublic)!.SetValue(b, 1UL << 20);
        AdamBuffers adam = Placeholder<AdamBuffers>();
        foreach (FieldInfo field in typeof(AdamBuffers).GetFields(BindingFlags.Instance | BindingFlags.NonPublic).Where(f => f.FieldType == typeof(DeviceBuffer)))
        {
            field.SetValue(adam, b);
        }

        kernels.Gram(b, b, 3, 5, 1, 1f);
        kernels.Gram(b, b, 3, 5000, 1, 1f, workspace: b); // in slices: gram_forward, then gram_sum_slices
        kernels.StyleGradient(b, b, b, b, 3, 5, 1, 1f, accumulate: true);
        kernels.ContentGradient(b, b, b, 10, 1, 1f, accumulate: false);
        kernels.SumSquaredDifference(b, b, b, b, 10, 1, 1f);
        kernels.TotalVariation(b, b, b, b, 3, 4, 5, 1, 1f);
        kernels.Adam(adam, b, b, b, b, 10, 1, 0.9, 0.999, 1e-8f);

        foreach (var (kernel, arguments) in launches.Launches)
        {
            int[] passed = arguments.Select(a => a.Size).ToArray();
            Assert.True(declared[kernel].SequenceEqual(passed), $"{kernel}: declares [{string.Join(", ", declared[kernel])}] bytes, the launcher passes [{string.Join(", ", passed)}]");
        }

        // Every entry point has a launcher, except the image conversions, which the backend does on the host.
        string[] unlaunched = declared.Keys.Except(launches.Launches.Select(l => l.Kernel)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["planes_to_rgb8", "rgb8_to_planes"], unlaunched);
    }

    [SkippableFact]
    public void A_second_compile_comes_from_the_disk_cache_and_another_architecture_compiles_anew()
    {
        string cache = Folder;
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

    private static int Number(Match m, string group) => int.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);

    // ptxas info    : Function properties for gram_forward
    // ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
    // ptxas info    : Used 72 registers, 8448 bytes smem, 388 bytes cmem[0]
    [GeneratedRegex(@"Function properties for (?<kernel>\w+)\s+ptxas\s+\.\s+(?<frame>\d+) bytes stack frame, (?<stores>\d+) bytes spill stores, (?<loads>\d+) bytes spill loads\s+ptxas info\s+: Used (?<registers>\d+) registers")]
    private static partial Regex PtxasReport();

    private static T Placeholder<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors | DynamicallyAccessedMemberTypes.NonPublicConstructors)] T>()
        where T : class => (T)RuntimeHelpers.GetUninitializedObject(typeof(T));

    private static NvrtcApi Api()
    {
        Skip.If(Nvrtc.Value.Api is null, Nvrtc.Value.Problem);
        return Nvrtc.Value.Api!;
    }

    private static (NvrtcApi?, string) Load()
    {
        if (NvidiaDebianLibraries.Unavailable is string problem)
        {
            return (null, problem);
        }

        return (new NvrtcApi(NativeLibraryLoader.Load("NVRTC", [NvidiaDebianLibraries.LoadNvrtc()], "Run tools/install-deps.sh.")), "");
    }

    private sealed class LaunchRecorder : IKernelLauncher
    {
        public List<(string Kernel, KernelArgument[] Arguments)> Launches { get; } = [];

        public void Launch(string kernel, LaunchConfig config, ReadOnlySpan<KernelArgument> arguments) => Launches.Add((kernel, arguments.ToArray()));
    }
}
