using NeuralStyle.Cuda.Interop;

namespace NeuralStyle.Cuda;

/// <summary>
/// Where <see cref="CudaBackend"/> and <see cref="CudaKernelBenchmark"/> get their device, cuBLAS and kernel cache, and
/// which ONNX Runtime provider runs the backend's graphs. <see cref="Gpu"/> is the real thing. Tests substitute the
/// emulated driver, whose device memory is host memory, and run the graphs on the CPU provider bound to the same
/// buffers (<see cref="GraphsOnHost"/>), so that the loop's bindings, kernels and bookkeeping are checked without a
/// GPU; only a GPU checks the CUDA provider itself.
/// </summary>
/// <param name="OpenDevice">Opens device 0.</param>
/// <param name="LoadCublas">Loads cuBLAS; throws <see cref="CudaLibraryException"/> where it is missing.</param>
/// <param name="KernelCache">Where compiled kernels are cached; null for the user's cache.</param>
/// <param name="GraphsOnHost">Runs the graphs on the CPU provider; only valid where device addresses are host addresses.</param>
internal sealed record CudaSetup(Func<CudaDevice> OpenDevice, Func<CublasApi> LoadCublas, string? KernelCache, bool GraphsOnHost)
{
    /// <summary>Device 0 of the installed driver, the installed cuBLAS, the user's kernel cache, the CUDA provider.</summary>
    public static CudaSetup Gpu { get; } = new(CudaDevice.Open, () => CublasApi.Load(), KernelCache: null, GraphsOnHost: false);
}
