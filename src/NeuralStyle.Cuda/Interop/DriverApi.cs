using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NeuralStyle.Cuda.Interop;

/// <summary>
/// The CUDA driver API functions we use (signatures from cuda.h, versioned export names as CUDA 12/13 drivers
/// export them), resolved once from libcuda.so.1 / nvcuda.dll. Every call goes through <see cref="Check"/>.
/// </summary>
internal sealed unsafe class DriverApi
{
    public static readonly string[] LibraryNames = OperatingSystem.IsWindows() ? ["nvcuda.dll"] : ["libcuda.so.1"];

    /// <summary>Binds the first of <paramref name="names"/> that loads; a <see cref="CudaLibraryException"/> that says what to install when none does.</summary>
    public static DriverApi Load(IReadOnlyList<string> names) =>
        new(NativeLibraryLoader.Load("the CUDA driver", names, "Install the NVIDIA driver (it provides libcuda.so.1)."));

    // Resolved first, so that every later failure can be named in the driver's own words.
    private readonly delegate* unmanaged<CUresult, byte**, CUresult> _getErrorName;        // cuGetErrorName(CUresult, const char**)
    private readonly delegate* unmanaged<CUresult, byte**, CUresult> _getErrorString;      // cuGetErrorString(CUresult, const char**)
    private readonly delegate* unmanaged<uint, CUresult> _init;                             // cuInit(unsigned int)
    private readonly delegate* unmanaged<int*, CUresult> _driverGetVersion;                 // cuDriverGetVersion(int*)
    private readonly delegate* unmanaged<int*, CUresult> _deviceGetCount;                   // cuDeviceGetCount(int*)
    private readonly delegate* unmanaged<int*, int, CUresult> _deviceGet;                   // cuDeviceGet(CUdevice*, int)
    private readonly delegate* unmanaged<byte*, int, int, CUresult> _deviceGetName;         // cuDeviceGetName(char*, int, CUdevice)
    private readonly delegate* unmanaged<int*, int, int, CUresult> _deviceGetAttribute;     // cuDeviceGetAttribute(int*, attrib, CUdevice)
    private readonly delegate* unmanaged<nuint*, int, CUresult> _deviceTotalMem;            // cuDeviceTotalMem_v2(size_t*, CUdevice)
    private readonly delegate* unmanaged<IntPtr*, int, CUresult> _primaryCtxRetain;         // cuDevicePrimaryCtxRetain(CUcontext*, CUdevice)
    private readonly delegate* unmanaged<int, CUresult> _primaryCtxRelease;                 // cuDevicePrimaryCtxRelease_v2(CUdevice)
    private readonly delegate* unmanaged<IntPtr, CUresult> _ctxSetCurrent;                  // cuCtxSetCurrent(CUcontext)
    private readonly delegate* unmanaged<ulong*, nuint, CUresult> _memAlloc;                // cuMemAlloc_v2(CUdeviceptr*, size_t)
    private readonly delegate* unmanaged<ulong, CUresult> _memFree;                         // cuMemFree_v2(CUdeviceptr)
    private readonly delegate* unmanaged<nuint*, nuint*, CUresult> _memGetInfo;             // cuMemGetInfo_v2(size_t* free, size_t* total)
    private readonly delegate* unmanaged<ulong, void*, nuint, IntPtr, CUresult> _copyToDevice;   // cuMemcpyHtoDAsync_v2
    private readonly delegate* unmanaged<void*, ulong, nuint, IntPtr, CUresult> _copyToHost;     // cuMemcpyDtoHAsync_v2
    private readonly delegate* unmanaged<ulong, byte, nuint, IntPtr, CUresult> _memsetD8;        // cuMemsetD8Async
    private readonly delegate* unmanaged<ulong, uint, nuint, IntPtr, CUresult> _memsetD32;       // cuMemsetD32Async(CUdeviceptr, unsigned, size_t N, CUstream)
    private readonly delegate* unmanaged<ulong, ulong, nuint, IntPtr, CUresult> _copyOnDevice;   // cuMemcpyDtoDAsync_v2
    private readonly delegate* unmanaged<IntPtr*, uint, CUresult> _streamCreate;            // cuStreamCreate(CUstream*, unsigned)
    private readonly delegate* unmanaged<IntPtr, CUresult> _streamDestroy;                  // cuStreamDestroy_v2(CUstream)
    private readonly delegate* unmanaged<IntPtr, CUresult> _streamSynchronize;              // cuStreamSynchronize(CUstream)
    private readonly delegate* unmanaged<IntPtr*, void*, uint, CUjit_option*, void**, CUresult> _moduleLoadDataEx; // cuModuleLoadDataEx
    private readonly delegate* unmanaged<IntPtr*, IntPtr, byte*, CUresult> _moduleGetFunction; // cuModuleGetFunction(CUfunction*, CUmodule, const char*)
    private readonly delegate* unmanaged<IntPtr, CUresult> _moduleUnload;                   // cuModuleUnload(CUmodule)
    private readonly delegate* unmanaged<IntPtr, uint, uint, uint, uint, uint, uint, uint, IntPtr, void**, void**, CUresult> _launchKernel; // cuLaunchKernel
    private readonly delegate* unmanaged<IntPtr*, uint, CUresult> _eventCreate;             // cuEventCreate(CUevent*, unsigned)
    private readonly delegate* unmanaged<IntPtr, IntPtr, CUresult> _eventRecord;            // cuEventRecord(CUevent, CUstream)
    private readonly delegate* unmanaged<IntPtr, CUresult> _eventSynchronize;               // cuEventSynchronize(CUevent)
    private readonly delegate* unmanaged<float*, IntPtr, IntPtr, CUresult> _eventElapsedTime; // cuEventElapsedTime_v2 (or the unsuffixed name)
    private readonly delegate* unmanaged<IntPtr, CUresult> _eventDestroy;                   // cuEventDestroy_v2(CUevent)

