using BenchmarkDotNet.Attributes;
using NeuralStyle.Cpu;
using NeuralStyle.Engine;
using NeuralStyle.Model;

namespace NeuralStyle.Benchmarks;

/// <summary>
/// The managed loss and optimizer kernels against plain scalar loops (the baseline), on a short length, an odd
/// length and a 512×512×3 image. Data is seeded in GlobalSetup so every run sees the same numbers.
/// </summary>
[MemoryDiagnoser]
public class KernelBenchmarks
{
    private float[] _a = [], _b = [], _c = [], _d = [], _e = [];

    [Params(128, (6 * 512) + 7, 3 * 512 * 512)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new DeterministicRandom(1);
        _a = new float[Length];
        _b = new float[Length];
        _c = new float[Length];
        _d = new float[Length];
        _e = new float[Length];
        rng.FillUniform(_a, 0, 255);
        rng.FillUniform(_b, -5, 5);
        rng.FillUniform(_c, 0, 1);
        rng.FillUniform(_d, 0, 1);
        rng.FillUniform(_e, -1, 1);
    }

    [Benchmark(Baseline = true)]
    public void Adam_scalar()
    {
        const float B1 = 0.9f, B2 = 0.999f;
        for (int i = 0; i < _a.Length; i++)
        {
            _c[i] = (B1 * _c[i]) + ((1 - B1) * _b[i]);
            _d[i] = (B2 * _d[i]) + ((1 - B2) * _b[i] * _b[i]);
            _a[i] -= 5f * _c[i] / (MathF.Sqrt(_d[i]) + 1e-8f);
        }
    }

    [Benchmark]
    public void Adam_simd() => CpuKernels.AdamStep(_a, _c, _d, _b, 10, 5, new AdamSettings());

    [Benchmark]
    public double ContentDifference_scalar()
    {
        double sum = 0;
        for (int i = 0; i < _a.Length; i++)
        {
            float d = _a[i] - _b[i];
            sum += d * d;
            _e[i] = 0.5f * d;
        }

        return sum;
    }

    [Benchmark]
    public double ContentDifference_simd() => CpuKernels.ContentDifference(_a, _b, 0.5f, _e, accumulate: false);

    [Benchmark]
    public double TotalVariation_simd() => CpuKernels.TotalVariation(_a, 1, 1, _a.Length, 1e-3f, _e);
}
