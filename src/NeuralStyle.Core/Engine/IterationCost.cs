using NeuralStyle.Model;

namespace NeuralStyle.Engine;

/// <summary>
/// Floating-point operations of one iteration, counted from the layer table: every 3×3 convolution costs
/// 2·9·C_in·C_out·H·W (a multiply and an add per weight per output pixel) forward, and the same again backward for
/// the gradient with respect to its input (a convolution with the flipped kernel). The 1×1 preprocessing, ReLU,
/// pooling, the loss kernels and Adam are left out: together they are well under 1% of the convolutions.
/// </summary>
public static class IterationCost
{
    /// <summary>Forward-pass FLOPs of the convolutions up to the deepest tap, for <paramref name="batch"/> images of <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static double ForwardFlops(NetworkArchitecture architecture, int batch, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        double flops = 0;
        foreach (ConvLayer layer in architecture.Layers)
        {
            var (h, w) = NetworkArchitecture.SpatialSize(layer.Block, height, width);
            flops += 2.0 * 9 * layer.InChannels * layer.OutChannels * h * w;
        }

        return flops * batch;
    }

    /// <summary>Forward plus backward FLOPs of one iteration.</summary>
    public static double IterationFlops(NetworkArchitecture architecture, int batch, int width, int height) =>
        2 * ForwardFlops(architecture, batch, width, height);
}
