using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NeuralStyle.Cpu;

/// <summary>
/// Where a ReLU output is positive, one bit per value: all its VJP needs of a map the forward pass does not keep,
/// in a 32nd of the map's memory. Bit <c>col mod 8</c> of byte <c>(plane·H + row)·RowBytes + col/8</c> stands for
/// value (plane, row, col), a plane being one channel of one item. Each row starts on a byte, so eight columns from
/// column 8k on are one byte: the Winograd output transform writes them 32 columns at a time (<see cref="Store"/>),
/// and its input transform reads them eight at a time (<see cref="Lanes"/>).
/// </summary>
internal sealed class ReluBits
{
    private static readonly Vector256<int> LaneBits = Vector256.Create(1, 2, 4, 8, 16, 32, 64, 128);

    public ReluBits(int batch, int channels, int height, int width)
    {
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
    /// Stores the signs of <paramref name="columns"/> (at most 32) values of one row from column
    /// <paramref name="firstColumn"/> (a multiple of 8) on: bit i of <paramref name="positive"/> for column
    /// firstColumn + i. <paramref name="row"/> is the row's first byte.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Store(byte* row, int firstColumn, uint positive, int columns)
    {
        if (columns < 32)
        {
            positive &= (1u << columns) - 1; // what lies past the row's end is no value
        }

        byte* target = row + (firstColumn / 8);
        for (int j = 0; j * 8 < columns; j++)
        {
            target[j] = (byte)(positive >> (8 * j));
        }
    }
}
