using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuralStyle.Cpu;

/// <summary>
/// The transforms of Winograd F(2×2, 3×3) for a 3×3, pad-1, stride-1 convolution (Lavin and Gray, "Fast Algorithms
/// for Convolutional Neural Networks", 2016): per 2×2 output tile, Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A with d the 4×4 input
/// tile at stride 2 of the zero-padded input. Summed over input channels, the 16 element-wise products become 16
/// matrix products M[q] = U[q]·V[q] ([K, C]·[C, tiles]), done by ONNX Runtime's MatMul: 2.25× fewer multiplications
/// than the direct convolution. The transforms here are additions only, one pass over their data each.
/// </summary>
/// <remarks>
/// Layouts: x [N, C, H, W]; Th = ⌈H/2⌉, Tw = ⌈W/2⌉, T = Th·Tw tiles per item, t = ty·Tw + tx;
/// V [N, 16, C, T], U [16, K, C], M [N, 16, K, T], with q = 4·i + j the position in the 4×4 transformed tile;
/// y [N, K, H, W]. Each item has its own products, so an item's result does not depend on the batch around it.
/// Odd sizes: the last tile row/column reads zeros past the edge and its extra outputs are not written.
/// Channels (planes) run in parallel.
/// </remarks>
internal static class Winograd
{
    private static readonly double[,] G = { { 1, 0, 0 }, { 0.5, 0.5, 0.5 }, { 0.5, -0.5, 0.5 }, { 0, 0, 1 } };

    /// <summary>U[4i+j, k, c] = (G g_kc Gᵀ)[i, j] for a kernel [K, C, 3, 3], computed in double.</summary>
    public static float[] KernelTransform(ReadOnlySpan<float> kernel, int outChannels, int inChannels)
    {
        var u = new float[16 * outChannels * inChannels];
        Span<double> g = stackalloc double[9];
        for (int k = 0; k < outChannels; k++)
        {
            for (int c = 0; c < inChannels; c++)
            {
                for (int t = 0; t < 9; t++)
                {
                    g[t] = kernel[(((k * inChannels) + c) * 9) + t];
                }

                for (int i = 0; i < 4; i++)
                {
                    for (int j = 0; j < 4; j++)
                    {
                        double sum = 0;
                        for (int a = 0; a < 3; a++)
                        {
                            for (int b = 0; b < 3; b++)
                            {
                                sum += G[i, a] * g[(a * 3) + b] * G[j, b];
                            }
                        }

                        u[(((((4 * i) + j) * outChannels) + k) * inChannels) + c] = (float)sum;
                    }
                }
            }
        }

        return u;
    }

    /// <summary>Aᵀ m A for eight neighbouring tiles: 16 outputs of the top row and 16 of the bottom one (when <paramref name="bottom"/> is not null), interleaved back into columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void OutputEight(float* s, long stride, float bias, bool relu, float* top, float* bottom)
    {
        Vector256<float> Q(int q) => Vector256.Load(s + (q * stride));
        Vector256<float> c0 = Q(0) + Q(4) + Q(8), c1 = Q(1) + Q(5) + Q(9), c2 = Q(2) + Q(6) + Q(10), c3 = Q(3) + Q(7) + Q(11);
        var b = Vector256.Create(bias);
        Store(c0 + c1 + c2 + b, c1 - c2 - c3 + b, relu, top);
        if (bottom != null)
        {
            Vector256<float> d0 = Q(4) - Q(8) - Q(12), d1 = Q(5) - Q(9) - Q(13), d2 = Q(6) - Q(10) - Q(14), d3 = Q(7) - Q(11) - Q(15);
            Store(d0 + d1 + d2 + b, d1 - d2 - d3 + b, relu, bottom);
        }

        static void Store(Vector256<float> left, Vector256<float> right, bool relu, float* row)
        {
            if (relu)
            {
                left = Vector256.Max(left, Vector256<float>.Zero);
                right = Vector256.Max(right, Vector256<float>.Zero);
            }

            // (l0 r0 l1 r1 | l4 r4 l5 r5) and (l2 r2 l3 r3 | l6 r6 l7 r7), then the 128-bit halves put in order.
            Vector256<float> low = Avx.UnpackLow(left, right), high = Avx.UnpackHigh(left, right);
            Avx.Permute2x128(low, high, 0x20).Store(row);
            Avx.Permute2x128(low, high, 0x31).Store(row + 8);
        }
    }

