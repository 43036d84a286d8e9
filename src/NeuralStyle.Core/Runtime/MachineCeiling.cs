using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Graphs;

namespace NeuralStyle.Runtime;

/// <summary>
/// This machine's own roofline: the float32 matrix-product rate ONNX Runtime (MLAS) reaches on all cores, and the
/// memory bandwidth of a large copy. The CPU figures in benchmarks are measured against these.
/// </summary>
public static class MachineCeiling
{
    /// <summary>GFLOP/s of an n×n by n×n float32 MatMul (2n³ FLOPs), best of <paramref name="repeats"/> after one warm-up.</summary>
    public static double MatMulGflops(int n = 2048, int repeats = 5)
    {
        using InferenceSession session = OrtRuntime.CreateCpuSession(ProductGraphBuilder.Apply());
        var a = new float[n * n];
        var b = new float[n * n];
        new Model.DeterministicRandom(1).FillUniform(a, -1, 1);
        new Model.DeterministicRandom(2).FillUniform(b, -1, 1);
        using var left = OrtValue.CreateTensorValueFromMemory(a, [1, n, n]);
        using var right = OrtValue.CreateTensorValueFromMemory(b, [1, n, n]);
        using var result = OrtValue.CreateTensorValueFromMemory(new float[n * n], [1, n, n]);
        using var options = new RunOptions();
        double best = double.MaxValue;
        for (int i = 0; i <= repeats; i++)
        {
            long start = Stopwatch.GetTimestamp();
            session.Run(options, [ProductGraphBuilder.Difference, ProductGraphBuilder.Features], [left, right], [ProductGraphBuilder.Result], [result]);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (i > 0)
            {
                best = Math.Min(best, seconds);
            }
        }

        return 2.0 * n * n * n / best / 1e9;
    }

    /// <summary>GB/s of copying <paramref name="megabytes"/> MB (read plus write counted), best of <paramref name="repeats"/>.</summary>
    public static double CopyGigabytesPerSecond(int megabytes = 256, int repeats = 5)
    {
        var source = new byte[megabytes << 20];
        var destination = new byte[megabytes << 20];
        source.AsSpan().Fill(1);
        double best = double.MaxValue;
        for (int i = 0; i <= repeats; i++)
        {
            long start = Stopwatch.GetTimestamp();
            source.AsSpan().CopyTo(destination);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (i > 0)
            {
                best = Math.Min(best, seconds);
            }
        }

        return 2.0 * source.Length / best / 1e9;
    }
}
