using NeuralStyle.Cpu;
using NeuralStyle.Engine;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// The managed CPU kernels and the ORT Gram product against float64 references, on every length 0–257 (so each
/// SIMD body and scalar tail is hit) and on images down to 1×1.
/// </summary>
[Trait("Category", VectorFallbackTests.Category)]
public sealed class CpuKernelTests
{
    public static IEnumerable<object[]> Lengths => Enumerable.Range(0, 258).Select(n => new object[] { n });

    public static TheoryData<int, int, int> ImageSizes => new()
    {
        { 1, 1, 1 }, { 3, 1, 7 }, { 3, 7, 1 }, { 3, 5, 17 }, { 3, 16, 16 }, { 2, 33, 9 },
    };

    [Theory]
    [MemberData(nameof(Lengths))]
    public void ReluVjp_adds_the_seed_and_keeps_only_positive_activations(int length)
    {
        if (length == 0)
        {
            Assert.Throws<ArgumentException>(() => CpuKernels.ReluVjp([], [], [], [])); // nothing from above and no seed is a caller's error
            return;
        }

        float[] above = Random(length, 7, 1), seed = Random(length, 8, 1), activation = Random(length, 9, 1).Select(v => v - 0.5f).ToArray();
        if (length > 2)
        {
            activation[1] = 0f; // exactly zero is not positive
        }

        foreach (var (g, s) in new[] { (above, seed), (above, Array.Empty<float>()), (Array.Empty<float>(), seed) })
        {
            var output = Enumerable.Repeat(float.NaN, length).ToArray();
            CpuKernels.ReluVjp(g, s, activation, output);
            float[] expected = activation.Select((f, i) => f > 0 ? (g.Length == 0 ? 0f : g[i]) + (s.Length == 0 ? 0f : s[i]) : 0f).ToArray();
            Assert.Equal(expected, output); // one float addition: exact
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void GramDifference_matches_reference(int length)
    {
        float[] product = Random(length, 1, 100), target = Random(length, 2, 1);
        var diff = new float[length];
        double sum = CpuKernels.GramDifference(product, target, 0.01f, 3f, diff);
        var expectedDiff = new double[length];
        double expectedSum = 0;
        for (int i = 0; i < length; i++)
        {
            double d = (product[i] * (double)0.01f) - target[i];
            expectedSum += d * d;
            expectedDiff[i] = d * 3;
        }

        // float32 element arithmetic: 1e-6 relative plus 1e-6 of the range.
        Tolerance.AssertClose(expectedDiff, diff, 1e-6 * Math.Max(1, Tolerance.MaxAbs(expectedDiff)), 1e-6, "diff");
        Tolerance.AssertClose([expectedSum], [sum], 1e-9, 1e-5, "Σd²");
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void ContentDifference_writes_and_accumulates(int length)
    {
        float[] f = Random(length, 3, 10), p = Random(length, 4, 10), seed = Random(length, 5, 1);
        float[] initial = (float[])seed.Clone();
        double sum = CpuKernels.ContentDifference(f, p, 0.5f, seed, accumulate: true);
        var expected = new double[length];
        double expectedSum = 0;
        for (int i = 0; i < length; i++)
        {
            double d = (double)f[i] - p[i];
            expectedSum += d * d;
            expected[i] = initial[i] + (0.5 * d);
        }

        Tolerance.AssertClose(expected, seed, 1e-5, 1e-6, "seed +=");
        Tolerance.AssertClose([expectedSum], [sum], 1e-9, 1e-5, "Σd²");
        CpuKernels.ContentDifference(f, p, 0.5f, seed, accumulate: false);
        Tolerance.AssertClose(expected.Select((e, i) => e - initial[i]).ToArray(), seed, 1e-5, 1e-6, "seed =");
    }

    [Theory]
    [MemberData(nameof(ImageSizes))]
    public void TotalVariation_value_and_gradient_match_reference(int channels, int height, int width)
    {
        float[] image = Random(channels * height * width, 6, 255);
        float[] gradient = Random(image.Length, 7, 1);
        float[] before = (float[])gradient.Clone();
        const float Weight = 0.25f;
        double tv = CpuKernels.TotalVariation(image, channels, height, width, Weight, gradient);
        double[] x = image.Select(v => (double)v).ToArray();
        Tolerance.AssertClose([ReferenceLoss.TotalVariation(x, channels, height, width)], [tv], 1e-6, 1e-6, "TV");

        // TV is quadratic, so central differences are exact up to rounding.
        double[] expected = FiniteDifferences.Gradient(v => ReferenceLoss.TotalVariation(v, channels, height, width), x, 0.5)
            .Select((d, i) => before[i] + (Weight * d)).ToArray();

        Tolerance.AssertClose(expected, gradient, 1e-3, 1e-5, "gradient");
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AdamStep_matches_a_float64_reference_over_several_steps(int length)
    {
        float[] x = Random(length, 8, 255), g = new float[length];
        var m = new float[length];
        var v = new float[length];
        double[] x64 = x.Select(a => (double)a).ToArray(), m64 = new double[length], v64 = new double[length];
        var settings = new AdamSettings();
        for (int step = 1; step <= 3; step++)
        {
            g = Random(length, 10 + (ulong)step, 50);
            CpuKernels.AdamStep(x, m, v, g, step, 2.5, settings);
            for (int i = 0; i < length; i++)
            {
                m64[i] = (0.9 * m64[i]) + (0.1 * g[i]);
                v64[i] = (0.999 * v64[i]) + (0.001 * g[i] * g[i]);
                double mHat = m64[i] / (1 - Math.Pow(0.9, step));
                double vHat = v64[i] / (1 - Math.Pow(0.999, step));
                x64[i] -= 2.5 * mHat / (Math.Sqrt(vHat) + 1e-8);
            }
        }

        // x moves by about lr per step; float32 keeps it to a few ulps of 255.
        Tolerance.AssertClose(x64, x, 1e-4, 1e-6, "x");
        Tolerance.AssertClose(m64, m, 1e-5, 1e-5, "m");
        Tolerance.AssertClose(v64, v, 1e-3, 1e-5, "v");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(17, 33)]
    [InlineData(64, 129)]
    public void Gram_through_onnx_runtime_is_exact_on_small_integers(int channels, int positions)
    {
        // Small-integer features make every partial sum exact in float32, so the product must match bit for bit
        // before the 1/(C·M) scale; after it, one rounding.
        var rng = new DeterministicRandom(9);
        float[] f = Enumerable.Range(0, channels * positions).Select(_ => (float)(rng.NextUInt64() % 7)).ToArray();
        using var backend = new CpuBackend(TinyNetworks.Create([[4]], 1), PreprocessPreset.Caffe,
            new LossSettings { StyleLayers = [new LayerWeight("relu1_1", 1)], ContentLayers = [] }, new AdamSettings());
        float[] gram = backend.Gram(new FeatureMap(channels, 1, positions, f));
        double[] expected = ReferenceLoss.Gram(channels, positions, f.Select(a => (double)a).ToArray());
        Tolerance.AssertClose(expected, gram, 0, 1e-7, "Gram");
    }

    [Theory]
    [InlineData(new float[] { 1, 2, 3 }, true)]
    [InlineData(new float[] { 1, float.NaN, 3 }, false)]
    [InlineData(new float[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, float.PositiveInfinity }, false)]
    [InlineData(new float[] { float.NegativeInfinity, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, false)]
    public void AllFinite_finds_nan_and_infinity_anywhere(float[] values, bool expected) =>
        Assert.Equal(expected, CpuKernels.AllFinite(values));

    private static float[] Random(int length, ulong seed, double scale)
    {
        var values = new float[length];
        new DeterministicRandom(seed).FillUniform(values, -scale, scale);
        return values;
    }
}
