using System.Diagnostics;
using NeuralStyle.Engine;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>Ctrl-C (SIGINT) and SIGTERM on a real process: it saves, exits with 130, and the run resumes exactly.</summary>
public sealed class InterruptionTests : TemporaryFolderTest
{
    [SkippableTheory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task A_signal_saves_a_checkpoint_exits_130_and_the_run_resumes_exactly(string signal)
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX signals are sent with kill(1).");
        string image = Path.Combine(Folder, "cat.png"), checkpoint = Path.Combine(Folder, "cat.ckpt");
        using Process process = Start("render", "--size", "40", "--iterations", "100000", "--weights", "random", "--print-every", "1", "--out", image);
        string? line;
        while ((line = await process.StandardOutput.ReadLineAsync()) is not null && !line.Contains("iteration     3/", StringComparison.Ordinal))
        {
        }

        Assert.NotNull(line);
        using (Process kill = Process.Start("kill", $"-{signal} {process.Id}"))
        {
            await kill.WaitForExitAsync();
        }

        string rest = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 130, $"exit {process.ExitCode}: {rest}");
        Assert.Contains("Interrupted at iteration", rest, StringComparison.Ordinal);
        Assert.True(File.Exists(image));
        Checkpoint saved = Checkpoint.Load(checkpoint);
        int stoppedAt = saved.Iteration;
        Assert.True(stoppedAt >= 4);

        // Resume three more iterations and compare with a run that never stopped.
        string resumed = Path.Combine(Folder, "resumed.png"), straight = Path.Combine(Folder, "straight.png");
        await Run("render", "--resume", checkpoint, "--iterations", $"{stoppedAt + 3}", "--out", resumed);
        await Run("render", "--size", "40", "--iterations", $"{stoppedAt + 3}", "--weights", "random", "--out", straight);
        Assert.Equal(Checkpoint.Load(Path.ChangeExtension(straight, ".ckpt")).State.Images, Checkpoint.Load(Path.ChangeExtension(resumed, ".ckpt")).State.Images);
    }

    private static Process Start(params string[] args) => Process.Start(CliProcess.StartInfo(args))!;

    private static async Task Run(params string[] args)
    {
        var (code, output, error) = await CliProcess.RunAsync(CliProcess.StartInfo(args));
        Assert.True(code == 0, $"{string.Join(' ', args)} → {code}: {error}{output}");
    }
}
