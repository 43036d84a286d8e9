using CommandLine;
using NeuralStyle.Cli.Commands;

namespace NeuralStyle.Cli;

/// <summary>
/// The <c>neuralstyle</c> command line. Exit codes: 0 done, 1 internal error or divergence, 2 a user's mistake,
/// 130 interrupted (Ctrl-C, SIGTERM or SIGHUP): after saving, or before the first iteration with nothing to save.
/// </summary>
public static class Program
{
    /// <summary>Entry point; see <see cref="Run"/>.</summary>
    public static int Main(string[] args)
    {
        var output = new ConsoleOutput(Console.Out);
        var error = new ConsoleOutput(Console.Error);
        using Interruption interruption = Interruption.Listen(error);
        return Run(args, output, error, interactive: !Console.IsOutputRedirected, interruption.Token);
    }

    /// <summary>Runs one command line; what a console would show goes to <paramref name="output"/> and <paramref name="error"/>.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, bool interactive, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(error);
        Cuda.CudaSupport.Register();
        using IDisposable names = SettingNames.Use(SettingNames.CommandLine); // the engine's messages name our options
        using var parser = new Parser(s =>
        {
            s.HelpWriter = null;
            s.CaseInsensitiveEnumValues = true;
        });
        // CommandLineParser sees --help only right after the command; people also type it at the end.
        if (args.Length > 2 && args.Skip(1).Contains("--help", StringComparer.Ordinal))
        {
            args = [args[0], "--help"];
        }

        if (ParseFailures.OptionWithoutValue(args) is string option)
        {
            error.WriteLine($"--{option} needs a value. Run with --help to see the options.");
            return 2;
        }

        if (ParseFailures.NumberWithComma(args) is string comma)
        {
            error.WriteLine(comma);
            return 2;
        }

        ParserResult<object> parsed = parser.ParseArguments(args, ParseFailures.Verbs);
        if (parsed is NotParsed<object> notParsed)
        {
            return ParseFailures.Explain(notParsed, args, output, error);
        }

        object options = ((Parsed<object>)parsed).Value;
        bool verbose = options is OptimizationOptions { Verbose: true } or ModelOptions { Verbose: true };
        try
        {
            ResumeConflicts.Check(options, args);
            ActionOptions.Check(options, args);
            return options switch
            {
                RenderOptions render => RenderCommand.Run(render, output, interactive, cancel),
                SweepOptions sweep => SweepCommand.Run(sweep, output, interactive, cancel),
                ModelOptions model => ModelCommand.Run(model, output, interactive, cancel),
                DoctorOptions => DoctorCommand.Run(output),
                BenchOptions bench => BenchCommand.Run(bench, output, error, cancel),
                _ => throw new InvalidOperationException($"No command for {options.GetType().Name}."),
            };
        }
        catch (UserInputException e)
        {
            error.WriteLine(verbose ? e.ToString() : e.Message);
            return 2;
        }
        catch (PreparationInterruptedException e)
        {
            error.WriteLine(e.Message);
            return Interruption.ExitCode;
        }
        catch (OutOfMemoryException e)
        {
            // The estimate let the run start (or --max-memory-mb allowed more than the machine has) and an allocation
            // failed: a limit of this machine, not a bug.
            error.WriteLine(verbose ? e.ToString()
                : "Ran out of memory: the run needs more than this machine could give. Use a smaller --size, fewer learning rates at once or a lower --style-scale; a --max-memory-mb above the memory available lets such runs start.");
            return 1;
        }
        catch (IOException e)
        {
            // The system refused a read or write (a full disk, no permission): the message names the file; not a bug.
            error.WriteLine(verbose ? e.ToString() : e.Message);
            return 1;
        }
#pragma warning disable CA1031 // The top level turns any failure into one line and exit code 1, never a stack trace.
        catch (Exception e)
#pragma warning restore CA1031
        {
            error.WriteLine(verbose ? e.ToString() : $"Internal error: {e.Message} (run with --verbose for details).");
            return 1;
        }
    }
}
