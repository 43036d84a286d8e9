using NeuralStyle.Imaging;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// Every file of tests/corpus/images (made by tools/make-corpus.sh) either loads correctly or is refused with one
/// sentence naming it; expected.tsv says which, and what.
/// </summary>
public sealed class BadImageCorpusTests
{
    public static IEnumerable<object[]> Cases =>
        File.ReadAllLines(Path.Combine(Repository.Root, "tests", "corpus", "images", "expected.tsv"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('\t'))
            .Select(f => new object[] { f[0], f[1], f[2] });

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_corpus_file_loads_or_is_refused_as_documented(string file, string outcome, string detail)
    {
        string path = Path.Combine(Repository.Root, "tests", "corpus", "images", file);
        if (outcome == "ok")
        {
            RgbImage image = ImageFiles.Load(path, longSide: null);
            Assert.Equal(detail, $"{image.Width}x{image.Height}");
            Assert.All(image.Planes, v => Assert.InRange(v, 0f, 255f));
            return;
        }

        var e = Assert.Throws<UserInputException>(() => ImageFiles.Load(path, longSide: null));
        Assert.Contains(detail, e.Message, StringComparison.Ordinal);
        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Transparent_pixels_become_white_and_exif_orientation_is_applied()
    {
        string folder = Path.Combine(Repository.Root, "tests", "corpus", "images");
        RgbImage alpha = ImageFiles.Load(Path.Combine(folder, "ok-alpha.png"), null);
        // The left half (x < 8) is fully transparent: composited on white.
        Assert.Equal([255f, 255f, 255f], [alpha.Planes[0], alpha.Planes[192], alpha.Planes[384]]);
        Assert.True(alpha.Planes[192 + 15] < 128, "the opaque right half keeps its colour (red at the top)");

        RgbImage upright = ImageFiles.Load(Path.Combine(folder, "ok-exif-rotated.jpg"), null);
        RgbImage stored = ImageFiles.Load(Path.Combine(folder, "ok-gray.jpg"), null);
        Assert.Equal((12, 16), (upright.Width, upright.Height));
        Assert.Equal((16, 12), (stored.Width, stored.Height));
    }

    [Fact]
    public void A_folder_and_a_missing_file_are_named()
    {
        var folder = Assert.Throws<UserInputException>(() => ImageFiles.Load(Repository.Examples, null));
        Assert.Contains("is a folder", folder.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<UserInputException>(() => ImageFiles.Load("/no/such/file.png", null));
        Assert.Contains("does not exist", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_megapixel_limit_is_configurable()
    {
        string cat = Path.Combine(Repository.Examples, "content-cat-chelsea.png");
        var e = Assert.Throws<UserInputException>(() => ImageFiles.Load(cat, 64, maxMegapixels: 0.1));
        Assert.Contains("451×300", e.Message, StringComparison.Ordinal);
        Assert.Equal(64, ImageFiles.Load(cat, 64, maxMegapixels: 0.2).Width);
    }
}
