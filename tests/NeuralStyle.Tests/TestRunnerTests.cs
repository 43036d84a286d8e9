using System.Text.RegularExpressions;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// The in-process runner tools/gpu-check.sh uses on a GPU machine without the .NET SDK (tests/NeuralStyle.TestRunner):
/// it discovers this assembly's tests, selects by trait, and its exit code says whether anything ran and passed.
/// Nothing is executed but discovery.
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
        Assert.Contains("--filter takes Name=Value, not 'Category'.", output, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"(\d+) of (\d+) tests selected")]
    private static partial Regex Selected();
}
