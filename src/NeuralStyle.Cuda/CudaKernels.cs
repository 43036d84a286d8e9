namespace NeuralStyle.Cuda;

/// <summary>
/// One typed launcher per kernel of kernels/*.cu: geometry from <see cref="LaunchConfig"/>, arguments in the order
/// and of the types the .cu file declares them (the NVRTC tests compare them with each compiled kernel's parameter
/// table). Owns its <see cref="KernelModules"/>; valid while its <see cref="CudaDevice"/> lives.
/// </summary>
public sealed class CudaKernels : IDisposable
{
    private readonly IKernelLauncher _launcher;

    /// <summary>Compiles (or loads from the cache) every kernel file for <paramref name="device"/>.</summary>
    public CudaKernels(CudaDevice device, string? cacheFolder = null)
        : this(new KernelModules(device ?? throw new ArgumentNullException(nameof(device)), cacheFolder))
    {
    }

    /// <summary>Launches through <paramref name="launcher"/> (tests record the launches instead).</summary>
    internal CudaKernels(IKernelLauncher launcher) => _launcher = launcher;

    /// <summary>
    /// The most Gram workspace the backend and the benchmark give <see cref="Gram"/>, in floats (16 MB): room for
    /// <see cref="LaunchConfig.GramTargetBlocks"/> slices of a 64-channel Gram, 16 of a 512-channel one. They allocate
    /// only what a shape's slices use (<see cref="GramWorkspaceNeeded"/>).
    /// </summary>
    public const long GramWorkspaceFloats = 1 << 22;

    /// <summary>Floats of workspace <see cref="Gram"/> uses for this shape when given up to <see cref="GramWorkspaceFloats"/>: 0 where it needs no slices.</summary>
    public static long GramWorkspaceNeeded(int channels, int positions, int items) =>
        LaunchConfig.Gram(channels, positions, items, GramWorkspaceFloats).WorkspaceFloats(channels, items);

    /// <summary>A workspace of <paramref name="floats"/> on <paramref name="device"/>, or null for none.</summary>
    public static DeviceBuffer? AllocateWorkspace(CudaDevice device, long floats) => floats > 0 ? device.AllocateFloats(floats) : null;

    /// <summary>
    /// G = scale·F·Fᵀ per item (gram.cu). With a <paramref name="workspace"/> the positions are cut into slices summed
    /// apart, which thin layers over many positions need to fill the GPU; it is the caller's scratch memory, free
    /// between launches on this stream.
    /// </summary>
    public void Gram(DeviceBuffer features, DeviceBuffer gram, int channels, int positions, int items, float scale, DeviceBuffer? workspace = null)
    {
        GramLaunch launch = LaunchConfig.Gram(channels, positions, items, (long)((workspace?.Bytes ?? 0) / sizeof(float)));
        if (launch.Slices == 1)
        {
            Launch("gram_forward", launch.Partial, features.Address, gram.Address, channels, positions, launch.SlicePositions, 1, scale);
            return;
        }

        Launch("gram_forward", launch.Partial, features.Address, workspace!.Address, channels, positions, launch.SlicePositions, launch.Slices, 1f);
        Launch("gram_sum_slices", launch.Sum, workspace.Address, gram.Address, channels * channels, launch.Slices, scale);
    }

    /// <summary>dF (+)= k·(G − A)·F per item (style_grad.cu).</summary>
    public void StyleGradient(DeviceBuffer gram, DeviceBuffer target, DeviceBuffer features, DeviceBuffer gradient, int channels, int positions, int items, float k, bool accumulate) =>
        Launch("style_grad_backward", LaunchConfig.StyleGradient(channels, positions, items), gram.Address, target.Address, features.Address, gradient.Address, channels, positions, k, accumulate ? 1 : 0);

    /// <summary>dF (+)= k·(F − P) per item (content_grad.cu).</summary>
    public void ContentGradient(DeviceBuffer features, DeviceBuffer target, DeviceBuffer gradient, int count, int items, float k, bool accumulate) =>
        Launch("content_grad_backward", LaunchConfig.For1D(count, items), features.Address, target.Address, gradient.Address, count, k, accumulate ? 1 : 0);

    /// <summary>
    /// out[first + n] = scale·Σ (a[n,i] − t[i])² in two deterministic passes (reduce.cu); <paramref name="partials"/>
    /// needs Partials(count, items).GridX × items floats, <paramref name="output"/> a double per item from
    /// <paramref name="firstOutput"/> (so several reductions can fill one buffer that the host reads at once).
    /// </summary>
    public void SumSquaredDifference(DeviceBuffer a, DeviceBuffer target, DeviceBuffer partials, DeviceBuffer output, int count, int items, double scale, int firstOutput = 0)
    {
        LaunchConfig first = LaunchConfig.Partials(count, items);
        RequirePartials(partials, first, items);
        ulong sums = OutputAddress(output, firstOutput, items);
        Launch("squared_difference_partials", first, a.Address, target.Address, partials.Address, count);
        Launch("sum_partials", LaunchConfig.PerItem(items), partials.Address, sums, (int)first.GridX, scale);
    }

