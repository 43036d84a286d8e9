using System.Runtime.InteropServices;

namespace NeuralStyle.Cuda;

/// <summary>
/// The CUDA libraries ONNX Runtime's CUDA provider (1.31, built for CUDA 13) needs besides the driver: those it
/// links (on Linux the DT_NEEDED entries of libonnxruntime_providers_cuda.so, which a test compares with the shipped
/// file; on Windows the import table of onnxruntime_providers_cuda.dll, and the CUDA runtime it loads itself) and
/// cuDNN, which it loads at the first convolution. When the provider fails to load, the loader names only the first
/// library it missed; <see cref="Missing"/> lets doctor name them all at once.
/// </summary>
public static class CudaProviderLibraries
{
    /// <summary>cuDNN 9, which the provider loads on its first convolution rather than when it is loaded.</summary>
    public static string Cudnn => OperatingSystem.IsWindows() ? "cudnn64_9.dll" : "libcudnn.so.9";

    /// <summary>The CUDA toolkit libraries the provider links.</summary>
    public static IReadOnlyList<string> Linked => OperatingSystem.IsWindows() ? WindowsLinked : LinuxLinked;

    internal static readonly string[] LinuxLinked = ["libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10"];

    private static readonly string[] WindowsLinked = ["cudart64_13.dll", "cublas64_13.dll", "cublasLt64_13.dll"];

    /// <summary>What to do about missing <see cref="Linked"/> libraries, for doctor's report and the provider's refusal alike.</summary>
    public static string InstallAdvice =>
        $"install CUDA 13's runtime, cuBLAS and cuRAND, or put the folders that hold them on {(OperatingSystem.IsWindows() ? "PATH" : "LD_LIBRARY_PATH")}";

    /// <summary>Those of <paramref name="names"/> the loader cannot find by that name.</summary>
    public static IReadOnlyList<string> Missing(IEnumerable<string> names) => names.Where(name => !CanLoad(name)).ToArray();

    private static bool CanLoad(string name)
    {
        if (!NativeLibrary.TryLoad(name, out IntPtr handle))
        {
            return false;
        }

        NativeLibrary.Free(handle);
        return true;
    }
}
