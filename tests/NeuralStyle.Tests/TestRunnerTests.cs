using System.Text.RegularExpressions;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// The in-process runner tools/gpu-check.sh uses on a GPU machine without the .NET SDK (tests/NeuralStyle.TestRunner):
/// it discovers this assembly's tests, selects by trait and name, and its exit code says whether anything ran and
/// passed. Only the CUDA tests run, which skip without a GPU.
/// </summary>
public sealed partial class TestRunnerTests
{
    [Fact]
    public async Task The_runner_discovers_the_tests_and_selects_by_trait()
    {
        var (code, output) = await InProcessRunner.RunAsync(["--filter", "Category=NoSuchCategory"]);
        Match selected = Selected().Match(output);
        Assert.True(selected.Success, output);
        Assert.Equal("0", selected.Groups[1].Value);
        Assert.True(int.Parse(selected.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) > 1000, output);
        Assert.Equal(1, code); // nothing ran: not a pass

        (code, output) = await InProcessRunner.RunAsync(["--filter", "Category"]);
        Assert.Equal(2, code);
        Assert.Contains("--filter takes conditions Name=Value, Name~Value, Name!=Value or Name!~Value joined by '&', not 'Category'.", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// gpu-check.sh runs a test that ended the process alone, and the others without it: conditions on the test's
    /// name, joined to the trait. The runner sees no GPU even on a machine that has one (CUDA_VISIBLE_DEVICES=-1), so
    /// every CUDA test skips, each after its "Starting" line.
    /// </summary>
    [Fact]
    public async Task The_runner_selects_by_name_within_a_trait_and_says_which_test_starts()
    {
        var (code, all) = await RunWithoutGpu("Category=Cuda");
        Assert.Equal(0, code); // nothing failed and the tests ran (skipped, without a GPU)
        string[] lines = all.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        string[] skipped = lines.Where(l => l.StartsWith("  Skipped ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(SelectedCount(all), skipped.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith("  Skipped ", StringComparison.Ordinal))
            {
                // "  Skipped NAME: reason" after "  Starting NAME" (a theory's NAME has ": " in its arguments too)
                Assert.StartsWith("  Starting ", lines[i - 1], StringComparison.Ordinal);
                Assert.StartsWith($"  Skipped {lines[i - 1]["  Starting ".Length..]}: ", lines[i], StringComparison.Ordinal);
            }
        }

        var (_, kernels) = await RunWithoutGpu("Category=Cuda&FullyQualifiedName~NeuralStyle.Tests.CudaKernelTests.");
        var (_, others) = await RunWithoutGpu("category=cuda&FullyQualifiedName!~cudakerneltests.");
        Assert.InRange(SelectedCount(kernels), 1, SelectedCount(all) - 1);
        Assert.Equal(SelectedCount(all), SelectedCount(kernels) + SelectedCount(others));
        Assert.All(Results(kernels), r => Assert.StartsWith("NeuralStyle.Tests.CudaKernelTests.", r, StringComparison.Ordinal));
        Assert.All(Results(others), r => Assert.DoesNotContain("CudaKernelTests", r, StringComparison.Ordinal));
    }

    private static Task<(int Code, string Output)> RunWithoutGpu(string filter) =>
        InProcessRunner.RunAsync(["--filter", filter], new Dictionary<string, string> { ["CUDA_VISIBLE_DEVICES"] = "-1" });

    private static int SelectedCount(string output)
    {
        Match selected = Selected().Match(output);
        Assert.True(selected.Success, output);
        return int.Parse(selected.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The names of the tests that have a result line.</summary>
    private static IEnumerable<string> Results(string output) =>
        ResultLine().Matches(output).Select(m => m.Groups[1].Value);

    [GeneratedRegex(@"(\d+) of (\d+) tests selected")]
    private static partial Regex Selected();

    [GeneratedRegex(@"^  (?:Passed|Failed|Skipped) (\S+)", RegexOptions.Multiline)]
    private static partial Regex ResultLine();
}
