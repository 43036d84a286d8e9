using NeuralStyle.Engine;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// An engine hands its backend (network, sessions, kernels) to the next batch of the same run, as a sweep does when
/// rates catch up and then join the others: the run goes on exactly as it would on a backend of its own.
/// </summary>
public sealed class HandOverTests
{
    [Fact]
    public void Batches_that_take_over_one_backend_in_turn_end_exactly_where_one_batch_gets_straight()
    {
        StyleProblem problem = SmallVggProblem.Create();
        RunSettings settings = ProblemSettings.For(problem);
        using StyleTransferEngine straight = StyleTransferEngine.Create(problem, [2, 5, 10], DeviceKind.Cpu);
        Steps(straight, 3);
        straight.Evaluate(); // a batch is split where its losses are measured, as at a sweep's checkpoint
        Checkpoint atThree = straight.CreateCheckpoint(settings);
        Steps(straight, 9);

        // lr 5 and 10 go on to 6 with lr 2 set aside at 3; lr 2 catches up alone on their backend; all three go on to 9 on it.
        StyleTransferEngine pair = StyleTransferEngine.Resume(atThree.SetAsideAllBut([1, 2]), SmallVggProblem.Vgg, DeviceKind.Cpu);
        Steps(pair, 6);
        Checkpoint atSix = pair.CreateCheckpoint(settings);
        Checkpoint behind = atSix.Items([0]);
        StyleTransferEngine alone = pair.HandOver(behind);
        Assert.Throws<InvalidOperationException>(() => pair.Step()); // its backend now runs another batch
        pair.Dispose(); // frees nothing the batch that took over needs
        Steps(alone, 6);
        using StyleTransferEngine joined = alone.HandOver(atSix.WithItems(alone.CreateCheckpoint(behind.Settings), [0]));
        alone.Dispose();
        Assert.Equal(3, joined.BatchSize);
        Steps(joined, 9);

        Checkpoint expected = straight.CreateCheckpoint(settings), actual = joined.CreateCheckpoint(settings);
        Assert.Equal([null, null, null], actual.Stopped);
        Assert.Equal(expected.State.Steps, actual.State.Steps);
        Assert.Equal(expected.State.Images, actual.State.Images); // on the CPU a batch's size changes no item's result
        Assert.Equal(expected.State.SecondMoment, actual.State.SecondMoment);
        Assert.Equal(expected.Best!.Images, actual.Best!.Images);
        for (int n = 0; n < 3; n++)
        {
            Assert.Equal(expected.History[n].Select(r => (r.Iteration, r.Loss.Total)), actual.History[n].Select(r => (r.Iteration, r.Loss.Total)));
        }
    }

    [Fact]
    public void A_batch_of_another_loss_is_refused_and_the_engine_goes_on_with_its_own()
    {
        var (stepped, checkpoint) = SmallVggProblem.AfterOneIteration(5);
        using StyleTransferEngine engine = stepped;
        RunSettings settings = checkpoint.Settings;
        LossSettings loss = settings.Loss;

        var e = Assert.Throws<ArgumentException>(() => engine.HandOver(checkpoint with { Settings = settings with { Loss = loss with { StyleWeight = 1 } } }));
        Assert.Equal("The checkpoint differs from the run this engine's backend was built for in its loss; resume it in an engine of its own. (Parameter 'next')", e.Message);
        Assert.Throws<ArgumentException>(() => engine.HandOver(checkpoint with { Settings = settings with { Loss = loss with { StyleLayers = [.. loss.StyleLayers.SkipLast(1)] } } }));
        e = Assert.Throws<ArgumentException>(() => engine.HandOver(checkpoint with { Settings = settings with { Adam = new AdamSettings { Beta2 = 0.99 } } }));
        Assert.Contains(" in its Adam constants;", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => engine.HandOver(checkpoint with { Settings = settings with { WeightsIdentity = "random:1" } }));
        Assert.Contains($" in its weights (random:1, not {settings.WeightsIdentity});", e.Message, StringComparison.Ordinal);
        engine.Step();
        Assert.Equal(2, engine.Iteration);

        // The same loss in lists of its own (as a checkpoint read from a file has) is the same loss.
        using StyleTransferEngine continued = engine.HandOver(checkpoint with { Settings = settings with { Loss = loss with { StyleLayers = [.. loss.StyleLayers], ContentLayers = [.. loss.ContentLayers] } } });
        Assert.Equal(1, continued.Iteration);
    }

    private static void Steps(StyleTransferEngine engine, int to)
    {
        while (engine.Iteration < to)
        {
            engine.Step();
        }
    }
}