    /// <summary>Tiles per row and column for an H × W map.</summary>
    public static (int Rows, int Columns) Tiles(int height, int width) => ((height + 1) / 2, (width + 1) / 2);

    /// <summary>
    /// V = Bᵀ d B for every tile of x [N, C, H, W]. With <paramref name="mask"/> (the layer's ReLU output, same shape)
    /// the input is first taken as (x + <paramref name="seed"/>)·[mask &gt; 0], which is how the backward pass feeds a
    /// ReLU's VJP into the convolution's; <paramref name="seed"/> may be empty.
    /// </summary>
    public static void InputTransform(ReadOnlySpan<float> x, ReadOnlySpan<float> seed, ReadOnlySpan<float> mask, int batch, int channels, int height, int width, Span<float> v)
    {
        var (th, tw) = Tiles(height, width);
        long tiles = (long)batch * th * tw;
        if (x.Length != batch * channels * height * width || v.Length < 16 * channels * tiles
            || (mask.Length != 0 && mask.Length != x.Length) || (seed.Length != 0 && seed.Length != x.Length))
        {
            throw new ArgumentException($"Winograd input transform of [{batch}, {channels}, {height}, {width}]: got {x.Length} inputs, {seed.Length} seeds, {mask.Length} mask values and room for {v.Length} of {16 * channels * tiles}.");
        }

        unsafe
        {
            fixed (float* xp = x, sp = seed, mp = mask, vp = v)
            {
                nint xs = (nint)xp, ss = (nint)sp, ms = (nint)mp, vs = (nint)vp;
                bool masked = mask.Length != 0, seeded = seed.Length != 0;
                Parallel.For(0, channels, c => InputPlanes((float*)xs, seeded ? (float*)ss : null, masked ? (float*)ms : null,
                    batch, channels, c, height, width, (float*)vs));
            }
        }
    }

