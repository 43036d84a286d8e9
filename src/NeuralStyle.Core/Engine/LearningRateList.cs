namespace NeuralStyle.Engine;

/// <summary>The rule every front end applies to learning rates that run as one batch (a sweep).</summary>
public static class LearningRateList
{
    /// <summary>
    /// Refuses rates that are none, not finite and above 0, or given twice: each item of a batch is named by its rate
    /// (in reports, file names and <see cref="StyleTransfer.Rate"/>). <paramref name="setting"/> names the list in the
    /// message, as the user wrote it (e.g. <c>--lr</c>).
    /// </summary>
    public static void Require(IReadOnlyList<double> rates, string setting)
    {
        ArgumentNullException.ThrowIfNull(rates);
        if (!AreUsable(rates))
        {
            throw new UserInputException($"{setting} needs one or more finite learning rates > 0, got '{string.Join(",", rates)}'.");
        }

        if (rates.Distinct().Count() != rates.Count)
        {
            throw new UserInputException($"{setting} lists a learning rate twice; each item needs its own rate.");
        }
    }

    /// <summary>Whether there is at least one rate and every one is finite and above 0: what any run needs (an engine's batch may repeat a rate).</summary>
    public static bool AreUsable(IReadOnlyList<double> rates) => rates.Count > 0 && rates.All(r => double.IsFinite(r) && r > 0);
}
