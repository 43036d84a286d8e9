namespace NeuralStyle.Cli.Commands;

/// <summary>
/// Refuses an option given to an action of <c>model</c> or <c>bench</c> that does not take it (<c>model fetch
/// --out-dir</c>, <c>bench kernels --size</c>): the action would ignore it without a word, as <c>--resume</c> would
/// ignore the settings its checkpoint stores (<see cref="ResumeConflicts"/>).
/// </summary>
internal static class ActionOptions
{
    private static readonly Verb Model = new("model", ["export", "fetch"], new()
    {
        ["source"] = ["fetch"], ["url"] = ["fetch"], ["force"] = ["fetch"],
        ["out-dir"] = ["export"], ["weights"] = ["export"], ["preprocess"] = ["export"], ["pooling"] = ["export"],
        ["style-layers"] = ["export"], ["content-layers"] = ["export"],
    });

    private static readonly Verb Bench = new("bench", ["iteration", "kernels", "ceiling"], new()
    {
        ["size"] = ["iteration"], ["batch"] = ["iteration"], ["rounds"] = ["iteration"], ["repeat"] = ["iteration"], ["warmup"] = ["iteration"],
        ["weights"] = ["iteration"], ["precision"] = ["iteration"], ["json"] = ["iteration"], ["profile"] = ["iteration"],
        ["device"] = ["iteration", "kernels"],
    });

    /// <summary>Throws a <see cref="UserInputException"/> naming the first option on the command line that its action does not take.</summary>
    public static void Check(object options, IEnumerable<string> args)
    {
        var (verb, action) = options switch
        {
            ModelOptions model => (Model, model.Action),
            BenchOptions bench => (Bench, bench.What),
            _ => (null, ""),
        };
        if (verb is null || !verb.Actions.Contains(action))
        {
            return; // no such verb here, or an unknown action, which its command refuses
        }

        string? ignored = args
            .Where(a => a.StartsWith("--", StringComparison.Ordinal))
            .Select(a => a[2..].Split('=')[0])
            .FirstOrDefault(name => verb.Takers.TryGetValue(name, out string[]? takers) && !takers.Contains(action));
        if (ignored is not null)
        {
            throw new UserInputException($"{verb.Name} {action} takes no --{ignored}: it is for {string.Join(" and ", verb.Takers[ignored].Select(a => $"{verb.Name} {a}"))}; drop it.");
        }
    }

    /// <summary>A verb's actions, and the options only some of them take, each with the actions that do.</summary>
    private sealed record Verb(string Name, string[] Actions, Dictionary<string, string[]> Takers);
}
