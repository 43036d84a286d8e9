using System.Numerics;

namespace NeuralStyle.Cpu;

/// <summary>
/// The managed loss and optimizer kernels of the CPU backend (DESIGN.md, "The loss, exactly"). Each works on one
/// batch item's contiguous span; sums are accumulated in double. The matrix products (F·Fᵀ and (G−A)·F) are not
/// here: ONNX Runtime's MatMul (MLAS) does them.
/// </summary>
internal static class CpuKernels
{
    /// <summary>
    /// The ReLU's VJP with the seed added: out = (fromAbove + seed)·[F &gt; 0], where either input may be empty (the
    /// deepest layer has nothing from above; an untapped layer no seed). One vectorized pass, chunks in parallel —
    /// ONNX Runtime's Greater + Cast + Mul (+ Add) did the same in four passes, two of them scalar.
    /// </summary>
    public static void ReluVjp(ReadOnlySpan<float> fromAbove, ReadOnlySpan<float> seed, ReadOnlySpan<float> activation, Span<float> output)
    {
        int n = activation.Length;
        if (output.Length != n || (fromAbove.Length != 0 && fromAbove.Length != n) || (seed.Length != 0 && seed.Length != n) || (fromAbove.Length == 0 && seed.Length == 0))
        {
            throw new ArgumentException($"ReLU VJP over {n} values got {fromAbove.Length} from above, {seed.Length} seeds and room for {output.Length}.");
        }

        const int Chunk = 1 << 16;
        unsafe
        {
            fixed (float* g = fromAbove, s = seed, f = activation, o = output)
            {
                nint gs = fromAbove.Length == 0 ? 0 : (nint)g, ss = seed.Length == 0 ? 0 : (nint)s, fs = (nint)f, os = (nint)o;
                Parallel.For(0, (n + Chunk - 1) / Chunk, chunk =>
                {
                    int start = chunk * Chunk, length = Math.Min(Chunk, n - start);
                    ReluVjpChunk((float*)gs, (float*)ss, (float*)fs + start, (float*)os + start, start, length);
                });
            }
        }
    }

    /// <summary>
    /// From the raw product R = F·Fᵀ ([C, C]): G = R·<paramref name="gramScale"/>, D = G − A; writes
    /// diff = D·<paramref name="gradScale"/> and returns Σ D². Effectively computes diff[i] = (R[i]·s − A[i])·k.
    /// </summary>
    public static double GramDifference(ReadOnlySpan<float> product, ReadOnlySpan<float> target, float gramScale, float gradScale, Span<float> diff)
    {
        CheckSameLength(product.Length, target.Length, diff.Length);
        double sum = 0;
        int i = 0;
        var vs = new Vector<float>(gramScale);
        var vk = new Vector<float>(gradScale);
        for (; i <= product.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            Vector<float> d = (new Vector<float>(product[i..]) * vs) - new Vector<float>(target[i..]);
            sum += Vector.Dot(d, d);
            (d * vk).CopyTo(diff[i..]);
        }

        for (; i < product.Length; i++)
        {
            float d = (product[i] * gramScale) - target[i];
            sum += d * d;
            diff[i] = d * gradScale;
        }

        return sum;
    }

    /// <summary>
    /// Content term: returns Σ (F − P)² and writes (or, with <paramref name="accumulate"/>, adds) the gradient
    /// seed[i] (+)= k·(F[i] − P[i]).
    /// </summary>
    public static double ContentDifference(ReadOnlySpan<float> features, ReadOnlySpan<float> target, float gradScale, Span<float> seed, bool accumulate)
    {
        CheckSameLength(features.Length, target.Length, seed.Length);
        double sum = 0;
        int i = 0;
        var vk = new Vector<float>(gradScale);
        for (; i <= features.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            Vector<float> d = new Vector<float>(features[i..]) - new Vector<float>(target[i..]);
            sum += Vector.Dot(d, d);
            Vector<float> g = d * vk;
            (accumulate ? new Vector<float>(seed[i..]) + g : g).CopyTo(seed[i..]);
        }

        for (; i < features.Length; i++)
        {
            float d = features[i] - target[i];
            sum += d * d;
            seed[i] = accumulate ? seed[i] + (d * gradScale) : d * gradScale;
        }

        return sum;
    }

    /// <summary>
    /// Total variation of one image [C, H, W]: returns TV = Σ (x[i,j+1] − x[i,j])² + (x[i+1,j] − x[i,j])² and
    /// adds <paramref name="weight"/>·∂TV/∂x to <paramref name="gradient"/>.
    /// </summary>
    public static double TotalVariation(ReadOnlySpan<float> image, int channels, int height, int width, float weight, Span<float> gradient)
    {
        CheckSameLength(image.Length, channels * height * width, gradient.Length);
        double tv = 0;
        float twoW = 2f * weight;
        for (int c = 0; c < channels; c++)
        {
            for (int y = 0; y < height; y++)
            {
                int row = ((c * height) + y) * width;
                for (int x = 0; x + 1 < width; x++)
                {
                    float d = image[row + x + 1] - image[row + x];
                    tv += d * d;
                    gradient[row + x + 1] += twoW * d;
                    gradient[row + x] -= twoW * d;
                }

                if (y + 1 < height)
                {
                    tv += VerticalRow(image.Slice(row, width), image.Slice(row + width, width), twoW, gradient.Slice(row, width), gradient.Slice(row + width, width));
                }
            }
        }

        return tv;
    }

