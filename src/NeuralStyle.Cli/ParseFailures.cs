using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using CommandLine;
using CommandLine.Text;
using NeuralStyle.Cli.Commands;

namespace NeuralStyle.Cli;

/// <summary>
/// What the command line says when it cannot run a command: a value missing before parsing, or the parser's errors
/// turned into sentences that name the command, option and value; and the help and version screens it asks for.
/// </summary>
internal static class ParseFailures
{
    private const string CommandNames = "render, sweep, bench, model or doctor";

    /// <summary>The commands' option types, in the order the parser is given them.</summary>
    public static readonly Type[] Verbs = [typeof(RenderOptions), typeof(SweepOptions), typeof(BenchOptions), typeof(ModelOptions), typeof(DoctorOptions)];

    /// <summary>
    /// An option given no value, or an empty one (<c>render --size</c> at the end, <c>--out-dir ""</c>), or null.
    /// CommandLineParser drops an option that ends the command line and runs with its default, so a script whose
    /// variable came out empty (<c>--content $FILE</c>) would render something else than it asked for, without a
    /// word; an empty path reached the file system as an internal error.
    /// </summary>
    public static string? OptionWithoutValue(string[] args) =>
        OptionValues(args).FirstOrDefault(o => string.IsNullOrEmpty(o.Value)).Name;

    /// <summary>
    /// The sentence refusing a one-number option given a comma (<c>--lr 0,5</c>), or null. The parser reads a comma in
    /// a number as a thousands separator, so <c>--lr 0,5</c> ran at 5 and <c>render --lr 1,2</c> at 12, without a
    /// word. (Options that take several numbers split them at the commas first.)
    /// </summary>
    public static string? NumberWithComma(string[] args)
    {
        (string name, _, string? value) = OptionValues(args).FirstOrDefault(o => o.Value?.Contains(',', StringComparison.Ordinal) == true
            && (Nullable.GetUnderlyingType(o.Type) ?? o.Type) == typeof(double));
        if (value is null)
        {
            return null;
        }

        string several = args[0] == "render" && name == "lr" ? "; a sweep compares several rates (sweep --lr 1,5,20)" : "";
        return $"--{name} takes one number, written without commas, not '{value}' (a decimal takes a point: 0.5){several}.";
    }

    /// <summary>The options on the command line that take a value, each with its type and what follows it (as the next argument or after '='; null at the end).</summary>
    private static IEnumerable<(string Name, Type Type, string? Value)> OptionValues(string[] args)
    {
        for (int i = 1; i < args.Length; i++)
        {
            string[] parts = args[i].Split('=', 2);
            if (parts[0].StartsWith("--", StringComparison.Ordinal) && OptionType(args[0], parts[0][2..]) is { } type && type != typeof(bool))
            {
                yield return (parts[0][2..], type, parts.Length == 2 ? parts[1] : i + 1 < args.Length ? args[i + 1] : null);
            }
        }
    }

    /// <summary>The type of the command <paramref name="verb"/>'s option <paramref name="name"/>, or null where it has none.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "The verb types are the ones ParseArguments is given, which keeps their properties; the command line is never trimmed.")]
    private static Type? OptionType(string verb, string name) =>
        Verbs.FirstOrDefault(v => v.GetCustomAttribute<VerbAttribute>()?.Name == verb)?.GetProperties()
            .FirstOrDefault(p => p.GetCustomAttribute<OptionAttribute>()?.LongName == name)?.PropertyType;

    /// <summary>Writes what the parser refused, or the help or version asked for; returns the exit code (0 for help and version, 2 otherwise).</summary>
    public static int Explain(NotParsed<object> result, string[] args, TextWriter output, TextWriter error)
    {
        var errors = result.Errors.ToList();
        if (errors.Any(e => e.Tag == ErrorType.VersionRequestedError))
        {
            // This assembly's version: HeadingInfo.Default names the entry assembly, the test host when tests call Run.
            Assembly cli = typeof(ParseFailures).Assembly;
            output.WriteLine($"{cli.GetName().Name} {cli.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion}");
            return 0;
        }

        // 'help rendr' names no command; 'help help' and 'help version' name the parser's own, which the list shows.
        if (errors.OfType<HelpVerbRequestedError>().Any(e => !e.Matched) && args is ["help", string unknown, ..] && unknown is not ("help" or "version"))
        {
            error.WriteLine(NoSuchCommand(unknown));
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
            error.WriteLine(NoSuchCommand(badCommand.Token));
            return 2;
        }

        error.WriteLine($"{Describe(errors[0], result.TypeInfo.Current, args)} Run with --help to see the options.");
        return 2;
    }

    private static string NoSuchCommand(string name) => $"There is no command '{name}': use {CommandNames} ('neuralstyle --help' describes them).";

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
                return $"--{bad.NameInfo.LongName} cannot be read from '{given}'{Expected(verb, bad.NameInfo.LongName)}.";
            case RepeatedOptionError { NameInfo.LongName: "style" }:
                return "--style is given more than once; list every style image after one --style (e.g. --style a.jpg b.jpg).";
            case RepeatedOptionError repeated:
                return $"--{repeated.NameInfo.LongName} is given more than once; give it once.";
            default:
                return SentenceBuilder.Create().FormatError(problem).TrimEnd('.') + ".";
        }
    }

    /// <summary>": it takes a whole number" and the like, from the option's type; empty for a type not listed.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "The verb types are the ones ParseArguments was given, which keeps their properties; the command line is never trimmed.")]
    private static string Expected(Type verb, string option)
    {
        Type? type = verb.GetProperties().FirstOrDefault(p => p.GetCustomAttribute<OptionAttribute>()?.LongName == option)?.PropertyType;
        type = type is null ? null : Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            _ when type == typeof(int) => ": it takes a whole number",
            _ when type == typeof(ulong) => ": it takes a whole number ≥ 0",
            _ when type == typeof(double) => ": it takes a number (e.g. 5, 0.5 or 1e-3)",
            _ when type == typeof(IEnumerable<double>) => ": it takes numbers separated by commas (e.g. 1,5,10)",
            _ when type == typeof(IEnumerable<int>) => ": it takes whole numbers separated by commas (e.g. 100,500)",
            _ => "",
        };
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