    public DriverApi(NativeLibraryLoader library)
    {
        ArgumentNullException.ThrowIfNull(library);
        Library = library;
        _getErrorName = (delegate* unmanaged<CUresult, byte**, CUresult>)library.Export("cuGetErrorName");
        _getErrorString = (delegate* unmanaged<CUresult, byte**, CUresult>)library.Export("cuGetErrorString");
        _init = (delegate* unmanaged<uint, CUresult>)library.Export("cuInit");
        _driverGetVersion = (delegate* unmanaged<int*, CUresult>)library.Export("cuDriverGetVersion");
        _deviceGetCount = (delegate* unmanaged<int*, CUresult>)library.Export("cuDeviceGetCount");
        _deviceGet = (delegate* unmanaged<int*, int, CUresult>)library.Export("cuDeviceGet");
        _deviceGetName = (delegate* unmanaged<byte*, int, int, CUresult>)library.Export("cuDeviceGetName");
        _deviceGetAttribute = (delegate* unmanaged<int*, int, int, CUresult>)library.Export("cuDeviceGetAttribute");
        _deviceTotalMem = (delegate* unmanaged<nuint*, int, CUresult>)library.Export("cuDeviceTotalMem_v2");
        _primaryCtxRetain = (delegate* unmanaged<IntPtr*, int, CUresult>)library.Export("cuDevicePrimaryCtxRetain");
        _primaryCtxRelease = (delegate* unmanaged<int, CUresult>)library.Export("cuDevicePrimaryCtxRelease_v2");
        _ctxSetCurrent = (delegate* unmanaged<IntPtr, CUresult>)library.Export("cuCtxSetCurrent");
        _memAlloc = (delegate* unmanaged<ulong*, nuint, CUresult>)library.Export("cuMemAlloc_v2");
        _memFree = (delegate* unmanaged<ulong, CUresult>)library.Export("cuMemFree_v2");
        _memGetInfo = (delegate* unmanaged<nuint*, nuint*, CUresult>)library.Export("cuMemGetInfo_v2");
        _copyToDevice = (delegate* unmanaged<ulong, void*, nuint, IntPtr, CUresult>)library.Export("cuMemcpyHtoDAsync_v2");
        _copyToHost = (delegate* unmanaged<void*, ulong, nuint, IntPtr, CUresult>)library.Export("cuMemcpyDtoHAsync_v2");
        _memsetD8 = (delegate* unmanaged<ulong, byte, nuint, IntPtr, CUresult>)library.Export("cuMemsetD8Async");
        _memsetD32 = (delegate* unmanaged<ulong, uint, nuint, IntPtr, CUresult>)library.Export("cuMemsetD32Async");
        _copyOnDevice = (delegate* unmanaged<ulong, ulong, nuint, IntPtr, CUresult>)library.Export("cuMemcpyDtoDAsync_v2");
        _streamCreate = (delegate* unmanaged<IntPtr*, uint, CUresult>)library.Export("cuStreamCreate");
        _streamDestroy = (delegate* unmanaged<IntPtr, CUresult>)library.Export("cuStreamDestroy_v2");
        _streamSynchronize = (delegate* unmanaged<IntPtr, CUresult>)library.Export("cuStreamSynchronize");
        _moduleLoadDataEx = (delegate* unmanaged<IntPtr*, void*, uint, CUjit_option*, void**, CUresult>)library.Export("cuModuleLoadDataEx");
        _moduleGetFunction = (delegate* unmanaged<IntPtr*, IntPtr, byte*, CUresult>)library.Export("cuModuleGetFunction");
        _moduleUnload = (delegate* unmanaged<IntPtr, CUresult>)library.Export("cuModuleUnload");
        _launchKernel = (delegate* unmanaged<IntPtr, uint, uint, uint, uint, uint, uint, uint, IntPtr, void**, void**, CUresult>)library.Export("cuLaunchKernel");
        _eventCreate = (delegate* unmanaged<IntPtr*, uint, CUresult>)library.Export("cuEventCreate");
        _eventRecord = (delegate* unmanaged<IntPtr, IntPtr, CUresult>)library.Export("cuEventRecord");
        _eventSynchronize = (delegate* unmanaged<IntPtr, CUresult>)library.Export("cuEventSynchronize");
        // CUDA 12.8+ drivers export _v2; older ones (and some embedded drivers) only the plain name.
        _eventElapsedTime = (delegate* unmanaged<float*, IntPtr, IntPtr, CUresult>)library.Export("cuEventElapsedTime_v2", "cuEventElapsedTime");
        _eventDestroy = (delegate* unmanaged<IntPtr, CUresult>)library.Export("cuEventDestroy_v2");
    }

