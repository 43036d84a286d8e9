using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Pbm;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tga;
using SixLabors.ImageSharp.Formats.Webp;

namespace NeuralStyle.Imaging;

/// <summary>
/// Finds image files that end early, as an interrupted download or copy leaves them, or whose pixel data stops short.
/// ImageSharp 2 decodes a PNG, JPEG, GIF, WebP, BMP, TGA or binary Netpbm file cut short without complaint, filling
/// in what is missing (a cut PNG's lower part came out white: a render of it would style a half-blank photo), and an
/// interlaced PNG whose pixel data stops short sends its decoder into an endless loop. So each of those formats' own structure is walked to its end before anything is
/// decoded, and a PNG's pixel data is inflated to count it. TIFF has no check (ImageSharp refuses a cut TIFF itself),
/// nor do the rare plain-text Netpbm files.
/// </summary>
internal static class ImageIntegrity
{
    /// <summary>
    /// What is wrong with <paramref name="file"/>, to follow "Image 'NAME' " (such as "is damaged or truncated: it
    /// ends before its IEND chunk"), or null when it is whole or of a format without a check.
    /// </summary>
    public static string? Fault(ReadOnlySpan<byte> file, IImageFormat format) => format switch
    {
        PngFormat => Png(file),
        JpegFormat => Truncated(Jpeg(file)),
        GifFormat => Truncated(Gif(file)),
        WebpFormat => Truncated(Riff(file)),
        BmpFormat => Truncated(Bmp(file)),
        TgaFormat => Truncated(Tga(file)),
        PbmFormat => Truncated(Netpbm(file)),
        _ => null,
    };

    /// <summary>An interrupted download or copy ends early; so does a file whose length fields were damaged.</summary>
    private static string? Truncated(string? shortfall) => shortfall is null ? null : $"is damaged or truncated: {shortfall}";

    /// <summary>
    /// Chunks follow the signature up to IEND, which ends every PNG; the IDAT chunks' data, inflated, must then hold
    /// every row IHDR's size announces (a filter byte and the packed pixels per row of each interlace pass).
    /// </summary>
    private static string? Png(ReadOnlySpan<byte> file)
    {
        List<PngChunk> chunks = PngChunks.Read(file, out bool whole);
        if (!whole)
        {
            return Truncated("it ends before its IEND chunk");
        }

        var pixelData = new MemoryStream();
        foreach (PngChunk chunk in chunks.Where(c => c.Type == PngChunks.DataChunk))
        {
            pixelData.Write(file.Slice(chunk.DataStart, chunk.DataLength));
        }

        return chunks[0] is { Type: PngChunks.HeaderChunk, DataLength: 13 } header && PngRowBytes(file.Slice(header.DataStart, 13)) is long expected
            ? PixelDataShortfall(pixelData, expected)
            : null; // a header the decoder itself refuses
    }

    /// <summary>How the inflated pixel data falls short of what the header announces, or null when it does not.</summary>
    private static string? PixelDataShortfall(MemoryStream pixelData, long expected)
    {
        pixelData.Position = 0;
        long inflated = 0;
        try
        {
            using var inflater = new ZLibStream(pixelData, CompressionMode.Decompress);
            var scratch = new byte[64 * 1024];
            int read;
            while (inflated < expected && (read = inflater.Read(scratch, 0, scratch.Length)) > 0)
            {
                inflated += read;
            }
        }
        catch (InvalidDataException e)
        {
            return $"is damaged: its pixel data cannot be inflated ({e.Message.TrimEnd('.')})";
        }

        return inflated >= expected ? null : string.Create(CultureInfo.InvariantCulture,
            $"is damaged: its pixel data holds {inflated:N0} of the {expected:N0} bytes its size needs");
    }

    /// <summary>
    /// The bytes of filtered rows an IHDR (width, height, bit depth, colour type, compression, filter, interlace)
    /// announces, or null for values the decoder refuses anyway.
    /// </summary>
    private static long? PngRowBytes(ReadOnlySpan<byte> header)
    {
        long width = BinaryPrimitives.ReadUInt32BigEndian(header);
        long height = BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
        int channels = header[9] switch { 0 or 3 => 1, 2 => 3, 4 => 2, 6 => 4, _ => 0 };
        int bitsPerPixel = header[8] * channels;
        if (channels == 0 || bitsPerPixel == 0 || header[12] > 1)
        {
            return null;
        }

        long Rows(long passWidth, long passHeight) =>
            passWidth == 0 || passHeight == 0 ? 0 : passHeight * (1 + (((passWidth * bitsPerPixel) + 7) / 8));

        if (header[12] == 0)
        {
            return Rows(width, height);
        }

        // Adam7: seven passes, each every n-th pixel from an offset in both directions.
        ReadOnlySpan<int> startX = [0, 4, 0, 2, 0, 1, 0], stepX = [8, 8, 4, 4, 2, 2, 1];
        ReadOnlySpan<int> startY = [0, 0, 4, 0, 2, 0, 1], stepY = [8, 8, 8, 4, 4, 2, 2];
        long total = 0;
        for (int pass = 0; pass < 7; pass++)
        {
            total += Rows((width - startX[pass] + stepX[pass] - 1) / stepX[pass], (height - startY[pass] + stepY[pass] - 1) / stepY[pass]);
        }

        return total;
    }

