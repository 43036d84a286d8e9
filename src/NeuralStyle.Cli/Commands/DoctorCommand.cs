using System.Globalization;
using CommandLine;
using NeuralStyle.Cuda;
using NeuralStyle.Weights;

namespace NeuralStyle.Cli.Commands;

[Verb("doctor", HelpText = "Report what was found: the VGG19 weights --weights auto uses, and for the CUDA backend the driver, device, NVRTC, cuBLAS, cuDNN and ONNX Runtime's CUDA provider; and what to install.")]
internal sealed class DoctorOptions
{
}

/// <summary>The <c>doctor</c> verb: one line per component, and what to do about whatever is missing.</summary>
internal static class DoctorCommand
{
    public static int Run(TextWriter output)
    {
        CudaReport cuda = CudaRuntime.Current;
        output.WriteLine($"ONNX Runtime      {Runtime.OrtRuntime.Environment.GetVersionString()} (CPU provider: works)");
        output.WriteLine($"VGG19 weights     {(WeightSource.CachedPretrainedFile() is string weights
            ? $"{weights} (--weights auto uses it)"
            : $"none in {WeightSource.CacheDirectory}: --weights auto uses random features; 'model fetch' downloads Caffe's VGG19 (575 MB)")}");
        output.WriteLine($"CUDA driver       {(cuda.DriverVersion is int v ? string.Create(CultureInfo.InvariantCulture, $"{v / 1000}.{v % 1000 / 10}") : "missing")}");
        output.WriteLine($"GPU               {(cuda.DeviceName is string name ? string.Create(CultureInfo.InvariantCulture, $"{name}, compute capability {cuda.ComputeCapability?.Major}.{cuda.ComputeCapability?.Minor}, {cuda.DeviceMemory / 1e9:F1} GB") : "none")}");
        output.WriteLine($"NVRTC             {cuda.NvrtcVersion ?? $"missing: {cuda.NvrtcProblem}"}");
        output.WriteLine($"cuBLAS            {cuda.Cublas}");
        string cudnn = CudaProviderLibraries.Cudnn;
        bool cudnnFound = CudaProviderLibraries.Missing([cudnn]).Count == 0;
        output.WriteLine($"cuDNN             {(cudnnFound ? cudnn : $"missing ({cudnn}; ONNX Runtime's Conv on CUDA needs cuDNN 9)")}");
        IReadOnlyList<string> missing = CudaProviderLibraries.Missing(CudaProviderLibraries.Linked);
        output.WriteLine("CUDA libraries    " + (missing.Count == 0
            ? $"{string.Join(", ", CudaProviderLibraries.Linked)}"
            : $"missing {string.Join(", ", missing)} (the CUDA provider links them: {CudaProviderLibraries.InstallAdvice})"));
        // Tried even without a GPU, so that one report lists everything there is to install.
        string? provider = CudaProvider.LoadProblem;
        output.WriteLine($"ORT CUDA provider {provider ?? "loads"}");
        string? cpuBecause = WhyRendersRunOnTheCpu(cuda, provider, cudnnFound);
        output.WriteLine($"CUDA backend      {(cpuBecause is null ? "built; its Category=Cuda tests check it on this GPU (tools/gpu-check.sh)" : "built; renders run on the CPU here")}");
        output.WriteLine(cpuBecause is null ? "Verdict: the GPU, NVRTC, ONNX Runtime's CUDA provider and cuDNN are there; --device auto renders on CUDA."
            : cuda.IsAvailable ? $"Verdict: the GPU and NVRTC work, but renders run on the CPU: {cpuBecause}"
            : $"Verdict: CUDA is not usable here; renders run on the CPU (--device auto or cpu). {cpuBecause}");
        return 0;
    }

    /// <summary>
    /// The first thing that sends renders to the CPU, or null: CUDA itself, then the provider, then cuDNN, which the
    /// provider loads only at its first convolution (the backend's start-up probe would fail, and auto use the CPU).
    /// </summary>
    internal static string? WhyRendersRunOnTheCpu(CudaReport cuda, string? providerProblem, bool cudnnFound) =>
        cuda.Reason ?? providerProblem ?? (cudnnFound ? null
            : $"cuDNN 9 ({CudaProviderLibraries.Cudnn}) is missing, and ONNX Runtime's convolutions on CUDA need it: install cuDNN 9 for CUDA 13, or put its folder on the loader path.");
}
