using System.Runtime.InteropServices;
using NeuralStyle.Imaging;
using NeuralStyle.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace NeuralStyle.Tests;

/// <summary>
/// Reading and writing image files: a pipe reads as its file does; files cut short, devices and oversized input are
/// refused in a sentence; the format written follows the extension, values are rounded and clamped to 0..255.
/// </summary>
public sealed partial class ImageFileTests : TemporaryFolderTest
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

    [SkippableFact]
    public void An_image_is_read_from_a_pipe_as_from_its_file()
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX named pipes.");
        string file = Path.Combine(Repository.Examples, "content-cat-chelsea.png");
        string pipe = NamedPipe("cat.png");
        Task writer = Task.Run(() => File.WriteAllBytes(pipe, File.ReadAllBytes(file))); // waits for the reader

        RgbImage piped = ImageFiles.Load(pipe, longSide: 64);

        writer.Wait();
        RgbImage read = ImageFiles.Load(file, longSide: 64);
        Assert.Equal((read.Width, read.Height), (piped.Width, piped.Height));
        Assert.Equal(read.Planes.ToArray(), piped.Planes.ToArray());
    }

    [SkippableFact]
    public async Task A_pipe_whose_writer_never_comes_is_given_up_when_the_load_is_cancelled()
    {
        // Opening a pipe blocks until a writer opens it, and nothing interrupts that call: it used to keep the program
        // there, deaf to a single SIGTERM, for as long as the writer stayed away.
        Skip.If(OperatingSystem.IsWindows(), "POSIX named pipes.");
        string pipe = NamedPipe("never.png");
        using var cancel = new CancellationTokenSource();
        Task<RgbImage> loading = Task.Run(() => ImageFiles.Load(pipe, longSide: 64, cancel: cancel.Token));
        try
        {
            Assert.False(loading.Wait(TimeSpan.FromMilliseconds(300)), "no writer, yet the load ended");
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loading.WaitAsync(TimeSpan.FromMinutes(1)));
        }
        finally
        {
            ReleaseReader(pipe);
        }
    }

    [SkippableFact]
    public void A_run_whose_image_pipe_has_no_writer_stops_when_interrupted()
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX named pipes.");
        string pipe = NamedPipe("never.png");
        Task<(int Code, string Stdout, string Stderr)> run = Task.Run(() => InProcessCli.RunInterrupted(
            "render", "--content", pipe, "--size", "32", "--iterations", "2", "--weights", "random", "--out", Path.Combine(Folder, "out", "cat.png")));
        try
        {
            Assert.True(run.Wait(TimeSpan.FromMinutes(1)), "the run stayed blocked on the pipe");
            var (code, stdout, stderr) = run.Result;
            Assert.True(code == 130, $"exit {code}: {stderr}{stdout}");
            Assert.Equal(InProcessCli.PreparationInterrupted, stderr.Trim());
            Assert.False(Directory.Exists(Path.Combine(Folder, "out")));
        }
        finally
        {
            ReleaseReader(pipe);
        }
    }

    /// <summary>Opens <paramref name="pipe"/> for writing and closes it: a reader left waiting in its open call gets the end of the pipe and its thread ends.</summary>
    private static void ReleaseReader(string pipe) => Task.Run(() => File.WriteAllBytes(pipe, [])).Wait(TimeSpan.FromSeconds(10));

    [SkippableFact]
    public void A_file_or_pipe_larger_than_the_read_limit_is_refused()
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX named pipes.");
        byte[] image = File.ReadAllBytes(Path.Combine(Repository.Examples, "content-astronaut-eileen-collins.png"));
        byte[] twice = [.. image, .. image]; // 1.5 MB that starts as a PNG
        const int Limit = 1 << 20;
        string file = Path.Combine(Folder, "large.png");
        File.WriteAllBytes(file, twice);
        string pipe = NamedPipe("large-pipe.png");
        Task writer = Task.Run(() =>
        {
            try
            {
                File.WriteAllBytes(pipe, twice);
            }
            catch (IOException)
            {
                // The reader stops at the limit and closes the pipe.
            }
        });

        foreach (string path in new[] { file, pipe })
        {
            var e = Assert.Throws<UserInputException>(() => ImageFiles.ReadWhole(path, Limit, out _).Dispose());
            Assert.Equal($"'{path}' holds more than 1 MB, more than any image this program reads; downscale the image or save it in a compressed format.", e.Message);
        }

        Assert.True(writer.Wait(TimeSpan.FromMinutes(1)), "the writer was left blocked on the pipe");
    }

    [SkippableFact]
    public void Devices_that_never_end_or_hold_nothing_are_refused()
    {
        Skip.If(!File.Exists("/dev/zero"), "No /dev/zero here.");
        var endless = Assert.Throws<UserInputException>(() => ImageFiles.Load("/dev/zero", null));
        Assert.StartsWith("'/dev/zero' is not an image this program can read", endless.Message, StringComparison.Ordinal);
        var nothing = Assert.Throws<UserInputException>(() => ImageFiles.Load("/dev/null", null));
        Assert.Equal("Image '/dev/null' is empty (0 bytes); re-export or re-download it.", nothing.Message);
    }

    /// <summary>The good corpus files of the formats whose structure is checked, each cut at many points.</summary>
    public static TheoryData<string> CheckedFormats() =>
        ["ok-palette.png", "ok-interlaced.png", "ok-gray16.png", "ok-gray.jpg", "ok-progressive.jpg", "ok-exif-rotated.jpg", "ok-gif.gif", "ok-bmp.bmp",
         "ok-rle.tga", "ok-binary.ppm", "ok-binary.pbm"];

    [Theory]
    [MemberData(nameof(CheckedFormats))]
    public void A_good_file_cut_anywhere_is_refused_in_a_sentence(string name)
    {
        byte[] whole = File.ReadAllBytes(Path.Combine(Repository.Root, "tests", "corpus", "images", name));
        // A GIF's last byte is its trailer, after the image: without it the image is still whole.
        int longestCut = name.EndsWith(".gif", StringComparison.Ordinal) ? whole.Length - 2 : whole.Length - 1;
        string path = Path.Combine(Folder, name);
        foreach (int length in Enumerable.Range(0, 40).Select(i => 1 + (int)((long)i * (longestCut - 1) / 39)).Distinct())
        {
            File.WriteAllBytes(path, whole[..length]);
            var e = Assert.Throws<UserInputException>(() => ImageFiles.Load(path, null));
            Assert.DoesNotContain('\n', e.Message);
        }
    }

    [Fact]
    public void A_webp_cut_anywhere_is_refused_in_a_sentence()
    {
        string path = Path.Combine(Folder, "noise.webp");
        ImageFiles.Save(RgbImage.Noise(24, 16, 3), path);
        byte[] whole = File.ReadAllBytes(path);
        foreach (int length in new[] { 1, 12, whole.Length / 3, whole.Length / 2, whole.Length - 1 })
        {
            File.WriteAllBytes(path, whole[..length]);
            Assert.Throws<UserInputException>(() => ImageFiles.Load(path, null));
        }
    }

    [Fact]
    public void A_png_whose_text_inflates_to_64_mb_loads_without_inflating_it()
    {
        string folder = Path.Combine(Repository.Root, "tests", "corpus", "images");
        RgbImage plain = ImageFiles.Load(Path.Combine(folder, "ok-palette.png"), null);
        long before = GC.GetAllocatedBytesForCurrentThread();

        RgbImage bomb = ImageFiles.Load(Path.Combine(folder, "ok-text-bomb.png"), null); // the same pixels and a zTXt chunk

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(plain.Planes.ToArray(), bomb.Planes.ToArray());
        Assert.True(allocated < 8 << 20, $"loading allocated {allocated >> 20} MB: the text was inflated");
    }

    [Fact]
    public void Dropping_a_pngs_text_keeps_every_other_chunk_byte_for_byte()
    {
        byte[] original = File.ReadAllBytes(Path.Combine(Repository.Root, "tests", "corpus", "images", "ok-text-bomb.png"));
        byte[] png = original.ToArray();

        int length = PngChunks.DropText(png);

        List<PngChunk> after = PngChunks.Read(png.AsSpan(0, length), out bool whole);
        Assert.True(whole);
        List<PngChunk> before = PngChunks.Read(original, out _);
        string Type(byte[] file, PngChunk c) => System.Text.Encoding.ASCII.GetString(file, c.Start + 4, 4);
        Assert.Contains("zTXt", before.Select(c => Type(original, c)));
        Assert.Equal(
            before.Where(c => Type(original, c) is not ("tEXt" or "zTXt" or "iTXt")).Select(c => original[c.Start..c.End]),
            after.Select(c => png[c.Start..c.End]));
        Assert.Equal(original[..8], png[..8]);
    }

    [Theory]
    [InlineData("animation.gif")]
    [InlineData("pages.tiff")]
    public void An_animation_or_multipage_file_decodes_its_first_frame_only(string name)
    {
        string path = Path.Combine(Folder, name);
        using (var frames = new Image<Rgb24>(8, 6, new Rgb24(200, 10, 10)))
        {
            using var blue = new Image<Rgb24>(8, 6, new Rgb24(10, 10, 200));
            using var green = new Image<Rgb24>(8, 6, new Rgb24(10, 200, 10));
            frames.Frames.AddFrame(blue.Frames.RootFrame);
            frames.Frames.AddFrame(green.Frames.RootFrame);
            frames.Save(path);
        }

        using Image decoded = Image.Load(ImageFiles.FirstFrameOnly, path);
        Assert.Equal(1, decoded.Frames.Count);
        RgbImage first = ImageFiles.Load(path, null);
        Assert.True(first.Planes[0] > 150 && first.Planes[48] < 60, "the first frame is red"); // 48 = one 8×6 plane
    }

    /// <summary>A POSIX named pipe (FIFO) in the test's folder.</summary>
    private string NamedPipe(string name)
    {
        string path = Path.Combine(Folder, name);
        Assert.True(MakeFifo(path, Convert.ToUInt32("600", 8)) == 0, $"mkfifo failed: errno {Marshal.GetLastPInvokeError()}");
        return path;
    }

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MakeFifo(string path, uint mode);
}
