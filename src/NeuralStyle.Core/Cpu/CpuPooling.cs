using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using NeuralStyle.Model;

namespace NeuralStyle.Cpu;

/// <summary>
/// The 2×2, stride-2 pooling between VGG blocks and its vector–Jacobian product, for the CPU backend, which runs
/// each block as its own ONNX Runtime session and pools in between. Done here because ONNX Runtime's MaxPool
/// with an indices output takes a generic path, and its VJP needed ScatterElements over a zero-filled int64-indexed
/// tensor: in a 256 px iteration's profile the two took 53 ms of 610.
/// </summary>
/// <remarks>
/// Tensors are [planes, H, W] with planes = batch × channels, row-major; the pooled size is ⌊H/2⌋ × ⌊W/2⌋ (an odd
/// last row or column is dropped, and its gradient is zero). Max pooling keeps the first maximum in the order
/// (0,0), (0,1), (1,0), (1,1) of its window, as ONNX Runtime and PyTorch do; <c>argmax</c> holds that position
/// as dy·2 + dx, one byte per pooled value. Planes run in parallel.
/// </remarks>
internal static class CpuPooling
{
    /// <summary>Pools <paramref name="input"/> into <paramref name="pooled"/>; with max pooling also records <paramref name="argmax"/>.</summary>
    public static void Forward(PoolingMode mode, ReadOnlySpan<float> input, int planes, int height, int width, Span<float> pooled, Span<byte> argmax)
    {
        int ph = height / 2, pw = width / 2;
        Check(mode, input.Length, pooled.Length, argmax.Length, planes, height, width);

        unsafe
        {
            fixed (float* x = input, y = pooled)
            fixed (byte* k = argmax)
            {
                nint xs = (nint)x, ys = (nint)y, ks = (nint)k;
                Parallel.For(0, planes, p => ForwardPlane(mode, (float*)xs + ((long)p * height * width), height, width,
                    (float*)ys + ((long)p * ph * pw), (byte*)ks + (mode == PoolingMode.Max ? (long)p * ph * pw : 0)));
            }
        }
    }

    /// <summary>
    /// Writes dL/d<c>input</c> from dL/d<c>pooled</c>: max pooling routes each gradient to its window's recorded
    /// maximum, average pooling spreads a quarter to each of the four; every other entry (dropped rows and columns
    /// included) is zero.
    /// </summary>
    public static void Backward(PoolingMode mode, ReadOnlySpan<float> pooledGradient, ReadOnlySpan<byte> argmax, int planes, int height, int width, Span<float> inputGradient)
    {
        int ph = height / 2, pw = width / 2;
        Check(mode, inputGradient.Length, pooledGradient.Length, argmax.Length, planes, height, width);

        unsafe
        {
            fixed (float* g = pooledGradient, dx = inputGradient)
            fixed (byte* k = argmax)
            {
                nint gs = (nint)g, dxs = (nint)dx, ks = (nint)k;
                Parallel.For(0, planes, p => BackwardPlane(mode, (float*)gs + ((long)p * ph * pw), (byte*)ks + (mode == PoolingMode.Max ? (long)p * ph * pw : 0),
                    height, width, (float*)dxs + ((long)p * height * width)));
            }
        }
    }

    // One plane per call, compiled fully optimized at once: a lambda's loop would start as unoptimized tier-0 code
    // and run that way for the first dozens of calls (measured 3× slower in 'bench kernels').
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ForwardPlane(PoolingMode mode, float* plane, int height, int width, float* output, byte* which)
    {
        int ph = height / 2, pw = width / 2;
        for (int oy = 0; oy < ph; oy++)
        {
            float* top = plane + (2L * oy * width), bottom = top + width;
            float* row = output + ((long)oy * pw);
            if (mode == PoolingMode.Average)
            {
                for (int x = 0; x < pw; x++)
                {
                    row[x] = (top[2 * x] + top[(2 * x) + 1] + bottom[2 * x] + bottom[(2 * x) + 1]) * 0.25f;
                }

                continue;
            }

            byte* at = which + ((long)oy * pw);
            int ox = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; ox <= pw - 8; ox += 8)
                {
                    MaxOfEight(top + (2 * ox), bottom + (2 * ox), row + ox, at + ox);
                }
            }

