using System.Runtime.InteropServices;
using System.Text;

namespace NeuralStyle.Cuda.Interop;

/// <summary>
/// Loads one of several versioned library names (SONAMEs, never dev symlinks) and resolves exports, keeping a
/// trace of every attempt for the error message.
/// </summary>
/// <remarks>
/// The bindings are tables of unmanaged function pointers filled from <see cref="NativeLibrary.GetExport"/> rather
/// than <c>[LibraryImport]</c> declarations: the right library differs by CUDA version (libnvrtc.so.13 or .12),
/// a missing export must become a clear "not available" state instead of an exception at the first call, and tests
/// must be able to point a table at a library that lacks a symbol.
/// </remarks>
internal sealed class NativeLibraryLoader
{
    private readonly StringBuilder _trace = new();

    private NativeLibraryLoader(string what, IntPtr handle, string loadedName)
    {
        What = what;
        Handle = handle;
        LoadedName = loadedName;
    }

    /// <summary>What the library is, for messages ("the CUDA driver").</summary>
    public string What { get; }

    /// <summary>The native handle.</summary>
    public IntPtr Handle { get; }

    /// <summary>The name that loaded.</summary>
    public string LoadedName { get; }

    /// <summary>Loads the first of <paramref name="candidates"/> that exists; throws <see cref="CudaLibraryException"/> listing every attempt.</summary>
    public static NativeLibraryLoader Load(string what, IReadOnlyList<string> candidates, string installHint)
    {
        var trace = new StringBuilder();
        foreach (string name in candidates)
        {
            if (NativeLibrary.TryLoad(name, out IntPtr handle))
            {
                return new NativeLibraryLoader(what, handle, name);
            }

            trace.Append(System.Globalization.CultureInfo.InvariantCulture, $" {name}: not found;");
        }

        throw new CudaLibraryException($"Cannot load {what} (tried{trace.ToString().TrimEnd(';')}). {installHint}");
    }

    /// <summary>The address of <paramref name="symbol"/>; throws <see cref="CudaLibraryException"/> when the library lacks it.</summary>
    public IntPtr Export(string symbol, params string[] fallbacks)
    {
        foreach (string name in new[] { symbol }.Concat(fallbacks))
        {
            if (NativeLibrary.TryGetExport(Handle, name, out IntPtr address))
            {
                return address;
            }

            _trace.Append(name).Append(' ');
        }

        throw new CudaLibraryException($"{LoadedName} ({What}) has no export {string.Join(" or ", new[] { symbol }.Concat(fallbacks))}; it is too old or not {What}. Install a current version.");
    }

    /// <summary>The address of <paramref name="symbol"/>, or zero when absent (for optional functions).</summary>
    public IntPtr OptionalExport(string symbol) => NativeLibrary.TryGetExport(Handle, symbol, out IntPtr address) ? address : IntPtr.Zero;
}
