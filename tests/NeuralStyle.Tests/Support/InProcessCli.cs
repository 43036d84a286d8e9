using System.Globalization;
using NeuralStyle.Cli;

namespace NeuralStyle.Tests.Support;

/// <summary>The command line run in this process, its output caught.</summary>
internal static class InProcessCli
{
    /// <summary>What a run stopped while it is prepared says.</summary>
    public const string PreparationInterrupted = "Interrupted while preparing, before the first iteration; nothing was written.";

    /// <summary>Runs <c>neuralstyle</c> with <paramref name="args"/>, as from a terminal where <paramref name="interactive"/>.</summary>
    public static (int Code, string Stdout, string Stderr) Run(bool interactive, params string[] args) => Run(args, interactive, default);

    /// <summary>Runs <c>neuralstyle</c> with <paramref name="args"/>, its output redirected.</summary>
    public static (int Code, string Stdout, string Stderr) Run(params string[] args) => Run(interactive: false, args);

    /// <summary>Runs <c>neuralstyle</c> with <paramref name="args"/> as though Ctrl-C had been pressed as it started.</summary>
    public static (int Code, string Stdout, string Stderr) RunInterrupted(params string[] args) => Run(args, interactive: false, new CancellationToken(canceled: true));

    private static (int Code, string Stdout, string Stderr) Run(string[] args, bool interactive, CancellationToken cancel)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        int code = Program.Run(args, stdout, stderr, interactive, cancel);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
