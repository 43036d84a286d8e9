using System.Text.RegularExpressions;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// The in-process runner tools/gpu-check.sh uses on a GPU machine without the .NET SDK (tests/NeuralStyle.TestRunner):
/// it discovers this assembly's tests, selects by trait, and its exit code says whether anything ran and passed.
/// Run as built beside the solution's build (built here when <c>dotnet test</c> has not); nothing is executed but discovery.
/// </summary>
public sealed partial class TestRunnerTests
{
    [Fact]
    public async Task The_runner_discovers_the_tests_and_selects_by_trait()
    {
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // …/bin/Release/net10.0/
        string project = Path.Combine(Repository.Root, "tests", "NeuralStyle.TestRunner");
        string runner = Path.Combine(project, "bin", configuration, "net10.0", "neuralstyle-tests.dll");
        if (!File.Exists(runner))
        {
            // dotnet test builds the test projects and what they reference, not the runner (which references them).
            // Built alone: everything it references is built already, and this test's own assembly stays untouched.
            var (built, stdout, stderr) = await CliProcess.RunAsync(CliProcess.DotnetStartInfo("build", project, "-c", configuration, "--no-dependencies"));
            Assert.True(built == 0, $"dotnet build of the runner failed:\n{stdout}\n{stderr}");
        }

        var (code, output) = await Run(runner, "--filter", "Category=NoSuchCategory");
        Match selected = Selected().Match(output);
        Assert.True(selected.Success, output);
        Assert.Equal("0", selected.Groups[1].Value);
        Assert.True(int.Parse(selected.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) > 1000, output);
        Assert.Equal(1, code); // nothing ran: not a pass

        (code, output) = await Run(runner, "--filter", "Category");
        Assert.Equal(2, code);
        Assert.Contains("--filter takes Name=Value, not 'Category'.", output, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output)> Run(string runner, params string[] args)
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(CliProcess.DotnetStartInfo([runner, .. args]));
        return (code, stdout + stderr);
    }

    [GeneratedRegex(@"(\d+) of (\d+) tests selected")]
    private static partial Regex Selected();
}
