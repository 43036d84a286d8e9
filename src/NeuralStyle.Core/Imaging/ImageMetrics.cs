namespace NeuralStyle.Imaging;

/// <summary>Image measures for reports, computed on the 8-bit image a user sees (clamped to 0..255 and rounded).</summary>
public static class ImageMetrics
{
    /// <summary>Mean Rec. 601 luma, 0.299 R + 0.587 G + 0.114 B, in 0..255.</summary>
    public static double MeanLuminance(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        double[] luma = Luma(image);
        return luma.Average();
    }

    /// <summary>
    /// Structural similarity of the lumas of two images of the same size (Wang, Bovik, Sheikh and Simoncelli 2004):
    /// an 11×11 Gaussian window with σ 1.5, C1 = (0.01·255)², C2 = (0.03·255)², averaged over every position where
    /// the window fits (the whole image with the window clipped at the borders when the image is smaller).
    /// 1 means identical structure.
    /// </summary>
    public static double Ssim(RgbImage a, RgbImage b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Width != b.Width || a.Height != b.Height)
        {
            throw new ArgumentException($"SSIM needs images of one size, got {a.Width}×{a.Height} and {b.Width}×{b.Height}.");
        }

        const double C1 = 0.01 * 255 * 0.01 * 255, C2 = 0.03 * 255 * 0.03 * 255;
        double[] x = Luma(a), y = Luma(b);
        int w = a.Width, h = a.Height, radius = 5;
        double[] kernel = Enumerable.Range(-radius, (2 * radius) + 1).Select(i => Math.Exp(-i * i / (2 * 1.5 * 1.5))).ToArray();
        double total = 0;
        int count = 0;
        for (int cy = 0; cy < h; cy++)
        {
            for (int cx = 0; cx < w; cx++)
            {
                double sw = 0, mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
                for (int dy = -radius; dy <= radius; dy++)
                {
                    int py = cy + dy;
                    if (py < 0 || py >= h)
                    {
                        continue;
                    }

                    for (int dx = -radius; dx <= radius; dx++)
                    {
                        int px = cx + dx;
                        if (px < 0 || px >= w)
                        {
                            continue;
                        }

                        double k = kernel[dy + radius] * kernel[dx + radius];
                        double vx = x[(py * w) + px], vy = y[(py * w) + px];
                        sw += k;
                        mx += k * vx;
                        my += k * vy;
                        xx += k * vx * vx;
                        yy += k * vy * vy;
                        xy += k * vx * vy;
                    }
                }

                mx /= sw;
                my /= sw;
                double varX = Math.Max(0, (xx / sw) - (mx * mx)), varY = Math.Max(0, (yy / sw) - (my * my)), cov = (xy / sw) - (mx * my);
                total += ((2 * mx * my) + C1) * ((2 * cov) + C2) / (((mx * mx) + (my * my) + C1) * (varX + varY + C2));
                count++;
            }
        }

        return total / count;
    }

    /// <summary>True when every pixel is a finite number.</summary>
    public static bool IsFinite(RgbImage image) => Cpu.CpuKernels.AllFinite((image ?? throw new ArgumentNullException(nameof(image))).Planes);

    private static double[] Luma(RgbImage image)
    {
        int plane = image.Width * image.Height;
        var luma = new double[plane];
        for (int i = 0; i < plane; i++)
        {
            luma[i] = (0.299 * To8Bit(image.Planes[i])) + (0.587 * To8Bit(image.Planes[plane + i])) + (0.114 * To8Bit(image.Planes[(2 * plane) + i]));
        }

        return luma;
    }

    private static double To8Bit(float v) => Math.Clamp(MathF.Round(v), 0f, 255f);
}
