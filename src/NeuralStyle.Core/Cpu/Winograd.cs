using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuralStyle.Cpu;

/// <summary>
/// The transforms of Winograd F(4×4, 3×3) for a 3×3, pad-1, stride-1 convolution (Lavin and Gray, "Fast Algorithms
/// for Convolutional Neural Networks", 2016): per 4×4 output tile, Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A with d the 6×6 input
/// tile at stride 4 of the zero-padded input, interpolation points 0, ±1, ±2 and ∞. Summed over input channels, the
/// 36 element-wise products become 36 matrix products M[q] = U[q]·V[q] ([K, C]·[C, tiles]), done by ONNX Runtime's
/// MatMul: 4× fewer multiplications than the direct convolution (F(2×2, 3×3) saves 2.25×), and 2.25 transformed
/// values per output pixel to write and read instead of 4. The price is rounding: the transforms scale by up to 8
/// and 1/24, so it rounds worse than F(2×2, 3×3); the tests hold it to the same float64 tolerances.
/// </summary>
/// <remarks>
/// Layouts: x [N, C, H, W]; Th = ⌈H/4⌉, Tw = ⌈W/4⌉, T = Th·Tw tiles per item, t = ty·Tw + tx;
/// V [N, 36, C, T], U [36, K, C], M [N, 36, K, T], with q = 6·i + j the position in the 6×6 transformed tile;
/// y [N, K, H, W]. Each item has its own products, so an item's result does not depend on the batch around it.
/// The transforms can work on a band of whole tile rows (<see cref="TileRows"/>): V and M then hold only the band's
/// tiles (T = its rows · Tw), while x and y stay whole maps. A tile's values do not depend on the band it is in.
/// Odd sizes: the last tile row/column reads zeros past the edge and its extra outputs are not written.
/// Channels (planes) run in parallel; eight neighbouring tiles share each vector.
/// </remarks>
internal static class Winograd
{
    /// <summary>Output pixels per tile side.</summary>
    public const int TileSize = 4;

    /// <summary>Transformed values per tile (the 6×6 input tile): the leading dimension of U, V and M.</summary>
    public const int Positions = InputSpan * InputSpan;

    private const int InputSpan = TileSize + 2;
    private const int Lanes = 8;

    /// <summary>The fewest tiles the input transform writes to one q plane of V at a time (see <see cref="InputPlanes"/>).</summary>
    private const int RunTiles = 64;

    /// <summary>G, the kernel transform's 6×3 matrix, row by row.</summary>
    private static readonly double[] GRows =
    [
        1 / 4.0, 0, 0,
        -1 / 6.0, -1 / 6.0, -1 / 6.0,
        -1 / 6.0, 1 / 6.0, -1 / 6.0,
        1 / 24.0, 1 / 12.0, 1 / 6.0,
        1 / 24.0, -1 / 12.0, 1 / 6.0,
        0, 0, 1,
    ];

    /// <summary>U[6i+j, k, c] = (G g_kc Gᵀ)[i, j] for a kernel [K, C, 3, 3], computed in double, written into <paramref name="u"/> (36·K·C floats).</summary>
    public static unsafe void KernelTransform(ReadOnlySpan<float> kernel, int outChannels, int inChannels, Span<float> u)
    {
        if (kernel.Length != outChannels * inChannels * 9 || u.Length != Positions * outChannels * inChannels)
        {
            throw new ArgumentException($"Winograd kernel transform of [{outChannels}, {inChannels}, 3, 3]: got {kernel.Length} weights and room for {u.Length} of {Positions * outChannels * inChannels}.");
        }

        // Each output channel's kernels on their own thread: the setup transforms every layer's weights twice (forward
        // and backward), 20 M weights in all. The spans are used in place: copies would add to the peak until a GC.
        fixed (float* weights = kernel, transformed = u)
        {
            nint from = (nint)weights, to = (nint)transformed;
            Parallel.For(0, outChannels, k => TransformKernels((float*)from, (float*)to, k, outChannels, inChannels));
        }
    }

