using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NeuralStyle.Cpu;

/// <summary>
/// Where a ReLU output is positive, one bit per value: all its VJP needs of a map the forward pass does not keep,
/// in a 32nd of the map's memory. Bit <c>col mod 8</c> of byte <c>(plane·H + row)·RowBytes + col/8</c> stands for
/// value (plane, row, col), a plane being one channel of one item. Each row starts on a byte, so eight columns from
/// column 8k on are one byte, which is how the Winograd input transform reads them (<see cref="Lanes"/>).
/// </summary>
internal sealed class ReluBits
{
    private static readonly Vector256<int> LaneBits = Vector256.Create(1, 2, 4, 8, 16, 32, 64, 128);

    private readonly int _width;

    public ReluBits(int batch, int channels, int height, int width)
    {
        _width = width;
        ItemLength = checked(channels * height * RowBytes(width));
        Bits = new byte[checked((long)batch * ItemLength)];
    }

    /// <summary>Bytes per batch item.</summary>
    public int ItemLength { get; }

    public byte[] Bits { get; }

    /// <summary>The bits of batch item <paramref name="n"/>.</summary>
    public Span<byte> Item(int n) => Bits.AsSpan(n * ItemLength, ItemLength);

    /// <summary>Bytes per row of <paramref name="width"/> values.</summary>
    public static int RowBytes(int width) => (width + 7) / 8;

    /// <summary>The eight bits of <paramref name="bits"/> as lanes: all ones where a bit is set, for a bitwise and with eight floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Lanes(byte bits)
    {
        Vector256<int> spread = Vector256.Create((int)bits) & LaneBits;
        return Vector256.Equals(spread, LaneBits).AsSingle();
    }

    /// <summary>
    /// Records where item <paramref name="n"/>'s ReLU output, <paramref name="values"/> ([C, H, W]), is positive. A
    /// pass of its own over the map: done inside the Winograd output transform, row of tiles by row of tiles, it made
    /// that transform twice as slow, while this pass costs about a quarter of it.
    /// </summary>
    public void Pack(int n, ReadOnlySpan<float> values)
    {
        int rows = ItemLength / RowBytes(_width);
        if (values.Length != (long)rows * _width)
        {
            throw new ArgumentException($"ReLU bits of {rows} rows of {_width} got {values.Length} values.", nameof(values));
        }

        const int RowsPerChunk = 64;
        unsafe
        {
            fixed (float* v = values)
            fixed (byte* b = Item(n))
            {
                nint vs = (nint)v, bs = (nint)b;
                int rowBytes = RowBytes(_width), width = _width;
                Parallel.For(0, (rows + RowsPerChunk - 1) / RowsPerChunk, chunk =>
                {
                    int first = chunk * RowsPerChunk;
                    PackRows((float*)vs + ((long)first * width), (byte*)bs + ((long)first * rowBytes), Math.Min(RowsPerChunk, rows - first), width);
                });
            }
        }
    }

    private static unsafe void PackRows(float* values, byte* bits, int rows, int width)
    {
        int rowBytes = RowBytes(width);
        for (int r = 0; r < rows; r++)
        {
            float* row = values + ((long)r * width);
            byte* target = bits + ((long)r * rowBytes);
            int col = 0;
            for (; col + 8 <= width; col += 8)
            {
                target[col / 8] = (byte)Vector256.GreaterThan(Vector256.Load(row + col), Vector256<float>.Zero).ExtractMostSignificantBits();
            }

            if (col < width)
            {
                int last = 0;
                for (int j = 0; col + j < width; j++)
                {
                    last |= (row[col + j] > 0 ? 1 : 0) << j;
                }

                target[col / 8] = (byte)last;
            }
        }
    }
}
