namespace NeuralStyle.Cli.Commands;

/// <summary>
/// One single-image render of a sweep's settings, timed before the sweep (its images' loading included in the setup):
/// what each of the renders the sweep stands in for would cost, in seconds on this machine.
/// </summary>
internal sealed record SeparateRender(double SetupSeconds, double IterationSeconds)
{
    /// <summary>Seconds for such a render of <paramref name="iterations"/> iterations, setup included.</summary>
    public double Seconds(int iterations) => SetupSeconds + (iterations * IterationSeconds);
}
