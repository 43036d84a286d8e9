using NeuralStyle.Model;

namespace NeuralStyle.Engine;

/// <summary>
/// How much memory a CPU run needs, from the layer table, before anything is allocated:
/// <code>
/// bytes ≈ 289 MB                                   .NET, ONNX Runtime, code and the sessions
///       + 4 × graph-layer weight bytes             graph copies and ONNX Runtime's pre-packed kernels
///       + 2 × 36/9 × Winograd-layer weight bytes   the transformed kernels U and U' of the Winograd layers
///       + (H·W × N × own bytes per pixel          our bound buffers, and ONNX Runtime's working memory
///          + Winograd scratch) × 1.337
/// </code>
/// Our own bytes per input pixel are counted exactly: the ReLU outputs the loss taps and those of graph layers
/// (float), one bit per value of every other ReLU output (its sign, all the backward pass needs), one seed buffer the
/// size of the largest tapped map (float), each pool's argmax (byte), the two buffers that hold the maps not kept and
/// then the gradients between layers (the largest map, twice), and the image, gradient, Adam moments, their undo
/// copies and the best image (8 × 3 floats), all per item; and once, not per item, the Winograd scratch V and M of the largest band
/// (<see cref="Cpu.WinogradBands"/>; 16 MB each at most, unless one tile row needs more). With every layer but the first done as Winograd, ONNX Runtime's own working memory is small
/// but grows with the image (its copies of the graph layers' maps, as the targets' pass showed for conv1_1), hence a
/// factor above 1. The two constants were fitted by least squares to four CPU runs: <c>render --iterations 2</c> of
/// the astronaut at 256, 512 and 1024 px (888, 1248 and 2772 MB measured) and a 7-rate <c>sweep --size 384
/// --no-estimate</c> of the cat (2001 MB), which they estimate at 872, 1246, 2742 and 2050 MB. Runs of the same
/// command vary by up to 10% (512 px: 1900 to 2074 MB when every map was kept). The test suite holds the estimate to
/// within 25% of the measured peak at 256 and 512 px.
/// </summary>
public static class MemoryEstimate
{
    private const double RuntimeBytes = 289e6;
    /// <summary>.NET, ONNX Runtime, code and the sessions while the targets are computed: fitted to the two runs <see cref="TargetPassBytes"/> names.</summary>
    private const double TargetPhaseRuntimeBytes = 304e6;
    private const double GraphWeightCopies = 4;
    private const double WinogradWeightCopies = 2.0 * Cpu.Winograd.Positions / 9;
    private const double WorkingMemoryFactor = 1.337;

