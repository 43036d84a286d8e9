using NeuralStyle.Cuda.Interop;

namespace NeuralStyle.Cuda;

/// <summary>Who computes the two matrix products of a style layer.</summary>
public enum StyleProductSource
{
    /// <summary>For each layer and each product, whichever of ours and cuBLAS measured faster on the layer's own buffers at start (the default).</summary>
    Measured,

    /// <summary>Our kernels (gram.cu, style_grad.cu).</summary>
    Ours,

    /// <summary>cuBLAS: strided-batched SGEMM for the Gram matrix; for the gradient, G ← G − A by SAXPY, then one SGEMM.</summary>
    Cublas,
}

/// <summary>
/// The products of one style layer, per item n: the Gram matrix G[n] = s·F[n]·F[n]ᵀ and the gradient
/// dF[n] = k·(G[n] − A)·F[n] (A, the target, is shared by the batch). Each runs on our kernel or on cuBLAS, chosen
/// once when the loop is built. cuBLAS has no fused difference, so its gradient first overwrites G with G − A:
/// the loss has already read G by then and nothing reads it after, and the product sees the same float difference
/// as ours (subtracting two GEMMs, k·G·F − k·A·F, would cancel badly as G approaches A).
/// </summary>
internal sealed class StyleProducts
{
    private const int TimedRuns = 5;

    /// <summary>cuBLAS is taken only when at least this much faster: a tie keeps our kernels, whose numerics the CPU checks cover.</summary>
    internal const double CublasMargin = 0.95;

    private readonly CudaKernels _kernels;
    private readonly CublasApi? _cublas;
    private readonly IntPtr _handle;
    private readonly DeviceBuffer _features, _gram, _target, _gradient;
    private readonly DeviceBuffer? _gramWorkspace;
    private readonly int _channels, _positions, _items;

    /// <summary>The products of one layer over its buffers; <paramref name="gramWorkspace"/> is scratch our Gram kernel may cut the positions into.</summary>
    public StyleProducts(CudaKernels kernels, CublasApi? cublas, IntPtr handle, DeviceBuffer features, DeviceBuffer gram, DeviceBuffer target, DeviceBuffer gradient,
        DeviceBuffer? gramWorkspace, int channels, int positions, int items)
    {
        _kernels = kernels;
        _cublas = cublas;
        _handle = handle;
        (_features, _gram, _target, _gradient, _gramWorkspace) = (features, gram, target, gradient, gramWorkspace);
        (_channels, _positions, _items) = (channels, positions, items);
    }

    /// <summary>Whether the Gram matrix goes to cuBLAS.</summary>
    public bool GramOnCublas { get; private set; }

    /// <summary>Whether the gradient goes to cuBLAS.</summary>
    public bool GradientOnCublas { get; private set; }

    /// <summary>Whether cuBLAS should replace ours, given both median times.</summary>
    internal static bool PreferCublas(double oursMs, double cublasMs) => cublasMs < oursMs * CublasMargin;

    /// <summary>Sets where each product runs: forced by <paramref name="source"/>, or timed on this layer's buffers with <paramref name="timer"/>.</summary>
    public void Choose(StyleProductSource source, Func<Action, double> timer)
    {
        ArgumentNullException.ThrowIfNull(timer);
        if (_cublas is null || source == StyleProductSource.Ours)
        {
            GramOnCublas = GradientOnCublas = false;
            return;
        }

        if (source == StyleProductSource.Cublas)
        {
            GramOnCublas = GradientOnCublas = true;
            return;
        }

        // Timing runs write the layer's own buffers, which hold nothing yet: the loop has not started.
        GramOnCublas = PreferCublas(Median(timer, () => GramOurs(1f)), Median(timer, () => GramCublas(1f)));
        GradientOnCublas = PreferCublas(Median(timer, () => GradientOurs(1f)), Median(timer, () => GradientCublas(1f)));
    }

    /// <summary>G = <paramref name="scale"/>·F·Fᵀ per item.</summary>
    public void Gram(float scale)
    {
        if (GramOnCublas)
        {
            GramCublas(scale);
        }
        else
        {
            GramOurs(scale);
        }
    }

    /// <summary>dF = <paramref name="k"/>·(G − A)·F per item; afterwards G holds G − A when the gradient ran on cuBLAS.</summary>
    public void Gradient(float k)
    {
        if (GradientOnCublas)
        {
            GradientCublas(k);
        }
        else
        {
            GradientOurs(k);
        }
    }

    /// <summary>"ours" / "cuBLAS" for each product, for the device line.</summary>
    public string Describe() => $"Gram {Name(GramOnCublas)}, gradient {Name(GradientOnCublas)}";

    private static string Name(bool cublas) => cublas ? "cuBLAS" : "ours";

    private static double Median(Func<Action, double> timer, Action run)
    {
        run(); // warm-up: cuBLAS picks its kernel on the first call of a shape
        double[] times = Enumerable.Range(0, TimedRuns).Select(_ => timer(run)).Order().ToArray();
        return times[TimedRuns / 2];
    }

    private void GramOurs(float scale) => _kernels.Gram(_features, _gram, _channels, _positions, _items, scale, _gramWorkspace);

    private void GramCublas(float scale)
    {
        int c = _channels, m = _positions;
        _cublas!.GemmBatchedRowMajor(_handle, false, true, c, c, m, scale, _features.Address, m, (long)c * m, _features.Address, m, (long)c * m, 0f, _gram.Address, c, (long)c * c, _items);
    }

    private void GradientOurs(float k) => _kernels.StyleGradient(_gram, _target, _features, _gradient, _channels, _positions, _items, k, accumulate: false);

    private void GradientCublas(float k)
    {
        int c = _channels, m = _positions;
        ulong gramBytes = (ulong)c * (ulong)c * sizeof(float);
        for (int n = 0; n < _items; n++)
        {
            _cublas!.Axpy(_handle, c * c, -1f, _target.Address, _gram.Address + ((ulong)n * gramBytes));
        }

        _cublas!.GemmBatchedRowMajor(_handle, false, false, c, m, c, k, _gram.Address, c, (long)c * c, _features.Address, m, (long)c * m, 0f, _gradient.Address, m, (long)c * m, _items);
    }
}
