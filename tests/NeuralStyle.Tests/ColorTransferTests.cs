using NeuralStyle.Imaging;

namespace NeuralStyle.Tests;

/// <summary>
/// <see cref="ColorTransfer"/> against the textbook recipe in float64: convert both images to JPEG's YCbCr, take Y
/// from the stylized one and Cb, Cr from the other, convert back. The code takes a shortcut (RGB plus the luma
/// difference), so this checks that the shortcut is that recipe. Tolerance 1e-3 of a level on the 0..255 scale:
/// float32 rounding of values up to a few hundred, with room to spare.
/// </summary>
public sealed class ColorTransferTests
{
    private const double Tolerance = 1e-3;

    [Theory]
    [InlineData(1, 1)]
    [InlineData(23, 17)]
    public void The_result_is_the_stylized_luma_with_the_colour_images_chroma(int width, int height)
    {
        RgbImage stylized = RgbImage.Noise(width, height, 1), colors = RgbImage.Noise(width, height, 2);

        RgbImage kept = ColorTransfer.KeepColors(stylized, colors);

        int plane = width * height;
        for (int i = 0; i < plane; i++)
        {
            var (y, _, _) = YCbCr(stylized, i);
            var (_, cb, cr) = YCbCr(colors, i);
            double[] expected = [y + (1.402 * cr), y - (0.344136 * cb) - (0.714136 * cr), y + (1.772 * cb)];
            for (int c = 0; c < 3; c++)
            {
                Assert.True(Math.Abs(kept.Planes[(c * plane) + i] - expected[c]) <= Tolerance, $"pixel {i} channel {c}: {kept.Planes[(c * plane) + i]} against {expected[c]}");
            }
        }
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

    /// <summary>JPEG's full-range YCbCr of pixel <paramref name="i"/>, in float64.</summary>
    private static (double Y, double Cb, double Cr) YCbCr(RgbImage image, int i)
    {
        int plane = image.Width * image.Height;
        double r = image.Planes[i], g = image.Planes[plane + i], b = image.Planes[(2 * plane) + i];
        return ((0.299 * r) + (0.587 * g) + (0.114 * b), (-0.168736 * r) - (0.331264 * g) + (0.5 * b), (0.5 * r) - (0.418688 * g) - (0.081312 * b));
    }
}
