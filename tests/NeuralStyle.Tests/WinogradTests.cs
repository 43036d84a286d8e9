using NeuralStyle.Cpu;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// Winograd F(4×4, 3×3) — kernel, input and output transforms with the products done here in double — against a
/// float64 direct 3×3 pad-1 convolution (plus bias and ReLU), on batches and on odd, tiny and one-pixel sizes, where
/// tiles overhang the image. The backward variant's fused seed and ReLU mask against doing them first.
/// </summary>
[Trait("Category", VectorFallbackTests.Category)]
public sealed class WinogradTests
{
    public static TheoryData<int, int, int, int, int> Shapes => new()
    {
        // batch, in channels, out channels, height, width
        { 1, 3, 4, 1, 1 }, { 2, 5, 7, 9, 6 }, { 1, 16, 8, 8, 8 }, { 1, 4, 3, 2, 7 }, { 3, 9, 11, 5, 5 },
        // the input transform writes V in chunks of tile rows (at least 64 tiles): here four rows, then two
        { 2, 3, 2, 21, 70 },
        // wide enough for the eight-tile vector bodies, with and without a scalar tail and an odd last column
        { 1, 4, 5, 6, 64 }, { 2, 3, 2, 5, 67 }, { 1, 2, 3, 17, 32 }, { 1, 3, 3, 4, 50 }, { 1, 2, 2, 9, 131 }, { 1, 3, 2, 13, 33 },
    };

