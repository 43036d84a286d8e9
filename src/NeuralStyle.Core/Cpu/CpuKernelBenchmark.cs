using System.Diagnostics;
using NeuralStyle.Engine;
using NeuralStyle.Model;

namespace NeuralStyle.Cpu;

/// <summary>One kernel at one size: median time, and the rate it reached against the machine's reference.</summary>
/// <param name="Kernel">Kernel name.</param>
/// <param name="Size">The size, in words (e.g. "C=64 M=65536").</param>
/// <param name="Milliseconds">Median over the repetitions.</param>
/// <param name="Rate">GFLOP/s for products, GB/s for element-wise kernels.</param>
/// <param name="Unit">"GFLOP/s" or "GB/s".</param>
/// <param name="Reference">The same unit for the reference (MLAS MatMul, or a memory copy).</param>
public sealed record KernelTiming(string Kernel, string Size, double Milliseconds, double Rate, string Unit, double Reference);

/// <summary>
/// Times the CPU backend's kernels at several sizes, odd ones included: the Gram product on ONNX Runtime/MLAS against
/// MLAS's own square MatMul rate, and the managed element-wise kernels against a plain memory copy that moves the
/// same number of bytes (read plus written per element: content 12, TV 12, Adam 28; per pooled value 21; Winograd: the map and its 36 values per tile), so both see the same caches.
/// </summary>
public static class CpuKernelBenchmark
{
    /// <summary>Runs every kernel; <paramref name="repeats"/> timed runs each after one warm-up.</summary>
    public static IReadOnlyList<KernelTiming> Run(int repeats = 7)
    {
        double matmul = Runtime.MachineCeiling.MatMulGflops(1024, 3);
        var rows = new List<KernelTiming>();
        var tiny = NetworkWeights.Random(NetworkArchitecture.FromBlocks([[4]]), 0);
        using var backend = new CpuBackend(tiny, PreprocessPreset.Caffe, new LossSettings { StyleLayers = [new LayerWeight("relu1_1", 1)], ContentLayers = [] }, new AdamSettings());
        foreach (var (c, m) in new[] { (64, 256 * 256), (128, 128 * 128), (512, 32 * 32), (67, 3001) })
        {
            var features = new FeatureMap(c, 1, m, Random(c * m, 1));
            double ms = Median(repeats, () => backend.Gram(features));
            rows.Add(new KernelTiming("gram (MLAS)", $"C={c} M={m}", ms, 2.0 * c * c * m / ms / 1e6, "GFLOP/s", matmul));
        }

        foreach (int n in new[] { 3 * 256 * 256, (3 * 512 * 512) + 7 })
        {
            float[] a = Random(n, 2), b = Random(n, 3), g = Random(n, 4), m1 = new float[n], v1 = new float[n];
            double content = Median(repeats, () => CpuKernels.ContentDifference(a, b, 0.5f, g, accumulate: false));
            rows.Add(new KernelTiming("content", $"n={n}", content, 12.0 * n / content / 1e6, "GB/s", CopyRate(12L * n, repeats)));
            int side = (int)Math.Sqrt(n / 3);
            double tv = Median(repeats, () => CpuKernels.TotalVariation(a.AsSpan(0, 3 * side * side), 3, side, side, 1e-3f, g.AsSpan(0, 3 * side * side)));
            rows.Add(new KernelTiming("tv", $"3×{side}×{side}", tv, 12.0 * 3 * side * side / tv / 1e6, "GB/s", CopyRate(12L * 3 * side * side, repeats)));
            int step = 0;
            double adam = Median(repeats, () => CpuKernels.AdamStep(a, m1, v1, g, ++step, 1, new AdamSettings()));
            rows.Add(new KernelTiming("adam", $"n={n}", adam, 28.0 * n / adam / 1e6, "GB/s", CopyRate(28L * n, repeats)));
        }

        // Pooling moves 21 bytes per pooled value either way: four inputs (16), the output (4) and its argmax byte (1).
        foreach (var (planes, h, w) in new[] { (64, 256, 256), (67, 37, 41) })
        {
            int pooled = planes * (h / 2) * (w / 2);
            float[] input = Random(planes * h * w, 5), output = new float[pooled], gradient = new float[planes * h * w];
            var argmax = new byte[pooled];
            double forward = Median(repeats, () => CpuPooling.Forward(PoolingMode.Max, input, planes, h, w, output, argmax));
            double copy = CopyRate(21L * pooled, repeats);
            rows.Add(new KernelTiming("max pool", $"{planes}×{h}×{w}", forward, 21.0 * pooled / forward / 1e6, "GB/s", copy));
            double backward = Median(repeats, () => CpuPooling.Backward(PoolingMode.Max, output, argmax, planes, h, w, gradient));
            rows.Add(new KernelTiming("max pool VJP", $"{planes}×{h}×{w}", backward, 21.0 * pooled / backward / 1e6, "GB/s", copy));
        }

        // Winograd transforms: the input one reads the map and writes 36 values per 4×4 tile, the output one the reverse.
        foreach (var (c, h, w) in new[] { (256, 64, 64), (512, 32, 32), (67, 37, 41) })
        {
            var (th, tw) = Winograd.Tiles(h, w);
            long map = (long)c * h * w, transformed = (long)Winograd.Positions * c * th * tw;
            float[] x = Random((int)map, 6), v = new float[transformed], y = new float[map];
            double bytes = 4.0 * (map + transformed);
            double copy = CopyRate((long)bytes, repeats);
            double input = Median(repeats, () => Winograd.InputTransform(x, [], [], 1, c, h, w, v));
            rows.Add(new KernelTiming("winograd in", $"{c}×{h}×{w}", input, bytes / input / 1e6, "GB/s", copy));
            double output = Median(repeats, () => Winograd.OutputTransform(v, [], relu: true, 1, c, h, w, y));
            rows.Add(new KernelTiming("winograd out", $"{c}×{h}×{w}", output, bytes / output / 1e6, "GB/s", copy));
        }

        return rows;
    }

    /// <summary>GB/s of a copy that reads and writes <paramref name="bytesMoved"/> bytes in all.</summary>
    private static double CopyRate(long bytesMoved, int repeats)
    {
        var source = new byte[bytesMoved / 2];
        var destination = new byte[bytesMoved / 2];
        double ms = Median(repeats, () => source.AsSpan().CopyTo(destination));
        return bytesMoved / ms / 1e6;
    }

    private static float[] Random(int n, ulong seed)
    {
        var values = new float[n];
        new DeterministicRandom(seed).FillUniform(values, 0, 1);
        return values;
    }

    private static double Median(int repeats, Action run)
    {
        run();
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            long start = Stopwatch.GetTimestamp();
            run();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        Array.Sort(times);
        return times[repeats / 2];
    }
}
