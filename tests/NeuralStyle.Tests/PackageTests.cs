using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// The .NET packages as a host outside this repository gets them: NeuralStyle.Core and NeuralStyle.Cuda packed from
/// this build (<c>dotnet pack</c>), and a program of its own referencing NeuralStyle.Cuda from them, which runs the
/// README's .NET examples one after the other, as a reader would paste them.
/// </summary>
[Collection(SourceTreeBuilds.Name)]
public sealed class PackageTests : TemporaryFolderTest
{
    /// <summary>
    /// The README's examples run as written but for these: smaller images, fewer iterations, no token of a caller's.
    /// The first render runs 4 iterations; the plateau loop then runs it to 8 at the most (in steps of 25: to 29); the
    /// sweep runs 3 + 2.
    /// </summary>
    private static readonly (string Written, string Run)[] QuickerExamples =
    [
        ("Size = 384", "Size = 48"), ("transfer.Run(300,", "transfer.Run(4,"), ("cancellationToken)", "CancellationToken.None)"),
        ("transfer.Iteration < 2000", "transfer.Iteration < 8"),
        ("LearningRates = [1, 5, 20] }", "LearningRates = [1, 5, 20], Size = 32 }"), ("sweep.Run(200)", "sweep.Run(3)"), ("sweep.Run(300)", "sweep.Run(2)"),
    ];

    [Fact]
    public async Task The_readmes_dotnet_examples_run_in_a_program_of_their_own_against_the_packed_packages()
    {
        string packages = Path.Combine(Folder, "packages");
        string version = typeof(StyleTransfer).Assembly.GetName().Version!.ToString(3);
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // …/bin/Release/net10.0/: what dotnet test built
        await Dotnet(Repository.Root, "pack", Path.Combine(Repository.Root, "NeuralStyle.sln"), "--no-build", "-c", configuration, "-o", packages);
        Assert.Equal([$"NeuralStyle.Core.{version}.nupkg", $"NeuralStyle.Cuda.{version}.nupkg"], Directory.GetFiles(packages).Select(Path.GetFileName).Order());
        Assert.Equal(KernelSources(), EmbeddedKernels(Path.Combine(packages, $"NeuralStyle.Cuda.{version}.nupkg")));

        string program = Directory.CreateDirectory(Path.Combine(Folder, "host")).FullName;
        WriteHostProject(program, packages, version, await MachinePackagesFolder());
        string photo = Path.Combine(Repository.Examples, "content-great-wall-of-china.jpg");
        File.Copy(photo, Path.Combine(program, "photo.jpg"));
        File.Copy(Path.Combine(Repository.Examples, "style-van-gogh-starry-night.jpg"), Path.Combine(program, "painting.jpg"));
        string output = await Dotnet(program, "run");

        // The device line, wherever the example's Progress<T> callbacks (run on the thread pool) put their lines around it.
        string device = Assert.Single(output.Split('\n'), l => l.StartsWith("CPU (", StringComparison.Ordinal) || l.StartsWith("CUDA (", StringComparison.Ordinal));
        Assert.DoesNotContain("no CUDA backend", device, StringComparison.Ordinal); // CudaSupport.Register() reached the engine from the package
        RgbImage styled = ImageFiles.Load(Path.Combine(program, "styled.png"), longSide: null);
        Assert.Equal(SizeOf(ImageFiles.Load(photo, 48)), SizeOf(styled));
        IReadOnlyList<LossRecord> history = Checkpoint.Load(Path.Combine(program, "styled.ckpt")).History.Single();
        Assert.Equal([0, 1, 2, 3], history.Select(r => r.Iteration)); // the loss of each image updated: 4 iterations
        Assert.True(history[^1].Loss.Total < history[0].Loss.Total, $"The loss rose over 4 iterations: {history[0].Loss.Total} → {history[^1].Loss.Total}.");

        Checkpoint sweep = Checkpoint.Load(Path.Combine(program, "sweep.ckpt"));
        Assert.Equal([1.0, 5.0, 20.0], sweep.Settings.LearningRates);
        Assert.All(sweep.History, rate => Assert.Equal(5, rate.Count)); // 3 + 2 iterations, no rate set aside so early
        RgbImage rate5 = ImageFiles.Load(Path.Combine(program, "lr5.png"), longSide: null);
        Assert.Equal(SizeOf(ImageFiles.Load(photo, 32)), SizeOf(rate5));
    }

