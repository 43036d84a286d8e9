using Microsoft.ML.OnnxRuntime;

namespace NeuralStyle.Cpu;

/// <summary>
/// One Winograd layer's convolution of one item, band by band: the map's tile rows cut into the fewest bands whose V
/// and M fit in a bound, the rows spread evenly over them (so bands differ by one row at most), and the products of
/// a band, U·V into M, as one run of ONNX Runtime's MatMul, bound once for each of the two band heights. V and M of a
/// whole 1024 px map take 600 MB each at 64 channels; a band's take 16 MB at most.
/// </summary>
/// <remarks>
/// Why evenly: a short band would be a narrow product, and ONNX Runtime's MatMul rounds products of up to 64 columns
/// differently from wider ones. Measured at 512 px: conv4_1's 16 tile rows in bands of 14 and 2 changed relu4_1 in
/// its last bits; in bands of 8 and 8 every map comes out bit for bit as from one band per map.
/// </remarks>
internal sealed class WinogradBands : IDisposable
{
    /// <summary>
    /// Floats of V (or M) a band may take unless one tile row needs more: 4 Mi floats, 16 MB, seven tile rows of
    /// conv1_2 at 1024 px. Even at 512 channels that leaves a band over a hundred tile columns wide (conv4_1 at 1024 px:
    /// 192), where 1 Mi floats would leave it 32, a narrow product (see the remarks). Speed does not decide between
    /// them: over two sets of 5 alternated rounds of <c>bench iteration --size 1024</c>, the median iteration took
    /// 4212 and 5247 ms in these bands, 4672 and 4542 ms in bands of 1 Mi floats, 4742 and 5312 ms in one band per map.
    /// </summary>
    public const long DefaultScratchFloats = 1L << 22;

    private readonly CpuStages _stages;
    private readonly TileRows[] _rows;
    private readonly int _tallRows; // the taller bands' rows; the others have one fewer
    private readonly OrtIoBinding _tall;
    private readonly OrtIoBinding? _short; // when some bands are shorter

    /// <summary>
    /// Binds <paramref name="kernels"/> [36, out, in] times V [1, 36, in, tiles] into M [1, 36, out, tiles] for the
    /// bands of an <paramref name="height"/> × <paramref name="width"/> map, each within <paramref name="scratchFloats"/>.
    /// <paramref name="viewOfV"/> and <paramref name="viewOfM"/> give views of the scratch, which holds at least
    /// <see cref="ScratchFloats"/> values each.
    /// </summary>
    public WinogradBands(CpuStages stages, OrtValue kernels, int inChannels, int outChannels, int height, int width, long scratchFloats,
        Func<long[], OrtValue> viewOfV, Func<long[], OrtValue> viewOfM)
    {
        _stages = stages;
        int tw = Winograd.Tiles(height, width).Columns;
        _rows = Plan(Math.Max(inChannels, outChannels), height, width, scratchFloats);
        _tallRows = _rows[0].Count;
        OrtIoBinding Bind(int rows) => stages.BindProducts(kernels,
            viewOfV([1, Winograd.Positions, inChannels, (long)rows * tw]), viewOfM([1, Winograd.Positions, outChannels, (long)rows * tw]));
        _tall = Bind(_tallRows);
        try
        {
            _short = _rows[^1].Count == _tallRows ? null : Bind(_tallRows - 1);
        }
        catch
        {
            _tall.Dispose();
            throw;
        }
    }

    /// <summary>The bands, top to bottom (a span: the passes walk it every iteration without allocating).</summary>
    public ReadOnlySpan<TileRows> Rows => _rows;

    /// <summary>
    /// The bands of a layer with <paramref name="channels"/> channels on its wider side over an
    /// <paramref name="height"/> × <paramref name="width"/> map: the fewest whose V fits in
    /// <paramref name="scratchFloats"/> (one per tile row when not even one row fits), top to bottom, the taller first
    /// and the others one row shorter.
    /// </summary>
    public static TileRows[] Plan(int channels, int height, int width, long scratchFloats)
    {
        var (th, tw) = Winograd.Tiles(height, width);
        long perRow = (long)Winograd.Positions * channels * tw;
        int most = (int)Math.Clamp(scratchFloats / perRow, 1, th), bands = (th + most - 1) / most;
        int tallRows = (th + bands - 1) / bands, tall = th % bands; // tall == 0: all bands are as tall
        var plan = new TileRows[bands];
        for (int b = 0, first = 0; b < bands; first += plan[b].Count, b++)
        {
            plan[b] = new TileRows(first, tall == 0 || b < tall ? tallRows : tallRows - 1);
        }

        return plan;
    }

    /// <summary>Floats of V (or M) that the taller bands take: what the scratch needs for this layer.</summary>
    public static long ScratchFloats(int channels, int height, int width, long scratchFloats) =>
        (long)Winograd.Positions * channels * Plan(channels, height, width, scratchFloats)[0].Count * Winograd.Tiles(height, width).Columns;

    /// <summary>M = U·V for <paramref name="band"/>, whose V the scratch holds.</summary>
    public void Multiply(RunOptions options, TileRows band) => _stages.Products.RunWithBinding(options, band.Count == _tallRows ? _tall : _short!);

    public void Dispose()
    {
        _tall.Dispose();
        _short?.Dispose();
    }
}
