using System.Diagnostics;

namespace NeuralStyle.Tests.Support;

/// <summary>The command line built beside the tests, run as its own process (<c>dotnet neuralstyle.dll ARGS</c>).</summary>
internal static class CliProcess
{
    /// <summary>How to start it with <paramref name="args"/>, output redirected; callers may add to its environment.</summary>
    public static ProcessStartInfo StartInfo(params string[] args) => DotnetStartInfo([Path.Combine(AppContext.BaseDirectory, "neuralstyle.dll"), .. args]);

    /// <summary>How to start <c>dotnet ARGS</c> (a built program's assembly and its arguments, or an SDK command), output redirected.</summary>
    public static ProcessStartInfo DotnetStartInfo(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        return info;
    }

    /// <summary>How long a test lets one process run unless it says otherwise: far beyond any test's, so that only a hang reaches it.</summary>
    public static readonly TimeSpan DefaultLimit = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Runs any program to the end; both streams are read at once, so neither can fill up and stall the other. A
    /// process that runs past <paramref name="limit"/> (<see cref="DefaultLimit"/>) is killed and the test fails with
    /// what it printed, instead of hanging the run.
    /// </summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(ProcessStartInfo info, TimeSpan? limit = null)
    {
        TimeSpan allowed = limit ?? DefaultLimit;
        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(), stderr = process.StandardError.ReadToEndAsync();
        using var expiry = new CancellationTokenSource(allowed);
        try
        {
            await process.WaitForExitAsync(expiry.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"{info.FileName} {string.Join(' ', info.ArgumentList)} ran past {allowed} and was killed. Its output: {await stdout}{await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
