using System.Globalization;
using NeuralStyle.Cpu;
using NeuralStyle.Engine;
using NeuralStyle.Model;

namespace NeuralStyle.Tests.Support;

/// <summary>Another backend against the CPU backend on one problem: the same losses and state after a few iterations.</summary>
internal static class BackendAgreement
{
    // Learning rates of the first batch, and of the batch of three started again later.
    private static readonly double[] BatchRates = [2.0, 10.0], GrownRates = [5.0, BatchRates[1], 20.0];

    /// <summary>
    /// Starts both backends on a batch of two copies of <paramref name="content"/> (learning rates 2 and 10), with the
    /// targets the CPU backend computes, runs 3 iterations and compares every loss term (1e-4 relative), the steps,
    /// the images (1e-4 relative) and Adam's first moments (1e-3 relative). Then both start again on item 1 alone, from
    /// the state the CPU backend reached (as the engine does once item 0 stops), and are compared again after 2 more;
    /// then once more on a batch of three, that item between two new ones, for 2 more. Where <paramref name="other"/>
    /// runs other convolutions than the CPU's (a GPU), with max pooling a few image and moment values may differ further
    /// (<see cref="MaxPoolOutlierShare"/>); <paramref name="report"/> then hears how many did, iteration by iteration.
    /// </summary>
    public static void AssertIterationsMatch(CpuBackend cpu, IStyleBackend other, LossSettings loss, float[] content, float[] style, int height, int width,
        bool otherConvolutions, Action<string>? report = null)
    {
        report ??= _ => { };
        bool argmaxMayDiffer = otherConvolutions && loss.Pooling == PoolingMode.Max;
        StyleTargets targets = Targets.Of(cpu, loss, style, content, height, width);
        float[] batch = [.. content, .. content];
        foreach (IStyleBackend backend in new[] { cpu, other })
        {
            backend.Start(targets, new OptimizerState(new int[2], (float[])batch.Clone(), new float[batch.Length], new float[batch.Length]), height, width, BatchRates);
        }

        AssertSameIterations(cpu, other, targets, height, width, BatchRates, argmaxMayDiffer, report, 0, 3);
        OptimizerState reached = cpu.ReadState();
        int length = batch.Length / 2;
        float[] ItemOne(float[] values) => values.AsSpan(length, length).ToArray();
        var alone = new OptimizerState([reached.Steps[1]], ItemOne(reached.Images), ItemOne(reached.FirstMoment), ItemOne(reached.SecondMoment));
        float[] best = ItemOne(cpu.ReadBestImages());
        foreach (IStyleBackend backend in new[] { cpu, other })
        {
            backend.Start(targets, alone, height, width, [BatchRates[1]], best);
        }

        AssertSameIterations(cpu, other, targets, height, width, [BatchRates[1]], argmaxMayDiffer, report, 3, 5);

        // Started again larger, as a batch that rates catching up join (StyleTransferEngine.HandOver): the item beside
        // two images starting from the content.
        OptimizerState further = cpu.ReadState();
        float[] zeros = new float[length];
        var grown = new OptimizerState([0, further.Steps[0], 0], [.. content, .. further.Images, .. content], [.. zeros, .. further.FirstMoment, .. zeros],
            [.. zeros, .. further.SecondMoment, .. zeros]);
        float[] grownBest = [.. content, .. cpu.ReadBestImages(), .. content];
        foreach (IStyleBackend backend in new[] { cpu, other })
        {
            backend.Start(targets, grown, height, width, GrownRates, grownBest);
        }

        AssertSameIterations(cpu, other, targets, height, width, GrownRates, argmaxMayDiffer, report, 5, 7);
    }

    /// <summary>
    /// The share of image and moment values that may differ beyond the tolerance after one iteration with max pooling.
    /// A max pool sends each window's gradient to its largest value; where two values of a window lie within the
    /// backends' rounding of each other, each backend may pick another, and Adam turns that pixel's changed gradient
    /// into another step (on the first step a whole learning rate: Adam's first step is the gradient's sign). The CPU
    /// backend against itself shows it (<see cref="PoolingSensitivityTests"/>).
    /// </summary>
    public const double MaxPoolOutlierShare = 0.01;

