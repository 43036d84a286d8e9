namespace NeuralStyle.Engine;

/// <summary>Wall-clock milliseconds of the phases of one iteration, as the backend saw them.</summary>
/// <param name="Forward">The forward graph.</param>
/// <param name="Loss">Gram matrices, style and content terms and their gradient seeds.</param>
/// <param name="Backward">The backward graph.</param>
/// <param name="Tv">Total variation value and gradient.</param>
/// <param name="Adam">The Adam update (with its undo copy).</param>
/// <param name="HostSync">
/// Time the device waited on the host: the loss values' download and the host's turnaround before it queued the
/// update (CUDA; the CPU backend has no device to wait, so 0).
/// </param>
public readonly record struct PhaseTimes(double Forward, double Loss, double Backward, double Tv, double Adam, double HostSync = 0)
{
    /// <summary>The sum of the phases.</summary>
    public double Total => Forward + Loss + Backward + Tv + Adam + HostSync;
}