    /// <summary>
    /// y = Aᵀ m A for every tile, written to y [N, K, H, W]; with <paramref name="bias"/> (length K, or empty) added
    /// and, when <paramref name="relu"/>, max(·, 0) applied — the forward layer's bias and ReLU, fused.
    /// </summary>
    public static void OutputTransform(ReadOnlySpan<float> m, ReadOnlySpan<float> bias, bool relu, int batch, int channels, int height, int width, Span<float> y)
    {
        var (th, tw) = Tiles(height, width);
        long tiles = (long)batch * th * tw;
        if (y.Length != batch * channels * height * width || m.Length < 16 * channels * tiles || (bias.Length != 0 && bias.Length != channels))
        {
            throw new ArgumentException($"Winograd output transform to [{batch}, {channels}, {height}, {width}]: got room for {y.Length}, {m.Length} products of {16 * channels * tiles} and {bias.Length} biases.");
        }

        unsafe
        {
            fixed (float* mp = m, bp = bias, yp = y)
            {
                nint ms = (nint)mp, bs = (nint)bp, ys = (nint)yp;
                bool hasBias = bias.Length != 0;
                Parallel.For(0, channels, k => OutputPlanes((float*)ms, hasBias ? ((float*)bs)[k] : 0f, relu, batch, channels, k, height, width, (float*)ys));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void InputPlanes(float* x, float* seed, float* mask, int batch, int channels, int c, int height, int width, float* v)
    {
        var (th, tw) = Tiles(height, width);
        int pw = (2 * tw) + 2, ph = (2 * th) + 2;
        float[] buffer = System.Buffers.ArrayPool<float>.Shared.Rent(ph * pw);
        try
        {
            fixed (float* pad = buffer)
            {
                for (int n = 0; n < batch; n++)
                {
                    // Copy the plane into a zero border (one row/column before, enough after), applying seed and mask.
                    new Span<float>(pad, ph * pw).Clear();
                    long plane = ((long)n * channels + c) * height * width;
                    for (int r = 0; r < height; r++)
                    {
                        float* source = x + plane + ((long)r * width);
                        float* target = pad + ((r + 1) * pw) + 1;
                        if (mask is null)
                        {
                            new ReadOnlySpan<float>(source, width).CopyTo(new Span<float>(target, width));
                            continue;
                        }

                        float* on = mask + plane + ((long)r * width);
                        float* add = seed is null ? null : seed + plane + ((long)r * width);
                        for (int col = 0; col < width; col++)
                        {
                            float value = add is null ? source[col] : source[col] + add[col];
                            target[col] = on[col] > 0 ? value : 0f;
                        }
                    }

                    long perItem = (long)th * tw;
                    for (int ty = 0; ty < th; ty++)
                    {
                        float* r0 = pad + (2 * ty * pw), r1 = r0 + pw, r2 = r1 + pw, r3 = r2 + pw;
                        float* output = v + ((((long)n * 16 * channels) + c) * perItem) + ((long)ty * tw);
                        long stride = channels * perItem; // from one q plane to the next
                        int tx = 0;
                        if (Vector256.IsHardwareAccelerated)
                        {
                            for (; tx + 8 <= tw; tx += 8)
                            {
                                InputEight(r0 + (2 * tx), r1 + (2 * tx), r2 + (2 * tx), r3 + (2 * tx), output + tx, stride);
                            }
                        }

                        for (; tx < tw; tx++)
                        {
                            int col = 2 * tx;
                            // Bᵀ d: rows (d0 − d2, d1 + d2, d2 − d1, d1 − d3), per column.
                            float a0 = r0[col] - r2[col], a1 = r0[col + 1] - r2[col + 1], a2 = r0[col + 2] - r2[col + 2], a3 = r0[col + 3] - r2[col + 3];
                            float b0 = r1[col] + r2[col], b1 = r1[col + 1] + r2[col + 1], b2 = r1[col + 2] + r2[col + 2], b3 = r1[col + 3] + r2[col + 3];
                            float e0 = r2[col] - r1[col], e1 = r2[col + 1] - r1[col + 1], e2 = r2[col + 2] - r1[col + 2], e3 = r2[col + 3] - r1[col + 3];
                            float f0 = r1[col] - r3[col], f1 = r1[col + 1] - r3[col + 1], f2 = r1[col + 2] - r3[col + 2], f3 = r1[col + 3] - r3[col + 3];
                            // · B: the same combination along each row.
                            float* o = output + tx;
                            o[0 * stride] = a0 - a2; o[1 * stride] = a1 + a2; o[2 * stride] = a2 - a1; o[3 * stride] = a1 - a3;
                            o[4 * stride] = b0 - b2; o[5 * stride] = b1 + b2; o[6 * stride] = b2 - b1; o[7 * stride] = b1 - b3;
                            o[8 * stride] = e0 - e2; o[9 * stride] = e1 + e2; o[10 * stride] = e2 - e1; o[11 * stride] = e1 - e3;
                            o[12 * stride] = f0 - f2; o[13 * stride] = f1 + f2; o[14 * stride] = f2 - f1; o[15 * stride] = f1 - f3;
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

    /// <summary>Bᵀ d B for eight neighbouring tiles at once: one vector per tile position, columns gathered from the four padded rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void InputEight(float* r0, float* r1, float* r2, float* r3, float* output, long stride)
    {
        // Tile tx starts at column 2·tx: its columns 0..3 are the even and odd entries from column 0 and from column 2.
        var (p0, p1) = Strided.Deinterleave(r0);
        var (p2, p3) = Strided.Deinterleave(r0 + 2);
        var (q0, q1) = Strided.Deinterleave(r1);
        var (q2, q3) = Strided.Deinterleave(r1 + 2);
        var (s0, s1) = Strided.Deinterleave(r2);
        var (s2, s3) = Strided.Deinterleave(r2 + 2);
        var (t0, t1) = Strided.Deinterleave(r3);
        var (t2, t3) = Strided.Deinterleave(r3 + 2);
        Row(p0 - s0, p1 - s1, p2 - s2, p3 - s3, output, stride);
        Row(q0 + s0, q1 + s1, q2 + s2, q3 + s3, output + (4 * stride), stride);
        Row(s0 - q0, s1 - q1, s2 - q2, s3 - q3, output + (8 * stride), stride);
        Row(q0 - t0, q1 - t1, q2 - t2, q3 - t3, output + (12 * stride), stride);

        static void Row(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3, float* o, long stride)
        {
            (x0 - x2).Store(o);
            (x1 + x2).Store(o + stride);
            (x2 - x1).Store(o + (2 * stride));
            (x1 - x3).Store(o + (3 * stride));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void OutputPlanes(float* m, float bias, bool relu, int batch, int channels, int k, int height, int width, float* y)
    {
        var (th, tw) = Tiles(height, width);
        long perItem = (long)th * tw, stride = channels * perItem;
        for (int n = 0; n < batch; n++)
        {
            float* plane = y + (((long)n * channels + k) * height * width);
            for (int ty = 0; ty < th; ty++)
            {
                float* q = m + ((((long)n * 16 * channels) + k) * perItem) + ((long)ty * tw);
                float* top = plane + ((long)2 * ty * width);
                bool bottomRow = (2 * ty) + 1 < height;
                int tx = 0;
                if (Avx.IsSupported)
                {
                    for (; tx + 8 <= tw && (2 * tx) + 16 <= width; tx += 8)
                    {
                        OutputEight(q + tx, stride, bias, relu, top + (2 * tx), bottomRow ? top + width + (2 * tx) : null);
                    }
                }

                for (; tx < tw; tx++)
                {
                    float* s = q + tx;
                    // Aᵀ m: rows (m0 + m1 + m2, m1 − m2 − m3), per column; then the same along each row.
                    float c0 = s[0] + s[4 * stride] + s[8 * stride], c1 = s[stride] + s[5 * stride] + s[9 * stride];
                    float c2 = s[2 * stride] + s[6 * stride] + s[10 * stride], c3 = s[3 * stride] + s[7 * stride] + s[11 * stride];
                    float d0 = s[4 * stride] - s[8 * stride] - s[12 * stride], d1 = s[5 * stride] - s[9 * stride] - s[13 * stride];
                    float d2 = s[6 * stride] - s[10 * stride] - s[14 * stride], d3 = s[7 * stride] - s[11 * stride] - s[15 * stride];
                    float y00 = c0 + c1 + c2 + bias, y01 = c1 - c2 - c3 + bias, y10 = d0 + d1 + d2 + bias, y11 = d1 - d2 - d3 + bias;
                    if (relu)
                    {
                        y00 = MathF.Max(y00, 0f);
                        y01 = MathF.Max(y01, 0f);
                        y10 = MathF.Max(y10, 0f);
                        y11 = MathF.Max(y11, 0f);
                    }

                    int col = 2 * tx;
                    bool right = col + 1 < width;
                    top[col] = y00;
                    if (right)
                    {
                        top[col + 1] = y01;
                    }

                    if (bottomRow)
                    {
                        top[width + col] = y10;
                        if (right)
                        {
                            top[width + col + 1] = y11;
                        }
                    }
                }
            }
        }
    }
}