    /// <summary>
    /// Runs iterations <paramref name="from"/> to <paramref name="to"/> on both and compares their losses, then their
    /// states. Where <paramref name="argmaxMayDiffer"/>, <paramref name="other"/> starts each iteration again from the
    /// CPU's state and the states are compared after each: once a max pool's argmax differs the runs part further with
    /// every step (the CPU backend against itself, 1-ulp noise in 1% of its starting values: 1, 563 and 2,034 of 11,520
    /// values apart after 1, 2 and 3 iterations), while from one state the losses are the forward pass's, continuous in
    /// the image, and only the pixels a flipped argmax feeds move otherwise.
    /// </summary>
    private static void AssertSameIterations(CpuBackend cpu, IStyleBackend other, StyleTargets targets, int height, int width, double[] rates, bool argmaxMayDiffer,
        Action<string> report, int from, int to)
    {
        for (int k = from; k < to; k++)
        {
            if (argmaxMayDiffer && k > from)
            {
                OptimizerState state = cpu.ReadState();
                other.Start(targets, state, height, width, rates, cpu.ReadBestImages());
            }

            IterationLosses[] a = cpu.Iterate(), b = other.Iterate();
            Assert.Equal(a.Length, b.Length);
            for (int n = 0; n < a.Length; n++)
            {
                // Each term within 1e-4 relative; a term at 0 on the CPU (the content loss of the content image itself) is
                // the square of the backends' feature differences on the device: within 1e-8 of the whole loss.
                double whole = Math.Abs(a[n].Content) + Math.Abs(a[n].Style) + Math.Abs(a[n].Tv);
                Tolerance.AssertClose([a[n].Content, a[n].Style, a[n].Tv], [b[n].Content, b[n].Style, b[n].Tv], Math.Max(1e-6, 1e-8 * whole), 1e-4, $"losses, iteration {k}, item {n}");
            }

            if (argmaxMayDiffer)
            {
                report($"iteration {k}: {AssertSameState(cpu.ReadState(), other.ReadState(), rates.Max(), $"after iteration {k} (max pooling, from the CPU's state)")}");
            }
        }

        if (!argmaxMayDiffer)
        {
            AssertSameState(cpu.ReadState(), other.ReadState(), null, $"after {to} iterations");
        }
    }

    /// <summary>
    /// The steps, images and Adam's first moments of two states. With <paramref name="argmaxRate"/> (one iteration's
    /// difference where a max pool's argmax may differ), up to <see cref="MaxPoolOutlierShare"/> of the values may lie
    /// further apart: an image value by at most Adam's largest step at that rate each way.
    /// </summary>
    /// <returns>With <paramref name="argmaxRate"/>, how many values lay outside the tolerance and how far; else null.</returns>
    private static string? AssertSameState(OptimizerState expected, OptimizerState actual, double? argmaxRate, string when)
    {
        // Adam divides each pixel's gradient by its running RMS, so where a gradient is near 0 the backends' rounding
        // differences in it become differences of a small fraction of the learning rate (on a GPU, up to 0.02 of 0..255
        // after 7 steps at lr ≤ 20, seen on an H200): images within 0.1, and 1e-4 relative; m within 1e-4 of its largest.
        Assert.Equal(expected.Steps, actual.Steps);
        double largestMoment = expected.FirstMoment.Max(v => Math.Abs((double)v)), momentAbs = Math.Max(1e-3, 1e-4 * largestMoment);
        double[] images = expected.Images.Select(v => (double)v).ToArray(), moments = expected.FirstMoment.Select(v => (double)v).ToArray();
        if (argmaxRate is double rate)
        {
            int outliers = (int)(MaxPoolOutlierShare * images.Length);
            var (imagesOutside, imagesLargest) = Tolerance.AssertMostlyClose(images, actual.Images, 0.1, 1e-4, outliers, 2 * LargestAdamStep(rate), $"images {when}");
            var (momentsOutside, momentsLargest) = Tolerance.AssertMostlyClose(moments, actual.FirstMoment, momentAbs, 1e-3, outliers, 2 * largestMoment, $"Adam's m {when}");
            return string.Create(CultureInfo.InvariantCulture,
                $"{imagesOutside} of {images.Length} image values outside the tolerance (largest difference {imagesLargest:G4}), {momentsOutside} of Adam's m (largest {momentsLargest:G4})");
        }

        Tolerance.AssertClose(images, actual.Images, 0.1, 1e-4, $"images {when}");
        Tolerance.AssertClose(moments, actual.FirstMoment, momentAbs, 1e-3, $"Adam's m {when}");
        return null;
    }

    /// <summary>
    /// How far one Adam step (the tests' default constants) can move a pixel at <paramref name="rate"/>: the rate times
    /// |m̂|/√v̂, which is 1 on the first step and approaches (1 − β1)/√(1 − β2) (3.16) for a gradient that jumps after a
    /// long run of zeros, as a flipped argmax's can.
    /// </summary>
    private static double LargestAdamStep(double rate)
    {
        var adam = new AdamSettings();
        return rate * Math.Max(1, (1 - adam.Beta1) / Math.Sqrt(1 - adam.Beta2));
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
