using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using NeuralStyle.Cuda.Interop;

namespace NeuralStyle.Cuda;

/// <summary>
/// Compiles kernels/*.cu (embedded in this assembly) with NVRTC for the current device's architecture and caches
/// the CUBIN on disk, keyed by a hash of the source with its header, the options, the architecture and the NVRTC
/// version, so a second start loads in milliseconds and any change recompiles.
/// </summary>
internal sealed class KernelCompiler
{
    /// <summary>The header every kernel file includes, given to NVRTC by name.</summary>
    public const string Header = "common.cuh";
    private readonly NvrtcApi _nvrtc;
    private readonly string _cacheFolder;

    public KernelCompiler(NvrtcApi nvrtc, string? cacheFolder = null)
    {
        _nvrtc = nvrtc;
        _cacheFolder = cacheFolder ?? DefaultCacheFolder;
    }

    /// <summary><c>$XDG_CACHE_HOME/neuralstyle/kernels</c>, else <c>~/.cache/neuralstyle/kernels</c>.</summary>
    public static string DefaultCacheFolder
    {
        get
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(root, "neuralstyle", "kernels");
        }
    }

    /// <summary>The names of the kernel source files.</summary>
    public static IReadOnlyList<string> SourceFiles { get; } =
        ["gram.cu", "style_grad.cu", "content_grad.cu", "reduce.cu", "tv.cu", "adam.cu", "convert.cu"];

    /// <summary>The text of an embedded kernel file.</summary>
    public static string Source(string file)
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("kernels/" + file)
            ?? throw new InvalidOperationException($"Kernel source {file} is not embedded in {Assembly.GetExecutingAssembly().GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// The CUBIN of <paramref name="file"/> for compute capability <paramref name="major"/>.<paramref name="minor"/>:
    /// from the cache, or compiled and cached. <paramref name="recompile"/> skips the cached copy and replaces it.
    /// </summary>
    public byte[] Compile(string file, int major, int minor, bool recompile = false)
    {
        string cached = CachePath(file, major, minor);
        if (!recompile && File.Exists(cached))
        {
            return File.ReadAllBytes(cached);
        }

        byte[] cubin = _nvrtc.CompileToCubin(Source(file), file, new Dictionary<string, string> { [Header] = Source(Header) }, Options(major, minor));
        Directory.CreateDirectory(_cacheFolder);
        AtomicFile.Write(cached, s => s.Write(cubin));
        return cubin;
    }

    /// <summary>NVRTC's options for compute capability <paramref name="major"/>.<paramref name="minor"/>.</summary>
    public static string[] Options(int major, int minor) => [$"--gpu-architecture=sm_{major}{minor}", "--std=c++17", "-default-device"];

    /// <summary>The cache entry: named by a hash of the source, its header, the options, the architecture and NVRTC's version.</summary>
    private string CachePath(string file, int major, int minor)
    {
        var (nvrtcMajor, nvrtcMinor) = _nvrtc.Version();
        string key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            string.Join('\u0001', Source(file), Source(Header), string.Join(' ', Options(major, minor)), $"sm_{major}{minor}", $"nvrtc {nvrtcMajor}.{nvrtcMinor}"))))[..24];
        return Path.Combine(_cacheFolder, $"{Path.GetFileNameWithoutExtension(file)}-{key}.cubin");
    }
}
