using NeuralStyle.Imaging;
using SkiaSharp;

namespace NeuralStyle.Cli.Reports;

/// <summary>A grid of images with a label over each cell (a row per learning rate, a column per checkpoint), drawn with SkiaSharp.</summary>
internal static class ContactSheet
{
    public const int LabelHeight = 22;
    private const int Gap = 6;

    /// <summary>Draws the grid; a null cell is left grey with its label (e.g. an item that stopped before that checkpoint).</summary>
    public static byte[] Render(IReadOnlyList<IReadOnlyList<RgbImage?>> rows, IReadOnlyList<IReadOnlyList<string>> labels, int cellWidth, int cellHeight)
    {
        int columns = rows.Max(r => r.Count);
        int width = Gap + (columns * (cellWidth + Gap));
        int height = Gap + (rows.Count * (cellHeight + LabelHeight + Gap));
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            using var font = new SKFont(SKTypeface.Default, 12);
            using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
            using var grey = new SKPaint { Color = new SKColor(220, 220, 220) };
            for (int r = 0; r < rows.Count; r++)
            {
                for (int c = 0; c < rows[r].Count; c++)
                {
                    int x = Gap + (c * (cellWidth + Gap));
                    int y = Gap + (r * (cellHeight + LabelHeight + Gap));
                    canvas.DrawText(labels[r][c], x + 2, y + LabelHeight - 6, font, ink);
                    var cell = new SKRect(x, y + LabelHeight, x + cellWidth, y + LabelHeight + cellHeight);
                    if (rows[r][c] is RgbImage image)
                    {
                        using SKBitmap picture = ToBitmap(image);
                        using var sampling = new SKPaint();
                        canvas.DrawBitmap(picture, cell, sampling);
                    }
                    else
                    {
                        canvas.DrawRect(cell, grey);
                    }
                }
            }
        }

        using SKImage encoded = SKImage.FromBitmap(bitmap);
        using SKData png = encoded.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    private static SKBitmap ToBitmap(RgbImage image)
    {
        var bitmap = new SKBitmap(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        int plane = image.Width * image.Height;
        var pixels = new SKColor[plane];
        for (int i = 0; i < plane; i++)
        {
            pixels[i] = new SKColor(Byte(image.Planes[i]), Byte(image.Planes[plane + i]), Byte(image.Planes[(2 * plane) + i]));
        }

        bitmap.Pixels = pixels;
        return bitmap;
    }

    private static byte Byte(float v) => (byte)Math.Clamp(MathF.Round(v), 0f, 255f);
}