    /// <summary>
    /// grad += w·∂TV/∂x and out[first + n] = w·TV(x[n]) (tv.cu, reduce.cu); <paramref name="output"/> holds a double
    /// per item from <paramref name="firstOutput"/>.
    /// </summary>
    public void TotalVariation(DeviceBuffer image, DeviceBuffer gradient, DeviceBuffer partials, DeviceBuffer output, int channels, int height, int width, int items, double weight, int firstOutput = 0)
    {
        LaunchConfig first = LaunchConfig.For1D((long)channels * height * width, items);
        RequirePartials(partials, first, items);
        ulong sums = OutputAddress(output, firstOutput, items);
        Launch("tv_forward_backward", first, image.Address, gradient.Address, partials.Address, channels, height, width, (float)weight);
        Launch("sum_partials", LaunchConfig.PerItem(items), partials.Address, sums, (int)first.GridX, weight);
    }

    /// <summary>Where a reduction writes its first item's double, refused (before anything is launched) unless every item's fits in <paramref name="output"/>.</summary>
    private static ulong OutputAddress(DeviceBuffer output, int firstOutput, int items)
    {
        if (firstOutput < 0 || output.Bytes < ((ulong)firstOutput + (ulong)items) * sizeof(double))
        {
            throw new ArgumentException($"The output buffer holds {output.Bytes / sizeof(double)} doubles; a reduction of {items} items cannot write doubles {firstOutput}..{firstOutput + items - 1}.", nameof(output));
        }

        return output.Address + ((ulong)firstOutput * sizeof(double));
    }

    /// <summary>
    /// A reduction's first pass writes one float per block and item: a partials buffer smaller than that is written past
    /// its end on the device, silently or as CUDA_ERROR_ILLEGAL_ADDRESS later, so it is refused here.
    /// </summary>
    private static void RequirePartials(DeviceBuffer partials, LaunchConfig first, int items)
    {
        ulong needed = (ulong)first.GridX * (ulong)items * sizeof(float);
        if (partials.Bytes < needed)
        {
            throw new ArgumentException($"The partials buffer holds {partials.Bytes} bytes; this reduction's {first.GridX} blocks × {items} items need {needed}.", nameof(partials));
        }
    }

    /// <summary>One Adam step for the active items (adam.cu); the step counts live on the device, the β powers follow from them.</summary>
    public void Adam(AdamBuffers state, DeviceBuffer image, DeviceBuffer m, DeviceBuffer v, DeviceBuffer gradient, int length, int items, double beta1, double beta2, float epsilon)
    {
        ArgumentNullException.ThrowIfNull(state);
        Launch("adam_prepare", LaunchConfig.For1D(items), state.LearningRates.Address, state.Active.Address, state.Steps.Address,
            state.StepSize.Address, state.Root.Address, items, beta1, beta2);
        Launch("adam_update", LaunchConfig.For1D(length, items), image.Address, m.Address, v.Address, gradient.Address, state.Active.Address,
            state.StepSize.Address, state.Root.Address, length, (float)beta1, (float)(1 - beta1), (float)beta2, (float)(1 - beta2), epsilon);
    }

    /// <summary>Frees the modules.</summary>
    public void Dispose() => (_launcher as IDisposable)?.Dispose();

    private void Launch(string kernel, LaunchConfig config, params ReadOnlySpan<KernelArgument> arguments) => _launcher.Launch(kernel, config, arguments);
}

/// <summary>Device-side Adam bookkeeping for a batch: rates, active mask, step counts, per-step factors. Owns its buffers.</summary>
public sealed class AdamBuffers : IDisposable
{
    private readonly CudaDevice _device;

    /// <summary>Allocates the buffers for one item per learning rate and uploads the rates; steps 0, all active.</summary>
    public AdamBuffers(CudaDevice device, IReadOnlyList<double> learningRates)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(learningRates);
        _device = device;
        int n = learningRates.Count;
        try
        {
            LearningRates = device.AllocateFloats(n);
            Active = device.Allocate((ulong)n);
            Steps = device.Allocate((ulong)n * sizeof(int));
            StepSize = device.AllocateFloats(n);
            Root = device.AllocateFloats(n);
            device.Upload<float>(learningRates.Select(r => (float)r).ToArray(), LearningRates);
            device.Fill(Active, 0, 1, (ulong)n);
            device.FillWords(Steps, 0, 0, (ulong)n);
        }
        catch
        {
            Dispose(); // the buffers allocated before the failure
            throw;
        }
    }

    /// <summary>float[N].</summary>
    public DeviceBuffer LearningRates { get; }

    /// <summary>byte[N]: 1 updates the item this step.</summary>
    public DeviceBuffer Active { get; }

    /// <summary>int[N]: updates applied so far, all Adam keeps besides the moments (βᵗ follows from it).</summary>
    public DeviceBuffer Steps { get; }

    /// <summary>float[N]: lr/(1−β1ᵗ) of the current step.</summary>
    public DeviceBuffer StepSize { get; }

    /// <summary>float[N]: √(1−β2ᵗ) of the current step.</summary>
    public DeviceBuffer Root { get; }

    /// <summary>Sets every item's step count, as a start or a resume does: an upload, which waits for the stream.</summary>
    public void UploadSteps(ReadOnlySpan<int> steps) => _device.Upload(steps, Steps);

    /// <summary>Sets item <paramref name="item"/>'s step count, as a revert does: a fill, whose value travels in the call, so nothing waits.</summary>
    public void SetSteps(int item, int steps) => _device.FillWords(Steps, (ulong)item, (uint)steps, 1);

    /// <summary>Frees every buffer.</summary>
    public void Dispose()
    {
        foreach (DeviceBuffer? b in new[] { LearningRates, Active, Steps, StepSize, Root })
        {
            b?.Dispose(); // null after a failed construction
        }
    }
}
