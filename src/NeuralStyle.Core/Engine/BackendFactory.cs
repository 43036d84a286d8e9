using NeuralStyle.Cpu;
using NeuralStyle.Model;

namespace NeuralStyle.Engine;

/// <summary>How a host makes the CUDA backend: why it cannot run here (null when it can), and how to create it.</summary>
/// <param name="Unavailable">Asked before every creation.</param>
/// <param name="Create">Creates the CUDA backend; throws a <see cref="UserInputException"/> when its start-up probe fails.</param>
public sealed record CudaRegistration(Func<string?> Unavailable, Func<NetworkWeights, PreprocessPreset, LossSettings, AdamSettings, MathPrecision, IStyleBackend> Create);

/// <summary>Creates the backend for a <see cref="DeviceKind"/>.</summary>
/// <remarks>
/// The CUDA backend lives in NeuralStyle.Cuda, which depends on this assembly; a host that ships it (the command line,
/// the native library) registers it with <see cref="RegisterCuda"/>. Without a registration CUDA is "not built": auto
/// runs on the CPU and its description says so (to a .NET host, with how to register it), and cuda is refused.
/// </remarks>
public static class BackendFactory
{
    /// <summary>Where <see cref="CudaCannotRun"/> keeps the reason alone, for <see cref="DeviceKind.Auto"/>'s notice.</summary>
    private const string CudaReasonKey = "NeuralStyle.CudaReason";

    private static CudaRegistration? _cuda;

    /// <summary>Makes <see cref="DeviceKind.Cuda"/> (and <see cref="DeviceKind.Auto"/> where CUDA works) create <paramref name="create"/>'s backend.</summary>
    /// <param name="unavailable">Why CUDA cannot run here, or null when it can; asked before every creation.</param>
    /// <param name="create">Creates the CUDA backend.</param>
    public static void RegisterCuda(Func<string?> unavailable, Func<NetworkWeights, PreprocessPreset, LossSettings, AdamSettings, MathPrecision, IStyleBackend> create) =>
        _cuda = new CudaRegistration(unavailable ?? throw new ArgumentNullException(nameof(unavailable)), create ?? throw new ArgumentNullException(nameof(create)));

    /// <summary>
    /// Creates a backend. <see cref="DeviceKind.Cuda"/> where CUDA does not work is a <see cref="UserInputException"/>;
    /// <see cref="DeviceKind.Auto"/> uses CUDA where it works, else the CPU, whose description then says why.
    /// <paramref name="precision"/> reaches the CUDA backend only; the CPU always computes in float32.
    /// </summary>
    public static IStyleBackend Create(DeviceKind device, NetworkWeights weights, PreprocessPreset preprocess, LossSettings loss, AdamSettings adam, MathPrecision precision = MathPrecision.Fp32) =>
        Create(_cuda, device, weights, preprocess, loss, adam, precision);

    /// <summary>
    /// True when <paramref name="device"/> surely means the CPU backend: cpu, or auto where CUDA is not registered or
    /// cannot run. Lets callers check host memory before building anything. (Auto where CUDA can run still ends on the
    /// CPU when the CUDA backend's start-up probe fails; only the created backend tells.)
    /// </summary>
    public static bool SurelyOnHost(DeviceKind device) => SurelyOnHost(_cuda, device);

    /// <summary><see cref="SurelyOnHost(DeviceKind)"/> with an explicit registration (for tests).</summary>
    internal static bool SurelyOnHost(CudaRegistration? cuda, DeviceKind device) =>
        device == DeviceKind.Cpu || (device == DeviceKind.Auto && (cuda is null || cuda.Unavailable() is not null));

    /// <summary>Throws a <see cref="UserInputException"/> when <paramref name="device"/> cannot run here, so callers can refuse before loading anything.</summary>
    public static void CheckAvailable(DeviceKind device) => CheckAvailable(_cuda, device);

    /// <summary><see cref="Create(DeviceKind, NetworkWeights, PreprocessPreset, LossSettings, AdamSettings, MathPrecision)"/> with an explicit registration (for tests).</summary>
    internal static IStyleBackend Create(CudaRegistration? cuda, DeviceKind device, NetworkWeights weights, PreprocessPreset preprocess, LossSettings loss, AdamSettings adam, MathPrecision precision = MathPrecision.Fp32)
    {
        CheckAvailable(cuda, device);
        if (device == DeviceKind.Cuda)
        {
            return cuda!.Create(weights, preprocess, loss, adam, precision);
        }

        string? notCuda = device == DeviceKind.Auto && cuda is null ? NotBuilt() : null;
        if (device == DeviceKind.Auto && cuda is not null)
        {
            notCuda = cuda.Unavailable();
            if (notCuda is null)
            {
                try
                {
                    return cuda.Create(weights, preprocess, loss, adam, precision);
                }
                catch (UserInputException e)
                {
                    // The driver answered but the provider failed its start-up probe (cuDNN, most often): auto means the
                    // CPU, and says why without the refusal's wording, which is for a user who asked for CUDA.
                    notCuda = e.Data[CudaReasonKey] as string ?? e.Message;
                }
            }
        }

        return new CpuBackend(weights, preprocess, loss, adam) { Notice = notCuda, Tf32Asked = precision == MathPrecision.Tf32 };
    }

    private static void CheckAvailable(CudaRegistration? cuda, DeviceKind device)
    {
        if (device != DeviceKind.Cuda)
        {
            return;
        }

        if (cuda is null)
        {
            SettingNames names = SettingNames.Current;
            throw new UserInputException(names.RegisterCuda is null
                ? $"{names.DeviceCuda} is not available: this build has no CUDA backend. Use {names.DeviceCpu}."
                : $"{names.DeviceCuda} is not available: {NotBuilt()}, or use {names.DeviceCpu}.");
        }

        if (cuda.Unavailable() is string reason)
        {
            throw CudaCannotRun(reason);
        }
    }

    /// <summary>
    /// Why CUDA is not there where no host registered it, and, where the front end leaves that to its host (a .NET
    /// application), how to: one sentence, so that <see cref="DeviceKind.Auto"/>'s notice keeps all of it.
    /// </summary>
    private static string NotBuilt() => SettingNames.Current.RegisterCuda is string how
        ? $"this build has no CUDA backend; {how}"
        : "this build has no CUDA backend";

    /// <summary>
    /// The error for CUDA asked for where it cannot run: <paramref name="reason"/> (a sentence), and what to do
    /// instead, in the caller's <see cref="SettingNames"/>. One wording for the refusal before a run and the CUDA
    /// backend's own at its start.
    /// </summary>
    public static UserInputException CudaCannotRun(string reason, Exception? cause = null)
    {
        SettingNames names = SettingNames.Current;
        string message = $"{names.DeviceCuda} cannot run here: {reason} Use {names.DeviceCpu}, or see what 'neuralstyle doctor' lists as missing.";
        UserInputException refusal = cause is null ? new UserInputException(message) : new UserInputException(message, cause);
        refusal.Data[CudaReasonKey] = reason;
        return refusal;
    }
}
