namespace NeuralStyle.Engine;

/// <summary>Wall-clock milliseconds of the phases of one iteration, as the backend saw them.</summary>
/// <param name="Forward">The forward graph.</param>
/// <param name="Loss">Gram matrices, style and content terms and their gradient seeds.</param>
/// <param name="Backward">The backward graph.</param>
/// <param name="Tv">Total variation value and gradient.</param>
/// <param name="Adam">The Adam update (with its undo copy).</param>
public readonly record struct PhaseTimes(double Forward, double Loss, double Backward, double Tv, double Adam)
{
    /// <summary>The sum of the phases.</summary>
    public double Total => Forward + Loss + Backward + Tv + Adam;
}
