namespace NeuralStyle.Cuda;

/// <summary>
/// Grid and block dimensions of one kernel launch. Every kernel's geometry is computed here and nowhere else, from
/// the constants its .cu file documents (NS_BLOCK, NS_TILE, NS_WIDE_TILE in kernels/common.cuh).
/// </summary>
public readonly record struct LaunchConfig(uint GridX, uint GridY, uint GridZ, uint BlockX, uint BlockY, uint BlockZ)
{
    /// <summary>Threads per block of the one-dimensional kernels (NS_BLOCK).</summary>
    public const int BlockSize = 256;

    /// <summary>Block edge of the matrix-product kernels, and the inner-index steps they sum at a time (NS_TILE).</summary>
    public const int Tile = 16;

    /// <summary>Edge of the output tile one block of a matrix-product kernel computes (NS_WIDE_TILE).</summary>
    public const int WideTile = 64;

    /// <summary>Most blocks a reduction uses per item (reduce.cu).</summary>
    public const int MaxReductionBlocks = 1024;

    /// <summary>⌈a / b⌉ for positive b; 0 stays 0.</summary>
    public static uint CeilDiv(long a, long b) => (uint)((a + b - 1) / b);

    /// <summary>One thread per element over <paramref name="count"/> elements, for each of <paramref name="items"/> batch items.</summary>
    public static LaunchConfig For1D(long count, int items = 1) => new(Math.Max(1, CeilDiv(count, BlockSize)), (uint)items, 1, BlockSize, 1, 1);

    /// <summary>
    /// Blocks a Gram launch aims for: several per multiprocessor on the largest GPUs (an H200 has 132), so that a thin
    /// layer (64 channels: one tile) still fills the device.
    /// </summary>
    public const int GramTargetBlocks = 1024;

    /// <summary>Fewest positions a Gram slice covers: a slice's partial Gram is written and read again, worth it only over many positions.</summary>
    public const int GramMinSlicePositions = 256;

    /// <summary>
    /// gram.cu's launches: T × T tiles per item and slice (T = ⌈C / WideTile⌉), the positions cut into as many slices as
    /// bring the grid near <see cref="GramTargetBlocks"/>, no slice under <see cref="GramMinSlicePositions"/>, and no
    /// more partial Grams than <paramref name="workspaceFloats"/> hold (none: one slice, written straight to G).
    /// </summary>
    public static GramLaunch Gram(int channels, int positions, int items, long workspaceFloats)
    {
        uint tiles = CeilDiv(channels, WideTile);
        long tilesAtWork = (long)tiles * (tiles + 1) / 2 * items;
        long wanted = Math.Min(CeilDiv(GramTargetBlocks, Math.Max(1, tilesAtWork)), CeilDiv(positions, GramMinSlicePositions));
        long slices = Math.Max(1, Math.Min(wanted, workspaceFloats / Math.Max(1, (long)items * channels * channels)));
        int slicePositions = Math.Max(Tile, (int)(CeilDiv(CeilDiv(positions, slices), Tile) * Tile));
        int count = Math.Max(1, (int)CeilDiv(positions, slicePositions)); // rounding the length up may leave fewer
        return new(count, slicePositions, new(tiles, tiles, (uint)(items * count), Tile, Tile, 1), For1D((long)channels * channels, items));
    }

    /// <summary>style_grad_backward: ⌈M / WideTile⌉ × ⌈C / WideTile⌉ tiles per item.</summary>
    public static LaunchConfig StyleGradient(int channels, int positions, int items) =>
        new(Math.Max(1, CeilDiv(positions, WideTile)), CeilDiv(channels, WideTile), (uint)items, Tile, Tile, 1);

    /// <summary>squared_difference_partials: up to <see cref="MaxReductionBlocks"/> blocks per item.</summary>
    public static LaunchConfig Partials(long count, int items) =>
        new(Math.Clamp(CeilDiv(count, BlockSize), 1, MaxReductionBlocks), (uint)items, 1, BlockSize, 1, 1);

    /// <summary>sum_partials and adam_prepare: one block per item, or enough blocks for one thread per item.</summary>
    public static LaunchConfig PerItem(int items) => new((uint)items, 1, 1, BlockSize, 1, 1);
}

/// <summary>How gram.cu computes one batch of Grams: <paramref name="Slices"/> of <paramref name="SlicePositions"/> positions (the last may be shorter), gram_forward's launch and, with more than one slice, gram_sum_slices'.</summary>
public readonly record struct GramLaunch(int Slices, int SlicePositions, LaunchConfig Partial, LaunchConfig Sum)
{
    /// <summary>Floats of the workspace gram_forward writes: a C×C partial Gram per slice and item; none with one slice.</summary>
    public long WorkspaceFloats(int channels, int items) => Slices == 1 ? 0 : (long)Slices * items * channels * channels;
}
