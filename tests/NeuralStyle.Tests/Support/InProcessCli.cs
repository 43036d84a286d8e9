using System.Globalization;
using NeuralStyle.Cli;

namespace NeuralStyle.Tests.Support;

/// <summary>The command line run in this process, its output caught.</summary>
internal static class InProcessCli
{
    /// <summary>Runs <c>neuralstyle</c> with <paramref name="args"/>, as from a terminal where <paramref name="interactive"/>.</summary>
    public static (int Code, string Stdout, string Stderr) Run(bool interactive, params string[] args)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        int code = Program.Run(args, stdout, stderr, interactive);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs <c>neuralstyle</c> with <paramref name="args"/>, its output redirected.</summary>
    public static (int Code, string Stdout, string Stderr) Run(params string[] args) => Run(interactive: false, args);
}
