using System.Diagnostics;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>The tests' process runner: a hung program fails its test instead of hanging the test run.</summary>
public sealed class CliProcessTests
{
    [SkippableFact]
    public async Task A_program_past_its_limit_is_killed_and_the_error_names_it_and_its_output()
    {
        Skip.If(OperatingSystem.IsWindows(), "Uses sh.");
        var info = new ProcessStartInfo("sh", ["-c", "echo started; exec sleep 60"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<TimeoutException>(() => CliProcess.RunAsync(info, TimeSpan.FromSeconds(1)));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        Assert.Contains("sh -c echo started; exec sleep 60 ran past 00:00:01 and was killed", error.Message, StringComparison.Ordinal);
        Assert.Contains("started", error.Message.Split("Its output:")[1], StringComparison.Ordinal);
    }
}
