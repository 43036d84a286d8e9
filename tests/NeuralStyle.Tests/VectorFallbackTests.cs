using System.Text.RegularExpressions;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// The CPU kernels choose their vector code by what the processor has: AVX's shuffles where the Winograd transforms
/// load and store tiles, hardware Vector256 (AVX2) in the pooling, and a Vector&lt;float&gt; of 8 or 4 in the loss and
/// Adam kernels. This machine takes the AVX2 paths, but a processor without them (an older x86, or ARM64, where
/// Vector256 is software) takes the others. So the tests of those kernels (<see cref="Category"/>) run again in a
/// process started with AVX2, then all of AVX, turned off through the runtime's own switches.
/// </summary>
public sealed partial class VectorFallbackTests
{
    /// <summary>The trait of the test classes whose kernels have more than one vector path.</summary>
    public const string Category = "VectorPaths";

    [Theory]
    [InlineData("DOTNET_EnableAVX2", "AVX2")]
    [InlineData("DOTNET_EnableAVX", "AVX")]
    public async Task The_kernels_tests_pass_without(string runtimeSwitch, string instructions)
    {
        var (code, output) = await InProcessRunner.RunAsync(["--filter", $"Category={Category}"], new Dictionary<string, string> { [runtimeSwitch] = "0" });

        // Else the switch did not reach the runtime, and the tests below ran the same paths as this process.
        Assert.Contains($"{instructions} False", output, StringComparison.Ordinal);
        Match summary = Summary().Match(output);
        Assert.True(summary.Success, output);
        Assert.True(int.Parse(summary.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 100, output);
        Assert.True(summary.Groups[2].Value == "0" && code == 0, output);
    }

    [GeneratedRegex(@"Passed: (\d+), Failed: (\d+)")]
    private static partial Regex Summary();
}
