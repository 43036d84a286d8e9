using NeuralStyle.Cpu;
using NeuralStyle.Engine;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// RevertLastUpdate takes an item back to its state before its last update, and to the state it started from when
/// it has had no update since Start: a resumed run whose first loss is not finite keeps the image it resumed with.
/// The checks are shared with the CUDA backend's test (<see cref="CudaBackendTests"/>).
/// </summary>
public sealed class RevertTests
{
    private const int H = TinyProblem.Height, W = TinyProblem.Width;

    [Fact]
    public void With_no_update_since_start_the_loaded_state_stays()
    {
        using CpuBackend backend = TinyProblem.NewCpuBackend();
        NoUpdateKeepsTheLoadedState(backend);
    }

    [Fact]
    public void After_updates_the_item_goes_back_one_update_and_a_second_revert_changes_nothing()
    {
        using CpuBackend backend = TinyProblem.NewCpuBackend();
        RevertGoesBackOneUpdate(backend);
    }

    internal static void NoUpdateKeepsTheLoadedState(IStyleBackend backend)
    {
        OptimizerState resumed = Resumed(backend, out StyleTargets targets);
        backend.Start(targets, resumed, H, W, [3.0, 5.0]);

        backend.RevertLastUpdate(1);

        OptimizerState state = backend.ReadState();
        Assert.Equal(resumed.Steps, state.Steps);
        Assert.Equal(resumed.Images, state.Images);
        Assert.Equal(resumed.FirstMoment, state.FirstMoment);
        Assert.Equal(resumed.SecondMoment, state.SecondMoment);
    }

    internal static void RevertGoesBackOneUpdate(IStyleBackend backend)
    {
        OptimizerState resumed = Resumed(backend, out StyleTargets targets);
        backend.Start(targets, resumed, H, W, [3.0, 5.0]);
        backend.Iterate();
        OptimizerState afterOne = backend.ReadState();
        backend.Iterate();

        backend.RevertLastUpdate(0);
        backend.RevertLastUpdate(0);

        OptimizerState state = backend.ReadState();
        int length = 3 * H * W;
        Assert.Equal([8, 9], state.Steps); // item 0 back to 8, item 1 untouched at 9
        Assert.Equal(afterOne.Images.AsSpan(0, length).ToArray(), state.Images.AsSpan(0, length).ToArray());
        Assert.Equal(afterOne.FirstMoment.AsSpan(0, length).ToArray(), state.FirstMoment.AsSpan(0, length).ToArray());
        Assert.Equal(afterOne.SecondMoment.AsSpan(0, length).ToArray(), state.SecondMoment.AsSpan(0, length).ToArray());
        Assert.NotEqual(afterOne.Images.AsSpan(length).ToArray(), state.Images.AsSpan(length).ToArray());
    }

    /// <summary>A two-item state seven updates in, with moments that are not zero, as a checkpoint would hold it.</summary>
    private static OptimizerState Resumed(IStyleBackend backend, out StyleTargets targets)
    {
        targets = TinyProblem.Targets(backend, TinyProblem.Image(6));
        float[] images = [.. TinyProblem.Image(7), .. TinyProblem.Image(8)];
        float[] m = images.Select((_, i) => (float)Math.Sin(i) * 0.5f).ToArray();
        float[] v = images.Select((_, i) => 0.25f + (i % 5)).ToArray();
        return new OptimizerState([7, 7], images, m, v);
    }
}
