using NeuralStyle.Cpu;
using NeuralStyle.Engine;

namespace NeuralStyle.Tests.Support;

/// <summary>Another backend against the CPU backend on one problem: the same losses and state after a few iterations.</summary>
internal static class BackendAgreement
{
    /// <summary>
    /// Starts both backends on a batch of two copies of <paramref name="content"/> (learning rates 2 and 10), with the
    /// targets the CPU backend computes, runs 3 iterations and compares every loss term (1e-4 relative), the steps,
    /// the images (1e-4 relative) and Adam's first moments (1e-3 relative).
    /// </summary>
    public static void AssertIterationsMatch(CpuBackend cpu, IStyleBackend other, LossSettings loss, float[] content, float[] style, int height, int width)
    {
        var targets = new StyleTargets(
            cpu.Features(style, height, width, loss.StyleLayers.Select(l => l.ReluName)).ToDictionary(p => p.Key, p => cpu.Gram(p.Value)),
            cpu.Features(content, height, width, loss.ContentLayers).ToDictionary(p => p.Key, p => p.Value.Data));
        float[] batch = [.. content, .. content];
        foreach (IStyleBackend backend in new[] { cpu, other })
        {
            backend.Start(targets, new OptimizerState(new int[2], (float[])batch.Clone(), new float[batch.Length], new float[batch.Length]), height, width, [2.0, 10.0]);
        }

        for (int k = 0; k < 3; k++)
        {
            IterationLosses[] a = cpu.Iterate(), b = other.Iterate();
            for (int n = 0; n < 2; n++)
            {
                Tolerance.AssertClose([a[n].Content, a[n].Style, a[n].Tv], [b[n].Content, b[n].Style, b[n].Tv], 1e-6, 1e-4, $"losses, iteration {k}, item {n}");
            }
        }

        OptimizerState expected = cpu.ReadState(), actual = other.ReadState();
        Assert.Equal(expected.Steps, actual.Steps);
        Tolerance.AssertClose(expected.Images.Select(v => (double)v).ToArray(), actual.Images, 1e-3, 1e-4, "images after 3 iterations");
        Tolerance.AssertClose(expected.FirstMoment.Select(v => (double)v).ToArray(), actual.FirstMoment, 1e-3, 1e-3, "Adam's m after 3 iterations");
    }

    /// <summary>A forced choice of style products shows on the backend's device line (a measured one may go either way).</summary>
    public static void AssertDescribesProducts(IStyleBackend backend, Cuda.StyleProductSource products)
    {
        if (products != Cuda.StyleProductSource.Measured)
        {
            string where = products == Cuda.StyleProductSource.Cublas ? "cuBLAS" : "ours";
            Assert.Contains($"relu1_1 Gram {where}, gradient {where}", backend.Description, StringComparison.Ordinal);
        }
    }
}
