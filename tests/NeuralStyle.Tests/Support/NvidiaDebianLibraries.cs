using System.Runtime.InteropServices;

namespace NeuralStyle.Tests.Support;

/// <summary>
/// NVIDIA's NVRTC 12.4 and CUDA driver library (550) from Debian non-free, unpacked under out/nvidia-debian by
/// tools/install-deps.sh: real NVIDIA code for the checks that need no GPU.
/// </summary>
internal static class NvidiaDebianLibraries
{
    public static string Folder { get; } = Path.Combine(Repository.Root, "out", "nvidia-debian", "usr", "lib", "x86_64-linux-gnu");

    /// <summary>Where libcuda.so.1 is (Debian keeps the driver's libraries apart).</summary>
    public static string DriverFolder { get; } = Path.Combine(Folder, "nvidia", "current");

    /// <summary>Why the libraries cannot be used here, or null.</summary>
    public static string? Unavailable { get; } =
        OperatingSystem.IsLinux() && File.Exists(Path.Combine(Folder, "libnvrtc.so.12")) && File.Exists(Path.Combine(DriverFolder, "libcuda.so.1"))
            ? null
            : $"NVIDIA's Debian libraries are not under {Folder}; tools/install-deps.sh fetches them (amd64 Debian).";

    /// <summary>
    /// Makes NVRTC 12.4 loadable by path and returns that path. NVRTC opens its builtins library by name at the first
    /// compile; loaded first by path, that name resolves.
    /// </summary>
    public static string LoadNvrtc()
    {
        NativeLibrary.Load(Path.Combine(Folder, "libnvrtc-builtins.so.12.4"));
        return Path.Combine(Folder, "libnvrtc.so.12");
    }
}
