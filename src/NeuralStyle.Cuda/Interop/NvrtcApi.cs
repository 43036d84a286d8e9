using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace NeuralStyle.Cuda.Interop;

/// <summary>The NVRTC functions we use (nvrtc.h), from libnvrtc.so.13 or .12 (nvrtc64_130_0.dll / nvrtc64_120_0.dll).</summary>
internal sealed unsafe class NvrtcApi
{
    public static readonly string[] LibraryNames = OperatingSystem.IsWindows()
        ? ["nvrtc64_130_0.dll", "nvrtc64_131_0.dll", "nvrtc64_120_0.dll"]
        : ["libnvrtc.so.13", "libnvrtc.so.12"];

    /// <summary>Binds the first of <paramref name="names"/> that loads; a <see cref="CudaLibraryException"/> that says what to install when none does.</summary>
    public static NvrtcApi Load(IReadOnlyList<string> names) =>
        new(NativeLibraryLoader.Load("NVRTC", names, "Install the CUDA runtime compiler (package cuda-nvrtc-13-0, or the CUDA toolkit)."));

    private readonly delegate* unmanaged<int, byte*> _getErrorString;                       // const char* nvrtcGetErrorString(nvrtcResult)
    private readonly delegate* unmanaged<int*, int*, int> _version;                          // nvrtcVersion(int*, int*)
    private readonly delegate* unmanaged<IntPtr*, byte*, byte*, int, byte**, byte**, int> _createProgram; // nvrtcCreateProgram
    private readonly delegate* unmanaged<IntPtr, int, byte**, int> _compileProgram;          // nvrtcCompileProgram(prog, n, const char* const*)
    private readonly delegate* unmanaged<IntPtr, nuint*, int> _getCubinSize;                 // nvrtcGetCUBINSize
    private readonly delegate* unmanaged<IntPtr, byte*, int> _getCubin;                      // nvrtcGetCUBIN
    private readonly delegate* unmanaged<IntPtr, nuint*, int> _getLogSize;                   // nvrtcGetProgramLogSize
    private readonly delegate* unmanaged<IntPtr, byte*, int> _getLog;                        // nvrtcGetProgramLog
    private readonly delegate* unmanaged<IntPtr*, int> _destroyProgram;                      // nvrtcDestroyProgram(nvrtcProgram*)

    public NvrtcApi(NativeLibraryLoader library)
    {
        ArgumentNullException.ThrowIfNull(library);
        Library = library;
        _getErrorString = (delegate* unmanaged<int, byte*>)library.Export("nvrtcGetErrorString");
        _version = (delegate* unmanaged<int*, int*, int>)library.Export("nvrtcVersion");
        _createProgram = (delegate* unmanaged<IntPtr*, byte*, byte*, int, byte**, byte**, int>)library.Export("nvrtcCreateProgram");
        _compileProgram = (delegate* unmanaged<IntPtr, int, byte**, int>)library.Export("nvrtcCompileProgram");
        _getCubinSize = (delegate* unmanaged<IntPtr, nuint*, int>)library.Export("nvrtcGetCUBINSize");
        _getCubin = (delegate* unmanaged<IntPtr, byte*, int>)library.Export("nvrtcGetCUBIN");
        _getLogSize = (delegate* unmanaged<IntPtr, nuint*, int>)library.Export("nvrtcGetProgramLogSize");
        _getLog = (delegate* unmanaged<IntPtr, byte*, int>)library.Export("nvrtcGetProgramLog");
        _destroyProgram = (delegate* unmanaged<IntPtr*, int>)library.Export("nvrtcDestroyProgram");
    }

    public NativeLibraryLoader Library { get; }

    public void Check(int result, [CallerArgumentExpression(nameof(result))] string call = "", string log = "")
    {
        if (result != 0)
        {
            throw new NvrtcException(result, Marshal.PtrToStringUTF8((IntPtr)_getErrorString(result)) ?? $"nvrtcResult {result}", call, log);
        }
    }

    public (int Major, int Minor) Version()
    {
        int major, minor;
        Check(_version(&major, &minor));
        return (major, minor);
    }

    /// <summary>Compiles <paramref name="source"/> (with its headers) to a CUBIN; a compile error carries the program log.</summary>
    public byte[] CompileToCubin(string source, string name, IReadOnlyDictionary<string, string> headers, IReadOnlyList<string> options) =>
        CompileToCubin(source, name, headers, options, out _);

    /// <summary><see cref="CompileToCubin(string, string, IReadOnlyDictionary{string, string}, IReadOnlyList{string})"/>, with the program log of a compile that succeeded (ptxas's report with --ptxas-options=-v).</summary>
    public byte[] CompileToCubin(string source, string name, IReadOnlyDictionary<string, string> headers, IReadOnlyList<string> options, out string log)
    {
        using var strings = new Utf8Strings();
        byte** headerTexts = strings.Array(headers.Values.ToArray());
        byte** headerNames = strings.Array(headers.Keys.ToArray());
        byte** optionTexts = strings.Array(options.ToArray());
        IntPtr program;
        Check(_createProgram(&program, strings.One(source), strings.One(name), headers.Count, headerTexts, headerNames));
        try
        {
            int compiled = _compileProgram(program, options.Count, optionTexts);
            log = Log(program);
            Check(compiled, $"nvrtcCompileProgram({name}, {string.Join(' ', options)})", compiled == 0 ? "" : log);
            nuint size;
            Check(_getCubinSize(program, &size));
            var cubin = new byte[size];
            fixed (byte* data = cubin)
            {
                Check(_getCubin(program, data));
            }

            return cubin;
        }
        finally
        {
            _ = _destroyProgram(&program); // a failure to free the program is not worth hiding the real error
        }
    }

    private string Log(IntPtr program)
    {
        nuint size;
        if (_getLogSize(program, &size) != 0 || size <= 1)
        {
            return "";
        }

        var log = new byte[size];
        fixed (byte* text = log)
        {
            return _getLog(program, text) == 0 ? Encoding.UTF8.GetString(log, 0, (int)size - 1) : "";
        }
    }

    /// <summary>NUL-terminated UTF-8 copies kept alive for one native call.</summary>
    private sealed class Utf8Strings : IDisposable
    {
        private readonly List<IntPtr> _allocations = [];

        public byte* One(string text)
        {
            IntPtr p = Marshal.StringToCoTaskMemUTF8(text);
            _allocations.Add(p);
            return (byte*)p;
        }

        public byte** Array(string[] texts)
        {
            IntPtr block = Marshal.AllocCoTaskMem(Math.Max(1, texts.Length) * IntPtr.Size);
            _allocations.Add(block);
            var pointers = (byte**)block;
            for (int i = 0; i < texts.Length; i++)
            {
                pointers[i] = One(texts[i]);
            }

            return pointers;
        }

        public void Dispose() => _allocations.ForEach(Marshal.FreeCoTaskMem);
    }
}
