using System.Diagnostics;
using System.Globalization;
using NeuralStyle.Engine;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>Ctrl-C (SIGINT), SIGTERM and SIGHUP on a real process: it saves, exits with 130, and the run resumes exactly.</summary>
public sealed class InterruptionTests : TemporaryFolderTest
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [SkippableTheory]
    [InlineData("INT")]
    [InlineData("TERM")]
    [InlineData("HUP")] // the terminal closed: without a handler the run would end unsaved
    public async Task A_signal_saves_a_checkpoint_exits_130_and_the_run_resumes_exactly(string signal)
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX signals are sent with kill(1).");
        string image = Path.Combine(Folder, "cat.png"), checkpoint = Path.Combine(Folder, "cat.ckpt");
        using Process process = Started(signal,
            "render", "--size", "40", "--iterations", "100000", "--plateau", "0.5:1000", "--weights", "random", "--print-every", "1", "--out", image);
        string rest = await StopAfter(process, signal, "iteration     3/");
        Assert.True(process.ExitCode == 130, $"exit {process.ExitCode}: {rest}");
        Assert.Contains("Interrupted at iteration", rest, StringComparison.Ordinal);
        Assert.Contains($"continue with: render --resume {checkpoint} --iterations 100000 --plateau 0.5:1000", rest, StringComparison.Ordinal); // in place: no --out needed

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

    [SkippableFact]
    public async Task A_signal_while_the_run_is_prepared_ends_it_there_and_writes_nothing()
    {
        // A style image of 1536 px: its targets' pass takes seconds, and the signal comes during it. It used to be
        // taken after the preparation, and the run then saved its iteration-0 state over any earlier outputs.
        Skip.If(OperatingSystem.IsWindows(), "POSIX signals are sent with kill(1).");
        string folder = Path.Combine(Folder, "renders");
        using Process process = Started("TERM",
            "render", "--size", "512", "--style-scale", "3", "--iterations", "5", "--weights", "random", "--out", Path.Combine(folder, "cat.png"));

        string rest = await StopAfter(process, "TERM", "Preparing the network and the targets");
        Assert.True(process.ExitCode == 130, $"exit {process.ExitCode}: {rest}");
        Assert.Contains(InProcessCli.PreparationInterrupted, rest, StringComparison.Ordinal);
        Assert.DoesNotContain("Rendering", rest, StringComparison.Ordinal); // stopped before the preparation ended
        Assert.False(Directory.Exists(folder));
    }

    [SkippableFact]
    public async Task A_second_signal_while_the_first_ones_save_runs_leaves_no_temporary_or_lock_file()
    {
        // The second signal exits at once, skipping the code that deletes a write's temporary file and the run's
        // lock files: they stayed beside the outputs, the temporary one as large as it had got.
        Skip.If(OperatingSystem.IsWindows(), "POSIX signals are sent with kill(1).");
        string folder = Path.Combine(Folder, "renders");
        using Process process = Started("TERM",
            "render", "--size", "768", "--iterations", "100000", "--weights", "random", "--print-every", "1", "--out", Path.Combine(folder, "cat.png"));
        Task<string> errors = process.StandardError.ReadToEndAsync();
        try
        {
            using var patience = new CancellationTokenSource(Patience);
            string? line;
            while ((line = await process.StandardOutput.ReadLineAsync(patience.Token)) is not null && !line.Contains("iteration     1/", StringComparison.Ordinal))
            {
            }

            Task<string> rest = process.StandardOutput.ReadToEndAsync(patience.Token);
            await Signal(process, "TERM");
            while (!Directory.EnumerateFiles(folder, "*.tmp").Any()) // the save the first signal asked for has begun
            {
                if (process.HasExited)
                {
                    Assert.Fail($"The run ended before its save was seen: {await rest}{await errors}");
                }

                await Task.Delay(1, patience.Token);
            }

            await Signal(process, "TERM");
            await process.WaitForExitAsync(patience.Token);
            string said = await rest + await errors;
            Assert.True(process.ExitCode == 130, $"exit {process.ExitCode}: {said}");
            Assert.Contains("Stopped at once; nothing more was saved.", said, StringComparison.Ordinal);
            Assert.DoesNotContain(Directory.EnumerateFiles(folder), f => f.EndsWith(".tmp", StringComparison.Ordinal) || f.EndsWith(".lock", StringComparison.Ordinal));
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"The run did not get to its second iteration, or did not stop, within {Patience.TotalMinutes} minutes. {await errors}");
        }
    }

    [SkippableFact]
    public async Task A_sweep_stopped_by_sigterm_saves_its_batch_and_resumes_exactly()
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX signals are sent with kill(1).");
        string folder = Path.Combine(Folder, "sweep");
        string[] settings = ["--size", "40", "--lr", "2,20", "--weights", "random", "--no-estimate"];
        using Process process = Started("TERM",
            ["sweep", .. settings, "--checkpoints", "100000", "--plateau", "0.5:1000", "--print-every", "1", "--out-dir", folder]);

        string rest = await StopAfter(process, "TERM", "iteration     3/");
        Assert.True(process.ExitCode == 130, $"exit {process.ExitCode}: {rest}");
        Assert.Contains($"Continue with: sweep --resume {folder} --checkpoints 100000 --plateau 0.5:1000", rest, StringComparison.Ordinal); // as it was asked to end

        int stoppedAt = Checkpoint.Load(Path.Combine(folder, "sweep.ckpt")).Iteration;
        Assert.True(stoppedAt >= 4);
        string straight = Path.Combine(Folder, "straight");
        await Run("sweep", "--resume", folder, "--checkpoints", $"{stoppedAt + 2}");
        await Run(["sweep", .. settings, "--checkpoints", $"{stoppedAt + 2}", "--out-dir", straight]);
        Assert.Equal(Checkpoint.Load(Path.Combine(straight, "sweep.ckpt")).State.Images, Checkpoint.Load(Path.Combine(folder, "sweep.ckpt")).State.Images);
    }

    [SkippableFact]
    public async Task A_sweep_interrupted_while_a_rate_catches_up_keeps_it_where_it_got_to_and_it_goes_on_from_there()
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX signals are sent with kill(1).");
        string folder = Path.Combine(Folder, "sweep"), checkpoint = Path.Combine(folder, "sweep.ckpt");
        string[] settings = ["--size", "40", "--weights", "random", "--no-estimate"];
        await Run(["sweep", .. settings, "--lr", "20", "--checkpoints", "300", "--out-dir", folder]);
        using Process process = Started("INT",
            "sweep", "--resume", folder, "--checkpoints", "310", "--add-lr", "2", "--print-every", "1");

        string rest = await StopAfter(process, "INT", "iteration     5/"); // lr 2, added, on its way from 0 to 300
        Assert.True(process.ExitCode == 130, $"exit {process.ExitCode}: {rest}");
        Assert.Contains($"while lr 2 caught up; saved {checkpoint} with it set aside where it got to. Continue with: sweep --resume {folder} --checkpoints 310 --only 2,20", rest, StringComparison.Ordinal);
        Checkpoint saved = Checkpoint.Load(checkpoint);
        int reached = saved.State.Steps[1];
        Assert.Equal(300, saved.Iteration);
        Assert.InRange(reached, 5, 299);
        Assert.Equal([null, $"set aside at iteration {reached}"], saved.Stopped);
        Assert.Equal(reached, saved.History[1][^1].Iteration); // its image is the one whose loss was measured last

        // Continued as it says, it ends as a sweep that had both rates all along.
        await Run("sweep", "--resume", folder, "--checkpoints", "310", "--only", "2,20");
        string straight = Path.Combine(Folder, "straight");
        await Run(["sweep", .. settings, "--lr", "20,2", "--checkpoints", "310", "--out-dir", straight]);
        Assert.Equal(Checkpoint.Load(Path.Combine(straight, "sweep.ckpt")).State.Images, Checkpoint.Load(checkpoint).State.Images);
    }

    [SkippableFact]
    public async Task A_sweep_killed_while_a_rate_catches_up_keeps_it_as_of_the_last_checkpoint_it_passed()
    {
        // SIGKILL leaves no handler a chance: what is kept is what was saved at the checkpoints the rate passed.
        Skip.If(OperatingSystem.IsWindows(), "POSIX signals are sent with kill(1).");
        string folder = Path.Combine(Folder, "sweep"), checkpoint = Path.Combine(folder, "sweep.ckpt");
        await Run("sweep", "--size", "40", "--weights", "random", "--no-estimate", "--lr", "20", "--checkpoints", "100,400", "--out-dir", folder);
        using Process process = Process.Start(CliProcess.StartInfo("sweep", "--resume", folder, "--checkpoints", "410", "--add-lr", "2", "--print-every", "1"))!;

        await StopAfter(process, "KILL", "iteration   110/"); // lr 2, added, past the checkpoint at 100 on its way to 400

        Checkpoint saved = Checkpoint.Load(checkpoint);
        Assert.Equal([20.0, 2], saved.Settings.LearningRates);
        Assert.Equal([null, "set aside at iteration 100"], saved.Stopped);
        Assert.Equal(100, saved.State.Steps[1]);
        Assert.Contains(File.ReadAllLines(Path.Combine(folder, "metrics.csv")), row => row.StartsWith("2,100,ok,", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task A_benchmark_stops_at_sigterm_and_reports_the_iterations_it_timed()
    {
        // It used to take no notice: a single SIGTERM (as timeout(1) sends) left it running to its --repeat.
        Skip.If(OperatingSystem.IsWindows(), "POSIX signals are sent with kill(1).");
        using Process process = new() { StartInfo = WithDefaultDisposition("TERM", CliProcess.StartInfo(
            "bench", "iteration", "--size", "32", "--repeat", "100000", "--warmup", "0")) };
        var progress = new System.Text.StringBuilder();
        var thirdIteration = new TaskCompletionSource();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (progress)
            {
                progress.AppendLine(e.Data);
            }

            if (e.Data?.Contains("  3/100000:", StringComparison.Ordinal) == true)
            {
                thirdIteration.TrySetResult();
            }
        };
        process.Start();
        process.BeginErrorReadLine(); // drained to the end, so a full pipe cannot stall the benchmark
        Task<string> table = process.StandardOutput.ReadToEndAsync(); // stdout holds only the table, at the end
        try
        {
            await thirdIteration.Task.WaitAsync(Patience);
            await Signal(process, "TERM");

            await process.WaitForExitAsync().WaitAsync(Patience);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"The benchmark did not get to its third iteration, or did not stop, within {Patience.TotalMinutes} minutes. {progress}");
        }

        string report = await table;
        Assert.True(process.ExitCode == 130, $"exit {process.ExitCode}: {report}");
        Assert.Matches(@"batch 1, \d+ timed iterations after 0 warm-up \(interrupted: \d+ of 100000\)", report);
        Assert.Matches(@"\ntotal +\d+\.\d", report);
    }

    /// <summary>
    /// Reads <paramref name="process"/>'s output until a line holds <paramref name="marker"/>, sends it
    /// <paramref name="signal"/> and waits for it to exit; returns what it printed after the marker, with its errors.
    /// </summary>
    private static async Task<string> StopAfter(Process process, string signal, string marker)
    {
        Task<string> errors = process.StandardError.ReadToEndAsync(); // read alongside, so a full pipe cannot stall the run
        try
        {
            using (var untilMarker = new CancellationTokenSource(Patience))
            {
                string? line;
                while ((line = await process.StandardOutput.ReadLineAsync(untilMarker.Token)) is not null && !line.Contains(marker, StringComparison.Ordinal))
                {
                }

                if (line is null)
                {
                    Assert.Fail($"The run ended before '{marker}': {await errors}");
                }
            }

            await Signal(process, signal);
            using var untilExit = new CancellationTokenSource(Patience);
            string rest = await process.StandardOutput.ReadToEndAsync(untilExit.Token);
            await process.WaitForExitAsync(untilExit.Token);
            return rest + await errors;
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"SIG{signal}: the run did not get to '{marker}', or did not stop, within {Patience.TotalMinutes} minutes. {await errors}");
            throw;
        }
    }

    /// <summary>Starts <c>neuralstyle</c> with <paramref name="args"/>, ready to take <paramref name="signal"/> (<see cref="WithDefaultDisposition"/>).</summary>
    private static Process Started(string signal, params string[] args) => Process.Start(WithDefaultDisposition(signal, CliProcess.StartInfo(args)))!;

    /// <summary>Sends SIG<paramref name="signal"/> to <paramref name="process"/>.</summary>
    private static async Task Signal(Process process, string signal)
    {
        using Process kill = Process.Start("kill", $"-{signal} {process.Id}");
        await kill.WaitForExitAsync();
    }

    /// <summary>
    /// A process started with <paramref name="signal"/> ignored passes that on to its children, and a program started
    /// so keeps ignoring it, as POSIX has it: a background job of a non-interactive shell, such as a test run started
    /// with <c>&amp;</c> from a script, ignores SIGINT. The child is then started with the default disposition
    /// (coreutils' <c>env --default-signal</c>), so the test checks our handler and not the shell that started the tests.
    /// </summary>
    private static ProcessStartInfo WithDefaultDisposition(string signal, ProcessStartInfo info)
    {
        if (!IgnoredHere(signal))
        {
            return info;
        }

        var wrapped = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        wrapped.ArgumentList.Add($"--default-signal={signal}");
        wrapped.ArgumentList.Add(info.FileName);
        foreach (string argument in info.ArgumentList)
        {
            wrapped.ArgumentList.Add(argument);
        }

        return wrapped;
    }

    /// <summary>Whether this process ignores <paramref name="signal"/> (the SigIgn mask of /proc/self/status; false where there is none).</summary>
    private static bool IgnoredHere(string signal)
    {
        const string status = "/proc/self/status";
        string? mask = File.Exists(status) ? File.ReadLines(status).FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal)) : null;
        if (mask is null)
        {
            return false;
        }

        int number = signal switch { "HUP" => 1, "INT" => 2, "TERM" => 15, _ => throw new ArgumentException($"No number known for SIG{signal}.", nameof(signal)) };
        ulong ignored = ulong.Parse(mask["SigIgn:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return (ignored & (1UL << (number - 1))) != 0;
    }

    private static async Task Run(params string[] args)
    {
        var (code, output, error) = await CliProcess.RunAsync(CliProcess.StartInfo(args));
        Assert.True(code == 0, $"{string.Join(' ', args)} → {code}: {error}{output}");
    }
}