    private static (int Width, int Height) SizeOf(RgbImage image) => (image.Width, image.Height);

    /// <summary>The C# examples of the README's "Embedding" section in order, with <see cref="QuickerExamples"/>'s changes, each of which must still apply.</summary>
    private static string ReadmeExamples() => ReadmeCode.WithChanges(string.Join('\n', ReadmeCode.Blocks("```csharp", "## Embedding", "## ")), QuickerExamples);

    /// <summary>
    /// A console program referencing NeuralStyle.Cuda from <paramref name="packages"/> alone, with its own package cache
    /// (so no earlier build of these packages is taken for this one) and this machine's as a read-only fallback for
    /// their dependencies (ONNX Runtime and the rest, restored by the build already).
    /// </summary>
    private static void WriteHostProject(string folder, string packages, string version, string machinePackages)
    {
        File.WriteAllText(Path.Combine(folder, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{Path.Combine(folder, "cache")}" /></config>
              <packageSources><clear /><add key="packed" value="{packages}" /></packageSources>
              <fallbackPackageFolders><clear /><add key="machine" value="{machinePackages}" /></fallbackPackageFolders>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(folder, "Host.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="NeuralStyle.Cuda" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(folder, "Program.cs"), ReadmeExamples());
    }

    /// <summary>Where this machine's restores put packages (<c>dotnet nuget locals global-packages --list</c>).</summary>
    private static async Task<string> MachinePackagesFolder()
    {
        const string Prefix = "global-packages: ";
        string listed = await Dotnet(Repository.Root, "nuget", "locals", "global-packages", "--list");
        return listed.Split('\n').Single(l => l.StartsWith(Prefix, StringComparison.Ordinal))[Prefix.Length..].Trim();
    }

    /// <summary>Runs <c>dotnet ARGS</c> in <paramref name="folder"/>; fails the test with its output unless it succeeds.</summary>
    private static async Task<string> Dotnet(string folder, params string[] args)
    {
        var info = CliProcess.DotnetStartInfo(args);
        info.WorkingDirectory = folder;
        var (code, stdout, stderr) = await CliProcess.RunAsync(info);
        Assert.True(code == 0, $"dotnet {string.Join(' ', args)} exited with {code}:\n{stdout}\n{stderr}");
        return stdout;
    }

    /// <summary>kernels/*.cu and *.cuh as the CUDA backend names its resources.</summary>
    private static IEnumerable<string> KernelSources() => Directory.GetFiles(Path.Combine(Repository.Root, "kernels"))
        .Where(f => f.EndsWith(".cu", StringComparison.Ordinal) || f.EndsWith(".cuh", StringComparison.Ordinal))
        .Select(f => "kernels/" + Path.GetFileName(f)).Order(StringComparer.Ordinal);

    /// <summary>The resources of the NeuralStyle.Cuda assembly inside <paramref name="package"/>: the kernels NVRTC compiles on the user's machine.</summary>
    private static IEnumerable<string> EmbeddedKernels(string package)
    {
        using ZipArchive zip = ZipFile.OpenRead(package);
        using var assembly = new MemoryStream();
        using (Stream entry = zip.GetEntry("lib/net10.0/NeuralStyle.Cuda.dll")!.Open())
        {
            entry.CopyTo(assembly);
        }

        assembly.Position = 0;
        using var pe = new PEReader(assembly);
        MetadataReader metadata = pe.GetMetadataReader();
        return [.. metadata.ManifestResources.Select(r => metadata.GetString(metadata.GetManifestResource(r).Name)).Where(n => n.StartsWith("kernels/", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
    }
}
