namespace NeuralStyle.Engine;

/// <summary>
/// Runs the optimization on one device. The engine decides what to optimize (targets, initial images, learning
/// rates); a backend owns the buffers, the graphs' sessions and the loss and optimizer kernels. Items of a batch
/// never mix. Not thread-safe: one caller at a time.
/// </summary>
public interface IStyleBackend : IDisposable
{
    /// <summary>A short description for logs, e.g. "CPU (ONNX Runtime, 2 threads)".</summary>
    string Description { get; }

    /// <summary>
    /// Runs the forward graph on one RGB image ([3, H, W], 0..255) at its own size and returns the named layers'
    /// features. Cancelled through <paramref name="cancel"/>, it throws <see cref="OperationCanceledException"/>
    /// between layers (the CPU's pass, seconds long for a large style image, also between bands of a layer).
    /// </summary>
    IReadOnlyDictionary<string, FeatureMap> Features(float[] image, int height, int width, IEnumerable<string> layers, CancellationToken cancel = default);

    /// <summary>G = F Fᵀ / (C·H·W) for one feature map: [C, C].</summary>
    float[] Gram(FeatureMap features);

    /// <summary>
    /// Allocates every buffer for a batch of <paramref name="learningRates"/>.Length images of
    /// <paramref name="height"/> × <paramref name="width"/> and sets the starting state. Buffers are bound once here;
    /// <see cref="Iterate"/> allocates nothing. <paramref name="bestImages"/> ([N, 3, H, W]) are the images
    /// <see cref="ReadBestImages"/> starts from, e.g. a checkpoint's; null starts from <paramref name="initial"/>'s.
    /// </summary>
    void Start(StyleTargets targets, OptimizerState initial, int height, int width, IReadOnlyList<double> learningRates, float[]? bestImages = null);

    /// <summary>
    /// One iteration: evaluates the loss of the current images (returned per item, before the update) and takes one
    /// Adam step. Items flagged in <paramref name="frozen"/>, and items whose loss is not finite, are evaluated but
    /// not updated.
    /// </summary>
    IterationLosses[] Iterate(IReadOnlyList<bool>? frozen = null);

    /// <summary>
    /// Puts item <paramref name="item"/> back to its state before its last update (image, moments, step count), so
    /// a run that just diverged keeps its last finite state. Only one update can be undone.
    /// </summary>
    void RevertLastUpdate(int item);

    /// <summary>
    /// Keeps, as item <paramref name="item"/>'s best image, the image whose loss the last <see cref="Iterate"/>
    /// returned (the image before that call's update). The engine calls it at each new lowest loss, so a run that
    /// swings or falls apart later still has the best image it passed through; a device backend copies on the
    /// device, so nothing crosses to the host inside the loop.
    /// </summary>
    void KeepAsBest(int item);

    /// <summary>A copy of every item's best image ([N, 3, H, W]); an item never kept holds the image it started from.</summary>
    float[] ReadBestImages();

    /// <summary>Milliseconds each phase of the last <see cref="Iterate"/> took. A GPU backend may measure them on the device, so that reading them waits for the iteration's last work, which <see cref="Iterate"/> itself need not.</summary>
    PhaseTimes LastPhases { get; }

    /// <summary>A copy of the current optimizer state.</summary>
    OptimizerState ReadState();

    /// <summary>Bytes of device memory in use now (the whole device, context included), or null for a backend without a device.</summary>
    long? DeviceMemoryInUse => null;
}
