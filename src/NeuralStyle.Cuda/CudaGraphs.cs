using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NeuralStyle.Cuda.Interop;
using NeuralStyle.Engine;
using NeuralStyle.Graphs;
using NeuralStyle.Model;
using NeuralStyle.Runtime;

namespace NeuralStyle.Cuda;

/// <summary>
/// ONNX Runtime's side of the CUDA backend: sessions on its CUDA provider that issue their work on our stream
/// (has_user_compute_stream), tensors over our device buffers, and runs that leave their results on the stream instead
/// of synchronising with the host. The one part of the backend that needs the real provider; with
/// <see cref="CudaSetup.GraphsOnHost"/> the same sessions run on the CPU provider over the emulated device's memory.
/// </summary>
internal sealed class CudaGraphs : IDisposable
{
    private readonly CudaDevice _device;
    private readonly bool _allowTf32;
    private readonly bool _onHost;
    private readonly OrtMemoryInfo _memory;
    private readonly RunOptions _runOptions = new();

    public CudaGraphs(CudaDevice device, bool allowTf32, bool onHost)
    {
        _device = device;
        _allowTf32 = allowTf32;
        _onHost = onHost;
        _memory = new(onHost ? "Cpu" : "Cuda", OrtAllocatorType.DeviceAllocator, 0, OrtMemType.Default);
        // Results must be ready on our stream, not synchronised with the host, after each Run.
        _runOptions.AddRunConfigEntry("disable_synchronize_execution_providers", "1");
    }

    /// <summary>cuDNN's convolution algorithm search, EXHAUSTIVE unless <see cref="CudnnSearch"/> says otherwise.</summary>
    public string CudnnAlgorithmSearch { get; } = CudnnSearch.Mode;

    /// <summary>
    /// The options of every session before the provider is added. ONNX Runtime's constant folding is off: the backward
    /// graph, built for one batch and size, starts each max pool's gradient from ConstantOfShape of a constant shape,
    /// which folding would turn into an initializer of zeros as large as the pool's input (1.9 GB for the first pool
    /// of 7 images at 1024 px, by arithmetic), held on the device for the session's life. Nothing else in the graphs
    /// is constant, so nothing else is lost.
    /// </summary>
    public static SessionOptions Options()
    {
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        options.AddSessionConfigEntry("optimization.disable_specified_optimizers", "ConstantFolding");
        return options;
    }

    /// <summary>
    /// Whether ONNX Runtime failed for want of device memory: its arena's words (BFCArena::AllocateRawInternal), CUDA's
    /// own ("CUDA failure 2: out of memory") where an allocation fails outside the arena, or cuDNN's.
    /// </summary>
    public static bool IsOutOfMemory(string ortMessage) =>
        ortMessage.Contains("Failed to allocate memory", StringComparison.Ordinal)
        || ortMessage.Contains("out of memory", StringComparison.Ordinal)
        || ortMessage.Contains("CUDNN_STATUS_ALLOC_FAILED", StringComparison.Ordinal);

    /// <summary>Whether <paramref name="e"/> is one of our allocations, or ONNX Runtime, failing for want of device memory.</summary>
    public static bool RanOutOfDeviceMemory(Exception e) =>
        e is CudaException { Status: CUresult.CUDA_ERROR_OUT_OF_MEMORY } || (e is OnnxRuntimeException ort && IsOutOfMemory(ort.Message));

    /// <summary>A session of <paramref name="model"/> on the CUDA provider, on our stream; CPU fallback is refused, so a GPU run is really one.</summary>
    public InferenceSession Create(byte[] model)
    {
        // The process's ONNX Runtime environment is made by the first to touch it: ours, so that a CPU run after this
        // one (the fallback from a failed probe, a comparison render) still shares a pool.
        _ = OrtRuntime.Environment;
        using SessionOptions options = Options();
        if (!_onHost)
        {
            options.AddSessionConfigEntry("session.disable_cpu_ep_fallback", "1"); // or session creation says why
            try
            {
                AppendCudaProvider(options);
            }
            catch (OnnxRuntimeException e)
            {
                // Loading the provider's library fails here (already in UpdateOptions) where CUDA 13's libraries are missing.
                throw BackendFactory.CudaCannotRun(CudaProvider.Describe(e), e);
            }
        }

        return new InferenceSession(model, options);
    }

    /// <summary>
    /// Runs <paramref name="forward"/> once on a 16×16 image. The CUDA provider loads cuDNN and picks its convolution
    /// kernels on the first run, not when the session is created, so without this a missing cuDNN would surface only
    /// after the targets were computed.
    /// </summary>
    public void Probe(InferenceSession forward, NetworkArchitecture architecture)
    {
        try
        {
            const int Side = 16; // the smallest image every block of VGG19 accepts
            ForwardFeatures.Read(forward, architecture, new float[3 * Side * Side], Side, Side, [architecture.Layers[0].ReluName]);
        }
        catch (OnnxRuntimeException e) when (RanOutOfDeviceMemory(e))
        {
            var (free, total) = _device.MemoryInfo();
            throw BackendFactory.CudaCannotRun(string.Create(CultureInfo.InvariantCulture,
                $"The GPU has too little free memory for the network ({free / 1e9:F1} GB of its {total / 1e9:F1} GB are free)."), e);
        }
        catch (OnnxRuntimeException e)
        {
            string first = e.Message.Split('\n')[0];
            throw BackendFactory.CudaCannotRun($"ONNX Runtime's CUDA provider failed its first run ({first}). This usually means cuDNN 9 for CUDA 13 (libcudnn.so.9) is not on the loader path.", e);
        }
    }

    /// <summary>Runs <paramref name="session"/> on its bound buffers; the results are ready on our stream when it returns.</summary>
    public void Run(InferenceSession session, OrtIoBinding binding) => session.RunWithBinding(_runOptions, binding);

    /// <summary>A tensor of <paramref name="shape"/> over <paramref name="buffer"/>'s device memory, for an IOBinding; the caller disposes it.</summary>
    public OrtValue Tensor(DeviceBuffer buffer, TensorElementType type, long[] shape) =>
        OrtValue.CreateTensorValueWithData(_memory, type, shape, new IntPtr(checked((long)buffer.Address)), checked((long)buffer.Bytes));

    public void Dispose()
    {
        _runOptions.Dispose();
        _memory.Dispose();
    }

    /// <summary>ONNX Runtime's CUDA provider on our stream, with our precision and cuDNN search.</summary>
    private void AppendCudaProvider(SessionOptions options)
    {
        using var cuda = new OrtCUDAProviderOptions();
        // One call with every key: UpdateOptions resets the keys it is not given. The stream goes in decimal.
        cuda.UpdateOptions(new Dictionary<string, string>
        {
            ["device_id"] = "0",
            ["has_user_compute_stream"] = "1",
            ["user_compute_stream"] = ((ulong)_device.Stream).ToString(CultureInfo.InvariantCulture),
            ["use_tf32"] = _allowTf32 ? "1" : "0",
            ["arena_extend_strategy"] = "kSameAsRequested",
            ["cudnn_conv_algo_search"] = CudnnAlgorithmSearch,
        });
        options.AppendExecutionProvider_CUDA(cuda);
    }
}
