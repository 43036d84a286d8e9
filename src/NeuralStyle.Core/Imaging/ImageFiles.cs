using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace NeuralStyle.Imaging;

/// <summary>
/// Reads and writes images with ImageSharp. Reading takes the file (or pipe) whole into memory, once, refuses it when
/// it was cut short (<see cref="ImageIntegrity"/>), drops a PNG's text (<see cref="PngChunks"/>), decodes the first
/// frame, applies EXIF orientation, converts any pixel format to RGB (alpha is composited over white, so transparent
/// areas read as white paper) and resizes; writing clamps to 0..255, rounds, and goes through a temporary file so a
/// crash never leaves a half-written image.
/// </summary>
public static class ImageFiles
{
    /// <summary>File extensions <see cref="Save"/> can write.</summary>
    public static IReadOnlyList<string> WritableExtensions { get; } = [".png", ".jpg", ".jpeg", ".webp"];

    /// <summary>
    /// Loads <paramref name="path"/>, scaled so its longer side is <paramref name="longSide"/> (null keeps the size).
    /// Throws <see cref="UserInputException"/> naming the file when it is missing, not a readable image, damaged,
    /// or larger than <paramref name="maxMegapixels"/>. A pipe may keep the read waiting on its writer: cancelling
    /// <paramref name="cancel"/> ends the wait with <see cref="OperationCanceledException"/>.
    /// </summary>
    public static RgbImage Load(string path, int? longSide, double maxMegapixels = DefaultMaxMegapixels, CancellationToken cancel = default)
    {
        using Image<Rgb24> image = Decode(path, maxMegapixels, cancel);
        if (longSide is int side)
        {
            double scale = (double)side / Math.Max(image.Width, image.Height);
            int w = Math.Max(1, (int)Math.Round(image.Width * scale));
            int h = Math.Max(1, (int)Math.Round(image.Height * scale));
            image.Mutate(x => x.Resize(w, h, KnownResamplers.Lanczos3));
        }

        return ToPlanes(image);
    }

    /// <summary>Loads <paramref name="path"/> resized to exactly <paramref name="width"/> × <paramref name="height"/> (for <c>--init FILE</c>); otherwise as <see cref="Load"/>.</summary>
    public static RgbImage LoadExact(string path, int width, int height, double maxMegapixels = DefaultMaxMegapixels, CancellationToken cancel = default)
    {
        using Image<Rgb24> image = Decode(path, maxMegapixels, cancel);
        image.Mutate(x => x.Resize(width, height, KnownResamplers.Lanczos3));
        return ToPlanes(image);
    }

    /// <summary>A copy of <paramref name="image"/> scaled (Lanczos-3) so its longer side is <paramref name="longSide"/>.</summary>
    public static RgbImage Resize(RgbImage image, int longSide)
    {
        ArgumentNullException.ThrowIfNull(image);
        double scale = (double)longSide / Math.Max(image.Width, image.Height);
        int w = Math.Max(1, (int)Math.Round(image.Width * scale));
        int h = Math.Max(1, (int)Math.Round(image.Height * scale));
        var bytes = new byte[image.Width * image.Height * 3];
        image.CopyToPixels(bytes, image.Width * 3, 3);
        using Image<Rgb24> picture = Image.LoadPixelData<Rgb24>(bytes, image.Width, image.Height);
        picture.Mutate(x => x.Resize(w, h, KnownResamplers.Lanczos3));
        return ToPlanes(picture);
    }