    /// <summary>
    /// U for output channel <paramref name="k"/>'s kernels: G·g first (6×3), then (G·g)·Gᵀ, in double, four input
    /// channels at a time, one per lane (each lane's operations are the scalar ones, so the values are the same).
    /// </summary>
    private static unsafe void TransformKernels(float* kernel, float* u, int k, int outChannels, int inChannels)
    {
        const int Width = 4;
        Span<Vector256<double>> gRows = stackalloc Vector256<double>[InputSpan * 3];
        for (int e = 0; e < gRows.Length; e++)
        {
            gRows[e] = Vector256.Create(GRows[e]);
        }

        Span<Vector256<double>> g = stackalloc Vector256<double>[9];
        Span<Vector256<double>> gg = stackalloc Vector256<double>[InputSpan * 3];
        Span<double> lanes = stackalloc double[Width];
        for (int c0 = 0; c0 < inChannels; c0 += Width)
        {
            int count = Math.Min(Width, inChannels - c0); // the last group's missing lanes compute zeros, never stored
            for (int t = 0; t < 9; t++)
            {
                lanes.Clear();
                for (int l = 0; l < count; l++)
                {
                    lanes[l] = kernel[(((k * inChannels) + c0 + l) * 9) + t];
                }

                g[t] = Vector256.Create<double>(lanes);
            }

            for (int i = 0; i < InputSpan; i++)
            {
                for (int b = 0; b < 3; b++)
                {
                    gg[(i * 3) + b] = (gRows[i * 3] * g[b]) + (gRows[(i * 3) + 1] * g[3 + b]) + (gRows[(i * 3) + 2] * g[6 + b]);
                }
            }

            for (int i = 0; i < InputSpan; i++)
            {
                for (int j = 0; j < InputSpan; j++)
                {
                    Vector256<double> sum = (gg[i * 3] * gRows[j * 3]) + (gg[(i * 3) + 1] * gRows[(j * 3) + 1]) + (gg[(i * 3) + 2] * gRows[(j * 3) + 2]);
                    float* row = u + (((((InputSpan * i) + j) * (long)outChannels) + k) * inChannels) + c0;
                    for (int l = 0; l < count; l++)
                    {
                        row[l] = (float)sum.GetElement(l);
                    }
                }
            }
        }
    }

    /// <summary>Tiles per row and column for an H × W map.</summary>
    public static (int Rows, int Columns) Tiles(int height, int width) => ((height + TileSize - 1) / TileSize, (width + TileSize - 1) / TileSize);

    /// <summary>The tile rows a transform covers: all of them when <paramref name="rows"/> is null, else that band, checked against the map's.</summary>
    private static TileRows Band(TileRows? rows, int height, int width, string transform)
    {
        int tileRows = Tiles(height, width).Rows;
        TileRows band = rows ?? new TileRows(0, tileRows);
        if (band.First < 0 || band.Count < 1 || band.First + band.Count > tileRows)
        {
            throw new ArgumentException($"Winograd {transform} of a map of {height} rows ({tileRows} tile rows): no tile rows {band.First} to {band.First + band.Count - 1}.");
        }

        return band;
    }

