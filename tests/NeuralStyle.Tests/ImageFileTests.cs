using NeuralStyle.Imaging;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>Writing images: the format follows the extension, values are rounded and clamped to 0..255.</summary>
public sealed class ImageFileTests : TemporaryFolderTest
{
    [Theory]
    [InlineData("out.png", new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, 0)]
    [InlineData("out.WEBP", new byte[] { (byte)'R', (byte)'I', (byte)'F', (byte)'F' }, 0)] // lossless
    [InlineData("out.jpeg", new byte[] { 0xFF, 0xD8, 0xFF }, 24)] // quality 95: noise, the hardest case, came back within 15
    public void A_saved_image_reads_back_as_its_rounded_clamped_values(string name, byte[] magic, int levels)
    {
        RgbImage noise = RgbImage.Noise(23, 17, 4);
        float[] planes = noise.Planes.ToArray();
        planes[0] = -7.6f; // out of range, as an optimized image may be: clamped when written
        planes[1] = 300f;
        planes[2] = 12.5f; // rounded to even, as MathF.Round does
        var image = new RgbImage(23, 17, planes);
        string path = Path.Combine(Folder, name);

        ImageFiles.Save(image, path);

        Assert.Equal(magic, File.ReadAllBytes(path)[..magic.Length]);
        RgbImage read = ImageFiles.Load(path, longSide: null);
        Assert.Equal((23, 17), (read.Width, read.Height));
        float[] expected = planes.Select(v => Math.Clamp(MathF.Round(v), 0f, 255f)).ToArray();
        float worst = expected.Zip(read.Planes, (e, r) => MathF.Abs(e - r)).Max();
        Assert.True(worst <= levels, $"{name}: read back {worst} levels away");
    }

    [Fact]
    public void An_extension_we_cannot_write_is_refused_before_anything_is_written()
    {
        string path = Path.Combine(Folder, "out.gif");
        var e = Assert.Throws<UserInputException>(() => ImageFiles.Save(RgbImage.Noise(4, 4, 1), path));
        Assert.StartsWith($"Cannot write '{path}': the extension must be one of ", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }
}
