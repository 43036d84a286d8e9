using NeuralStyle.Model;

namespace NeuralStyle.Tests.Support;

/// <summary>One feature map in float64: [C, H, W].</summary>
internal sealed record Map64(int Channels, int Height, int Width, double[] Data);

/// <summary>
/// A plain float64 implementation of the forward pass the graph builder encodes (preprocessing, 3×3 pad-1
/// convolutions, ReLU, 2×2 stride-2 pooling that drops odd edges), written from the definitions alone so the
/// ONNX graphs can be checked against it and finite differences can be taken in float64.
/// </summary>
internal sealed class ReferenceNetwork(NetworkWeights weights, PreprocessPreset preset, PoolingMode pooling)
{
    public NetworkWeights Weights { get; } = weights;

    /// <summary>Every ReLU output for one image x ([3, H, W], 0..255).</summary>
    public Dictionary<string, Map64> Forward(double[] x, int height, int width)
    {
        var transform = PreprocessTransform.For(preset);
        var input = new double[x.Length];
        int plane = height * width;
        for (int c = 0; c < 3; c++)
        {
            for (int p = 0; p < plane; p++)
            {
                double sum = transform.Bias[c];
                for (int k = 0; k < 3; k++)
                {
                    sum += transform.Matrix[c, k] * x[(k * plane) + p];
                }

                input[(c * plane) + p] = sum;
            }
        }

        var result = new Dictionary<string, Map64>();
        var current = new Map64(3, height, width, input);
        ConvLayer? previous = null;
        for (int i = 0; i < Weights.Architecture.Layers.Count; i++)
        {
            ConvLayer layer = Weights.Architecture.Layers[i];
            if (previous is not null && previous.Block != layer.Block)
            {
                current = Pool(current);
            }

            current = ConvRelu(current, layer, Weights.Kernels[i], Weights.Biases[i]);
            result[layer.ReluName] = current;
            previous = layer;
        }

        return result;
    }

    private static Map64 ConvRelu(Map64 input, ConvLayer layer, float[] kernel, float[] bias)
    {
        int h = input.Height, w = input.Width;
        var output = new double[layer.OutChannels * h * w];
        for (int o = 0; o < layer.OutChannels; o++)
        {
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                {
                    double sum = bias[o];
                    for (int i = 0; i < layer.InChannels; i++)
                    {
                        for (int a = 0; a < 3; a++)
                        {
                            int yy = y + a - 1;
                            if (yy < 0 || yy >= h)
                            {
                                continue;
                            }

                            for (int b = 0; b < 3; b++)
                            {
                                int xx = x + b - 1;
                                if (xx >= 0 && xx < w)
                                {
                                    sum += kernel[(((o * layer.InChannels) + i) * 9) + (a * 3) + b] * input.Data[(((i * h) + yy) * w) + xx];
                                }
                            }
                        }
                    }

                    output[(((o * h) + y) * w) + x] = Math.Max(0, sum);
                }
            }
        }

        return new Map64(layer.OutChannels, h, w, output);
    }

    private Map64 Pool(Map64 input)
    {
        int h = input.Height / 2, w = input.Width / 2;
        var output = new double[input.Channels * h * w];
        for (int c = 0; c < input.Channels; c++)
        {
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                {
                    double max = double.NegativeInfinity, sum = 0;
                    for (int dy = 0; dy < 2; dy++)
                    {
                        for (int dx = 0; dx < 2; dx++)
                        {
                            double v = input.Data[(((c * input.Height) + (2 * y) + dy) * input.Width) + (2 * x) + dx];
                            max = Math.Max(max, v);
                            sum += v;
                        }
                    }

                    output[(((c * h) + y) * w) + x] = pooling == PoolingMode.Max ? max : sum / 4;
                }
            }
        }

        return new Map64(input.Channels, h, w, output);
    }
}
