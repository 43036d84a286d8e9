namespace NeuralStyle.Cuda;

/// <summary>Launches one kernel by name with its arguments in declaration order.</summary>
internal interface IKernelLauncher
{
    void Launch(string kernel, LaunchConfig config, ReadOnlySpan<KernelArgument> arguments);
}

/// <summary>
/// The kernels of kernels/*.cu compiled for one device (NVRTC, disk-cached) and loaded as modules; launches them on
/// the device's stream, the launch status checked right after the launch. Owns the modules; valid while its
/// <see cref="CudaDevice"/> lives.
/// </summary>
internal sealed unsafe class KernelModules : IKernelLauncher, IDisposable
{
    private readonly CudaDevice _device;
    private readonly List<IntPtr> _modules = [];
    private readonly Dictionary<string, IntPtr> _functions = [];

    public KernelModules(CudaDevice device, string? cacheFolder)
    {
        _device = device;
        var compiler = new KernelCompiler(device.Nvrtc, cacheFolder);
        var (major, minor) = device.ComputeCapability;
        try
        {
            foreach (string file in KernelCompiler.SourceFiles)
            {
                IntPtr module = Load(compiler, file, major, minor);
                _modules.Add(module);
                foreach (string name in KernelNames(file))
                {
                    _functions[name] = device.DriverForThisThread().Function(module, name);
                }
            }
        }
        catch
        {
            Dispose(); // the modules loaded before the failure
            throw;
        }
    }

    /// <summary>
    /// Loads <paramref name="file"/>'s module. A CUBIN the driver refuses is compiled again once and replaces the cache
    /// entry: a damaged entry would otherwise fail every start until someone deleted the cache. (A CUBIN just compiled
    /// and refused is compiled a second time before the error, which costs seconds on a path that ends in an error.)
    /// </summary>
    private IntPtr Load(KernelCompiler compiler, string file, int major, int minor)
    {
        try
        {
            return _device.DriverForThisThread().LoadModule(compiler.Compile(file, major, minor));
        }
        catch (CudaException)
        {
            return _device.DriverForThisThread().LoadModule(compiler.Compile(file, major, minor, recompile: true));
        }
    }

    /// <summary>The entry points of <paramref name="file"/>, each looked up when its module loads.</summary>
    public static string[] KernelNames(string file) => file switch
    {
        "gram.cu" => ["gram_forward", "gram_sum_slices"],
        "style_grad.cu" => ["style_grad_backward"],
        "content_grad.cu" => ["content_grad_backward"],
        "reduce.cu" => ["squared_difference_partials", "sum_partials"],
        "tv.cu" => ["tv_forward_backward"],
        "adam.cu" => ["adam_prepare", "adam_update"],
        "convert.cu" => ["rgb8_to_planes", "planes_to_rgb8"],
        _ => throw new ArgumentException($"No kernel list for {file}.", nameof(file)),
    };

    /// <summary>cuLaunchKernel wants an array of pointers to each argument's value; each points into the caller's span.</summary>
    public void Launch(string kernel, LaunchConfig config, ReadOnlySpan<KernelArgument> arguments)
    {
        void** pointers = stackalloc void*[arguments.Length];
        fixed (KernelArgument* first = arguments)
        {
            for (int i = 0; i < arguments.Length; i++)
            {
                pointers[i] = first + i; // the value is the argument's first field
            }

            _device.DriverForThisThread().Launch(_functions[kernel], config, _device.Stream, pointers, kernel);
        }
    }

    /// <summary>Frees the modules.</summary>
    public void Dispose()
    {
        foreach (IntPtr module in _modules)
        {
            _ = _device.DriverForRelease().UnloadModule(module);
        }

        _modules.Clear();
    }
}
