using System.Globalization;
using NeuralStyle.Model;

namespace NeuralStyle.Engine;

/// <summary>
/// Refuses a run on the host whose estimated peak memory (see <see cref="MemoryEstimate"/>) exceeds
/// <see cref="Limit"/> (default: the memory available now), naming the largest size that fits, or one that would need
/// an array longer than .NET allows, whatever the memory. A backend on a device keeps its buffers there and checks its
/// own memory when it allocates them.
/// </summary>
/// <param name="Weights">The network.</param>
/// <param name="Loss">The loss, whose layers decide which activations are kept.</param>
/// <param name="Batch">Images optimized at once.</param>
/// <param name="Width">Image width.</param>
/// <param name="Height">Image height.</param>
/// <param name="Limit">The user's limit in bytes (<c>--max-memory-mb</c>), or null for the memory available.</param>
/// <param name="LargestTarget">The largest image the targets are computed from (content or a style, as resized), or (0, 0) when the targets are already known.</param>
internal sealed record HostMemoryCheck(NetworkWeights Weights, LossSettings Loss, int Batch, int Width, int Height, long? Limit, (int Width, int Height) LargestTarget)
{
    /// <summary>
    /// Bytes this process holds already and the run goes on using or gives back before it allocates (a batch taken
    /// over by <see cref="StyleTransferEngine.HandOver"/>: the network, and the batch it replaces), which the estimate of
    /// the whole process counts too: available to the run as well as the machine's free memory. 0 for a run of its own.
    /// </summary>
    public long HeldBytes { get; init; }

    /// <summary>
    /// Refuses, before any backend is built (seconds of work), a run that will surely be on the host, and returns its
    /// estimate; null when the device decides only once the backend exists (then call <see cref="For"/>).
    /// </summary>
    public double? BeforeBuilding(DeviceKind device) => BackendFactory.SurelyOnHost(device) ? Check() : null;

    /// <summary>
    /// Refuses a run on <paramref name="backend"/> if it is on the host (auto, after CUDA's start-up probe failed);
    /// returns the estimate then, else null. The memory available is read after the backend took its share, so this
    /// check is stricter than <see cref="BeforeBuilding"/>; it is for runs that one could not decide.
    /// </summary>
    public double? For(IStyleBackend backend) => backend.DeviceMemoryInUse is null ? Check() : null;

    /// <summary>
    /// Refuses targets whose pass needs a map longer than a .NET array holds: on every backend, as the maps come back
    /// to the host as arrays.
    /// </summary>
    public void RequireTargetArraysFit()
    {
        long targets = MemoryEstimate.LargestTargetArray(Weights, Loss, LargestTarget.Width, LargestTarget.Height);
        if (targets > Array.MaxLength)
        {
            throw new UserInputException(string.Create(CultureInfo.InvariantCulture,
                $"The largest image the targets are computed from, {LargestTarget.Width}×{LargestTarget.Height}, is too large: one of its maps would hold {targets:N0} values, more than the {Array.MaxLength:N0} a .NET array allows; lower {SettingNames.Current.StyleScaleOrSize}."));
        }
    }

    private double Check()
    {
        RequireRunArraysFit();
        double run = MemoryEstimate.Bytes(Weights, Loss, Batch, Width, Height);
        bool computesTargets = LargestTarget != (0, 0); // a resumed run or a batch taken over has its targets: no pass, and no fixed part of one
        double targets = computesTargets ? MemoryEstimate.TargetPassBytes(Weights, Loss, (long)LargestTarget.Width * LargestTarget.Height) : 0;
        double estimate = Math.Max(run, targets);
        double budget = Limit ?? (Runtime.ProcessMemory.AvailableBytes() + (double)HeldBytes);
        if (estimate <= budget)
        {
            return estimate;
        }

        // The user's limit in the unit it was given in, so that "1 MB" does not read as "0.00 GB".
        SettingNames names = SettingNames.Current;
        string limit = names.MaxMemory ?? "the memory limit"; // a front end without one never sets a limit
        string have = Limit is null
            ? string.Create(CultureInfo.InvariantCulture, $"but only {budget / 1e9:F2} GB is available")
            : string.Create(CultureInfo.InvariantCulture, $"more than the {budget / 1e6:0.###} MB that {limit} allows");
        string remedy = Limit is null ? "free some memory first" : $"raise {limit}";
        if (targets > run)
        {
            throw new UserInputException(string.Create(CultureInfo.InvariantCulture,
                $"Computing the targets needs about {targets / 1e9:F2} GB for the largest image, {LargestTarget.Width}×{LargestTarget.Height}, {have}; lower {names.StyleScaleOrSize}, or {remedy}."));
        }

        double aspect = (double)Math.Min(Width, Height) / Math.Max(Width, Height);
        int largest = MemoryEstimate.LargestLongSide(Weights, Loss, Batch, aspect, budget);
        string needs = string.Create(CultureInfo.InvariantCulture, $"This run needs about {estimate / 1e9:F2} GB ({Batch} × {Width}×{Height}), ");
        throw new UserInputException(needs + have + (largest > 0
            ? $"; the largest size that fits is about {largest} px ({names.Size}){(Batch > 1 ? $" (or {names.SmallerBatch})" : "")}, or {remedy}."
            : $"; even the smallest size does not fit: {remedy}."));
    }

    /// <summary>The CPU backend keeps each batch's map in one array; a machine with memory enough could still not allocate a longer one.</summary>
    private void RequireRunArraysFit()
    {
        long run = MemoryEstimate.LargestArray(Weights, Loss, Batch, Width, Height);
        if (run > Array.MaxLength)
        {
            throw new UserInputException(string.Create(CultureInfo.InvariantCulture,
                $"{(Batch == 1 ? "An image" : $"A batch of {Batch} images")} of {Width}×{Height} is too large for the CPU backend: one of its arrays would hold {run:N0} values, more than the {Array.MaxLength:N0} a .NET array allows; use a smaller {SettingNames.Current.Size}{(Batch > 1 ? $" or {SettingNames.Current.SmallerBatch}" : "")}."));
        }
    }
}
