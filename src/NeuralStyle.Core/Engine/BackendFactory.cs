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
        CheckAvailable(device);
        return new CpuBackend(weights, preprocess, loss, adam);
    }

    /// <summary>Throws a <see cref="UserInputException"/> when <paramref name="device"/> cannot run here, so callers can refuse before loading anything.</summary>
    public static void CheckAvailable(DeviceKind device)
    {
        if (device == DeviceKind.Cuda)
        {
            throw new UserInputException("--device cuda is not available yet: this build has no CUDA backend; use --device cpu or auto.");
        }
    }
}
