using NeuralStyle.Imaging;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// <see cref="ColorTransfer"/> against the textbook recipe in float64: convert both images to JPEG's YCbCr, take Y
/// from the stylized one and Cb, Cr from the other, convert back; and, where that leaves 0..255, against what the
/// code promises instead (the luma kept, the hue kept, the chroma scaled down just enough). Tolerance 1e-3 of a level
/// on the 0..255 scale: float32 rounding of values up to a few hundred, with room to spare.
/// </summary>
public sealed class ColorTransferTests
{
    private const double Tolerance = 1e-3;

    [Theory]
    [InlineData(1, 1)]
    [InlineData(23, 17)]
    public void Within_0_to_255_the_result_is_the_stylized_luma_with_the_colour_images_chroma(int width, int height)
    {
        // A channel lies at most 0.886·50 = 44.3 levels from its pixel's luma in colours of 100..150, so with a luma
        // of 80..170 the recipe stays within 0..255 everywhere.
        RgbImage stylized = Noise(width, height, 1, 80, 170), colors = Noise(width, height, 2, 100, 150);

        RgbImage kept = ColorTransfer.KeepColors(stylized, colors);

        int inRange = 0;
        for (int i = 0; i < width * height; i++)
        {
            var (y, _, _) = YCbCr(stylized, i);
            var (_, cb, cr) = YCbCr(colors, i);
            double[] expected = [y + (1.402 * cr), y - (0.344136 * cb) - (0.714136 * cr), y + (1.772 * cb)];
            if (expected.Any(v => v is < 0 or > 255))
            {
                continue;
            }

            inRange++;
            double[] got = Pixel(kept, i);
            for (int c = 0; c < 3; c++)
            {
                Assert.True(Math.Abs(got[c] - expected[c]) <= Tolerance, $"pixel {i} channel {c}: {got[c]} against {expected[c]}");
            }
        }

        Assert.Equal(width * height, inRange);
    }

    [Fact]
    public void Beyond_0_to_255_a_pixel_keeps_its_luma_and_hue_and_gives_up_saturation_only()
    {
        // Full-range noise, and a stylized image whose values (as an optimized image's may) leave 0..255 too.
        RgbImage stylized = Noise(31, 29, 3, -40, 300), colors = Noise(31, 29, 4, 0, 255);

        RgbImage kept = ColorTransfer.KeepColors(stylized, colors);

        int scaled = 0;
        for (int i = 0; i < 31 * 29; i++)
        {
            double[] got = Pixel(kept, i);
            Assert.All(got, v => Assert.InRange(v, 0, 255));
            var (y, cb, cr) = YCbCr(kept, i);
            var (wantedY, _, _) = YCbCr(stylized, i);
            var (_, colorCb, colorCr) = YCbCr(colors, i);
            Assert.True(Math.Abs(y - Math.Clamp(wantedY, 0, 255)) <= Tolerance, $"pixel {i}: luma {y}, stylized {wantedY}");

            // The chroma is the colour's times one factor in 0..1: the same direction (hue), no more saturation.
            double length = Math.Sqrt((colorCb * colorCb) + (colorCr * colorCr));
            double factor = length < 1e-6 ? 1 : ((cb * colorCb) + (cr * colorCr)) / (length * length);
            Assert.InRange(factor, -Tolerance, 1 + Tolerance);
            Assert.True(Math.Abs(cb - (factor * colorCb)) <= Tolerance && Math.Abs(cr - (factor * colorCr)) <= Tolerance, $"pixel {i}: chroma ({cb}, {cr}) against ({colorCb}, {colorCr})");
            if (factor < 1 - Tolerance)
            {
                // Scaled no more than needed: one channel is at the edge it would have crossed.
                Assert.Contains(got, v => v <= Tolerance || v >= 255 - Tolerance);
                scaled++;
            }
        }

        Assert.True(scaled > 100, $"only {scaled} pixels needed scaling: the test does not reach the case");
    }

    [Fact]
    public void Keeping_an_images_own_colours_changes_nothing_and_a_grey_result_takes_the_colours_whole()
    {
        RgbImage image = RgbImage.Noise(9, 5, 3);
        RgbImage same = ColorTransfer.KeepColors(image, image);
        Assert.All(image.Planes.Zip(same.Planes), p => Assert.True(Math.Abs(p.First - p.Second) <= Tolerance));

        // A stylized image with the colour image's luma everywhere gives back the colour image.
        int plane = 9 * 5;
        var grey = new float[3 * plane];
        for (int i = 0; i < plane; i++)
        {
            grey[i] = grey[plane + i] = grey[(2 * plane) + i] = (float)YCbCr(image, i).Y;
        }

        RgbImage back = ColorTransfer.KeepColors(new RgbImage(9, 5, grey), image);
        Assert.All(image.Planes.Zip(back.Planes), p => Assert.True(Math.Abs(p.First - p.Second) <= Tolerance));
    }

    [Fact]
    public void Images_of_different_sizes_are_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => ColorTransfer.KeepColors(RgbImage.Noise(4, 3, 1), RgbImage.Noise(3, 4, 1)));
        Assert.Contains("4×3 and 3×4", e.Message, StringComparison.Ordinal);
    }

    private static RgbImage Noise(int width, int height, ulong seed, float low, float high)
    {
        var planes = new float[3 * width * height];
        new Model.DeterministicRandom(seed).FillUniform(planes, low, high);
        return new RgbImage(width, height, planes);
    }

    private static double[] Pixel(RgbImage image, int i)
    {
        int plane = image.Width * image.Height;
        return [image.Planes[i], image.Planes[plane + i], image.Planes[(2 * plane) + i]];
    }

    /// <summary>JPEG's full-range YCbCr of pixel <paramref name="i"/>, in float64.</summary>
    private static (double Y, double Cb, double Cr) YCbCr(RgbImage image, int i)
    {
        double[] p = Pixel(image, i);
        var (y, _) = ColourMeasures.Luma(p[0], p[1], p[2]);
        var (cb, cr) = ColourMeasures.Chroma(p[0], p[1], p[2]);
        return (y, cb, cr);
    }
}
