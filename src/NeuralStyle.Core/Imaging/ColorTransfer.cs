namespace NeuralStyle.Imaging;

/// <summary>
/// Luminance-only transfer (Gatys, Bethge, Hertzmann and Shechtman, "Preserving Color in Neural Artistic Style
/// Transfer", 2016), as a step after the optimization: the result keeps the stylized image's luma, which carries
/// the strokes and textures, and takes its chroma from the content image, so the painting's palette is dropped.
/// </summary>
/// <remarks>
/// In the YCbCr of JPEG (Rec. 601 luma Y = 0.299 R + 0.587 G + 0.114 B, full range), taking Y from one image and
/// Cb, Cr from the other is, per pixel, the colour image's RGB plus the difference of the two lumas on every channel:
/// the conversion is linear and Cb, Cr are each a channel minus Y, scaled. That form is what runs here. Values are not
/// clamped: a bright luma on a saturated colour can leave 0..255, and saving clamps it, as it does any image.
/// </remarks>
public static class ColorTransfer
{
    /// <summary>
    /// <paramref name="stylized"/>'s luma with <paramref name="colors"/>' chroma, as a new image of their common size.
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
            float lumaDifference = Luma(s[i], s[plane + i], s[(2 * plane) + i]) - Luma(c[i], c[plane + i], c[(2 * plane) + i]);
            kept[i] = c[i] + lumaDifference;
            kept[plane + i] = c[plane + i] + lumaDifference;
            kept[(2 * plane) + i] = c[(2 * plane) + i] + lumaDifference;
        }

        return new RgbImage(stylized.Width, stylized.Height, kept);
    }

    private static float Luma(float r, float g, float b) => (0.299f * r) + (0.587f * g) + (0.114f * b);
}
