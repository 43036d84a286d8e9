using System.Runtime.InteropServices;

namespace NeuralStyle.Cli;

/// <summary>
/// Turns Ctrl-C, SIGTERM and SIGHUP (the terminal closed, or an SSH session dropped) into a polite stop: the first
/// one cancels <see cref="Token"/>, so the running command finishes its iteration (a render or sweep then saves a
/// checkpoint and the current image, a benchmark reports what it measured), or stops its preparation where it has
/// nothing to save yet (<see cref="PreparationInterruptedException"/>), and exits with 130; a second one exits at
/// once with 130. Every command observes the token: one that did not would ignore the first signal.
/// </summary>
internal sealed class Interruption : IDisposable
{
    public const int ExitCode = 130;

    private readonly CancellationTokenSource _source = new();
    private readonly TextWriter _error;
    private readonly PosixSignalRegistration? _terminate, _hangUp;
    private int _count;

    private Interruption(TextWriter error)
    {
        _error = error;
        Console.CancelKeyPress += OnCancelKeyPress;
        _terminate = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnTerminate);
        // Without this a closed terminal would end a long render unsaved (the default action of SIGHUP). Its
        // output then goes nowhere; ConsoleOutput drops what the terminal no longer takes.
        _hangUp = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnTerminate);
    }

    /// <summary>Cancelled by the first Ctrl-C, SIGTERM or SIGHUP.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>Starts listening for Ctrl-C, SIGTERM and SIGHUP.</summary>
    public static Interruption Listen(TextWriter error) => new(error);

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        _terminate?.Dispose();
        _hangUp?.Dispose();
        _source.Dispose();
    }

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        e.Cancel = true;
        Interrupt();
    }

    private void OnTerminate(PosixSignalContext context)
    {
        context.Cancel = true;
        Interrupt();
    }

    private void Interrupt()
    {
        if (Interlocked.Increment(ref _count) > 1)
        {
            _error.WriteLine("Stopped at once; nothing more was saved.");
            Environment.Exit(ExitCode);
        }

        _error.WriteLine("Stopping after the current step, keeping what is done (press Ctrl-C again to quit at once)…");
        _source.Cancel();
    }
}