            for (; ox < pw; ox++)
            {
                // A tournament in place of a scan: with strict comparisons the earlier of equal values wins each
                // round, which keeps the first maximum, and the selects need no branches.
                float a = top[2 * ox], b = top[(2 * ox) + 1], c = bottom[2 * ox], d = bottom[(2 * ox) + 1];
                bool right = b > a, rightBelow = d > c;
                float upper = right ? b : a, lower = rightBelow ? d : c;
                bool below = lower > upper;
                row[ox] = below ? lower : upper;
                at[ox] = (byte)((below ? 2 : 0) + ((below ? rightBelow : right) ? 1 : 0));
            }
        }
    }

    /// <summary>The scalar tournament on eight windows at once: 16 columns of two rows in, 8 maxima and 8 argmax bytes out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void MaxOfEight(float* top, float* bottom, float* output, byte* which)
    {
        // Even columns are the windows' left inputs, odd ones their right.
        var (a, b) = Strided.Deinterleave(top);
        var (c, d) = Strided.Deinterleave(bottom);
        Vector256<float> right = Vector256.GreaterThan(b, a), rightBelow = Vector256.GreaterThan(d, c);
        Vector256<float> upper = Vector256.ConditionalSelect(right, b, a), lower = Vector256.ConditionalSelect(rightBelow, d, c);
        Vector256<float> below = Vector256.GreaterThan(lower, upper);
        Vector256.ConditionalSelect(below, lower, upper).Store(output);

        // Masks are all ones (−1) where true: 0 − mask is 0/1, 2 − mask is 2/3.
        Vector256<int> upperAt = Vector256<int>.Zero - right.AsInt32(), lowerAt = Vector256.Create(2) - rightBelow.AsInt32();
        Vector256<int> at = Vector256.ConditionalSelect(below.AsInt32(), lowerAt, upperAt);
        Vector256<short> shorts = Vector256.Narrow(at, at);
        *(ulong*)which = Vector256.Narrow(shorts, shorts).AsUInt64().GetElement(0);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BackwardPlane(PoolingMode mode, float* gradient, byte* which, int height, int width, float* plane)
    {
        int ph = height / 2, pw = width / 2;
        new Span<float>(plane, height * width).Clear();
        for (int oy = 0; oy < ph; oy++)
        {
            float* top = plane + (2L * oy * width), bottom = top + width;
            float* row = gradient + ((long)oy * pw);
            if (mode == PoolingMode.Average)
            {
                for (int ox = 0; ox < pw; ox++)
                {
                    float quarter = row[ox] * 0.25f;
                    top[2 * ox] = quarter;
                    top[(2 * ox) + 1] = quarter;
                    bottom[2 * ox] = quarter;
                    bottom[(2 * ox) + 1] = quarter;
                }

                continue;
            }

            byte* at = which + ((long)oy * pw);
            for (int ox = 0; ox < pw; ox++)
            {
                int k = at[ox];
                top[(2 * ox) + ((k >> 1) * width) + (k & 1)] = row[ox];
            }
        }
    }

    private static void Check(PoolingMode mode, int full, int pooled, int argmax, int planes, int height, int width)
    {
        if (full != planes * height * width || pooled != planes * (height / 2) * (width / 2))
        {
            throw new ArgumentException($"Pooling {planes} planes of {height}×{width} needs {planes * height * width} and {planes * (height / 2) * (width / 2)} values; got {full} and {pooled}.");
        }

        if (mode == PoolingMode.Max && argmax != pooled)
        {
            throw new ArgumentException($"argmax holds {argmax} entries; the pooled tensor has {pooled}.");
        }
    }
}
