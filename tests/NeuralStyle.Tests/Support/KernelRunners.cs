using NeuralStyle.Cuda;

namespace NeuralStyle.Tests.Support;

/// <summary>
/// Runs the CUDA kernels on host arrays, so one test suite checks them twice: on the CPU through the emulation
/// harness, and on a real GPU (Category=Cuda) through <see cref="CudaKernels"/>.
/// </summary>
public interface IKernelRunner
{
    /// <summary>Why this runner cannot run here, or null.</summary>
    string? Unavailable { get; }

    /// <summary>G = scale·F·Fᵀ per item, the positions in slices where <paramref name="workspaceFloats"/> allow (<see cref="LaunchConfig.Gram"/>).</summary>
    void Gram(float[] features, float[] gram, int channels, int positions, int items, float scale, long workspaceFloats = 0);

    void StyleGradient(float[] gram, float[] target, float[] features, float[] gradient, int channels, int positions, int items, float k, bool accumulate);

    void ContentGradient(float[] features, float[] target, float[] gradient, int count, int items, float k, bool accumulate);

    /// <summary>scale·Σ (a[n] − t)² per item.</summary>
    double[] SumSquaredDifference(float[] a, float[] target, int count, int items, double scale);

    /// <summary>Adds weight·∂TV/∂x to gradient; returns weight·TV per item.</summary>
    double[] TotalVariation(float[] image, float[] gradient, int channels, int height, int width, int items, double weight);

    /// <summary>Runs <paramref name="steps"/> Adam steps with the given gradients from the items' step counts <paramref name="firstSteps"/>; returns the step counts.</summary>
    int[] Adam(float[] image, float[] m, float[] v, Func<int, float[]> gradientAt, float[] rates, byte[] active, int[] firstSteps, int length, int steps);
}

/// <summary>The kernels on the CPU, through kernels/emulation.</summary>
public sealed unsafe class EmulatedRunner : IKernelRunner
{
    public string? Unavailable => EmulatedKernels.Unavailable;

    public void Gram(float[] features, float[] gram, int channels, int positions, int items, float scale, long workspaceFloats = 0)
    {
        GramLaunch launch = LaunchConfig.Gram(channels, positions, items, workspaceFloats);
        var workspace = new float[launch.WorkspaceFloats(channels, items)];
        fixed (float* f = features, g = gram, w = workspace)
        {
            if (launch.Slices == 1)
            {
                EmulatedKernels.Gram(launch.Partial, f, g, channels, positions, launch.SlicePositions, 1, scale);
                return;
            }

            EmulatedKernels.Gram(launch.Partial, f, w, channels, positions, launch.SlicePositions, launch.Slices, 1f);
            EmulatedKernels.GramSumSlices(launch.Sum, w, g, channels * channels, launch.Slices, scale);
        }
    }

    public void StyleGradient(float[] gram, float[] target, float[] features, float[] gradient, int channels, int positions, int items, float k, bool accumulate)
    {
        fixed (float* g = gram, a = target, f = features, d = gradient)
        {
            EmulatedKernels.StyleGrad(LaunchConfig.StyleGradient(channels, positions, items), g, a, f, d, channels, positions, k, accumulate ? 1 : 0);
        }
    }

    public void ContentGradient(float[] features, float[] target, float[] gradient, int count, int items, float k, bool accumulate)
    {
        fixed (float* f = features, p = target, d = gradient)
        {
            EmulatedKernels.ContentGrad(LaunchConfig.For1D(count, items), f, p, d, count, k, accumulate ? 1 : 0);
        }
    }

    public double[] SumSquaredDifference(float[] a, float[] target, int count, int items, double scale)
    {
        LaunchConfig first = LaunchConfig.Partials(count, items);
        var partials = new float[items * first.GridX];
        var sums = new double[items];
        fixed (float* pa = a, pt = target, pp = partials)
        fixed (double* ps = sums)
        {
            EmulatedKernels.SquaredDifferencePartials(first, pa, pt, pp, count);
            EmulatedKernels.SumPartials(LaunchConfig.PerItem(items), pp, ps, (int)first.GridX, scale);
        }

        return sums;
    }

    public double[] TotalVariation(float[] image, float[] gradient, int channels, int height, int width, int items, double weight)
    {
        LaunchConfig first = LaunchConfig.For1D((long)channels * height * width, items);
        var partials = new float[items * first.GridX];
        var tv = new double[items];
        fixed (float* x = image, g = gradient, p = partials)
        fixed (double* t = tv)
        {
            EmulatedKernels.TotalVariation(first, x, g, p, channels, height, width, (float)weight);
            EmulatedKernels.SumPartials(LaunchConfig.PerItem(items), p, t, (int)first.GridX, weight);
        }

        return tv;
    }

    public int[] Adam(float[] image, float[] m, float[] v, Func<int, float[]> gradientAt, float[] rates, byte[] active, int[] firstSteps, int length, int steps)
    {
        int items = rates.Length;
        int[] counts = (int[])firstSteps.Clone();
        var stepSize = new float[items];
        var root = new float[items];
        for (int t = 1; t <= steps; t++)
        {
            float[] g = gradientAt(t);
            fixed (float* px = image, pm = m, pv = v, pg = g, pr = rates, ps = stepSize, pro = root)
            fixed (byte* pa = active)
            fixed (int* pc = counts)
            {
                EmulatedKernels.AdamPrepare(LaunchConfig.For1D(items), pr, pa, pc, ps, pro, items, 0.9, 0.999);
                EmulatedKernels.AdamUpdate(LaunchConfig.For1D(length, items), px, pm, pv, pg, pa, ps, pro, length, 0.9, 0.999, 1e-8f);
            }
        }

        return counts;
    }
}