    /// <summary>
    /// One Adam step with bias correction, in place, exactly as PyTorch's <c>torch.optim.Adam</c> (no weight decay):
    /// m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; x ← x − lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε).
    /// </summary>
    public static void AdamStep(Span<float> x, Span<float> m, Span<float> v, ReadOnlySpan<float> g, int step, double learningRate, Engine.AdamSettings settings)
    {
        CheckSameLength(x.Length, m.Length, v.Length);
        CheckSameLength(x.Length, g.Length, g.Length);
        float b1 = (float)settings.Beta1, b2 = (float)settings.Beta2;
        float correction1 = (float)(1.0 - Math.Pow(settings.Beta1, step));
        float correction2Sqrt = (float)Math.Sqrt(1.0 - Math.Pow(settings.Beta2, step));
        float stepSize = (float)learningRate / correction1;
        float eps = (float)settings.Epsilon;
        int i = 0;
        var vb1 = new Vector<float>(b1);
        // 1 − β in double, rounded once: 1 − 0.999f in float is off by 5e-5 relative.
        float c1 = (float)(1.0 - settings.Beta1), c2 = (float)(1.0 - settings.Beta2);
        var vb1c = new Vector<float>(c1);
        var vb2 = new Vector<float>(b2);
        var vb2c = new Vector<float>(c2);
        var vStep = new Vector<float>(stepSize);
        var vCorr2 = new Vector<float>(correction2Sqrt);
        var vEps = new Vector<float>(eps);
        for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var gi = new Vector<float>(g[i..]);
            Vector<float> mi = (vb1 * new Vector<float>(m[i..])) + (vb1c * gi);
            Vector<float> vi = (vb2 * new Vector<float>(v[i..])) + (vb2c * gi * gi);
            Vector<float> denominator = (Vector.SquareRoot(vi) / vCorr2) + vEps;
            (new Vector<float>(x[i..]) - (vStep * mi / denominator)).CopyTo(x[i..]);
            mi.CopyTo(m[i..]);
            vi.CopyTo(v[i..]);
        }

        for (; i < x.Length; i++)
        {
            float gi = g[i];
            m[i] = (b1 * m[i]) + (c1 * gi);
            v[i] = (b2 * v[i]) + (c2 * gi * gi);
            x[i] -= stepSize * m[i] / ((MathF.Sqrt(v[i]) / correction2Sqrt) + eps);
        }
    }

    /// <summary>True when every element is finite (no NaN or ±Inf): x − x is 0 exactly for finite x and NaN otherwise.</summary>
    public static bool AllFinite(ReadOnlySpan<float> values)
    {
        int i = 0;
        for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var v = new Vector<float>(values[i..]);
            if (!Vector.EqualsAll(v - v, Vector<float>.Zero))
            {
                return false;
            }
        }

        for (; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static double VerticalRow(ReadOnlySpan<float> upper, ReadOnlySpan<float> lower, float twoW, Span<float> gradUpper, Span<float> gradLower)
    {
        double tv = 0;
        int x = 0;
        var vTwoW = new Vector<float>(twoW);
        for (; x <= upper.Length - Vector<float>.Count; x += Vector<float>.Count)
        {
            Vector<float> d = new Vector<float>(lower[x..]) - new Vector<float>(upper[x..]);
            tv += Vector.Dot(d, d);
            (new Vector<float>(gradLower[x..]) + (vTwoW * d)).CopyTo(gradLower[x..]);
            (new Vector<float>(gradUpper[x..]) - (vTwoW * d)).CopyTo(gradUpper[x..]);
        }

        for (; x < upper.Length; x++)
        {
            float d = lower[x] - upper[x];
            tv += d * d;
            gradLower[x] += twoW * d;
            gradUpper[x] -= twoW * d;
        }

        return tv;
    }

    private static void CheckSameLength(int a, int b, int c)
    {
        if (a != b || a != c)
        {
            throw new ArgumentException($"Span lengths differ: {a}, {b}, {c}.");
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ReluVjpChunk(float* fromAbove, float* seed, float* activation, float* output, int offset, int length)
    {
        float* g = fromAbove == null ? null : fromAbove + offset, s = seed == null ? null : seed + offset;
        int i = 0;
        for (; i <= length - Vector<float>.Count; i += Vector<float>.Count)
        {
            Vector<float> value = g == null ? Vector.Load(s + i) : s == null ? Vector.Load(g + i) : Vector.Load(g + i) + Vector.Load(s + i);
            Vector.ConditionalSelect(Vector.GreaterThan(Vector.Load(activation + i), Vector<float>.Zero), value, Vector<float>.Zero).Store(output + i);
        }

        for (; i < length; i++)
        {
            float value = (g == null ? 0f : g[i]) + (s == null ? 0f : s[i]);
            output[i] = activation[i] > 0 ? value : 0f;
        }
    }
}