    /// <summary>
    /// U = G g Gᵀ per kernel, in the [36, K, C] layout, against the float64 triple product with G's exact fractions:
    /// each value is the reference rounded once to float (relative error ≤ 2⁻²⁴), give or take the double sums' own
    /// error (2e-15 of the terms' magnitude).
    /// </summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(5, 7)]
    [InlineData(64, 3)]
    public void The_kernel_transform_is_G_g_Gt_rounded_once(int outChannels, int inChannels)
    {
        double[,] g6 =
        {
            { 1 / 4.0, 0, 0 }, { -1 / 6.0, -1 / 6.0, -1 / 6.0 }, { -1 / 6.0, 1 / 6.0, -1 / 6.0 },
            { 1 / 24.0, 1 / 12.0, 1 / 6.0 }, { 1 / 24.0, -1 / 12.0, 1 / 6.0 }, { 0, 0, 1 },
        };
        float[] kernel = Gaussian(new DeterministicRandom(4), outChannels * inChannels * 9);
        var u = new float[Winograd.Positions * outChannels * inChannels];
        Winograd.KernelTransform(kernel, outChannels, inChannels, u);

        for (int k = 0; k < outChannels; k++)
        {
            for (int c = 0; c < inChannels; c++)
            {
                for (int q = 0; q < Winograd.Positions; q++)
                {
                    double reference = 0, magnitude = 0;
                    for (int a = 0; a < 3; a++)
                    {
                        for (int b = 0; b < 3; b++)
                        {
                            double term = g6[q / 6, a] * kernel[(((k * inChannels) + c) * 9) + (a * 3) + b] * g6[q % 6, b];
                            reference += term;
                            magnitude += Math.Abs(term);
                        }
                    }

                    float actual = u[(((q * outChannels) + k) * inChannels) + c];
                    double tolerance = (Math.Abs(reference) * Math.Pow(2, -24)) + (magnitude * 2e-15); // rounding to float, and the double sums
                    Assert.True(Math.Abs(actual - reference) <= tolerance, $"U[{q}, {k}, {c}] = {actual}, float64 {reference}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Convolution_with_bias_and_relu_matches_the_float64_direct_one(int batch, int inChannels, int outChannels, int height, int width)
    {
        var random = new DeterministicRandom(9);
        float[] kernel = Gaussian(random, outChannels * inChannels * 9), x = Gaussian(random, batch * inChannels * height * width), bias = Gaussian(random, outChannels);

        float[] y = Convolve(x, kernel, bias, relu: true, batch, inChannels, outChannels, height, width);

        double[] expected = DirectConvolution(x, kernel, batch, inChannels, outChannels, height, width);
        int plane = height * width;
        for (int i = 0; i < expected.Length; i++)
        {
            expected[i] = Math.Max(0, expected[i] + bias[i / plane % outChannels]);
        }

        // float32 transforms and products over 16·C terms: 1e-5 of the largest output plus 1e-4 relative.
        Tolerance.AssertClose(expected, y, 1e-5 * Tolerance.MaxAbs(expected), 1e-4, "winograd conv");
    }

    [Fact]
    public void The_backward_input_transform_adds_the_seed_and_applies_the_mask()
    {
        const int N = 2, C = 3, H = 7, W = 37;
        var random = new DeterministicRandom(4);
        float[] g = Gaussian(random, N * C * H * W), seed = Gaussian(random, g.Length), mask = Gaussian(random, g.Length).Select(v => MathF.Max(v, 0)).ToArray();
        var (th, tw) = Winograd.Tiles(H, W);
        var fused = new float[Winograd.Positions * C * N * th * tw];
        var separate = new float[fused.Length];
        Winograd.InputTransform(g, seed, mask, N, C, H, W, fused);
        float[] combined = g.Select((v, i) => mask[i] > 0 ? v + seed[i] : 0f).ToArray();
        Winograd.InputTransform(combined, [], [], N, C, H, W, separate);
        Assert.Equal(separate, fused);
    }

    /// <summary>
    /// The forward output transform's bits of where its ReLU output is positive mask the backward input transform
    /// exactly as that output itself does, on widths around the eight-column bytes, around the 32 columns of eight
    /// tiles, and with rows of tiles cut short.
    /// </summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(4, 8)]
    [InlineData(5, 9)]
    [InlineData(7, 37)]
    [InlineData(2, 67)]
    [InlineData(6, 33)]
    [InlineData(9, 100)]
    public void The_output_transforms_bits_mask_as_its_output_does(int height, int width)
    {
        const int N = 2, C = 3;
        var random = new DeterministicRandom((ulong)((height * 100) + width));
        var (th, tw) = Winograd.Tiles(height, width);
        float[] products = Gaussian(random, N * Winograd.Positions * C * th * tw), g = Gaussian(random, N * C * height * width), seed = Gaussian(random, g.Length);
        var output = new float[g.Length];
        var bits = new ReluBits(N, C, height, width);
        Winograd.OutputTransform(products, Gaussian(random, C), relu: true, N, C, height, width, output, bits.Bits);


        var fromValues = new float[Winograd.Positions * C * N * th * tw];
        var fromBits = new float[fromValues.Length];
        Winograd.InputTransform(g, seed, output, N, C, height, width, fromValues);
        Winograd.InputTransform(g, seed, [], N, C, height, width, fromBits, bits.Bits);
        Assert.Equal(fromValues, fromBits);
        int rowBytes = ReluBits.RowBytes(width);
        for (int row = 0; width % 8 != 0 && row < N * C * height; row++)
        {
            Assert.Equal(0, bits.Bits[(row * rowBytes) + rowBytes - 1] >> (width % 8)); // a row's bytes hold its own columns only
        }

        Assert.Contains(output, v => v == 0); // both kinds of values were masked
        Assert.Contains(output, v => v > 0);
    }

    /// <summary>
    /// Band by band, both transforms give exactly what one pass over the whole map does: the input transform (with a
    /// seed and a mask as bits) each band's columns of V, the output transform (with its bits) the band's rows of y,
    /// leaving the other rows as they were. Bands of one and two tile rows, with a short last band, over maps whose
    /// last tile row is cut short; and the whole map as one band.
    /// </summary>
    [Theory]
    [InlineData(9, 37, 1)]
    [InlineData(10, 33, 2)]
    [InlineData(13, 8, 3)]
    [InlineData(6, 67, 2)]
    public void Bands_of_tile_rows_transform_as_the_whole_map_does(int height, int width, int rowsPerBand)
    {
        const int N = 2, C = 3;
        var random = new DeterministicRandom((ulong)((height * 1000) + (width * 10) + rowsPerBand));
        var (th, tw) = Winograd.Tiles(height, width);
        float[] g = Gaussian(random, N * C * height * width), seed = Gaussian(random, g.Length), bias = Gaussian(random, C);
        float[] m = Gaussian(random, N * Winograd.Positions * C * th * tw);
        var wholeY = new float[g.Length];
        var wholeBits = new ReluBits(N, C, height, width);
        Winograd.OutputTransform(m, bias, relu: true, N, C, height, width, wholeY, wholeBits.Bits);
        var wholeV = new float[m.Length];
        Winograd.InputTransform(g, seed, [], N, C, height, width, wholeV, wholeBits.Bits);

        float[] bandY = Enumerable.Repeat(float.NaN, g.Length).ToArray();
        var bandBits = new ReluBits(N, C, height, width);
        for (int first = 0; first < th; first += rowsPerBand)
        {
            var band = new TileRows(first, Math.Min(rowsPerBand, th - first));
            int columns = band.Count * tw;
            float[] bandM = Planes(m, N * Winograd.Positions * C, th * tw, first * tw, columns);
            Winograd.OutputTransform(bandM, bias, relu: true, N, C, height, width, bandY, bandBits.Bits, band);
            if (first == 0 && band.Count < th)
            {
                Assert.True(float.IsNaN(bandY[(Winograd.TileSize * band.Count * width) + 1])); // the next band's rows are not written yet
            }

            var bandV = new float[N * Winograd.Positions * C * columns];
            Winograd.InputTransform(g, seed, [], N, C, height, width, bandV, wholeBits.Bits, band);
            Assert.Equal(Planes(wholeV, N * Winograd.Positions * C, th * tw, first * tw, columns), bandV);
        }

        Assert.Equal(wholeY, bandY);
        Assert.Equal(wholeBits.Bits, bandBits.Bits);
        var all = new float[wholeV.Length];
        Winograd.InputTransform(g, seed, [], N, C, height, width, all, wholeBits.Bits, new TileRows(0, th));
        Assert.Equal(wholeV, all);
        Assert.Throws<ArgumentException>(() => Winograd.InputTransform(g, seed, [], N, C, height, width, all, wholeBits.Bits, new TileRows(th - 1, 2)));
    }

    /// <summary>Columns [<paramref name="from"/>, + <paramref name="count"/>) of each of <paramref name="planes"/> rows of <paramref name="length"/> values.</summary>
    private static float[] Planes(float[] values, int planes, int length, int from, int count) =>
        Enumerable.Range(0, planes).SelectMany(p => values.Skip((p * length) + from).Take(count)).ToArray();

    /// <summary>The whole Winograd convolution with the 36 products M[q] = U[q]·V[q] summed in double.</summary>
    internal static float[] Convolve(float[] x, float[] kernel, float[] bias, bool relu, int batch, int inChannels, int outChannels, int height, int width)
    {
        var (th, tw) = Winograd.Tiles(height, width);
        int tiles = th * tw;
        var u = new float[Winograd.Positions * outChannels * inChannels];
        Winograd.KernelTransform(kernel, outChannels, inChannels, u);
        var v = new float[batch * Winograd.Positions * inChannels * tiles];
        Winograd.InputTransform(x, [], [], batch, inChannels, height, width, v);
        var m = new float[batch * Winograd.Positions * outChannels * tiles];
        for (int nq = 0; nq < batch * Winograd.Positions; nq++)
        {
            int q = nq % Winograd.Positions;
            for (int k = 0; k < outChannels; k++)
            {
                for (int t = 0; t < tiles; t++)
                {
                    double sum = 0;
                    for (int c = 0; c < inChannels; c++)
                    {
                        sum += (double)u[(((q * outChannels) + k) * inChannels) + c] * v[(((nq * inChannels) + c) * tiles) + t];
                    }

                    m[(((nq * outChannels) + k) * tiles) + t] = (float)sum;
                }
            }
        }

        var y = new float[batch * outChannels * height * width];
        Winograd.OutputTransform(m, bias, relu, batch, outChannels, height, width, y);
        return y;
    }

    internal static double[] DirectConvolution(float[] input, float[] kernel, int batch, int inChannels, int outChannels, int height, int width)
    {
        var result = new double[batch * outChannels * height * width];
        for (int n = 0; n < batch; n++)
        {
            for (int k = 0; k < outChannels; k++)
            {
                for (int y = 0; y < height; y++)
                {
                    for (int x = 0; x < width; x++)
                    {
                        double sum = 0;
                        for (int c = 0; c < inChannels; c++)
                        {
                            for (int a = 0; a < 3; a++)
                            {
                                for (int b = 0; b < 3; b++)
                                {
                                    int iy = y + a - 1, ix = x + b - 1;
                                    if (iy >= 0 && iy < height && ix >= 0 && ix < width)
                                    {
                                        sum += (double)input[((((n * inChannels) + c) * height) + iy) * width + ix] * kernel[(((k * inChannels) + c) * 9) + (a * 3) + b];
                                    }
                                }
                            }
                        }

                        result[((((n * outChannels) + k) * height) + y) * width + x] = sum;
                    }
                }
            }
        }

        return result;
    }

    private static float[] Gaussian(DeterministicRandom random, int n)
    {
        var values = new float[n];
        random.FillGaussian(values, 1.0);
        return values;
    }
}
