using System.Diagnostics;
using System.Globalization;
using NeuralStyle.Engine;

namespace NeuralStyle.Cli.Commands;

/// <summary>
/// One single-image render of a sweep's settings, timed before the sweep (its images' loading included in the setup):
/// what each of the renders the sweep stands in for would cost, in seconds on this machine.
/// </summary>
internal sealed record SeparateRender(double SetupSeconds, double IterationSeconds)
{
    /// <summary>Seconds for such a render of <paramref name="iterations"/> iterations, setup included.</summary>
    public double Seconds(int iterations) => SetupSeconds + (iterations * IterationSeconds);

    /// <summary>
    /// Times the iterations of <paramref name="single"/>, a single-image render of the sweep's settings that took
    /// <paramref name="setupSeconds"/> to set up (its images' loading included): the mean of two after a warm-up. Says
    /// so on <paramref name="output"/>. It is part of the sweep's preparation: a stop asked for through
    /// <paramref name="cancel"/> ends it between iterations with <see cref="PreparationInterruptedException"/>.
    /// </summary>
    public static SeparateRender Time(StyleTransferEngine single, double setupSeconds, TextWriter output, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(single);
        Step(single, cancel); // warms up
        var clock = Stopwatch.StartNew();
        Step(single, cancel);
        Step(single, cancel);
        double perIteration = clock.Elapsed.TotalSeconds / 2;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"One separate render: {setupSeconds:F1} s setup + {perIteration:F3} s per iteration (measured)."));
        return new SeparateRender(setupSeconds, perIteration);
    }

    private static void Step(StyleTransferEngine single, CancellationToken cancel)
    {
        single.Step();
        if (cancel.IsCancellationRequested)
        {
            throw new PreparationInterruptedException();
        }
    }
}
