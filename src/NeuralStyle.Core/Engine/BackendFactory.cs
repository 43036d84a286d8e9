using NeuralStyle.Cpu;
using NeuralStyle.Model;

namespace NeuralStyle.Engine;

/// <summary>Creates the backend for a <see cref="DeviceKind"/>.</summary>
public static class BackendFactory
{
    /// <summary>
    /// Creates a backend. <see cref="DeviceKind.Cuda"/> is refused with a <see cref="UserInputException"/> until the
    /// CUDA backend exists; <see cref="DeviceKind.Auto"/> then means the CPU.
    /// </summary>
    public static IStyleBackend Create(DeviceKind device, NetworkWeights weights, PreprocessPreset preprocess, LossSettings loss, AdamSettings adam)
    {
        if (device == DeviceKind.Cuda)
        {
            throw new UserInputException("--device cuda is not available yet: this build has no CUDA backend; use --device cpu or auto.");
        }

        return new CpuBackend(weights, preprocess, loss, adam);
    }
}