    /// <summary>
    /// Segments (a marker, then a big-endian length that counts itself) follow SOI up to EOI; each start of scan
    /// (SOS) is followed by entropy-coded data in which 0xFF is always stuffed as FF 00 or is a restart marker, so the
    /// next other marker ends it. Bytes after EOI (a phone's appended video) are allowed, as are stray bytes between
    /// segments, which decoders skip.
    /// </summary>
    private static string? Jpeg(ReadOnlySpan<byte> file)
    {
        const string Missing = "it ends before its end-of-image marker";
        int at = 2;
        while (true)
        {
            int marker = NextMarker(file, ref at);
            if (marker < 0)
            {
                return Missing;
            }

            if (marker == 0xD9)
            {
                return null;
            }

            if (marker is 0x01 or (>= 0xD0 and <= 0xD7))
            {
                continue; // TEM and restart markers carry no length
            }

            if (at + 2 > file.Length)
            {
                return Missing;
            }

            at += BinaryPrimitives.ReadUInt16BigEndian(file[at..]);
            if (marker == 0xDA)
            {
                at = EndOfEntropyCodedData(file, at);
            }
        }
    }

    /// <summary>The marker at or after <paramref name="at"/> (fill bytes and stray bytes skipped), or -1 at the end.</summary>
    private static int NextMarker(ReadOnlySpan<byte> file, ref int at)
    {
        while (at < file.Length)
        {
            int found = file[at..].IndexOf((byte)0xFF);
            if (found < 0)
            {
                break;
            }

            at += found + 1;
            while (at < file.Length && file[at] == 0xFF)
            {
                at++;
            }

            if (at < file.Length && file[at] != 0x00)
            {
                return file[at++];
            }
        }

        at = file.Length;
        return -1;
    }

    /// <summary>Where the entropy-coded data from <paramref name="at"/> ends: at the first marker that is not a restart.</summary>
    private static int EndOfEntropyCodedData(ReadOnlySpan<byte> file, int at)
    {
        while (at < file.Length)
        {
            int found = file[at..].IndexOf((byte)0xFF);
            if (found < 0)
            {
                return file.Length;
            }

            at += found;
            if (at + 1 < file.Length && file[at + 1] is not (0x00 or 0xFF or (>= 0xD0 and <= 0xD7)))
            {
                return at;
            }

            at++;
        }

        return file.Length;
    }

    /// <summary>
    /// After the header and the global colour table, extensions and images are each followed by data sub-blocks (a
    /// size byte, then that many bytes) up to an empty one. Only the first image is decoded, so the file must hold
    /// that one whole; a later frame cut off does not matter.
    /// </summary>
    private static string? Gif(ReadOnlySpan<byte> file)
    {
        const string Missing = "it ends before its first image does";
        if (file.Length < 13)
        {
            return Missing;
        }

        int at = 13 + ColorTableBytes(file[10]);
        while (at < file.Length)
        {
            byte block = file[at];
            if (block == 0x3B)
            {
                return Missing; // the trailer before any image
            }

            bool image = block == 0x2C;
            if (image)
            {
                if (at + 10 > file.Length)
                {
                    return Missing;
                }

                at += 10 + ColorTableBytes(file[at + 9]) + 1; // the descriptor, its colour table, the LZW code size
            }
            else
            {
                at += 2; // the extension introducer and its label
            }

            while (at < file.Length && file[at] != 0)
            {
                at += 1 + file[at];
            }

            if (at >= file.Length)
            {
                return Missing;
            }

            at++;
            if (image)
            {
                return null;
            }
        }

        return Missing;
    }

    /// <summary>The bytes of the colour table a GIF's packed flags byte announces (none when its top bit is clear).</summary>
    private static int ColorTableBytes(byte flags) => (flags & 0x80) == 0 ? 0 : 3 << ((flags & 0x07) + 1);

    /// <summary>A RIFF file (WebP) states its own length after "RIFF", counting everything after that field.</summary>
    private static string? Riff(ReadOnlySpan<byte> file) =>
        file.Length >= 8 && file.Length >= 8L + BinaryPrimitives.ReadUInt32LittleEndian(file[4..]) ? null : "it is shorter than its RIFF header says";

