using NeuralStyle.Imaging;

namespace NeuralStyle.Tests.Support;

/// <summary>Colour measures of saved (8-bit) images, for the tests of --original-colors.</summary>
internal static class ColourMeasures
{
    /// <summary>Mean absolute difference allowed, in 0..255 levels: 8-bit rounding, with room (see <see cref="MeanDifference"/>).</summary>
    public const double Tolerance = 0.75;

    /// <summary>
    /// The mean difference of <paramref name="measure"/> over the pixels where neither image has a channel at 0 or 255,
    /// which differ by more than rounding: saving clamps a plain render there, and a kept one's chroma may have been
    /// scaled down to fit. In the 48 px render of the CLI test, over all pixels the luma differed by 0.71 on average and
    /// the chroma by 0.51; over these by 0.29 and 0, and the plain render's chroma by 30. Most pixels must be among them.
    /// </summary>
    public static double MeanDifference(RgbImage a, RgbImage b, Func<double, double, double, (double, double)> measure)
    {
        Assert.Equal((a.Width, a.Height), (b.Width, b.Height));
        int plane = a.Width * a.Height, compared = 0;
        double total = 0;
        for (int i = 0; i < plane; i++)
        {
            float[] pa = [a.Planes[i], a.Planes[plane + i], a.Planes[(2 * plane) + i]], pb = [b.Planes[i], b.Planes[plane + i], b.Planes[(2 * plane) + i]];
            if (pa.Concat(pb).Any(v => v is 0 or 255))
            {
                continue;
            }

            var (a1, a2) = measure(pa[0], pa[1], pa[2]);
            var (b1, b2) = measure(pb[0], pb[1], pb[2]);
            total += (Math.Abs(a1 - b1) + Math.Abs(a2 - b2)) / 2;
            compared++;
        }

        Assert.True(compared >= plane / 2, $"only {compared} of {plane} pixels unclamped");
        return total / compared;
    }

    /// <summary>JPEG's Cb and Cr.</summary>
    public static (double, double) Chroma(double r, double g, double b) => ((-0.168736 * r) - (0.331264 * g) + (0.5 * b), (0.5 * r) - (0.418688 * g) - (0.081312 * b));

    /// <summary>Rec. 601 luma, twice, so it fits the same measure.</summary>
    public static (double, double) Luma(double r, double g, double b) => ((0.299 * r) + (0.587 * g) + (0.114 * b), (0.299 * r) + (0.587 * g) + (0.114 * b));
}