/// <summary>
/// The kernels on device 0 through <see cref="CudaKernels"/>: upload, launch, download. On the GPU by default; on
/// the emulated driver when given its opener.
/// </summary>
public sealed class CudaRunner : IKernelRunner, IDisposable
{
    private readonly Lazy<(CudaDevice Device, CudaKernels Kernels)> _gpu;
    private readonly Func<string?> _unavailable;

    public CudaRunner()
        : this(CudaDevice.Open, () => CudaRuntime.IsAvailable ? null : $"No CUDA device: {CudaRuntime.Current.Reason}", kernelCache: null)
    {
    }

    /// <param name="open">Opens the device, at the first launch.</param>
    /// <param name="unavailable">Why the device cannot be opened here, or null.</param>
    /// <param name="kernelCache">Where compiled kernels are cached; null for the user's cache.</param>
    internal CudaRunner(Func<CudaDevice> open, Func<string?> unavailable, string? kernelCache)
    {
        _unavailable = unavailable;
        _gpu = new(() =>
        {
            CudaDevice device = open();
            return (device, new CudaKernels(device, kernelCache));
        });
    }

    public string? Unavailable => _unavailable();

    private CudaDevice Device => _gpu.Value.Device;

    private CudaKernels Kernels => _gpu.Value.Kernels;

    public void Gram(float[] features, float[] gram, int channels, int positions, int items, float scale, long workspaceFloats = 0)
    {
        using DeviceBuffer f = Upload(features), g = Upload(gram);
        using DeviceBuffer? workspace = workspaceFloats > 0 ? Device.AllocateFloats(workspaceFloats) : null;
        Kernels.Gram(f, g, channels, positions, items, scale, workspace);
        Device.Download<float>(g, gram);
    }

    public void StyleGradient(float[] gram, float[] target, float[] features, float[] gradient, int channels, int positions, int items, float k, bool accumulate)
    {
        using DeviceBuffer g = Upload(gram), a = Upload(target), f = Upload(features), d = Upload(gradient);
        Kernels.StyleGradient(g, a, f, d, channels, positions, items, k, accumulate);
        Device.Download<float>(d, gradient);
    }

    public void ContentGradient(float[] features, float[] target, float[] gradient, int count, int items, float k, bool accumulate)
    {
        using DeviceBuffer f = Upload(features), p = Upload(target), d = Upload(gradient);
        Kernels.ContentGradient(f, p, d, count, items, k, accumulate);
        Device.Download<float>(d, gradient);
    }

    public double[] SumSquaredDifference(float[] a, float[] target, int count, int items, double scale)
    {
        using DeviceBuffer da = Upload(a), dt = Upload(target), partials = Device.AllocateFloats(items * LaunchConfig.Partials(count, items).GridX), output = Device.AllocateDoubles(items);
        Kernels.SumSquaredDifference(da, dt, partials, output, count, items, scale);
        var sums = new double[items];
        Device.Download<double>(output, sums);
        return sums;
    }

    public double[] TotalVariation(float[] image, float[] gradient, int channels, int height, int width, int items, double weight)
    {
        using DeviceBuffer x = Upload(image), g = Upload(gradient), partials = Device.AllocateFloats(items * LaunchConfig.For1D((long)channels * height * width, items).GridX), output = Device.AllocateDoubles(items);
        Kernels.TotalVariation(x, g, partials, output, channels, height, width, items, weight);
        Device.Download<float>(g, gradient);
        var tv = new double[items];
        Device.Download<double>(output, tv);
        return tv;
    }

    public int[] Adam(float[] image, float[] m, float[] v, Func<int, float[]> gradientAt, float[] rates, byte[] active, int[] firstSteps, int length, int steps)
    {
        using DeviceBuffer x = Upload(image), dm = Upload(m), dv = Upload(v), g = Device.AllocateFloats(image.Length);
        using var state = new AdamBuffers(Device, rates.Select(r => (double)r).ToArray());
        Device.Upload<byte>(active, state.Active);
        for (int n = 0; n < firstSteps.Length; n++)
        {
            state.SetSteps(n, firstSteps[n]); // item by item, as a revert sets them
        }

        for (int t = 1; t <= steps; t++)
        {
            Device.Upload<float>(gradientAt(t), g);
            Kernels.Adam(state, x, dm, dv, g, length, rates.Length, 0.9, 0.999, 1e-8f);
        }

        Device.Download<float>(x, image);
        Device.Download<float>(dm, m);
        Device.Download<float>(dv, v);
        var counts = new int[rates.Length];
        Device.Download<int>(state.Steps, counts);
        return counts;
    }

    public void Dispose()
    {
        if (_gpu.IsValueCreated)
        {
            _gpu.Value.Kernels.Dispose();
            _gpu.Value.Device.Dispose();
        }
    }

    private DeviceBuffer Upload(float[] values)
    {
        DeviceBuffer buffer = Device.AllocateFloats(values.Length);
        Device.Upload<float>(values, buffer);
        return buffer;
    }
}
