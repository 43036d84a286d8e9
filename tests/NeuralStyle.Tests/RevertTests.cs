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

    [Fact]
    public void A_frozen_item_between_updated_ones_goes_back_to_before_its_own_last_update()
    {
        using CpuBackend backend = TinyProblem.NewCpuBackend();
        FrozenItemBetweenUpdatedOnes(backend);
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
        OptimizerState afterTwo = backend.ReadState();

        backend.RevertLastUpdate(0);
        backend.RevertLastUpdate(0);

        OptimizerState state = backend.ReadState();
        int length = 3 * H * W;
        Assert.Equal([8, 9], state.Steps); // item 0 back to 8, item 1 untouched at 9
        Assert.Equal(afterOne.Images.AsSpan(0, length).ToArray(), state.Images.AsSpan(0, length).ToArray());
        Assert.Equal(afterOne.FirstMoment.AsSpan(0, length).ToArray(), state.FirstMoment.AsSpan(0, length).ToArray());
        Assert.Equal(afterOne.SecondMoment.AsSpan(0, length).ToArray(), state.SecondMoment.AsSpan(0, length).ToArray());
        Assert.NotEqual(afterOne.Images.AsSpan(length).ToArray(), state.Images.AsSpan(length).ToArray());

        // The reverted update, taken again, is the same update: Adam's bias corrections follow the step count the
        // revert set (one step off moves a pixel by about 5% of its update here, ~0.1 of 0..255). Tolerance: 1e-3
        // absolute and 1e-5 relative, as a device may sum the gradient in another order on another run.
        backend.Iterate();
        OptimizerState again = backend.ReadState();
        Assert.Equal([9, 10], again.Steps);
        Tolerance.AssertClose(afterTwo.Images.AsSpan(0, length).ToArray().Select(x => (double)x).ToArray(), again.Images.AsSpan(0, length), 1e-3, 1e-5, "item 0's image, its update taken again");
    }

    /// <summary>
    /// A sweep's item that stopped early stays in the batch, frozen, between items still running (a device backend keeps
    /// the running items' states for a revert in runs of neighbours, so both a split run and a whole one are checked).
    /// Reverting every item takes each back to before its own last update.
    /// </summary>
    internal static void FrozenItemBetweenUpdatedOnes(IStyleBackend backend)
    {
        OptimizerState resumed = Resumed(backend, out StyleTargets targets, items: 3);
        bool[] noneFrozen = [false, false, false], middleFrozen = [false, true, false];

        // Frozen in the last iteration: the middle item goes back to before the first.
        var (afterFirst, reverted) = TwoIterationsThenRevertAll(backend, targets, resumed, noneFrozen, middleFrozen);
        Assert.Equal([8, 7, 8], reverted.Steps);
        AssertItemState(afterFirst, reverted, 0, "item 0, its last update reverted");
        AssertItemState(resumed, reverted, 1, "the item frozen in the last iteration, reverted");
        AssertItemState(afterFirst, reverted, 2, "item 2, its last update reverted");

        // Frozen in the first iteration, running in the last: every item goes back to after the first.
        (afterFirst, reverted) = TwoIterationsThenRevertAll(backend, targets, resumed, middleFrozen, noneFrozen);
        Assert.Equal([8, 7, 8], reverted.Steps);
        for (int n = 0; n < 3; n++)
        {
            AssertItemState(afterFirst, reverted, n, $"item {n}, its last update reverted");
        }
    }

    private static (OptimizerState AfterFirst, OptimizerState Reverted) TwoIterationsThenRevertAll(IStyleBackend backend, StyleTargets targets,
        OptimizerState start, bool[] firstFrozen, bool[] secondFrozen)
    {
        backend.Start(targets, start, H, W, [3.0, 5.0, 7.0]);
        backend.Iterate(firstFrozen);
        OptimizerState afterFirst = backend.ReadState();
        backend.Iterate(secondFrozen);
        for (int n = 0; n < start.Steps.Length; n++)
        {
            backend.RevertLastUpdate(n);
        }

        return (afterFirst, backend.ReadState());
    }

    /// <summary>Item <paramref name="n"/>'s image and moments, exactly.</summary>
    private static void AssertItemState(OptimizerState expected, OptimizerState actual, int n, string what)
    {
        int length = 3 * H * W;
        float[] Item(float[] values) => values.AsSpan(n * length, length).ToArray();
        Assert.True(Item(expected.Images).SequenceEqual(Item(actual.Images)), $"{what}: image");
        Assert.True(Item(expected.FirstMoment).SequenceEqual(Item(actual.FirstMoment)), $"{what}: m");
        Assert.True(Item(expected.SecondMoment).SequenceEqual(Item(actual.SecondMoment)), $"{what}: v");
    }

    /// <summary>A state of <paramref name="items"/> items seven updates in, with moments that are not zero, as a checkpoint would hold it.</summary>
    private static OptimizerState Resumed(IStyleBackend backend, out StyleTargets targets, int items = 2)
    {
        targets = TinyProblem.Targets(backend, TinyProblem.Image(6));
        float[] images = [.. Enumerable.Range(0, items).SelectMany(n => TinyProblem.Image(7 + (ulong)n))];
        float[] m = images.Select((_, i) => (float)Math.Sin(i) * 0.5f).ToArray();
        float[] v = images.Select((_, i) => 0.25f + (i % 5)).ToArray();
        return new OptimizerState(Enumerable.Repeat(7, items).ToArray(), images, m, v);
    }
}
