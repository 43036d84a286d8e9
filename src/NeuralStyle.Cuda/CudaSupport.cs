using NeuralStyle.Engine;

namespace NeuralStyle.Cuda;

/// <summary>Registers the CUDA backend with the engine (see <see cref="BackendFactory.RegisterCuda"/>).</summary>
public static class CudaSupport
{
    /// <summary>
    /// Makes --device cuda and auto use <see cref="CudaBackend"/> where <see cref="CudaRuntime"/> says CUDA works and
    /// ONNX Runtime's CUDA provider loads (asked only where the driver and a GPU are there).
    /// </summary>
    public static void Register() =>
        BackendFactory.RegisterCuda(() => CudaRuntime.Current.Reason ?? CudaProvider.LoadProblem, (weights, preprocess, loss, adam, precision) =>
            new CudaBackend(weights, preprocess, loss, adam, allowTf32: precision == MathPrecision.Tf32));
}
