using System.Diagnostics;
using System.Runtime.InteropServices;

namespace NeuralStyle.Tests.Support;

/// <summary>A C++ file of kernels/emulation built with g++ into a shared library of this process, and loaded.</summary>
internal static class HostLibrary
{
    /// <summary>
    /// Builds <paramref name="source"/> into a temporary library and loads it: the handle, or zero and why not. Hidden
    /// visibility keeps each library's emulation state (blockDim, the block barrier) its own when two are loaded.
    /// </summary>
    public static (IntPtr Handle, string Path, string Problem) Build(string source, string name)
    {
        string library = Path.Combine(Path.GetTempPath(), $"lib{name}_{Environment.ProcessId}.so");
        var info = new ProcessStartInfo("g++") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { "-std=c++20", "-O1", "-pthread", "-shared", "-fPIC", "-fvisibility=hidden", "-Wall", "-Wextra", "-Werror", "-o", library, source })
        {
            info.ArgumentList.Add(a);
        }

        try
        {
            var (code, stdout, stderr) = CliProcess.RunAsync(info).GetAwaiter().GetResult();
            DeleteAtExit(library); // a loaded library's file can go: the mapping stays
            return code == 0
                ? (NativeLibrary.Load(library), library, "")
                : (IntPtr.Zero, library, $"g++ failed to build {Path.GetFileName(source)}:\n" + stderr + stdout);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (IntPtr.Zero, library, "No C++ compiler (g++) on this machine.");
        }
    }

    /// <summary>Removes a file or folder this test process made in the temporary folder when the process ends.</summary>
    public static void DeleteAtExit(string path) => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
            else
            {
                File.Delete(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the system's cleaning of its temporary folder.
        }
    };
}
