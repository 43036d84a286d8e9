using NeuralStyle.Cuda.Interop;

namespace NeuralStyle.Cuda;

/// <summary>What was found of CUDA on this machine; each part is null where it is missing, with the reason.</summary>
public sealed record CudaReport
{
    /// <summary>True when the driver loaded, initialised and has at least one device, and NVRTC loaded.</summary>
    public bool IsAvailable => DeviceName is not null && NvrtcVersion is not null;

    /// <summary>Why CUDA cannot be used, or null when it can.</summary>
    public string? Reason { get; init; }

    /// <summary>The driver's CUDA version, e.g. 13000 for 13.0.</summary>
    public int? DriverVersion { get; init; }

    /// <summary>Device 0's name.</summary>
    public string? DeviceName { get; init; }

    /// <summary>Device 0's compute capability, e.g. (9, 0).</summary>
    public (int Major, int Minor)? ComputeCapability { get; init; }

    /// <summary>Device 0's memory in bytes.</summary>
    public ulong? DeviceMemory { get; init; }

    /// <summary>NVRTC's version and library.</summary>
    public string? NvrtcVersion { get; init; }

    /// <summary>Why NVRTC did not load, where it did not.</summary>
    public string? NvrtcProblem { get; init; }

    /// <summary>The cuBLAS library that loaded, or why none did.</summary>
    public string? Cublas { get; init; }
}

/// <summary>
/// "No CUDA" is a state, not a crash: <see cref="Probe"/> loads the libraries and asks the driver, once, and reports
/// what it found. Nothing touches libcuda before it is called.
/// </summary>
public static class CudaRuntime
{
    private static readonly Lazy<CudaReport> Report = new(() => Probe(DriverApi.LibraryNames, NvrtcApi.LibraryNames, CublasApi.LibraryNames));

    /// <summary>The machine's CUDA report (probed on first use).</summary>
    public static CudaReport Current => Report.Value;

    /// <summary>True when CUDA works here.</summary>
    public static bool IsAvailable => Current.IsAvailable;

    /// <summary>
    /// Probes with the given library names (tests pass names that do not exist, or libraries without the symbols).
    /// NVRTC and cuBLAS are looked for even when the driver or the GPU is missing, so one report lists everything
    /// there is to install; <see cref="CudaReport.Reason"/> names the first problem.
    /// </summary>
    public static CudaReport Probe(IReadOnlyList<string> driverNames, IReadOnlyList<string> nvrtcNames, IReadOnlyList<string> cublasNames)
    {
        CudaReport report = ProbeDriver(driverNames);
        try
        {
            var nvrtc = NvrtcApi.Load(nvrtcNames);
            var (major, minor) = nvrtc.Version();
            report = report with { NvrtcVersion = $"{major}.{minor} ({nvrtc.Library.LoadedName})" };
        }
        catch (Exception e) when (e is CudaLibraryException or NvrtcException)
        {
            report = report with { NvrtcProblem = e.Message, Reason = report.Reason ?? e.Message };
        }

        try
        {
            report = report with { Cublas = CublasApi.Load(cublasNames).Library.LoadedName };
        }
        catch (CudaLibraryException e)
        {
            report = report with { Cublas = "missing: " + e.Message };
        }

        return report;
    }

    private static CudaReport ProbeDriver(IReadOnlyList<string> driverNames)
    {
        DriverApi driver;
        try
        {
            driver = DriverApi.Load(driverNames);
        }
        catch (CudaLibraryException e)
        {
            return new CudaReport { Reason = e.Message };
        }

        var report = new CudaReport();
        try
        {
            // The version needs no cuInit, so it is reported even where initialisation fails (a driver without a GPU).
            report = report with { DriverVersion = driver.DriverVersion() };
            driver.Init();
            if (driver.DeviceCount() == 0)
            {
                return report with { Reason = "The CUDA driver found no GPU." };
            }

            int device = driver.Device(0);
            return report with
            {
                DeviceName = driver.DeviceName(device),
                ComputeCapability = (driver.Attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device),
                                     driver.Attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device)),
                DeviceMemory = driver.TotalMemory(device),
            };
        }
        catch (CudaException e) when (e.Status == CUresult.CUDA_ERROR_NO_DEVICE)
        {
            return report with { Reason = $"The CUDA driver found no GPU (cuInit answered {e.Name})." };
        }
        catch (CudaException e)
        {
            return report with { Reason = $"The CUDA driver is installed but does not work: {e.Message}" };
        }
    }
}
