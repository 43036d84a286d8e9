namespace NeuralStyle.Cli;

/// <summary>
/// Ctrl-C, SIGTERM or SIGHUP came while a run was being prepared (its images, network and targets), before its first
/// iteration and before anything was written: there is nothing to save, so the run ends at once rather than after a
/// preparation that can take many seconds, and leaves every file as it was. The command line prints the message and
/// exits with <see cref="Interruption.ExitCode"/>.
/// </summary>
internal sealed class PreparationInterruptedException : Exception
{
    private const string Stopped = "Interrupted while preparing, before the first iteration; nothing was written.";

    /// <summary>Creates the exception with its one message.</summary>
    public PreparationInterruptedException()
        : base(Stopped)
    {
    }

    /// <summary>Creates the exception for the stop <paramref name="innerException"/> reported.</summary>
    public PreparationInterruptedException(OperationCanceledException innerException)
        : base(Stopped, innerException)
    {
    }
}