    public NativeLibraryLoader Library { get; }

    /// <summary>Throws a <see cref="CudaException"/> naming the call, unless <paramref name="result"/> is success.</summary>
    public void Check(CUresult result, [CallerArgumentExpression(nameof(result))] string call = "")
    {
        if (result != CUresult.CUDA_SUCCESS)
        {
            throw new CudaException(result, Describe(_getErrorName, result), Describe(_getErrorString, result), call);
        }
    }

    /// <summary>For dispose paths: never throws; returns false on failure.</summary>
    public static bool Succeeded(CUresult result) => result == CUresult.CUDA_SUCCESS;

    public void Init() => Check(_init(0));

    public int DriverVersion()
    {
        int v;
        Check(_driverGetVersion(&v));
        return v;
    }

    public int DeviceCount()
    {
        int n;
        Check(_deviceGetCount(&n));
        return n;
    }

    public int Device(int ordinal)
    {
        int d;
        Check(_deviceGet(&d, ordinal));
        return d;
    }

    public string DeviceName(int device)
    {
        byte* name = stackalloc byte[256];
        Check(_deviceGetName(name, 256, device));
        return Marshal.PtrToStringUTF8((IntPtr)name) ?? "";
    }

    public int Attribute(CUdevice_attribute attribute, int device)
    {
        int value;
        Check(_deviceGetAttribute(&value, (int)attribute, device));
        return value;
    }

    public ulong TotalMemory(int device)
    {
        nuint bytes;
        Check(_deviceTotalMem(&bytes, device));
        return bytes;
    }

    public IntPtr RetainPrimaryContext(int device)
    {
        IntPtr context;
        Check(_primaryCtxRetain(&context, device));
        return context;
    }

    public CUresult ReleasePrimaryContext(int device) => _primaryCtxRelease(device);

    public void SetCurrent(IntPtr context) => Check(_ctxSetCurrent(context));

    /// <summary>cuCtxSetCurrent without the check, for releases, which never throw.</summary>
    public CUresult TrySetCurrent(IntPtr context) => _ctxSetCurrent(context);

    public ulong Allocate(ulong bytes)
    {
        ulong pointer;
        Check(_memAlloc(&pointer, (nuint)Math.Max(bytes, 1)));
        return pointer;
    }

