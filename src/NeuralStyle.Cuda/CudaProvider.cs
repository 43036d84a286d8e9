using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Runtime;

namespace NeuralStyle.Cuda;

/// <summary>
/// Whether ONNX Runtime's CUDA provider loads in this process. A working driver and GPU are not enough: the provider
/// links CUDA 13's runtime, cuBLAS and cuRAND (<see cref="CudaProviderLibraries"/>), which a machine with another CUDA
/// version lacks; without them the backend cannot run, and --device auto must choose the CPU before it starts.
/// </summary>
public static class CudaProvider
{
    private static readonly Lazy<string?> Problem = new(TryLoad);

    /// <summary>Why the provider does not load, in a sentence that says what to install; null when it loads. Tried once.</summary>
    public static string? LoadProblem => Problem.Value;

    /// <summary>
    /// The sentence for a provider that failed to load with <paramref name="failure"/>: the libraries it links that the
    /// loader cannot find (ONNX Runtime's exception names none of them; its log names only the first), else the
    /// exception's own reason.
    /// </summary>
    public static string Describe(OnnxRuntimeException failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        IReadOnlyList<string> missing = CudaProviderLibraries.Missing(CudaProviderLibraries.Linked);
        if (missing.Count > 0)
        {
            return $"ONNX Runtime's CUDA provider does not load: the loader cannot find {string.Join(", ", missing)} ({CudaProviderLibraries.InstallAdvice}).";
        }

        // ORT's message may end with the loader's own words, e.g. "libcudnn.so.9: cannot open shared object file".
        string message = failure.Message.ReplaceLineEndings(" ");
        int cause = message.LastIndexOf("error: ", StringComparison.Ordinal);
        return $"ONNX Runtime's CUDA provider does not load: {(cause >= 0 ? message[(cause + 7)..] : message).Trim().TrimEnd('.')}.";
    }

    /// <summary>Appends the provider to throwaway options, which loads its library and the libraries it links.</summary>
    private static string? TryLoad()
    {
        // The process's ONNX Runtime environment is made by the first to touch it: ours, so that the CPU run this
        // check may lead to keeps its shared thread pool.
        _ = OrtRuntime.Environment;
        try
        {
            using var cuda = new OrtCUDAProviderOptions();
            using var options = new SessionOptions();
            options.AppendExecutionProvider_CUDA(cuda);
            return null;
        }
        catch (OnnxRuntimeException e)
        {
            return Describe(e);
        }
    }
}
