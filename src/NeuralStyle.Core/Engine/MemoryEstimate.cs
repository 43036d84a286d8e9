using NeuralStyle.Model;

namespace NeuralStyle.Engine;

/// <summary>
/// How much memory a CPU run needs, from the layer table, before anything is allocated:
/// <code>
/// bytes ≈ 450 MB                                   .NET, ONNX Runtime and code
///       + 4 × weight bytes                         forward and backward graph copies and ONNX Runtime's pre-packed kernels
///       + N·H·W × own bytes per pixel × 3.1        our bound buffers, and ONNX Runtime's working memory for them
/// </code>
/// Our own bytes per input pixel are counted exactly: every saved ReLU output (float), every max-pool argmax (int64),
/// a seed per tapped layer (float), and the image, gradient, Adam moments and their undo copies (7 × 3 floats).
/// The factor 3.1 (ONNX Runtime's intermediates are about 2.1 times our own buffers: pre-ReLU outputs, masks,
/// backward gradients) and the constants were measured with <c>render --iterations 3</c> at 64 to 512 px on the CPU
/// backend; the test suite holds the estimate to within 25% of the measured peak at 256 and 512 px.
/// </summary>
public static class MemoryEstimate
{
    private const double RuntimeBytes = 450e6;
    private const double WeightCopies = 4;
    private const double WorkingMemoryFactor = 3.1;

    /// <summary>Estimated peak bytes of a run with <paramref name="batch"/> images of <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static double Bytes(NetworkWeights weights, LossSettings loss, int batch, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(loss);
        NetworkWeights cut = weights.TruncatedAt(loss.DeepestTap(weights.Architecture));
        double weightBytes = cut.Architecture.Layers.Sum(l => (double)l.WeightCount + l.OutChannels) * sizeof(float);
        return RuntimeBytes + (WeightCopies * weightBytes) + ((double)batch * width * height * OwnBytesPerPixel(cut.Architecture, loss) * WorkingMemoryFactor);
    }

    /// <summary>The largest long side (keeping <paramref name="aspect"/> = short/long) whose estimate fits in <paramref name="budget"/> bytes, or 0.</summary>
    public static int LargestLongSide(NetworkWeights weights, LossSettings loss, int batch, double aspect, double budget)
    {
        double fixedBytes = Bytes(weights, loss, batch, 0, 0);
        double perPixel = Bytes(weights, loss, batch, 1, 1) - fixedBytes;
        double pixels = (budget - fixedBytes) / perPixel;
        return pixels <= 0 ? 0 : (int)Math.Floor(Math.Sqrt(pixels / aspect));
    }

    private static double OwnBytesPerPixel(NetworkArchitecture architecture, LossSettings loss)
    {
        double bytes = 7 * 3 * sizeof(float);
        ConvLayer? previous = null;
        foreach (ConvLayer layer in architecture.Layers)
        {
            double scale = Math.Pow(4, -(layer.Block - 1)); // each pool quarters the positions
            bytes += layer.OutChannels * scale * sizeof(float);
            if (loss.Taps.Contains(layer.ReluName))
            {
                bytes += layer.OutChannels * scale * sizeof(float);
            }

            if (loss.Pooling == PoolingMode.Max && previous is not null && previous.Block != layer.Block)
            {
                bytes += previous.OutChannels * scale * sizeof(long);
            }

            previous = layer;
        }

        return bytes;
    }
}
