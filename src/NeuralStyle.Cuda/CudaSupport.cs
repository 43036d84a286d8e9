using NeuralStyle.Engine;

namespace NeuralStyle.Cuda;

/// <summary>Registers the CUDA backend with the engine (see <see cref="BackendFactory.RegisterCuda"/>).</summary>
public static class CudaSupport
{
    /// <summary>Makes --device cuda and auto use <see cref="CudaBackend"/> where <see cref="CudaRuntime"/> says CUDA works.</summary>
    public static void Register() =>
        BackendFactory.RegisterCuda(() => CudaRuntime.Current.Reason, (weights, preprocess, loss, adam, precision) =>
            new CudaBackend(weights, preprocess, loss, adam, allowTf32: precision == MathPrecision.Tf32));
}
