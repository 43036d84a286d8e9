using NeuralStyle.Cpu;
using NeuralStyle.Engine;

namespace NeuralStyle.Tests.Support;

/// <summary>Another backend against the CPU backend on one problem: the same losses and state after a few iterations.</summary>
internal static class BackendAgreement
{
    /// <summary>
    /// Starts both backends on a batch of two copies of <paramref name="content"/> (learning rates 2 and 10), with the
    /// targets the CPU backend computes, runs 3 iterations and compares every loss term (1e-4 relative), the steps,
    /// the images (1e-4 relative) and Adam's first moments (1e-3 relative). Then both start again on item 1 alone, from
    /// the state the CPU backend reached (as the engine does once item 0 stops), and are compared again after 2 more;
    /// then once more on a batch of three, that item between two new ones, for 2 more.
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

        AssertSameIterations(cpu, other, 0, 3);
        OptimizerState reached = cpu.ReadState();
        int length = batch.Length / 2;
        float[] ItemOne(float[] values) => values.AsSpan(length, length).ToArray();
        var alone = new OptimizerState([reached.Steps[1]], ItemOne(reached.Images), ItemOne(reached.FirstMoment), ItemOne(reached.SecondMoment));
        float[] best = ItemOne(cpu.ReadBestImages());
        foreach (IStyleBackend backend in new[] { cpu, other })
        {
            backend.Start(targets, alone, height, width, [10.0], best);
        }

        AssertSameIterations(cpu, other, 3, 5);

        // Started again larger, as a batch that rates catching up join (StyleTransferEngine.HandOver): the item beside
        // two images starting from the content.
        OptimizerState further = cpu.ReadState();
        float[] zeros = new float[length];
        var grown = new OptimizerState([0, further.Steps[0], 0], [.. content, .. further.Images, .. content], [.. zeros, .. further.FirstMoment, .. zeros],
            [.. zeros, .. further.SecondMoment, .. zeros]);
        float[] grownBest = [.. content, .. cpu.ReadBestImages(), .. content];
        foreach (IStyleBackend backend in new[] { cpu, other })
        {
            backend.Start(targets, grown, height, width, [5.0, 10.0, 20.0], grownBest);
        }

        AssertSameIterations(cpu, other, 5, 7);
    }

    /// <summary>Runs iterations <paramref name="from"/> to <paramref name="to"/> on both and compares their losses, then their states.</summary>
    private static void AssertSameIterations(CpuBackend cpu, IStyleBackend other, int from, int to)
    {
        for (int k = from; k < to; k++)
        {
            IterationLosses[] a = cpu.Iterate(), b = other.Iterate();
            Assert.Equal(a.Length, b.Length);
            for (int n = 0; n < a.Length; n++)
            {
                // Each term within 1e-4 relative; a term at 0 on the CPU (the content loss of the content image itself) is
                // the square of the backends' feature differences on the device: within 1e-8 of the whole loss.
                double whole = Math.Abs(a[n].Content) + Math.Abs(a[n].Style) + Math.Abs(a[n].Tv);
                Tolerance.AssertClose([a[n].Content, a[n].Style, a[n].Tv], [b[n].Content, b[n].Style, b[n].Tv], Math.Max(1e-6, 1e-8 * whole), 1e-4, $"losses, iteration {k}, item {n}");
            }
        }

        // Adam divides each pixel's gradient by its running RMS, so where a gradient is near 0 the backends' rounding
        // differences in it become differences of a small fraction of the learning rate (on a GPU, up to 0.02 of 0..255
        // after 7 steps at lr ≤ 20, seen on an H200): images within 0.1, and 1e-4 relative; m within 1e-4 of its largest.
        OptimizerState expected = cpu.ReadState(), actual = other.ReadState();
        Assert.Equal(expected.Steps, actual.Steps);
        Tolerance.AssertClose(expected.Images.Select(v => (double)v).ToArray(), actual.Images, 0.1, 1e-4, $"images after {to} iterations");
        double largestMoment = expected.FirstMoment.Max(v => Math.Abs((double)v));
        Tolerance.AssertClose(expected.FirstMoment.Select(v => (double)v).ToArray(), actual.FirstMoment, Math.Max(1e-3, 1e-4 * largestMoment), 1e-3, $"Adam's m after {to} iterations");
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