    /// <summary>
    /// V = Bᵀ d B for every tile of x [N, C, H, W]. With <paramref name="mask"/> (the layer's ReLU output, same shape)
    /// the input is first taken as (x + <paramref name="seed"/>)·[mask &gt; 0], which is how the backward pass feeds a
    /// ReLU's VJP into the convolution's; <paramref name="seed"/> may be empty. <paramref name="maskBits"/> is the same
    /// mask as <see cref="ReluBits"/> hold it, for a ReLU output that was not kept; give one mask or neither. With
    /// <paramref name="rows"/>, only that band's tiles go to V.
    /// </summary>
    public static void InputTransform(ReadOnlySpan<float> x, ReadOnlySpan<float> seed, ReadOnlySpan<float> mask, int batch, int channels, int height, int width, Span<float> v,
        ReadOnlySpan<byte> maskBits = default, TileRows? rows = null)
    {
        TileRows band = Band(rows, height, width, "input transform");
        long tiles = (long)batch * band.Count * Tiles(height, width).Columns;
        long bitBytes = (long)batch * channels * height * ReluBits.RowBytes(width);
        if (x.Length != batch * channels * height * width || v.Length < Positions * channels * tiles
            || (mask.Length != 0 && mask.Length != x.Length) || (seed.Length != 0 && seed.Length != x.Length)
            || (maskBits.Length != 0 && (maskBits.Length != bitBytes || mask.Length != 0)))
        {
            throw new ArgumentException($"Winograd input transform of [{batch}, {channels}, {height}, {width}]: got {x.Length} inputs, {seed.Length} seeds, {mask.Length} mask values, {maskBits.Length} mask bytes (one mask, {bitBytes} bytes as bits) and room for {v.Length} of {Positions * channels * tiles}.");
        }

        unsafe
        {
            fixed (float* xp = x, sp = seed, mp = mask, vp = v)
            fixed (byte* bp = maskBits)
            {
                nint xs = (nint)xp, ss = (nint)sp, ms = (nint)mp, vs = (nint)vp, bs = (nint)bp;
                bool masked = mask.Length != 0, seeded = seed.Length != 0, bitMasked = maskBits.Length != 0;
                Parallel.For(0, channels, c => InputPlanes((float*)xs, seeded ? (float*)ss : null, new Mask(masked ? (float*)ms : null, bitMasked ? (byte*)bs : null),
                    batch, channels, c, height, width, band, (float*)vs));
            }
        }
    }

    /// <summary>
    /// y = Aᵀ m A for every tile, written to y [N, K, H, W]; with <paramref name="bias"/> (length K, or empty) added
    /// and, when <paramref name="relu"/>, max(·, 0) applied — the forward layer's bias and ReLU, fused. With
    /// <paramref name="positiveBits"/> it also records where y is positive, as <see cref="ReluBits"/> hold it, from the
    /// vectors it stores. (Reading the rows back after storing them made the transform twice as slow.) With
    /// <paramref name="rows"/>, M holds only that band's tiles, and only its rows of y (and of the bits) are written.
    /// </summary>
    public static void OutputTransform(ReadOnlySpan<float> m, ReadOnlySpan<float> bias, bool relu, int batch, int channels, int height, int width, Span<float> y,
        Span<byte> positiveBits = default, TileRows? rows = null)
    {
        TileRows band = Band(rows, height, width, "output transform");
        long tiles = (long)batch * band.Count * Tiles(height, width).Columns;
        long bitBytes = (long)batch * channels * height * ReluBits.RowBytes(width);
        if (y.Length != batch * channels * height * width || m.Length < Positions * channels * tiles || (bias.Length != 0 && bias.Length != channels)
            || (positiveBits.Length != 0 && positiveBits.Length != bitBytes))
        {
            throw new ArgumentException($"Winograd output transform to [{batch}, {channels}, {height}, {width}]: got room for {y.Length}, {m.Length} products of {Positions * channels * tiles}, {bias.Length} biases and {positiveBits.Length} bytes for bits of {bitBytes}.");
        }

        unsafe
        {
            fixed (float* mp = m, bp = bias, yp = y)
            fixed (byte* pp = positiveBits)
            {
                nint ms = (nint)mp, bs = (nint)bp, ys = (nint)yp, ps = positiveBits.Length == 0 ? 0 : (nint)pp;
                bool hasBias = bias.Length != 0;
                Parallel.For(0, channels, k => OutputPlanes((float*)ms, hasBias ? ((float*)bs)[k] : 0f, relu, batch, channels, k, height, width, band, (float*)ys, (byte*)ps));
            }
        }
    }

    /// <summary>Bᵀ·x for six values per lane: the rows (4, 0, −5, 0, 1, 0), (0, −4, −4, 1, 1, 0), (0, 4, −4, −1, 1, 0), (0, −2, −1, 2, 1, 0), (0, 2, −1, −2, 1, 0), (0, 4, 0, −5, 0, 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void InputRows(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3, Vector256<float> x4, Vector256<float> x5, float* o, long stride)
    {
        Vector256<float> four = Vector256.Create(4f), two = Vector256.Create(2f), five = Vector256.Create(5f);
        Vector256<float> x4MinusX2 = x4 - x2, x3MinusX1 = x3 - x1;
        Vector256.Store((four * x0) - (five * x2) + x4, o);
        Vector256.Store(x3 + x4 - (four * (x1 + x2)), o + stride);
        Vector256.Store(x4 - x3 + (four * (x1 - x2)), o + (2 * stride));
        Vector256.Store(x4MinusX2 + (two * x3MinusX1), o + (3 * stride));
        Vector256.Store(x4MinusX2 - (two * x3MinusX1), o + (4 * stride));
        Vector256.Store((four * x1) - (five * x3) + x5, o + (5 * stride));
    }

