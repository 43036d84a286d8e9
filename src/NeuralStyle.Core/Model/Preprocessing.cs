namespace NeuralStyle.Model;

/// <summary>How the 0..255 RGB image is mapped to the network's input; depends on how the weights were trained.</summary>
public enum PreprocessPreset
{
    /// <summary>Caffe VGG: BGR channel order, subtract the ImageNet means 103.939, 116.779, 123.68 (B, G, R).</summary>
    Caffe,

    /// <summary>torchvision: RGB, x/255, subtract 0.485, 0.456, 0.406, divide by 0.229, 0.224, 0.225.</summary>
    Torchvision,
}

/// <summary>
/// The preset as an affine map y = M·x + b over the three channels. It is applied in the forward graph as a 1×1
/// convolution, so its vector–Jacobian product is the 1×1 convolution with Mᵀ. (It cannot be folded into conv1_1:
/// conv1_1 pads the <em>preprocessed</em> image with zeros, which are not zeros in pixel space.)
/// </summary>
public sealed class PreprocessTransform
{
    private PreprocessTransform(double[,] matrix, double[] bias)
    {
        Matrix = matrix;
        Bias = bias;
    }

    /// <summary>M[out, in]: output channel from input RGB channel.</summary>
    public double[,] Matrix { get; }

    /// <summary>b[out].</summary>
    public double[] Bias { get; }

    /// <summary>The affine map of a preset.</summary>
    public static PreprocessTransform For(PreprocessPreset preset)
    {
        var m = new double[3, 3];
        var b = new double[3];
        switch (preset)
        {
            case PreprocessPreset.Caffe:
                double[] bgrMean = [103.939, 116.779, 123.68];
                for (int o = 0; o < 3; o++)
                {
                    m[o, 2 - o] = 1.0; // output B,G,R reads input channel 2,1,0
                    b[o] = -bgrMean[o];
                }

                break;
            case PreprocessPreset.Torchvision:
                double[] mean = [0.485, 0.456, 0.406];
                double[] std = [0.229, 0.224, 0.225];
                for (int c = 0; c < 3; c++)
                {
                    m[c, c] = 1.0 / (255.0 * std[c]);
                    b[c] = -mean[c] / std[c];
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(preset), preset, "Unknown preprocessing preset.");
        }

        return new PreprocessTransform(m, b);
    }
}
