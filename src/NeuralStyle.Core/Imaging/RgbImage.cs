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

    /// <summary>Uniform noise in [0, 255), reproducible from <paramref name="seed"/>.</summary>
    public static RgbImage Noise(int width, int height, ulong seed)
    {
        var planes = new float[3 * width * height];
        new Model.DeterministicRandom(seed).FillUniform(planes, 0, 255);
        return new RgbImage(width, height, planes);
    }
}