    /// <summary>Estimated peak bytes of a run with <paramref name="batch"/> images of <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static double Bytes(NetworkWeights weights, LossSettings loss, int batch, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(loss);
        NetworkWeights cut = weights.TruncatedAt(loss.DeepestTap(weights.Architecture));
        return RuntimeBytes + WeightsBytes(cut.Architecture)
            + ((((double)width * height * batch * OwnBytesPerPixel(cut.Architecture, loss)) + (2.0 * BandFloats(cut.Architecture, width, height) * sizeof(float))) * WorkingMemoryFactor);
    }

    /// <summary>
    /// Estimated peak bytes of computing the targets for an image of <paramref name="pixels"/> pixels (the largest of
    /// the content and style images). That pass (<see cref="Cpu.FeaturePass"/>) keeps the tapped layers' maps and frees
    /// every other map once the next layer has read it, so its peak is the largest, along the network, of the maps kept
    /// so far plus those alive at that step: a layer's input and output with its working memory (a Winograd layer's V
    /// and M of one band; for a graph layer ONNX Runtime's own copy of the output, as measured), or a pool's input,
    /// output and argmax. It comes before the optimization's buffers and
    /// ONNX Runtime's working memory for them exist, so it has its own fixed part, and a run's peak is the larger of the
    /// two estimates. Measured with <c>render --size 256 --style-scale 4</c> and <c>8</c> (Starry Night at 2048×1634):
    /// 1264 and 2719 MB, estimated 1244 and 2739; a pass that kept every map peaked at 9268 MB for the second.
    /// </summary>
    public static double TargetPassBytes(NetworkWeights weights, LossSettings loss, long pixels)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(loss);
        NetworkArchitecture cut = weights.TruncatedAt(loss.DeepestTap(weights.Architecture)).Architecture;
        return TargetPhaseRuntimeBytes + WeightsBytes(cut) + FeaturePassPeak(cut, loss, pixels);
    }

    /// <summary>
    /// Values in the largest single array a CPU run allocates: a batch's map of the widest full-resolution layer, or the
    /// Winograd scratch. .NET arrays hold at most <see cref="Array.MaxLength"/> values.
    /// </summary>
    public static long LargestArray(NetworkWeights weights, LossSettings loss, int batch, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(loss);
        NetworkArchitecture cut = weights.TruncatedAt(loss.DeepestTap(weights.Architecture)).Architecture;
        return Math.Max(batch * LargestMap(cut, width, height), BandFloats(cut, width, height));
    }

    /// <summary>Values in the largest single array of the targets' pass over a <paramref name="width"/> × <paramref name="height"/> image: one layer's map (its strip scratch is bounded).</summary>
    public static long LargestTargetArray(NetworkWeights weights, LossSettings loss, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(loss);
        return LargestMap(weights.TruncatedAt(loss.DeepestTap(weights.Architecture)).Architecture, width, height);
    }

    private static long LargestMap(NetworkArchitecture architecture, int width, int height) => architecture.Layers.Max(l =>
    {
        var (h, w) = NetworkArchitecture.SpatialSize(l.Block, height, width);
        return (long)l.OutChannels * h * w;
    });

    /// <summary>The largest long side (keeping <paramref name="aspect"/> = short/long) whose estimate fits in <paramref name="budget"/> bytes, or 0.</summary>
    public static int LargestLongSide(NetworkWeights weights, LossSettings loss, int batch, double aspect, double budget)
    {
        // The Winograd scratch as its bound: it stops growing with the image once a band is full.
        double fixedBytes = Bytes(weights, loss, batch, 0, 0) + (2.0 * Cpu.WinogradBands.DefaultScratchFloats * sizeof(float) * WorkingMemoryFactor);
        double perPixel = Bytes(weights, loss, batch, 1, 1) - Bytes(weights, loss, batch, 0, 0);
        double pixels = (budget - fixedBytes) / perPixel;
        return pixels <= 0 ? 0 : (int)Math.Floor(Math.Sqrt(pixels / aspect));
    }

    /// <summary>The feature pass's peak bytes for its maps and working memory, walking its schedule layer by layer.</summary>
    private static double FeaturePassPeak(NetworkArchitecture architecture, LossSettings loss, double pixels)
    {
        double kept = 0, input = 0, peak = 0; // input: the transient map the next layer reads (0 when it is a kept one)
        foreach (ConvLayer layer in architecture.Layers)
        {
            double positions = pixels * Math.Pow(4, -(layer.Block - 1));
            if (layer.Index == 1 && layer.Block > 1)
            {
                double pooled = positions * layer.InChannels * sizeof(float), argmax = loss.Pooling == PoolingMode.Max ? positions * layer.InChannels : 0;
                peak = Math.Max(peak, kept + input + pooled + argmax);
                input = pooled;
            }

            double output = positions * layer.OutChannels * sizeof(float);
            // V and M: 36 values per 4×4 tile and channel of the wider side, for the whole map or a band of it.
            double band = Math.Min(Cpu.WinogradBands.DefaultScratchFloats,
                positions * Cpu.Winograd.Positions / (Cpu.Winograd.TileSize * Cpu.Winograd.TileSize) * Math.Max(layer.InChannels, layer.OutChannels));
            double working = Cpu.CpuStages.IsWinograd(layer) ? 2 * band * sizeof(float) : output;
            peak = Math.Max(peak, kept + input + output + working);
            bool tapped = loss.Taps.Contains(layer.ReluName);
            kept += tapped ? output : 0;
            input = tapped ? 0 : output;
        }

        return (pixels * 3 * sizeof(float)) + peak; // and the image
    }

    /// <summary>The weights in memory: the graph layers' copies and pre-packed kernels, and the Winograd layers' U and U'.</summary>
    private static double WeightsBytes(NetworkArchitecture architecture) =>
        (GraphWeightCopies * architecture.Layers.Where(l => !Cpu.CpuStages.IsWinograd(l)).Sum(WeightBytes))
        + (WinogradWeightCopies * architecture.Layers.Where(Cpu.CpuStages.IsWinograd).Sum(WeightBytes));

    private static double WeightBytes(ConvLayer layer) => ((double)layer.WeightCount + layer.OutChannels) * sizeof(float);

    /// <summary>
    /// Floats of the Winograd scratch V (or M): the largest band of any Winograd layer, as the loop's forward pass sizes
    /// it. A layer whose map is empty (deep layers of the one-pixel image <see cref="LargestLongSide"/> asks about) has none.
    /// </summary>
    private static long BandFloats(NetworkArchitecture architecture, int width, int height) =>
        architecture.Layers.Where(Cpu.CpuStages.IsWinograd).Select(l =>
        {
            var (h, w) = NetworkArchitecture.SpatialSize(l.Block, height, width);
            return h == 0 || w == 0 ? 0 : Cpu.WinogradBands.ScratchFloats(Math.Max(l.InChannels, l.OutChannels), h, w, Cpu.WinogradBands.DefaultScratchFloats);
        }).DefaultIfEmpty(0).Max();

    private static double OwnBytesPerPixel(NetworkArchitecture architecture, LossSettings loss)
    {
        double bytes = 8 * 3 * sizeof(float), largestMap = 0, largestTap = 0, largestUpperGraphLayer = 0;
        IReadOnlyList<ConvLayer> layers = architecture.Layers;
        for (int i = 0; i < layers.Count; i++)
        {
            ConvLayer layer = layers[i];
            double scale = Math.Pow(4, -(layer.Block - 1)); // each pool quarters the positions
            double output = layer.OutChannels * scale * sizeof(float);
            largestMap = Math.Max(largestMap, Math.Max(layer.InChannels, layer.OutChannels) * scale * sizeof(float)); // its input or output
            bool tapped = loss.Taps.Contains(layer.ReluName);
            bool winograd = Cpu.CpuStages.IsWinograd(layer);
            // A kept map (a tap's, or a graph layer's) as floats, any other as one bit per value (rows rounded up to
            // whole bytes, left out here).
            bytes += tapped || !winograd ? output : output / (8 * sizeof(float));
            largestTap = Math.Max(largestTap, tapped ? output : 0);
            largestUpperGraphLayer = Math.Max(largestUpperGraphLayer, i > 0 && !winograd ? output : 0);
            if (layer.Index == 1 && layer.Block > 1 && loss.Pooling == PoolingMode.Max)
            {
                bytes += layer.InChannels * scale; // the argmax, a byte per pooled value; the pooled map is not kept
            }
        }

        // The maps not kept, then the gradients between layers, alternate between two buffers of the largest map's size;
        // the taps' seeds take one buffer in turn; a graph layer above the first (none in VGG19, whose later layers are
        // all Winograd) has its conv gradient in a buffer of its own.
        return bytes + (2 * largestMap) + largestTap + largestUpperGraphLayer;
    }
}