    public CUresult Free(ulong pointer) => _memFree(pointer);

    public (ulong Free, ulong Total) MemoryInfo()
    {
        nuint free, total;
        Check(_memGetInfo(&free, &total));
        return (free, total);
    }

    public void CopyToDevice(ulong destination, void* source, ulong bytes, IntPtr stream) => Check(_copyToDevice(destination, source, (nuint)bytes, stream));

    public void CopyToHost(void* destination, ulong source, ulong bytes, IntPtr stream) => Check(_copyToHost(destination, source, (nuint)bytes, stream));

    public void CopyOnDevice(ulong destination, ulong source, ulong bytes, IntPtr stream) => Check(_copyOnDevice(destination, source, (nuint)bytes, stream));

    public void Fill(ulong destination, byte value, ulong bytes, IntPtr stream) => Check(_memsetD8(destination, value, (nuint)bytes, stream));

    /// <summary>Sets <paramref name="words"/> 32-bit words from a 4-byte aligned address.</summary>
    public void FillWords(ulong destination, uint value, ulong words, IntPtr stream) => Check(_memsetD32(destination, value, (nuint)words, stream));

    public IntPtr CreateStream()
    {
        IntPtr stream;
        Check(_streamCreate(&stream, 1)); // CU_STREAM_NON_BLOCKING: no implicit sync with the legacy default stream
        return stream;
    }

    public CUresult DestroyStream(IntPtr stream) => _streamDestroy(stream);

    public void Synchronize(IntPtr stream) => Check(TrySynchronize(stream));

    public CUresult TrySynchronize(IntPtr stream) => _streamSynchronize(stream);

    /// <summary>Loads a CUBIN or PTX image; a failure carries the JIT's error log.</summary>
    public IntPtr LoadModule(byte[] image)
    {
        const int LogSize = 8192;
        byte* errorLog = stackalloc byte[LogSize];
        CUjit_option* options = stackalloc CUjit_option[2];
        void** values = stackalloc void*[2];
        options[0] = CUjit_option.CU_JIT_ERROR_LOG_BUFFER;
        values[0] = errorLog;
        options[1] = CUjit_option.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES;
        values[1] = (void*)LogSize;
        IntPtr module;
        fixed (byte* data = image)
        {
            CUresult result = _moduleLoadDataEx(&module, data, 2, options, values);
            if (result != CUresult.CUDA_SUCCESS)
            {
                string log = Marshal.PtrToStringUTF8((IntPtr)errorLog) ?? "";
                throw new CudaException(result, Describe(_getErrorName, result), $"{Describe(_getErrorString, result)} {log}".Trim(), "cuModuleLoadDataEx");
            }
        }

        return module;
    }

    public IntPtr Function(IntPtr module, string name)
    {
        IntPtr function;
        byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* n = utf8)
        {
            Check(_moduleGetFunction(&function, module, n));
        }

        return function;
    }

    public CUresult UnloadModule(IntPtr module) => _moduleUnload(module);

    public void Launch(IntPtr function, LaunchConfig config, IntPtr stream, void** arguments, [CallerArgumentExpression(nameof(function))] string kernel = "") =>
        Check(_launchKernel(function, config.GridX, config.GridY, config.GridZ, config.BlockX, config.BlockY, config.BlockZ, 0, stream, arguments, null), $"cuLaunchKernel({kernel})");

    public IntPtr CreateEvent()
    {
        IntPtr e;
        Check(_eventCreate(&e, 0));
        return e;
    }

    public void Record(IntPtr e, IntPtr stream) => Check(_eventRecord(e, stream));

    public float ElapsedMilliseconds(IntPtr start, IntPtr end)
    {
        Check(_eventSynchronize(end));
        float ms;
        Check(_eventElapsedTime(&ms, start, end));
        return ms;
    }

    public CUresult DestroyEvent(IntPtr e) => _eventDestroy(e);

    private static string Describe(delegate* unmanaged<CUresult, byte**, CUresult> describe, CUresult result)
    {
        byte* text = null;
        return describe(result, &text) == CUresult.CUDA_SUCCESS && text != null
            ? Marshal.PtrToStringUTF8((IntPtr)text) ?? result.ToString()
            : $"CUresult {(int)result}";
    }
}
