namespace NeuralStyle.Imaging;

/// <summary>An RGB image as float planes [3, H, W] in 0..255 (the engine's pixel scale). Owns its array.</summary>
public sealed class RgbImage
{
    /// <summary>Wraps <paramref name="planes"/> ([3, height, width]); takes ownership.</summary>
    public RgbImage(int width, int height, float[] planes)
    {
        ArgumentNullException.ThrowIfNull(planes);
        if (width <= 0 || height <= 0 || planes.Length != 3 * width * height)
        {
            throw new ArgumentException($"A {width}×{height} RGB image needs {3L * width * height} values, got {planes.Length}.");
        }

        Width = width;
        Height = height;
        Planes = planes;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>[3, H, W], R plane first.</summary>
    public float[] Planes { get; }

    /// <summary>
    /// Copies 8-bit pixels: <paramref name="channels"/> 3 (RGB) or 4 (RGBA; alpha is composited over white),
    /// rows <paramref name="stride"/> bytes apart. The caller keeps ownership of <paramref name="pixels"/>.
    /// </summary>
    public static RgbImage FromPixels(ReadOnlySpan<byte> pixels, int width, int height, int stride, int channels)
    {
        CheckLayout(pixels.Length, width, height, stride, channels);
        int plane = width * height;
        var planes = new float[3 * plane];
        for (int y = 0; y < height; y++)
        {
            ReadOnlySpan<byte> row = pixels.Slice(y * stride, width * channels);
            for (int x = 0; x < width; x++)
            {
                float alpha = channels == 4 ? row[(x * 4) + 3] / 255f : 1f;
                for (int c = 0; c < 3; c++)
                {
                    planes[(c * plane) + (y * width) + x] = (row[(x * channels) + c] * alpha) + (255f * (1 - alpha));
                }
            }
        }

        return new RgbImage(width, height, planes);
    }

    /// <summary>Writes this image as 8-bit pixels (clamped, rounded; alpha 255 for 4 channels) into the caller's buffer.</summary>
    public void CopyToPixels(Span<byte> pixels, int stride, int channels)
    {
        CheckLayout(pixels.Length, Width, Height, stride, channels);
        int plane = Width * Height;
        for (int y = 0; y < Height; y++)
        {
            Span<byte> row = pixels.Slice(y * stride, Width * channels);
            for (int x = 0; x < Width; x++)
            {
                for (int c = 0; c < 3; c++)
                {
                    row[(x * channels) + c] = (byte)Math.Clamp(MathF.Round(Planes[(c * plane) + (y * Width) + x]), 0f, 255f);
                }

                if (channels == 4)
                {
                    row[(x * 4) + 3] = 255;
                }
            }
        }
    }

    private static void CheckLayout(int length, int width, int height, int stride, int channels)
    {
        if (channels is not (3 or 4))
        {
            throw new ArgumentException($"Pixels must have 3 (RGB) or 4 (RGBA) channels, not {channels}.", nameof(channels));
        }

        if (width <= 0 || height <= 0 || stride < width * channels)
        {
            throw new ArgumentException($"A {width}×{height} image with {channels} channels needs a row stride of at least {(long)width * channels} bytes, got {stride}.", nameof(stride));
        }

        if (length < ((long)(height - 1) * stride) + ((long)width * channels))
        {
            throw new ArgumentException($"A {width}×{height} image with stride {stride} needs {((long)(height - 1) * stride) + ((long)width * channels)} bytes, got {length}.", nameof(length));
        }
    }

    /// <summary>Uniform noise in [0, 255), reproducible from <paramref name="seed"/>.</summary>
    public static RgbImage Noise(int width, int height, ulong seed)
    {
        var planes = new float[3 * width * height];
        new Model.DeterministicRandom(seed).FillUniform(planes, 0, 255);
        return new RgbImage(width, height, planes);
    }
}
