using NeuralStyle.Model;

namespace NeuralStyle.Engine;

/// <summary>
/// How much memory a CPU run needs, from the layer table, before anything is allocated:
/// <code>
/// bytes ≈ 670 MB                                   .NET, ONNX Runtime, code and the sessions
///       + 4 × graph-layer weight bytes             graph copies and ONNX Runtime's pre-packed kernels
///       + 2 × 36/9 × Winograd-layer weight bytes   the transformed kernels U and U' of the Winograd layers
///       + N·H·W × own bytes per pixel × 0.95       our bound buffers, less what ONNX Runtime's arena reuses
/// </code>
/// Our own bytes per input pixel are counted exactly: every saved ReLU output and the gradient arriving at it from
/// above (float), a seed per tapped layer (float), every pooled map and its gradient (float) with its argmax (byte),
/// the Winograd scratch V and M (36 floats per 4×4 tile of the widest Winograd layer, twice), the backward pass's
/// scratch for one conv output's gradient (the largest layer), and the image,
/// gradient, Adam moments and their undo copies (7 × 3 floats). With every layer but the first done as Winograd,
/// ONNX Runtime's own working memory is small, and the factor 0.95 (below 1: not every counted buffer is at its peak
/// at once) and the constants were fitted to <c>render --iterations 2</c> of the astronaut at 256 and 512 px on the
/// CPU backend (1351 and 2160 MB measured); the test suite holds the estimate to within 25% of the measured peak at
/// 256 and 512 px. At tiny sizes it overestimates (64 px: 685 MB measured).
/// </summary>
public static class MemoryEstimate
{
    private const double RuntimeBytes = 670e6;
    private const double GraphWeightCopies = 4;
    private const double WinogradWeightCopies = 2.0 * Cpu.Winograd.Positions / 9;
    private const double WorkingMemoryFactor = 0.95;

    /// <summary>Estimated peak bytes of a run with <paramref name="batch"/> images of <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static double Bytes(NetworkWeights weights, LossSettings loss, int batch, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(loss);
        NetworkWeights cut = weights.TruncatedAt(loss.DeepestTap(weights.Architecture));
        double graphWeights = cut.Architecture.Layers.Where(l => !Cpu.CpuStages.IsWinograd(l)).Sum(WeightBytes);
        double winogradWeights = cut.Architecture.Layers.Where(Cpu.CpuStages.IsWinograd).Sum(WeightBytes);
        return RuntimeBytes + (GraphWeightCopies * graphWeights) + (WinogradWeightCopies * winogradWeights)
            + ((double)batch * width * height * OwnBytesPerPixel(cut.Architecture, loss) * WorkingMemoryFactor);
    }

    /// <summary>
    /// Estimated peak bytes of computing the targets for an image of <paramref name="pixels"/> pixels (the largest of
    /// the content and style images): one forward pass that keeps every layer's output, each pool's output and argmax,
    /// and the Winograd scratch (the tapped layers' maps are taken from it without a copy). It comes before the
    /// optimization's buffers exist, so a run's peak is the larger of the two; with <c>--style-scale</c> above 1 this
    /// is the larger one. Counted the same way as <see cref="Bytes"/>, with no fitted factor: 2462 bytes per pixel for
    /// the default layers, against 2509 measured (the slope of the maximum RSS of 256 px renders with the Starry
    /// Night at 1024 and 2048 px: 2.96 and 9.26 GB).
    /// </summary>
    public static double TargetPassBytes(NetworkWeights weights, LossSettings loss, long pixels)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(loss);
        NetworkWeights cut = weights.TruncatedAt(loss.DeepestTap(weights.Architecture));
        return Bytes(weights, loss, 1, 0, 0) + (pixels * ForwardBytesPerPixel(cut.Architecture, loss));
    }

    /// <summary>The largest long side (keeping <paramref name="aspect"/> = short/long) whose estimate fits in <paramref name="budget"/> bytes, or 0.</summary>
    public static int LargestLongSide(NetworkWeights weights, LossSettings loss, int batch, double aspect, double budget)
    {
        double fixedBytes = Bytes(weights, loss, batch, 0, 0);
        double perPixel = Bytes(weights, loss, batch, 1, 1) - fixedBytes;
        double pixels = (budget - fixedBytes) / perPixel;
        return pixels <= 0 ? 0 : (int)Math.Floor(Math.Sqrt(pixels / aspect));
    }

    private static double ForwardBytesPerPixel(NetworkArchitecture architecture, LossSettings loss)
    {
        double bytes = 0, winogradScratch = 0;
        foreach (ConvLayer layer in architecture.Layers)
        {
            double floats = layer.OutChannels * Math.Pow(4, -(layer.Block - 1));
            bytes += floats * sizeof(float); // every layer's output
            if (layer.Index == 1 && layer.Block > 1)
            {
                bytes += layer.InChannels * Math.Pow(4, -(layer.Block - 1)) * (sizeof(float) + (loss.Pooling == PoolingMode.Max ? 1 : 0));
            }

            if (Cpu.CpuStages.IsWinograd(layer))
            {
                winogradScratch = Math.Max(winogradScratch, WinogradScratchPerPixel(layer));
            }
        }

        return bytes + (2 * winogradScratch);
    }

    /// <summary>V or M of one Winograd layer: 36 floats per 4×4 output tile for each of its wider side's channels.</summary>
    private static double WinogradScratchPerPixel(ConvLayer layer) =>
        Cpu.Winograd.Positions * Math.Max(layer.InChannels, layer.OutChannels) * Math.Pow(4, -(layer.Block - 1)) / (Cpu.Winograd.TileSize * Cpu.Winograd.TileSize) * sizeof(float);

    private static double WeightBytes(ConvLayer layer) => ((double)layer.WeightCount + layer.OutChannels) * sizeof(float);

    private static double OwnBytesPerPixel(NetworkArchitecture architecture, LossSettings loss)
    {
        double bytes = 7 * 3 * sizeof(float), winogradScratch = 0, largestLayer = 0;
        IReadOnlyList<ConvLayer> layers = architecture.Layers;
        for (int i = 0; i < layers.Count; i++)
        {
            ConvLayer layer = layers[i];
            double scale = Math.Pow(4, -(layer.Block - 1)); // each pool quarters the positions
            bytes += layer.OutChannels * scale * sizeof(float) * (i + 1 < layers.Count ? 2 : 1); // output, gradient from above
            largestLayer = Math.Max(largestLayer, layer.OutChannels * scale * sizeof(float));
            if (loss.Taps.Contains(layer.ReluName))
            {
                bytes += layer.OutChannels * scale * sizeof(float);
            }

            if (layer.Index == 1 && layer.Block > 1)
            {
                bytes += layer.InChannels * scale * ((2 * sizeof(float)) + (loss.Pooling == PoolingMode.Max ? 1 : 0));
            }

            if (Cpu.CpuStages.IsWinograd(layer))
            {
                winogradScratch = Math.Max(winogradScratch, WinogradScratchPerPixel(layer));
            }
        }

        return bytes + (2 * winogradScratch) + largestLayer;
    }
}
