using NeuralStyle.Engine;

namespace NeuralStyle.Tests.Support;

/// <summary>Loss-history rows for tests of the rules that read a history.</summary>
internal static class LossRows
{
    /// <summary>The row of <paramref name="iteration"/> with total loss <paramref name="total"/> (all of it style), at second <paramref name="iteration"/>.</summary>
    public static LossRecord At(int iteration, double total) => new(iteration, new IterationLosses(0, total, 0), iteration);
}
