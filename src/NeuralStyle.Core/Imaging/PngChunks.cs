using System.Buffers.Binary;

namespace NeuralStyle.Imaging;

/// <summary>One chunk of a PNG file: its type, and where its data starts and how long it is.</summary>
internal readonly record struct PngChunk(uint Type, int DataStart, int DataLength)
{
    /// <summary>Where the chunk begins, at its length field.</summary>
    public int Start => DataStart - 8;

    /// <summary>Where the next chunk begins, after this one's CRC.</summary>
    public int End => DataStart + DataLength + 4;
}

/// <summary>
/// Walks a PNG's chunks (length, type, data, CRC after the 8-byte signature) and drops its text chunks. Text never
/// touches the pixels, but ImageSharp 2 inflates every zTXt and compressed iTXt chunk into a string: a 1 MB file
/// whose text inflates to 1 GB took 53 s and 6.9 GB to load. Without them it loads as any small PNG.
/// </summary>
internal static class PngChunks
{
    public const uint HeaderChunk = 0x49484452, DataChunk = 0x49444154, EndChunk = 0x49454E44; // IHDR, IDAT, IEND
    private const uint Text = 0x74455874, CompressedText = 0x7A545874, InternationalText = 0x69545874; // tEXt, zTXt, iTXt

    /// <summary>
    /// The chunks of <paramref name="png"/> up to and with IEND; <paramref name="whole"/> is false when the bytes end
    /// first (the last chunk listed is then the last whole one).
    /// </summary>
    public static List<PngChunk> Read(ReadOnlySpan<byte> png, out bool whole)
    {
        var chunks = new List<PngChunk>();
        long at = 8;
        while (at + 12 <= png.Length)
        {
            long length = BinaryPrimitives.ReadUInt32BigEndian(png[(int)at..]);
            if (at + 12 + length > png.Length)
            {
                break;
            }

            var chunk = new PngChunk(BinaryPrimitives.ReadUInt32BigEndian(png[((int)at + 4)..]), (int)at + 8, (int)length);
            chunks.Add(chunk);
            if (chunk.Type == EndChunk)
            {
                whole = true;
                return chunks;
            }

            at = chunk.End;
        }

        whole = false;
        return chunks;
    }

    /// <summary>
    /// Drops the tEXt, zTXt and iTXt chunks of <paramref name="png"/> in place, moving the chunks after each one down,
    /// and returns the length that remains (its own when it has none).
    /// </summary>
    public static int DropText(Span<byte> png)
    {
        List<PngChunk> chunks = Read(png, out _);
        if (!chunks.Exists(IsText))
        {
            return png.Length;
        }

        int at = 8;
        foreach (PngChunk chunk in chunks.Where(c => !IsText(c)))
        {
            png[chunk.Start..chunk.End].CopyTo(png[at..]); // moves down, never past a chunk not yet moved
            at += chunk.End - chunk.Start;
        }

        return at;
    }

    private static bool IsText(PngChunk chunk) => chunk.Type is Text or CompressedText or InternationalText;
}
