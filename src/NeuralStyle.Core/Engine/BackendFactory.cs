using NeuralStyle.Cpu;
using NeuralStyle.Model;

namespace NeuralStyle.Engine;

/// <summary>Creates the backend for a <see cref="DeviceKind"/>.</summary>
/// <remarks>
/// The CUDA backend lives in NeuralStyle.Cuda, which depends on this assembly; a host that ships it (the command line,
/// the native library) registers it with <see cref="RegisterCuda"/>. Without a registration CUDA is "not built".
/// </remarks>
public static class BackendFactory
{
    private static Func<string?>? _cudaUnavailable;
    private static Func<NetworkWeights, PreprocessPreset, LossSettings, AdamSettings, IStyleBackend>? _createCuda;

    /// <summary>Makes <see cref="DeviceKind.Cuda"/> (and <see cref="DeviceKind.Auto"/> where CUDA works) create <paramref name="create"/>'s backend.</summary>
    /// <param name="unavailable">Why CUDA cannot run here, or null when it can; asked before every creation.</param>
    /// <param name="create">Creates the CUDA backend.</param>
    public static void RegisterCuda(Func<string?> unavailable, Func<NetworkWeights, PreprocessPreset, LossSettings, AdamSettings, IStyleBackend> create)
    {
        _cudaUnavailable = unavailable ?? throw new ArgumentNullException(nameof(unavailable));
        _createCuda = create ?? throw new ArgumentNullException(nameof(create));
    }

    /// <summary>
    /// Creates a backend. <see cref="DeviceKind.Cuda"/> where CUDA does not work is a <see cref="UserInputException"/>;
    /// <see cref="DeviceKind.Auto"/> uses CUDA where it works, else the CPU.
    /// </summary>
    public static IStyleBackend Create(DeviceKind device, NetworkWeights weights, PreprocessPreset preprocess, LossSettings loss, AdamSettings adam)
    {
        CheckAvailable(device);
        bool cuda = device == DeviceKind.Cuda || (device == DeviceKind.Auto && _createCuda is not null && _cudaUnavailable!() is null);
        return cuda ? _createCuda!(weights, preprocess, loss, adam) : new CpuBackend(weights, preprocess, loss, adam);
    }

    /// <summary>Throws a <see cref="UserInputException"/> when <paramref name="device"/> cannot run here, so callers can refuse before loading anything.</summary>
    public static void CheckAvailable(DeviceKind device)
    {
        if (device != DeviceKind.Cuda)
        {
            return;
        }

        if (_createCuda is null)
        {
            throw new UserInputException("--device cuda is not available: this build has no CUDA backend; use --device cpu or auto.");
        }

        if (_cudaUnavailable!() is string reason)
        {
            throw new UserInputException($"--device cuda cannot run here: {reason} ('neuralstyle doctor' lists what is missing.)");
        }
    }
}