    /// <summary>
    /// An uncompressed BMP's rows (padded to 4 bytes) start at the offset its header gives; compressed ones (RLE,
    /// embedded JPEG or PNG) have no length to check.
    /// </summary>
    private static string? Bmp(ReadOnlySpan<byte> file)
    {
        const string Missing = "it ends before its last row of pixels";
        if (file.Length < 30)
        {
            return Missing;
        }

        uint infoSize = BinaryPrimitives.ReadUInt32LittleEndian(file[14..]);
        if (infoSize < 40)
        {
            return null; // the old OS/2 header: rare, left to the decoder
        }

        if (file.Length < 34)
        {
            return Missing;
        }

        long width = BinaryPrimitives.ReadInt32LittleEndian(file[18..]);
        long height = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(file[22..]));
        int bitsPerPixel = BinaryPrimitives.ReadUInt16LittleEndian(file[28..]);
        uint compression = BinaryPrimitives.ReadUInt32LittleEndian(file[30..]);
        if (compression is not (0 or 3 or 6) || width <= 0)
        {
            return null; // RLE or embedded images: the decoder finds their end
        }

        long rowBytes = ((width * bitsPerPixel) + 31) / 32 * 4;
        long end = BinaryPrimitives.ReadUInt32LittleEndian(file[10..]) + (rowBytes * height);
        return file.Length >= end ? null : Missing;
    }

    /// <summary>
    /// A TGA's pixels follow its 18-byte header, its ID and its colour map: plain (types 1–3) as width × height
    /// pixels, run-length encoded (types 9–11) as packets of a count byte and then one pixel (a run) or that many.
    /// </summary>
    private static string? Tga(ReadOnlySpan<byte> file)
    {
        const string Missing = "it ends before its last pixel";
        if (file.Length < 18)
        {
            return Missing;
        }

        int imageType = file[2];
        long pixels = (long)BinaryPrimitives.ReadUInt16LittleEndian(file[12..]) * BinaryPrimitives.ReadUInt16LittleEndian(file[14..]);
        int pixelBytes = (file[16] + 7) / 8;
        int colorMapBytes = file[1] == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(file[5..]) * ((file[7] + 7) / 8) : 0;
        long at = 18L + file[0] + colorMapBytes;
        if (imageType is 1 or 2 or 3)
        {
            return at + (pixels * pixelBytes) <= file.Length ? null : Missing;
        }

        if (imageType is not (9 or 10 or 11))
        {
            return null; // no image data, or a type the decoder refuses
        }

        while (pixels > 0)
        {
            if (at >= file.Length)
            {
                return Missing;
            }

            int count = (file[(int)at] & 0x7F) + 1;
            at += 1 + (((file[(int)at] & 0x80) != 0 ? 1 : count) * pixelBytes);
            pixels -= count;
        }

        return at <= file.Length ? null : Missing;
    }

    /// <summary>
    /// A binary Netpbm file (P4 bitmap, P5 grey, P6 colour) is a text header (magic, width, height and, but for P4,
    /// the largest value, with # comments) and one whitespace byte, then the rows: one bit per pixel for P4, else one
    /// or two bytes (largest value above 255) per sample. The plain-text variants (P1–P3) are left to the decoder.
    /// </summary>
    private static string? Netpbm(ReadOnlySpan<byte> file)
    {
        const string Missing = "it ends before its last row of pixels";
        if (file.Length < 2 || file[0] != 'P' || file[1] is not ((byte)'4' or (byte)'5' or (byte)'6'))
        {
            return null;
        }

        char kind = (char)file[1];
        int at = 2;
        long[] fields = new long[kind == '4' ? 2 : 3];
        for (int i = 0; i < fields.Length; i++)
        {
            if (NetpbmNumber(file, ref at) is not long value)
            {
                return Missing;
            }

            fields[i] = value;
        }

        at++; // the one whitespace byte before the raster
        long width = fields[0], height = fields[1];
        long rowBytes = kind switch
        {
            '4' => (width + 7) / 8,
            '5' => width * (fields[2] > 255 ? 2 : 1),
            _ => width * 3 * (fields[2] > 255 ? 2 : 1),
        };
        return at + (rowBytes * height) <= file.Length ? null : Missing;
    }

    /// <summary>The next decimal number of a Netpbm header from <paramref name="at"/>, skipping whitespace and # comments; null at the end.</summary>
    private static long? NetpbmNumber(ReadOnlySpan<byte> file, ref int at)
    {
        while (at < file.Length && (file[at] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or (byte)'#'))
        {
            if (file[at] == '#')
            {
                while (at < file.Length && file[at] != '\n')
                {
                    at++;
                }
            }
            else
            {
                at++;
            }
        }

        long value = 0;
        int start = at;
        while (at < file.Length && file[at] is >= (byte)'0' and <= (byte)'9' && value < int.MaxValue)
        {
            value = (value * 10) + (file[at++] - '0');
        }

        return at > start && at < file.Length ? value : null;
    }
}
