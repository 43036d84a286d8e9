using NeuralStyle.Engine;

namespace NeuralStyle.Tests.Support;

internal static class ProblemSettings
{
    /// <summary>What a checkpoint of <paramref name="problem"/> needs to resume it as it ran.</summary>
    public static RunSettings For(StyleProblem problem) => new()
    {
        WeightsIdentity = problem.Weights.Identity,
        Preprocess = problem.Preprocess ?? problem.Weights.Preprocess,
        Loss = problem.Loss,
        Adam = problem.Adam,
    };
}
