using NeuralStyle.Engine;

namespace NeuralStyle.Tests;

public class RestartCostTests
{
    [Fact]
    public void A_start_costs_its_own_time_and_what_its_first_iteration_takes_beyond_the_second()
    {
        var cost = new RestartCost();
        cost.Started(0.5);
        Assert.Equal(0.5, cost.Seconds);
        cost.Iterated(3.0, 2); // first run of new shapes
        Assert.Equal(0.5, cost.Seconds); // not known until the second iteration
        cost.Iterated(1.0, 2);
        Assert.Equal(2.5, cost.Seconds);
        cost.Iterated(1.2, 2);
        Assert.Equal(2.5, cost.Seconds);
        Assert.Equal(1.2, cost.IterationSeconds);

        cost.Started(0.25); // a new start forgets the last one's first iteration
        Assert.Equal(0.25, cost.Seconds);
        cost.Iterated(0.5, 2);
        cost.Iterated(0.75, 2); // a second iteration slower than the first adds nothing
        Assert.Equal(0.25, cost.Seconds);
    }

    [Fact]
    public void A_start_pays_when_the_stopped_items_share_of_the_iterations_left_costs_more_than_it()
    {
        var cost = new RestartCost();
        cost.Started(1.0);
        cost.Iterated(0.5, 4);
        cost.Iterated(0.5, 4); // a batch of 4 at 0.125 s per image (exact in binary, so the tie below is exact)
        Assert.Equal(1.0, cost.Saving(1, 4, 8));
        Assert.False(cost.Leaving(1, 4, 8).Pays); // saves exactly what the start costs
        Assert.True(cost.Leaving(1, 4, 9).Pays);
        Assert.True(cost.Leaving(2, 4, 5).Pays); // two images out: 0.25 s per iteration
        Assert.False(cost.Leaving(3, 4, 0).Pays);
        Assert.False(cost.Leaving(3, 4, -5).Pays); // past the planned end nothing is left to save
        Assert.True(cost.Leaving(1, 4, null).Pays); // an unknown end is taken as far away
    }

    [Fact]
    public void Once_two_batch_sizes_ran_an_image_costs_the_slope_between_their_mean_iterations_not_its_share()
    {
        // An iteration with a part no image removes: 0.2 s + 0.1 s per image (0.1 is inexact in binary, hence the tolerance).
        var cost = new RestartCost();
        Run(cost, 4, 0.5, [0.5, 0.7, 0.6]); // a first iteration no slower than the next (so a start costs 0.5 s), then a mean of 0.6
        Assert.Equal(0.15, cost.ImageSeconds(4), 12); // one size only: the last iteration's share per image
        Assert.True(cost.Leaving(1, 4, 4).Pays); // 0.15 × 4 = 0.6 > 0.5

        Run(cost, 3, 0.5, [0.5, 0.5]);
        Assert.Equal(0.5 / 3, cost.ImageSeconds(3), 12); // two iterations of a size are too few to count: still the share
        cost.Iterated(0.5, 3);
        Assert.Equal(0.1, cost.ImageSeconds(3), 12); // (0.5 − 0.6) / (3 − 4)
        Assert.False(cost.Leaving(1, 3, 4).Pays); // 0.1 × 4 = 0.4 < 0.5, where the share per image (0.167) would have said it pays
        Assert.True(cost.Leaving(1, 3, 6).Pays);

        Run(cost, 1, 0.7, [0.3, 0.4, 0.35]); // the first iteration after a start is not in the mean
        Assert.Equal(0.075, cost.ImageSeconds(1), 12); // between 1 and its nearest other size, 3: (0.35 − 0.5) / (1 − 3)
        Assert.Equal(0.1, cost.ImageSeconds(3), 12); // between 3 and 4, its nearest
        Assert.Equal(0.075, cost.ImageSeconds(2), 12); // a size not measured: between the two nearest it, 1 and 3

        Run(cost, 2, 0.4, [0.3, 0.3, 0.3]); // a larger batch measured faster than a smaller one (1, 0.35 s): noise, an image saves nothing
        Assert.Equal(0, cost.ImageSeconds(2));
        Assert.False(cost.Leaving(1, 2, 1000).Pays);
    }

    /// <summary>A start (0.5 s) of a batch of <paramref name="batch"/>, its first iteration, then the others.</summary>
    private static void Run(RestartCost cost, int batch, double first, double[] then)
    {
        cost.Started(0.5);
        cost.Iterated(first, batch);
        foreach (double seconds in then)
        {
            cost.Iterated(seconds, batch);
        }
    }
}
