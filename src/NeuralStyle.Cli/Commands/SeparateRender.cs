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
    /// so on <paramref name="output"/>.
    /// </summary>
    public static SeparateRender Time(StyleTransferEngine single, double setupSeconds, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(single);
        single.Step();
        var clock = Stopwatch.StartNew();
        single.Step();
        single.Step();
        double perIteration = clock.Elapsed.TotalSeconds / 2;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"One separate render: {setupSeconds:F1} s setup + {perIteration:F3} s per iteration (measured)."));
        return new SeparateRender(setupSeconds, perIteration);
    }
}