    /// <summary>Aᵀ·x for six values per lane: the rows (1, 1, 1, 1, 1, 0), (0, 1, −1, 2, −2, 0), (0, 1, 1, 4, 4, 0), (0, 1, −1, 8, −8, 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) OutputRows(
        Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3, Vector256<float> x4, Vector256<float> x5)
    {
        Vector256<float> sum12 = x1 + x2, diff12 = x1 - x2, sum34 = x3 + x4, diff34 = x3 - x4;
        return (x0 + sum12 + sum34, diff12 + (Vector256.Create(2f) * diff34), sum12 + (Vector256.Create(4f) * sum34), diff12 + (Vector256.Create(8f) * diff34) + x5);
    }

    /// <summary>
    /// Columns 0 to 5 of eight neighbouring tiles whose columns start <see cref="TileSize"/> floats apart at
    /// <paramref name="p"/>: column j is (p[j], p[j + 4], …, p[j + 28]). Reads p[0] to p[35].
    /// </summary>
    /// <remarks>
    /// With AVX, by shuffles: vector k (k = 0…4) holds tile k's four floats in its low half and tile k + 4's in its
    /// high half, and a 4×4 transpose within each half of vectors 0–3 gives columns 0–3, of vectors 1–4 columns 4 and
    /// 5 (column 4 of a tile is column 0 of the next). Six AVX2 gathers did the same and cost more: with V's stores
    /// mended, they took about a third of the input transform.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) TileColumns(float* p)
    {
        if (!Avx.IsSupported)
        {
            return (Column(p), Column(p + 1), Column(p + 2), Column(p + 3), Column(p + 4), Column(p + 5));
        }

        Vector256<float> r0 = Halves(p), r1 = Halves(p + 4), r2 = Halves(p + 8), r3 = Halves(p + 12), r4 = Halves(p + 16);
        Vector256<double> t0 = Avx.UnpackLow(r0, r1).AsDouble(), t1 = Avx.UnpackHigh(r0, r1).AsDouble();
        Vector256<double> t2 = Avx.UnpackLow(r2, r3).AsDouble(), t3 = Avx.UnpackHigh(r2, r3).AsDouble();
        Vector256<double> s0 = Avx.UnpackLow(r1, r2).AsDouble(), s2 = Avx.UnpackLow(r3, r4).AsDouble();
        return (Avx.UnpackLow(t0, t2).AsSingle(), Avx.UnpackHigh(t0, t2).AsSingle(), Avx.UnpackLow(t1, t3).AsSingle(), Avx.UnpackHigh(t1, t3).AsSingle(),
            Avx.UnpackLow(s0, s2).AsSingle(), Avx.UnpackHigh(s0, s2).AsSingle());

        static Vector256<float> Halves(float* q) => Vector256.Create(Vector128.Load(q), Vector128.Load(q + 16));

        static Vector256<float> Column(float* q) => Vector256.Create(q[0], q[4], q[8], q[12], q[16], q[20], q[24], q[28]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void InputPlanes(float* x, float* seed, Mask mask, int batch, int channels, int c, int height, int width, TileRows band, float* v)
    {
        int tw = Tiles(height, width).Columns;
        int groups = (tw + Lanes - 1) / Lanes;
        // Wide enough for the last group's eight tiles (read, never stored past tw) and a whole number of vectors; the
        // band's input rows, from the one above its first tile row (zeros above the map) to the one below its last.
        int pw = ((TileSize * groups * Lanes) + 2 + Lanes - 1) / Lanes * Lanes, ph = (TileSize * band.Count) + 2;
        // V is written through a scratch that holds a few tile rows, [36, chunk], so that each q plane receives one
        // contiguous run of at least RunTiles tiles per chunk. Storing straight into V's 36 planes, 32 bytes at a time,
        // was up to 2.5 times slower: where the planes lie a power of two apart (64 channels of 128×128) they share
        // cache sets, and lines were evicted between their halves. The last vector of a tile row spills into the next
        // row's slots, which that row then overwrites; the chunk's last row spills into its Lanes spare floats.
        int chunkRows = Math.Min(band.Count, (RunTiles + tw - 1) / tw), chunk = (chunkRows * tw) + Lanes;
        float[] buffer = System.Buffers.ArrayPool<float>.Shared.Rent(((ph + InputSpan) * pw) + (Positions * chunk));
        long perItem = (long)band.Count * tw, stride = channels * perItem; // from one q plane of V to the next
        try
        {
            fixed (float* pad = buffer)
            {
                float* rows = pad + ((long)ph * pw); // Bᵀ d for one row of tiles: six rows of pw
                float* transformed = rows + ((long)InputSpan * pw);
                for (int n = 0; n < batch; n++)
                {
                    PadPlane(x, seed, mask, ((long)n * channels) + c, height, width, (TileSize * band.First) - 1, pad, ph, pw);
                    for (int first = 0; first < band.Count; first += chunkRows) // tile rows counted from the band's first
                    {
                        int count = Math.Min(chunkRows, band.Count - first);
                        for (int ty = first; ty < first + count; ty++)
                        {
                            // Down the columns first, whole rows at a time: Bᵀ d over rows 4·ty … 4·ty + 5.
                            float* r = pad + ((long)TileSize * ty * pw);
                            for (int col = 0; col < pw; col += Lanes)
                            {
                                float* p = r + col;
                                InputRows(Vector256.Load(p), Vector256.Load(p + pw), Vector256.Load(p + (2 * pw)), Vector256.Load(p + (3 * pw)),
                                    Vector256.Load(p + (4 * pw)), Vector256.Load(p + (5 * pw)), rows + col, pw);
                            }

                            // Then along each row, eight tiles per vector, into the scratch.
                            float* target = transformed + ((ty - first) * tw);
                            for (int tx = 0; tx < tw; tx += Lanes)
                            {
                                for (int i = 0; i < InputSpan; i++)
                                {
                                    var (c0, c1, c2, c3, c4, c5) = TileColumns(rows + ((long)i * pw) + (TileSize * tx));
                                    InputRows(c0, c1, c2, c3, c4, c5, target + (InputSpan * i * chunk) + tx, chunk);
                                }
                            }
                        }

                        // Then the chunk's tiles of each q, consecutive in V[n, q, c, ·], in one run.
                        float* output = v + ((((long)n * Positions * channels) + c) * perItem) + ((long)first * tw);
                        int run = count * tw;
                        for (int q = 0; q < Positions; q++)
                        {
                            Copy(transformed + (q * chunk), output + (q * stride), run);
                        }
                    }
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <summary><paramref name="count"/> floats, inline: with a Span copy per run, the input transform of 256 channels of 64×64 (runs of 64 floats) was a fifth slower.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Copy(float* from, float* to, int count)
    {
        int i = 0;
        for (; i + Lanes <= count; i += Lanes)
        {
            Vector256.Store(Vector256.Load(from + i), to + i);
        }

        for (; i < count; i++)
        {
            to[i] = from[i];
        }
    }

    /// <summary>
    /// Rows <paramref name="firstRow"/> … of one plane into <paramref name="ph"/> rows with a zero border (one column
    /// before, the rest after; zero rows outside the plane), as (x + seed)·[mask &gt; 0] when masked.
    /// </summary>
    private static unsafe void PadPlane(float* x, float* seed, Mask mask, long plane, int height, int width, int firstRow, float* pad, int ph, int pw)
    {
        new Span<float>(pad, ph * pw).Clear();
        int rowBytes = ReluBits.RowBytes(width);
        for (int r = Math.Max(0, firstRow); r < Math.Min(height, firstRow + ph); r++)
        {
            long rowIndex = (plane * height) + r, at = rowIndex * width;
            float* target = pad + ((r - firstRow) * pw) + 1;
            if (mask.Values is null && mask.Bits is null)
            {
                new ReadOnlySpan<float>(x + at, width).CopyTo(new Span<float>(target, width));
                continue;
            }

            byte* bits = mask.Bits is null ? null : mask.Bits + (rowIndex * rowBytes);
            int col = 0;
            for (; col + Lanes <= width; col += Lanes)
            {
                Vector256<float> value = Vector256.Load(x + at + col);
                if (seed is not null)
                {
                    value += Vector256.Load(seed + at + col);
                }

                Vector256<float> on = bits is null ? Vector256.GreaterThan(Vector256.Load(mask.Values + at + col), Vector256<float>.Zero) : ReluBits.Lanes(bits[col / 8]);
                Vector256.Store(value & on, target + col);
            }

            for (; col < width; col++)
            {
                float value = seed is null ? x[at + col] : x[at + col] + seed[at + col];
                bool on = bits is null ? mask.Values[at + col] > 0 : ((bits[col / 8] >> (col % 8)) & 1) != 0;
                target[col] = on ? value : 0f;
            }
        }
    }

    /// <summary>The ReLU mask of the backward input transform: its output as floats, or as <see cref="ReluBits"/>, or none (both null).</summary>
    private readonly unsafe struct Mask(float* values, byte* bits)
    {
        public float* Values { get; } = values;

        public byte* Bits { get; } = bits;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void OutputPlanes(float* m, float bias, bool relu, int batch, int channels, int k, int height, int width, TileRows band, float* y, byte* bits)
    {
        int tw = Tiles(height, width).Columns;
        int rowBytes = ReluBits.RowBytes(width);
        long perItem = (long)band.Count * tw, stride = channels * perItem;
        float* gathered = stackalloc float[Positions * Lanes]; // the last group's products when it has fewer than eight tiles
        float* spill = stackalloc float[TileSize * Lanes];      // output rows that end past the image's right edge
        var b = Vector256.Create(bias);
        for (int n = 0; n < batch; n++)
        {
            float* plane = y + (((long)n * channels + k) * height * width);
            for (int ty = band.First; ty < band.First + band.Count; ty++)
            {
                float* products = m + ((((long)n * Positions * channels) + k) * perItem) + ((long)(ty - band.First) * tw);
                int rowsHere = Math.Min(TileSize, height - (TileSize * ty));
                for (int tx = 0; tx < tw; tx += Lanes)
                {
                    float* s = products + tx;
                    long step = stride;
                    if (tx + Lanes > tw)
                    {
                        // Never read past this row of tiles: the array may end right after it.
                        for (int q = 0; q < Positions; q++)
                        {
                            new ReadOnlySpan<float>(s + (q * stride), tw - tx).CopyTo(new Span<float>(gathered + (q * Lanes), Lanes));
                        }

                        s = gathered;
                        step = Lanes;
                    }

                    Vector256<float> Q(int i, int j) => Vector256.Load(s + (((InputSpan * i) + j) * step));

                    // Aᵀ down each of the six columns, then Aᵀ along each of the four rows that gives.
                    var (a0, a1, a2, a3, a4, a5) = (OutputRows(Q(0, 0), Q(1, 0), Q(2, 0), Q(3, 0), Q(4, 0), Q(5, 0)), OutputRows(Q(0, 1), Q(1, 1), Q(2, 1), Q(3, 1), Q(4, 1), Q(5, 1)),
                        OutputRows(Q(0, 2), Q(1, 2), Q(2, 2), Q(3, 2), Q(4, 2), Q(5, 2)), OutputRows(Q(0, 3), Q(1, 3), Q(2, 3), Q(3, 3), Q(4, 3), Q(5, 3)),
                        OutputRows(Q(0, 4), Q(1, 4), Q(2, 4), Q(3, 4), Q(4, 4), Q(5, 4)), OutputRows(Q(0, 5), Q(1, 5), Q(2, 5), Q(3, 5), Q(4, 5), Q(5, 5)));
                    int columns = Math.Min(TileSize * Lanes, width - (TileSize * tx));
                    for (int r = 0; r < rowsHere; r++)
                    {
                        var (c0, c1, c2, c3) = r switch
                        {
                            0 => OutputRows(a0.Item1, a1.Item1, a2.Item1, a3.Item1, a4.Item1, a5.Item1),
                            1 => OutputRows(a0.Item2, a1.Item2, a2.Item2, a3.Item2, a4.Item2, a5.Item2),
                            2 => OutputRows(a0.Item3, a1.Item3, a2.Item3, a3.Item3, a4.Item3, a5.Item3),
                            _ => OutputRows(a0.Item4, a1.Item4, a2.Item4, a3.Item4, a4.Item4, a5.Item4),
                        };
                        float* row = plane + (((long)(TileSize * ty) + r) * width) + (TileSize * tx);
                        float* target = columns == TileSize * Lanes ? row : spill;
                        uint positive = StoreTiles(c0 + b, c1 + b, c2 + b, c3 + b, relu, bits is not null, target);
                        if (target == spill)
                        {
                            new ReadOnlySpan<float>(spill, columns).CopyTo(new Span<float>(row, columns));
                        }

                        if (bits is not null)
                        {
                            long bitRow = (((long)n * channels) + k) * height + (TileSize * ty) + r;
                            ReluBits.Store(bits + (bitRow * rowBytes), TileSize * tx, positive, columns);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Column j of eight tiles' output row (one vector each) back into 32 consecutive pixels, with the ReLU. With
    /// <paramref name="signs"/>, returns bit i set where pixel i is positive (else 0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe uint StoreTiles(Vector256<float> c0, Vector256<float> c1, Vector256<float> c2, Vector256<float> c3, bool relu, bool signs, float* row)
    {
        if (relu)
        {
            (c0, c1, c2, c3) = (Vector256.Max(c0, Vector256<float>.Zero), Vector256.Max(c1, Vector256<float>.Zero), Vector256.Max(c2, Vector256<float>.Zero), Vector256.Max(c3, Vector256<float>.Zero));
        }

        if (!Avx.IsSupported)
        {
            for (int t = 0; t < Lanes; t++)
            {
                (row[4 * t], row[(4 * t) + 1], row[(4 * t) + 2], row[(4 * t) + 3]) = (c0.GetElement(t), c1.GetElement(t), c2.GetElement(t), c3.GetElement(t));
            }

            uint stored = 0;
            for (int i = 0; signs && i < TileSize * Lanes; i++)
            {
                stored |= (row[i] > 0 ? 1u : 0u) << i;
            }

            return stored;
        }

        // A 4×8 transpose: pairs (c0 c1), (c2 c3) per tile, then the pairs joined as doubles, then 128-bit halves in order.
        Vector256<float> lo01 = Avx.UnpackLow(c0, c1), hi01 = Avx.UnpackHigh(c0, c1), lo23 = Avx.UnpackLow(c2, c3), hi23 = Avx.UnpackHigh(c2, c3);
        Vector256<float> t04 = Avx.UnpackLow(lo01.AsDouble(), lo23.AsDouble()).AsSingle(), t15 = Avx.UnpackHigh(lo01.AsDouble(), lo23.AsDouble()).AsSingle();
        Vector256<float> t26 = Avx.UnpackLow(hi01.AsDouble(), hi23.AsDouble()).AsSingle(), t37 = Avx.UnpackHigh(hi01.AsDouble(), hi23.AsDouble()).AsSingle();
        Vector256<float> p0 = Avx.Permute2x128(t04, t15, 0x20), p1 = Avx.Permute2x128(t26, t37, 0x20);
        Vector256<float> p2 = Avx.Permute2x128(t04, t15, 0x31), p3 = Avx.Permute2x128(t26, t37, 0x31);
        p0.Store(row);
        p1.Store(row + 8);
        p2.Store(row + 16);
        p3.Store(row + 24);
        return signs ? Positive(p0) | (Positive(p1) << 8) | (Positive(p2) << 16) | (Positive(p3) << 24) : 0;

        static uint Positive(Vector256<float> v) => Vector256.GreaterThan(v, Vector256<float>.Zero).ExtractMostSignificantBits();
    }
}

/// <summary>A band of whole tile rows of a map: tile rows <see cref="First"/> to <see cref="First"/> + <see cref="Count"/> − 1, output rows 4·First onwards.</summary>
internal readonly record struct TileRows(int First, int Count);
