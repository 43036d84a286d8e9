using NeuralStyle.Engine;

namespace NeuralStyle.Tests.Support;

/// <summary>The loss of DESIGN.md in float64, straight from its definitions, for one image.</summary>
internal static class ReferenceLoss
{
    /// <summary>G = F Fᵀ / (C·H·W).</summary>
    public static double[] Gram(int channels, int positions, ReadOnlySpan<double> f)
    {
        var g = new double[channels * channels];
        for (int i = 0; i < channels; i++)
        {
            for (int j = 0; j < channels; j++)
            {
                double sum = 0;
                for (int p = 0; p < positions; p++)
                {
                    sum += f[(i * positions) + p] * f[(j * positions) + p];
                }

                g[(i * channels) + j] = sum / ((double)channels * positions);
            }
        }

        return g;
    }

    /// <summary>Σ over channels and valid pixels of (x[i,j+1] − x[i,j])² + (x[i+1,j] − x[i,j])².</summary>
    public static double TotalVariation(ReadOnlySpan<double> x, int channels, int height, int width)
    {
        double tv = 0;
        for (int c = 0; c < channels; c++)
        {
            for (int y = 0; y < height; y++)
            {
                for (int i = 0; i < width; i++)
                {
                    double v = x[(((c * height) + y) * width) + i];
                    if (i + 1 < width)
                    {
                        double d = x[(((c * height) + y) * width) + i + 1] - v;
                        tv += d * d;
                    }

                    if (y + 1 < height)
                    {
                        double d = x[(((c * height) + y + 1) * width) + i] - v;
                        tv += d * d;
                    }
                }
            }
        }

        return tv;
    }

    /// <summary>(content, style, tv) terms, weighted, for one image.</summary>
    public static (double Content, double Style, double Tv) Evaluate(ReferenceNetwork network, double[] x, int height, int width,
        LossSettings loss, StyleTargets targets)
    {
        Dictionary<string, Map64> features = network.Forward(x, height, width);
        double content = 0, style = 0;
        foreach (string name in loss.ContentLayers)
        {
            Map64 f = features[name];
            float[] p = targets.ContentFeatures[name];
            double sum = 0;
            for (int i = 0; i < f.Data.Length; i++)
            {
                double d = f.Data[i] - p[i];
                sum += d * d;
            }

            content += loss.ContentWeight * sum / f.Data.Length;
        }

        foreach (LayerWeight layer in loss.StyleLayers)
        {
            Map64 f = features[layer.ReluName];
            double[] g = Gram(f.Channels, f.Height * f.Width, f.Data);
            float[] a = targets.Grams[layer.ReluName];
            double sum = 0;
            for (int i = 0; i < g.Length; i++)
            {
                double d = g[i] - a[i];
                sum += d * d;
            }

            style += loss.StyleWeight * layer.Weight * sum / g.Length;
        }

        return (content, style, loss.TvWeight * TotalVariation(x, 3, height, width));
    }
}
