using System.Diagnostics;

namespace NeuralStyle.Tests.Support;

/// <summary>
/// tests/NeuralStyle.TestRunner, which runs this assembly's tests in its own process: built beside the solution's
/// build before each use (dotnet test builds the test projects, not the runner that references them), then run.
/// </summary>
internal static class InProcessRunner
{
    // Tests in different classes may ask at once; one build at a time keeps them from writing the same files.
    private static readonly SemaphoreSlim Building = new(1, 1);

    /// <summary>Runs the runner with <paramref name="args"/> and <paramref name="environment"/> added to its own.</summary>
    public static async Task<(int Code, string Output)> RunAsync(string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        ProcessStartInfo info = CliProcess.DotnetStartInfo([await BuildAsync(), .. args]);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var (code, stdout, stderr) = await CliProcess.RunAsync(info);
        return (code, stdout + stderr);
    }

    /// <summary>
    /// Brings the runner up to date with the assemblies built here (an incremental build: quick when nothing changed)
    /// and returns its path. Only the runner itself is built: everything it references is built already, and this
    /// test's own assembly stays untouched.
    /// </summary>
    private static async Task<string> BuildAsync()
    {
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // …/bin/Release/net10.0/
        string project = Path.Combine(Repository.Root, "tests", "NeuralStyle.TestRunner");
        await Building.WaitAsync();
        try
        {
            var (built, stdout, stderr) = await CliProcess.RunAsync(CliProcess.DotnetStartInfo("build", project, "-c", configuration, "--no-dependencies"));
            Assert.True(built == 0, $"dotnet build of the runner failed:\n{stdout}\n{stderr}");
        }
        finally
        {
            Building.Release();
        }

        return Path.Combine(project, "bin", configuration, "net10.0", "neuralstyle-tests.dll");
    }
}
