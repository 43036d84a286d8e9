using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
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
    /// Times one single-image render of <paramref name="problem"/> at the first learning rate (setup plus two
    /// iterations after a warm-up), its setup including the <paramref name="loading"/> seconds its images took, and
    /// says so on <paramref name="output"/>. Its memory is handed back before it returns.
    /// </summary>
    public static SeparateRender Time(StyleProblem problem, double loading, SweepOptions o, TextWriter output)
    {
        output.WriteLine("Timing one separate render of the same settings to compare with (--no-estimate skips this)…");
        var (setup, perIteration) = TimeOneRender(problem, o);
        setup += loading;

        // The engine is unreachable now (see TimeOneRender): collect its buffers before the sweep allocates its own.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"One separate render: {setup:F1} s setup + {perIteration:F3} s per iteration (measured)."));
        return new SeparateRender(setup, perIteration);
    }

    /// <summary>
    /// Seconds to set up one single-image render and per iteration (the mean of two after a warm-up). A method of its
    /// own so that the engine is unreachable once it returns: the JIT may keep a local of the caller alive to the
    /// caller's end, and the collection after it would then find the engine's buffers still in use.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (double Setup, double PerIteration) TimeOneRender(StyleProblem problem, SweepOptions o)
    {
        var clock = Stopwatch.StartNew();
        using StyleTransferEngine single = ProblemFactory.CreateEngine(problem, [o.LearningRates.First()], o.Device, o.Precision, _ => { });
        double setup = clock.Elapsed.TotalSeconds;
        single.Step();
        clock.Restart();
        single.Step();
        single.Step();
        return (setup, clock.Elapsed.TotalSeconds / 2);
    }
}
