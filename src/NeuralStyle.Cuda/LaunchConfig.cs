namespace NeuralStyle.Cuda;

/// <summary>
/// Grid and block dimensions of one kernel launch. Every kernel's geometry is computed here and nowhere else, from
/// the constants its .cu file documents (NS_BLOCK, NS_TILE in kernels/common.cuh).
/// </summary>
public readonly record struct LaunchConfig(uint GridX, uint GridY, uint GridZ, uint BlockX, uint BlockY, uint BlockZ)
{
    /// <summary>Threads per block of the one-dimensional kernels (NS_BLOCK).</summary>
    public const int BlockSize = 256;

    /// <summary>Tile edge of the matrix-product kernels (NS_TILE).</summary>
    public const int Tile = 16;

    /// <summary>Most blocks a reduction uses per item (reduce.cu).</summary>
    public const int MaxReductionBlocks = 1024;

    /// <summary>⌈a / b⌉ for positive b; 0 stays 0.</summary>
    public static uint CeilDiv(long a, long b) => (uint)((a + b - 1) / b);

    /// <summary>One thread per element over <paramref name="count"/> elements, for each of <paramref name="items"/> batch items.</summary>
    public static LaunchConfig For1D(long count, int items = 1) => new(Math.Max(1, CeilDiv(count, BlockSize)), (uint)items, 1, BlockSize, 1, 1);

    /// <summary>gram_forward: T × T tiles per item, T = ⌈C / Tile⌉.</summary>
    public static LaunchConfig Gram(int channels, int items) => new(CeilDiv(channels, Tile), CeilDiv(channels, Tile), (uint)items, Tile, Tile, 1);

    /// <summary>style_grad_backward: ⌈M / Tile⌉ × ⌈C / Tile⌉ tiles per item.</summary>
    public static LaunchConfig StyleGradient(int channels, int positions, int items) =>
        new(Math.Max(1, CeilDiv(positions, Tile)), CeilDiv(channels, Tile), (uint)items, Tile, Tile, 1);

    /// <summary>squared_difference_partials: up to <see cref="MaxReductionBlocks"/> blocks per item.</summary>
    public static LaunchConfig Partials(long count, int items) =>
        new(Math.Clamp(CeilDiv(count, BlockSize), 1, MaxReductionBlocks), (uint)items, 1, BlockSize, 1, 1);

    /// <summary>sum_partials and adam_prepare: one block per item, or enough blocks for one thread per item.</summary>
    public static LaunchConfig PerItem(int items) => new((uint)items, 1, 1, BlockSize, 1, 1);
}
