namespace NeuralStyle.Imaging;

/// <summary>
/// Luminance-only transfer (Gatys, Bethge, Hertzmann and Shechtman, "Preserving Color in Neural Artistic Style
/// Transfer", 2016), as a step after the optimization: the result keeps the stylized image's luma, which carries
/// the strokes and textures, and takes its chroma from the content image, so the painting's palette is dropped.
/// </summary>
/// <remarks>
/// In the YCbCr of JPEG (Rec. 601 luma Y = 0.299 R + 0.587 G + 0.114 B, full range), taking Y from one image and
/// Cb, Cr from the other is, per pixel, Y plus the colour image's RGB minus its own luma: the conversion is linear
/// and Cb, Cr are each a channel minus Y, scaled. That form is what runs here. A bright stroke on a saturated colour
/// can leave 0..255; clamping each channel there, as saving would, changes the pixel's luma and hue at once, so the
/// chroma is scaled down instead, just enough to fit: the pixel keeps its luma (the stylized one, taken into 0..255)
/// and its hue, and gives up only saturation.
/// </remarks>
public static class ColorTransfer
{
    /// <summary>
    /// <paramref name="stylized"/>'s luma with <paramref name="colors"/>' chroma, as a new image of their common size,
    /// every value in 0..255.
    /// </summary>
    public static RgbImage KeepColors(RgbImage stylized, RgbImage colors)
    {
        ArgumentNullException.ThrowIfNull(stylized);
        ArgumentNullException.ThrowIfNull(colors);
        if (stylized.Width != colors.Width || stylized.Height != colors.Height)
        {
            throw new ArgumentException($"Keeping colours needs images of one size, got {stylized.Width}×{stylized.Height} and {colors.Width}×{colors.Height}.");
        }

        int plane = stylized.Width * stylized.Height;
        ReadOnlySpan<float> s = stylized.Planes, c = colors.Planes;
        var kept = new float[3 * plane];
        for (int i = 0; i < plane; i++)
        {
            float luma = Math.Clamp(Luma(s[i], s[plane + i], s[(2 * plane) + i]), 0f, 255f);
            float colorLuma = Luma(c[i], c[plane + i], c[(2 * plane) + i]);
            // The colour as offsets from its own luma: their luma is 0, so any multiple of them keeps the pixel's luma.
            float r = c[i] - colorLuma, g = c[plane + i] - colorLuma, b = c[(2 * plane) + i] - colorLuma;
            float scale = Math.Min(Fit(luma, r), Math.Min(Fit(luma, g), Fit(luma, b)));
            kept[i] = Math.Clamp(luma + (scale * r), 0f, 255f); // the clamps take only float rounding off the edges
            kept[plane + i] = Math.Clamp(luma + (scale * g), 0f, 255f);
            kept[(2 * plane) + i] = Math.Clamp(luma + (scale * b), 0f, 255f);
        }

        return new RgbImage(stylized.Width, stylized.Height, kept);
    }

    private static float Luma(float r, float g, float b) => (0.299f * r) + (0.587f * g) + (0.114f * b);

    /// <summary>The largest factor up to 1 by which <paramref name="offset"/> can be added to <paramref name="luma"/> (in 0..255) and stay in 0..255.</summary>
    private static float Fit(float luma, float offset) =>
        luma + offset > 255f ? (255f - luma) / offset
        : luma + offset < 0f ? -luma / offset
        : 1f;
}
