using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using CommandLine;
using CommandLine.Text;
using NeuralStyle.Cli.Commands;

namespace NeuralStyle.Cli;

/// <summary>
/// The <c>neuralstyle</c> command line. Exit codes: 0 done, 1 internal error or divergence, 2 a user's mistake,
/// 130 interrupted (Ctrl-C, SIGTERM or SIGHUP) after saving.
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

        if (OptionWithoutValue(args) is string option)
        {
            error.WriteLine($"--{option} needs a value. Run with --help to see the options.");
            return 2;
        }

        ParserResult<object> parsed = parser.ParseArguments(args, Verbs);
        if (parsed is NotParsed<object> notParsed)
        {
            return ExplainParseFailure(notParsed, args, output, error);
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
                BenchOptions bench => BenchCommand.Run(bench, output, error),
                _ => throw new InvalidOperationException($"No command for {options.GetType().Name}."),
            };
        }
        catch (UserInputException e)
        {
            error.WriteLine(verbose ? e.ToString() : e.Message);
            return 2;
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

    private const string CommandNames = "render, sweep, bench, model or doctor";

    /// <summary>The commands' option types, in the order the parser is given them.</summary>
    private static readonly Type[] Verbs = [typeof(RenderOptions), typeof(SweepOptions), typeof(BenchOptions), typeof(ModelOptions), typeof(DoctorOptions)];

    /// <summary>
    /// An option given no value, or an empty one (<c>render --size</c> at the end, <c>--out-dir ""</c>), or null.
    /// CommandLineParser drops an option that ends the command line and runs with its default, so a script whose
    /// variable came out empty (<c>--content $FILE</c>) would render something else than it asked for, without a
    /// word; an empty path reached the file system as an internal error.
    /// </summary>
    private static string? OptionWithoutValue(string[] args)
    {
        for (int i = 1; i < args.Length; i++)
        {
            string[] parts = args[i].Split('=', 2);
            if (!parts[0].StartsWith("--", StringComparison.Ordinal) || !TakesValue(args[0], parts[0][2..]))
            {
                continue;
            }

            string? value = parts.Length == 2 ? parts[1] : i + 1 < args.Length ? args[i + 1] : null;
            if (string.IsNullOrEmpty(value))
            {
                return parts[0][2..];
            }
        }

        return null;
    }

    /// <summary>Whether the command <paramref name="verb"/> has an option <paramref name="name"/> that takes a value (not a switch).</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "The verb types are the ones ParseArguments is given, which keeps their properties; the command line is never trimmed.")]
    private static bool TakesValue(string verb, string name) =>
        Verbs.FirstOrDefault(v => v.GetCustomAttribute<VerbAttribute>()?.Name == verb)?.GetProperties()
            .FirstOrDefault(p => p.GetCustomAttribute<OptionAttribute>()?.LongName == name) is { } option && option.PropertyType != typeof(bool);

    private static int ExplainParseFailure(NotParsed<object> result, string[] args, TextWriter output, TextWriter error)
    {
        var errors = result.Errors.ToList();
        if (errors.Any(e => e.Tag == ErrorType.VersionRequestedError))
        {
            // This assembly's version: HeadingInfo.Default names the entry assembly, the test host when tests call Run.
            Assembly cli = typeof(Program).Assembly;
            output.WriteLine($"{cli.GetName().Name} {cli.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion}");
            return 0;
        }

        // 'help rendr' names no command; 'help help' and 'help version' name the parser's own, which the list shows.
        if (errors.OfType<HelpVerbRequestedError>().Any(e => !e.Matched) && args is ["help", string unknown, ..] && unknown is not ("help" or "version"))
        {
            error.WriteLine($"There is no command '{unknown}': use {CommandNames} ('neuralstyle --help' describes them).");
            return 2;
        }

        if (errors.Any(e => e.Tag is ErrorType.HelpRequestedError or ErrorType.HelpVerbRequestedError))
        {
            // This overload lists the commands for a bare --help or 'help', and a command's options for 'help render'.
            output.WriteLine(HelpText.AutoBuild(result, h => h));
            return 0;
        }

        if (errors.Any(e => e.Tag == ErrorType.NoVerbSelectedError))
        {
            error.WriteLine($"Name a command: {CommandNames} (add --help to see the options).");
            return 2;
        }

        if (errors.OfType<BadVerbSelectedError>().FirstOrDefault() is { } badCommand)
        {
            error.WriteLine($"There is no command '{badCommand.Token}': use {CommandNames} ('neuralstyle --help' describes them).");
            return 2;
        }

        error.WriteLine($"{Describe(errors[0], result.TypeInfo.Current, args)} Run with --help to see the options.");
        return 2;
    }

    /// <summary>The parser's error in a sentence that names the command, option and value involved where it can.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "The verb types are the ones ParseArguments was given, which keeps their properties; the command line is never trimmed.")]
    private static string Describe(Error problem, Type verb, string[] args)
    {
        switch (problem)
        {
            case UnknownOptionError { Token: "iterations" } when verb == typeof(SweepOptions):
                return "sweep takes no --iterations: it runs to the last of its --checkpoints (e.g. --checkpoints 100,500).";
            case MissingRequiredOptionError missing when missing.NameInfo.Equals(NameInfo.EmptyName)
                && verb.GetProperties().Select(p => p.GetCustomAttribute<ValueAttribute>()).FirstOrDefault(v => v is { Required: true }) is { } value:
                return $"'{verb.GetCustomAttribute<VerbAttribute>()?.Name}' needs its {value.MetaName}: {value.HelpText}.";
            case BadFormatConversionError bad when ValueGiven(args, "--" + bad.NameInfo.LongName) is { } given:
                return $"--{bad.NameInfo.LongName} cannot be read from '{given}'.";
            default:
                return SentenceBuilder.Create().FormatError(problem).TrimEnd('.') + ".";
        }
    }

    /// <summary>What follows <paramref name="option"/> on the command line (as the next argument or after '='), or null.</summary>
    private static string? ValueGiven(string[] args, string option)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == option && i + 1 < args.Length)
            {
                return args[i + 1];
            }

            if (args[i].StartsWith(option + "=", StringComparison.Ordinal))
            {
                return args[i][(option.Length + 1)..];
            }
        }

        return null;
    }
}