    /// <summary>Writes <paramref name="image"/> clamped to 0..255; the format follows the extension (PNG, JPEG, WebP).</summary>
    public static void Save(RgbImage image, string path)
    {
        ArgumentNullException.ThrowIfNull(image);
        IImageEncoder encoder = EncoderFor(path);
        using var output = new Image<Rgb24>(image.Width, image.Height);
        int plane = image.Width * image.Height;
        output.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < rows.Height; y++)
            {
                Span<Rgb24> row = rows.GetRowSpan(y);
                for (int x = 0; x < row.Length; x++)
                {
                    int i = (y * image.Width) + x;
                    row[x] = new Rgb24(ToByte(image.Planes[i]), ToByte(image.Planes[plane + i]), ToByte(image.Planes[(2 * plane) + i]));
                }
            }
        });
        AtomicFile.Write(path, stream => output.Save(stream, encoder));
    }

    /// <summary>The encoder for a path's extension, or a <see cref="UserInputException"/> listing the ones we write.</summary>
    public static IImageEncoder EncoderFor(string path)
    {
        string extension = Path.GetExtension(path).ToUpperInvariant();
        return extension switch
        {
            ".PNG" => new PngEncoder(),
            ".JPG" or ".JPEG" => new JpegEncoder { Quality = 95 },
            ".WEBP" => new WebpEncoder { FileFormat = WebpFileFormatType.Lossless },
            _ => throw new UserInputException($"Cannot write '{path}': the extension must be one of {string.Join(", ", WritableExtensions)}."),
        };
    }

    private static byte ToByte(float value) => (byte)Math.Clamp(MathF.Round(value), 0f, 255f);

    /// <summary>
    /// The default largest image, in megapixels, that is decoded; larger ones are refused from their header alone,
    /// before any pixel memory is allocated (the command line's <c>--max-megapixels</c>).
    /// </summary>
    public const double DefaultMaxMegapixels = 100;

    private static Image<Rgb24> Decode(string path, double maxMegapixels, CancellationToken cancel)
    {
        if (Directory.Exists(path))
        {
            throw new UserInputException($"'{path}' is a folder, not an image; name an image file.");
        }

        if (!File.Exists(path))
        {
            throw new UserInputException($"Image '{path}' does not exist; check the path.");
        }

        try
        {
            // Read whole, once: a pipe (`--content <(curl -sL URL)`, /dev/stdin) can be read only once, and the
            // integrity check below walks every byte before any decoder sees them.
            using MemoryStream source = ReadWhole(path, ReadLimitBytes, out IImageFormat detected, cancel);
            if (detected is PngFormat)
            {
                // Text never touches the pixels, and ImageSharp would inflate a compressed one whole.
                source.SetLength(PngChunks.DropText(source.GetBuffer().AsSpan(0, (int)source.Length)));
            }

            IImageInfo? info = Image.Identify(FirstFrameOnly, source);
            if (info is null)
            {
                throw NotAnImage(path);
            }

            double megapixels = (double)info.Width * info.Height / 1e6;
            if (megapixels > maxMegapixels)
            {
                string size = megapixels.ToString(megapixels >= 10 ? "F0" : "G2", System.Globalization.CultureInfo.InvariantCulture); // 0.14, 2.5, 150
                throw new UserInputException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"Image '{path}' is {info.Width}×{info.Height} ({size} megapixels), above the limit of {maxMegapixels:G} MP; downscale it{(SettingNames.Current.MaxMegapixels is string limit ? $", or raise {limit} if this machine has the memory" : "")}."));
            }

            // After the size check: the integrity check inflates a PNG's pixel data, which a header claiming a
            // huge size would make expensive.
            if (ImageIntegrity.Fault(Bytes(source), detected) is string fault)
            {
                throw new UserInputException($"Image '{path}' {fault}; re-export or re-download it.");
            }

            source.Position = 0;
            using Image<Rgba32> rgba = Image.Load<Rgba32>(FirstFrameOnly, source);
            rgba.Mutate(x => x.AutoOrient().BackgroundColor(Color.White));
            return rgba.CloneAs<Rgb24>();
        }
        catch (UnknownImageFormatException)
        {
            throw NotAnImage(path);
        }
        catch (IOException e)
        {
            throw new UserInputException($"Image '{path}' cannot be read ({e.Message.TrimEnd('.')}); check the file and its permissions.", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UserInputException($"Image '{path}' cannot be read: permission denied; check its permissions.", e);
        }
        catch (NotSupportedException e)
        {
            // A valid file in a variant the decoder lacks (an arithmetic-coded JPEG, a TIFF compression).
            throw new UserInputException($"Image '{path}' uses a variant of its format this program cannot decode ({e.Message.TrimEnd('.')}); convert it to PNG.", e);
        }
        catch (Exception e) when (e is not (UserInputException or OutOfMemoryException or OperationCanceledException))
        {
            // Whatever a decoder throws on malformed bytes (ImageFormatException, InvalidImageContentException,
            // or an index error deep in a codec) is a damaged file, not a bug of ours.
            throw new UserInputException($"Image '{path}' is damaged or truncated and cannot be decoded ({e.Message.TrimEnd('.')}); re-export or re-download it.", e);
        }
    }

    /// <summary>
    /// ImageSharp's defaults, but a GIF or TIFF decodes its first frame only: that is the image a run uses, and an
    /// animation's other frames cost time and memory for nothing (20 frames of 1000×1000 took 0.9 s and 130 MB more).
    /// </summary>
    internal static readonly Configuration FirstFrameOnly = CreateFirstFrameOnly();

    private static Configuration CreateFirstFrameOnly()
    {
        Configuration configuration = Configuration.Default.Clone();
        configuration.ImageFormatsManager.SetDecoder(GifFormat.Instance, new GifDecoder { DecodingMode = FrameDecodingMode.First });
        configuration.ImageFormatsManager.SetDecoder(TiffFormat.Instance, new TiffDecoder { DecodingMode = FrameDecodingMode.First });
        return configuration;
    }

    /// <summary>The largest image file read, in bytes: far above any image within the default 100 MP limit.</summary>
    internal const int ReadLimitBytes = 1 << 30;

    /// <summary>
    /// Reads <paramref name="path"/> to its end, refusing what is no image format or too large; <paramref
    /// name="format"/> is the one its first bytes show. A pipe or device reports no size, so it is refused as soon as
    /// its first bytes are no image format (so /dev/zero or /dev/urandom fail at once) or once it passes <paramref
    /// name="limitBytes"/>.
    /// </summary>
    internal static MemoryStream ReadWhole(string path, int limitBytes, out IImageFormat format)
    {
        const int FormatProbeBytes = 4096; // more than any format detector's header
        using FileStream stream = File.OpenRead(path);
        if (stream.CanSeek && stream.Length > limitBytes)
        {
            throw TooLarge(path, limitBytes);
        }

        var buffer = new MemoryStream(stream.CanSeek ? (int)stream.Length : 0);
        var chunk = new byte[64 * 1024];
        IImageFormat? known = null;
        int read;
        while ((read = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, limitBytes + 1L - buffer.Length))) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (known is null && buffer.Length >= FormatProbeBytes)
            {
                known = FormatOf(path, buffer);
            }

            if (buffer.Length > limitBytes)
            {
                throw TooLarge(path, limitBytes);
            }
        }

        if (buffer.Length == 0)
        {
            throw new UserInputException($"Image '{path}' is empty (0 bytes); re-export or re-download it.");
        }

        format = known ?? FormatOf(path, buffer);
        buffer.Position = 0;
        return buffer;
    }

    /// <summary>
    /// <see cref="ReadWhole(string, int, out IImageFormat)"/>, waited for only until <paramref name="cancel"/> asks to
    /// stop. A pipe keeps its reader waiting as long as its writer likes (none has opened it yet, a download stalls),
    /// in open and read calls that nothing interrupts; so a read that may be cancelled runs on a thread of its own,
    /// which is left to finish or block there, holding nothing but the pipe.
    /// </summary>
    private static MemoryStream ReadWhole(string path, int limitBytes, out IImageFormat format, CancellationToken cancel)
    {
        if (!cancel.CanBeCanceled)
        {
            return ReadWhole(path, limitBytes, out format);
        }

        Task<(MemoryStream, IImageFormat)> reading = Task.Factory.StartNew(() =>
        {
            MemoryStream buffer = ReadWhole(path, limitBytes, out IImageFormat detected);
            return (buffer, detected);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        (MemoryStream read, format) = reading.WaitAsync(cancel).GetAwaiter().GetResult();
        return read;
    }

    private static ReadOnlySpan<byte> Bytes(MemoryStream buffer) => buffer.GetBuffer().AsSpan(0, (int)buffer.Length);

    private static IImageFormat FormatOf(string path, MemoryStream buffer) => Image.DetectFormat(Bytes(buffer)) ?? throw NotAnImage(path);

    private static UserInputException TooLarge(string path, int limitBytes) =>
        new($"'{path}' holds more than {limitBytes >> 20} MB, more than any image this program reads; downscale the image or save it in a compressed format.");

    private static UserInputException NotAnImage(string path) =>
        new($"'{path}' is not an image this program can read (PNG, JPEG, WebP, BMP, GIF, TGA, TIFF, PBM); convert it to PNG.");

    private static RgbImage ToPlanes(Image<Rgb24> image)
    {
        int plane = image.Width * image.Height;
        var planes = new float[3 * plane];
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < rows.Height; y++)
            {
                Span<Rgb24> row = rows.GetRowSpan(y);
                for (int x = 0; x < row.Length; x++)
                {
                    int i = (y * rows.Width) + x;
                    planes[i] = row[x].R;
                    planes[plane + i] = row[x].G;
                    planes[(2 * plane) + i] = row[x].B;
                }
            }
        });
        return new RgbImage(image.Width, image.Height, planes);
    }
}
