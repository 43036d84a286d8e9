using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace NeuralStyle.Native;

/// <summary>
/// Makes ONNX Runtime load from the folder libneuralstyle itself was loaded from. Inside a host program,
/// <see cref="AppContext.BaseDirectory"/> is the host's folder, where ONNX Runtime's own resolver looks and
/// fails; the library's folder is found with dladdr on one of our exports.
/// </summary>
internal static unsafe partial class LibraryLocation
{
    internal static void RegisterOnnxRuntimeResolver()
    {
        // Must run before any ONNX Runtime type is touched (see OrtEnv.DisableDllImportResolver).
        OrtEnv.DisableDllImportResolver = true;
        NativeLibrary.SetDllImportResolver(typeof(OrtEnv).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (OwnFolder() is string folder)
        {
            foreach (string candidate in new[] { $"lib{name}.so", $"{name}.so", $"lib{name}.dylib", $"{name}.dll" })
            {
                if (NativeLibrary.TryLoad(Path.Combine(folder, candidate), out IntPtr handle))
                {
                    return handle;
                }
            }
        }

        return NativeLibrary.TryLoad(name, assembly, searchPath, out IntPtr fallback) ? fallback : IntPtr.Zero;
    }

    private static string? OwnFolder()
    {
        if (OperatingSystem.IsWindows())
        {
            return AppContext.BaseDirectory;
        }

        var address = (IntPtr)(delegate* unmanaged<uint>)&Exports.NsVersion;
        DlInfo info;
        return DlAddr(address, &info) != 0 && info.FileName != IntPtr.Zero
            ? Path.GetDirectoryName(Marshal.PtrToStringUTF8(info.FileName))
            : null;
    }

    [LibraryImport("libc", EntryPoint = "dladdr")]
    private static partial int DlAddr(IntPtr address, DlInfo* info);

    [StructLayout(LayoutKind.Sequential)]
    private struct DlInfo
    {
        public IntPtr FileName;     // const char* dli_fname
        public IntPtr BaseAddress;  // void* dli_fbase
        public IntPtr SymbolName;   // const char* dli_sname
        public IntPtr SymbolAddress; // void* dli_saddr
    }
}
