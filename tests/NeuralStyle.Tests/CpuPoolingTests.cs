using NeuralStyle.Cpu;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// The CPU backend's 2×2 pooling and its VJP against a float64 scan, on sizes that hit the eight-window vector body,
/// its scalar tail and the dropped odd row and column; with small integers, so ties are everywhere and the first
/// maximum must win as in ONNX Runtime and PyTorch.
/// </summary>
[Trait("Category", VectorFallbackTests.Category)]
public sealed class CpuPoolingTests
{
    public static TheoryData<int, int, int, bool> Shapes => new()
    {
        // planes, height, width, values drawn from {0, 1, 2} (ties) or uniform
        { 1, 2, 2, true }, { 2, 5, 7, true }, { 3, 9, 37, true }, { 2, 16, 33, false }, { 3, 17, 50, true }, { 1, 4, 64, false },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Max_pool_keeps_the_first_maximum_and_routes_the_gradient_to_it(int planes, int height, int width, bool ties)
    {
        float[] input = Values(planes * height * width, ties, 1);
        int ph = height / 2, pw = width / 2;
        var pooled = new float[planes * ph * pw];
        var argmax = new byte[pooled.Length];
        CpuPooling.Forward(PoolingMode.Max, input, planes, height, width, pooled, argmax);
        float[] gradient = Values(pooled.Length, false, 2);
        var inputGradient = Enumerable.Repeat(float.NaN, input.Length).ToArray(); // every entry must be written
        CpuPooling.Backward(PoolingMode.Max, gradient, argmax, planes, height, width, inputGradient);

        var expectedGradient = new double[input.Length];
        for (int p = 0; p < planes; p++)
        {
            for (int oy = 0; oy < ph; oy++)
            {
                for (int ox = 0; ox < pw; ox++)
                {
                    int o = (((p * ph) + oy) * pw) + ox, bestAt = -1;
                    double best = double.NegativeInfinity;
                    for (int k = 0; k < 4; k++)
                    {
                        int i = (((p * height) + (2 * oy) + (k >> 1)) * width) + (2 * ox) + (k & 1);
                        if (input[i] > best)
                        {
                            best = input[i];
                            bestAt = k;
                        }
                    }

                    Assert.Equal(best, pooled[o]);
                    Assert.Equal(bestAt, argmax[o]);
                    expectedGradient[(((p * height) + (2 * oy) + (bestAt >> 1)) * width) + (2 * ox) + (bestAt & 1)] = gradient[o];
                }
            }
        }

        Assert.Equal(expectedGradient, inputGradient.Select(v => (double)v));
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Average_pool_and_its_gradient_match_the_reference(int planes, int height, int width, bool ties)
    {
        float[] input = Values(planes * height * width, ties, 3);
        int ph = height / 2, pw = width / 2;
        var pooled = new float[planes * ph * pw];
        CpuPooling.Forward(PoolingMode.Average, input, planes, height, width, pooled, []);
        float[] gradient = Values(pooled.Length, false, 4);
        var inputGradient = Enumerable.Repeat(float.NaN, input.Length).ToArray();
        CpuPooling.Backward(PoolingMode.Average, gradient, [], planes, height, width, inputGradient);

        var expected = new double[pooled.Length];
        var expectedGradient = new double[input.Length];
        for (int p = 0; p < planes; p++)
        {
            for (int oy = 0; oy < ph; oy++)
            {
                for (int ox = 0; ox < pw; ox++)
                {
                    int o = (((p * ph) + oy) * pw) + ox;
                    for (int k = 0; k < 4; k++)
                    {
                        int i = (((p * height) + (2 * oy) + (k >> 1)) * width) + (2 * ox) + (k & 1);
                        expected[o] += input[i] / 4.0;
                        expectedGradient[i] = gradient[o] / 4.0;
                    }
                }
            }
        }

        // Four float32 additions: within 1e-6 relative; a quarter of a float is exact.
        Tolerance.AssertClose(expected, pooled, 1e-7, 1e-6, "pooled");
        Assert.Equal(expectedGradient, inputGradient.Select(v => (double)v));
    }

    [Fact]
    public void Mismatched_lengths_are_refused()
    {
        Assert.Throws<ArgumentException>(() => CpuPooling.Forward(PoolingMode.Max, new float[16], 1, 4, 4, new float[3], new byte[3]));
        Assert.Throws<ArgumentException>(() => CpuPooling.Backward(PoolingMode.Max, new float[4], new byte[3], 1, 4, 4, new float[16]));
    }

    private static float[] Values(int n, bool ties, ulong seed)
    {
        var values = new float[n];
        var random = new DeterministicRandom(seed);
        random.FillUniform(values, 0, ties ? 3 : 1);
        return ties ? values.Select(v => MathF.Floor(v)).ToArray() : values;
    }
}
