using System.Runtime.InteropServices;
using NeuralStyle.Cuda;
using NeuralStyle.Cuda.Interop;

namespace NeuralStyle.Tests.Support;

/// <summary>
/// kernels/emulation/emulated_driver.cpp: the driver API and cuBLAS functions we bind, on the host, so that
/// <see cref="CudaDevice"/>, <see cref="CudaKernels"/> and the cuBLAS products run end to end without a GPU, with
/// NVIDIA's real NVRTC (12.4, from Debian) compiling the kernels. The library is loaded by path and has no SONAME,
/// so the backend's own probe by name (libcuda.so.1) never finds it. One driver state per process: the tests that
/// use it share <see cref="Collection"/> and so never run at the same time.
/// </summary>
internal static unsafe class EmulatedCudaDriver
{
    /// <summary>The xunit collection of every test class that uses the emulated driver.</summary>
    public const string Collection = "Emulated CUDA driver";

    /// <summary>The name its device gives (cuDeviceGetName), also where tools/emulated-cuda.sh puts it in place of a GPU's driver.</summary>
    public const string DeviceName = "NeuralStyle host emulation";

    private static readonly Lazy<(IntPtr Library, string Path, string Problem)> Loaded =
        new(() => HostLibrary.Build(System.IO.Path.Combine(Repository.Root, "kernels", "emulation", "emulated_driver.cpp"), "ns_emulated_cuda"));

    /// <summary>Why it cannot run here (no g++, or no NVRTC), or null.</summary>
    public static string? Unavailable => NvidiaDebianLibraries.Unavailable ?? (Loaded.Value.Library == IntPtr.Zero ? Loaded.Value.Problem : null);

    /// <summary>The library's path, for the binding's loader.</summary>
    public static string Path => Loaded.Value.Path;

    /// <summary>Device allocations alive now.</summary>
    public static int LiveAllocations => ((delegate* unmanaged<int>)Export("ns_emulated_live_allocations"))();

    /// <summary>Streams, events, modules and cuBLAS handles alive now.</summary>
    public static int LiveHandles => ((delegate* unmanaged<int>)Export("ns_emulated_live_handles"))();

    /// <summary>Retains of the primary context not yet released.</summary>
    public static int PrimaryContextRetains => ((delegate* unmanaged<int>)Export("ns_emulated_primary_context_retains"))();

    /// <summary>Host-to-device and device-to-host copies so far (calls and bytes each way).</summary>
    public static HostTransfers Transfers
    {
        get
        {
            var (toDeviceCalls, toDeviceBytes) = Copies(0);
            var (toHostCalls, toHostBytes) = Copies(1);
            return new(toDeviceCalls, toDeviceBytes, toHostCalls, toHostBytes);
        }
    }

    /// <summary>Device-to-device copies so far (calls).</summary>
    public static long DeviceCopies => Copies(2).Calls;

    /// <summary>Stream and event synchronisations so far: each a wait of the host for the device.</summary>
    public static long HostWaits => ((delegate* unmanaged<long>)Export("ns_emulated_host_waits"))();

    /// <summary>A kernel cache for this process's tests: NVRTC compiles each file once.</summary>
    public static string KernelCache { get; } = TemporaryFolder($"neuralstyle-emulated-kernels-{Environment.ProcessId}");

    /// <summary>Opens the emulated device 0, with NVRTC 12.4 from Debian.</summary>
    public static CudaDevice OpenDevice() => CudaDevice.Open([Path], [NvidiaDebianLibraries.LoadNvrtc()]);

    /// <summary>The emulated cuBLAS.</summary>
    public static CublasApi Cublas() => CublasApi.Load([Path]);

    /// <summary>
    /// A folder for a child process's LD_LIBRARY_PATH in which the emulated library answers to the driver's name
    /// (libcuda.so.1) and cuBLAS 12's, followed by the folder of Debian's NVRTC 12.4: a machine with a working driver
    /// and GPU and none of CUDA 13's libraries.
    /// </summary>
    public static string LoaderPath()
    {
        string folder = Directory.CreateDirectory(TemporaryFolder($"neuralstyle-emulated-driver-{Environment.ProcessId}")).FullName;
        foreach (string name in new[] { "libcuda.so.1", "libcublas.so.12" })
        {
            string link = System.IO.Path.Combine(folder, name);
            if (!File.Exists(link))
            {
                File.CreateSymbolicLink(link, Path);
            }
        }

        return folder + ":" + NvidiaDebianLibraries.Folder;
    }

    /// <summary>A path in the temporary folder, removed when the test process ends.</summary>
    private static string TemporaryFolder(string name)
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), name);
        HostLibrary.DeleteAtExit(path);
        return path;
    }

    /// <summary>Copies so far in one direction: 0 host to device, 1 device to host, 2 within the device.</summary>
    private static (long Calls, long Bytes) Copies(int direction)
    {
        long calls, bytes;
        ((delegate* unmanaged<int, long*, long*, void>)Export("ns_emulated_transfers"))(direction, &calls, &bytes);
        return (calls, bytes);
    }

    private static IntPtr Export(string name) => NativeLibrary.GetExport(Loaded.Value.Library, name);
}

/// <summary>Copies between the host and the emulated device: calls and bytes each way; subtract two to count what happened between.</summary>
internal readonly record struct HostTransfers(long ToDeviceCalls, long ToDeviceBytes, long ToHostCalls, long ToHostBytes)
{
    public static HostTransfers operator -(HostTransfers after, HostTransfers before) =>
        new(after.ToDeviceCalls - before.ToDeviceCalls, after.ToDeviceBytes - before.ToDeviceBytes, after.ToHostCalls - before.ToHostCalls, after.ToHostBytes - before.ToHostBytes);
}
