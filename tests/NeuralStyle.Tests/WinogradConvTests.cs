using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Graphs;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// The Winograd F(2×2, 3×3) convolution graph against a float64 direct 3×3 pad-1 convolution, on batches and on
/// odd, tiny and one-pixel sizes (the tiles overhang the image there and must be cut off).
/// </summary>
public sealed class WinogradConvTests
{
    public static TheoryData<int, int, int, int, int> Shapes => new()
    {
        // batch, in channels, out channels, height, width
        { 1, 3, 4, 1, 1 }, { 2, 5, 7, 9, 6 }, { 1, 16, 8, 8, 8 }, { 1, 4, 3, 2, 7 }, { 3, 9, 11, 5, 5 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Matches_the_float64_direct_convolution(int batch, int inChannels, int outChannels, int height, int width)
    {
        var random = new DeterministicRandom(9);
        var kernel = new float[outChannels * inChannels * 9];
        var input = new float[batch * inChannels * height * width];
        random.FillGaussian(kernel, 1.0);
        random.FillGaussian(input, 1.0);

        var w = new OnnxGraphWriter("winograd_test");
        w.Input("x", false, "N", inChannels, "H", "W");
        WinogradConv.Write(w, "x", kernel, outChannels, inChannels, "conv", "y");
        w.Output("y", false, "N", outChannels, "H", "W");
        using InferenceSession session = TinyNetworks.Session(w.Build("test"));
        using var x = OrtValue.CreateTensorValueFromMemory(input, [batch, inChannels, height, width]);
        using var outputs = session.Run(new RunOptions(), ["x"], [x], ["y"]);
        Assert.Equal([batch, outChannels, height, width], outputs[0].GetTensorTypeAndShape().Shape);

        var expected = new double[batch * outChannels * height * width];
        for (int n = 0; n < batch; n++)
        {
            for (int k = 0; k < outChannels; k++)
            {
                for (int y = 0; y < height; y++)
                {
                    for (int xx = 0; xx < width; xx++)
                    {
                        double sum = 0;
                        for (int c = 0; c < inChannels; c++)
                        {
                            for (int a = 0; a < 3; a++)
                            {
                                for (int b = 0; b < 3; b++)
                                {
                                    int iy = y + a - 1, ix = xx + b - 1;
                                    if (iy >= 0 && iy < height && ix >= 0 && ix < width)
                                    {
                                        sum += (double)input[(((n * inChannels) + c) * height + iy) * width + ix] * kernel[(((k * inChannels) + c) * 9) + (a * 3) + b];
                                    }
                                }
                            }
                        }

                        expected[(((n * outChannels) + k) * height + y) * width + xx] = sum;
                    }
                }
            }
        }

        // float32 transforms and sums over 9·C terms: 1e-5 of the largest output plus 1e-4 relative.
        Tolerance.AssertClose(expected, outputs[0].GetTensorDataAsSpan<float>(), 1e-5 * Tolerance.MaxAbs(expected), 1e-4, "winograd conv");
    }
}
