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
        cost.Iterated(3.0); // first run of new shapes
        Assert.Equal(0.5, cost.Seconds); // not known until the second iteration
        cost.Iterated(1.0);
        Assert.Equal(2.5, cost.Seconds);
        cost.Iterated(1.2);
        Assert.Equal(2.5, cost.Seconds);
        Assert.Equal(1.2, cost.IterationSeconds);

        cost.Started(0.25); // a new start forgets the last one's first iteration
        Assert.Equal(0.25, cost.Seconds);
        cost.Iterated(0.5);
        cost.Iterated(0.75); // a second iteration slower than the first adds nothing
        Assert.Equal(0.25, cost.Seconds);
    }

    [Fact]
    public void A_start_pays_when_the_stopped_items_share_of_the_iterations_left_costs_more_than_it()
    {
        var cost = new RestartCost();
        cost.Started(1.0);
        cost.Iterated(0.5);
        cost.Iterated(0.5); // a batch of 4 at 0.125 s per image (exact in binary, so the tie below is exact)
        Assert.Equal(1.0, cost.Saving(1, 4, 8));
        Assert.False(cost.Pays(1, 4, 8)); // saves exactly what the start costs
        Assert.True(cost.Pays(1, 4, 9));
        Assert.True(cost.Pays(2, 4, 5)); // two images out: 0.25 s per iteration
        Assert.False(cost.Pays(3, 4, 0));
        Assert.False(cost.Pays(3, 4, -5)); // past the planned end nothing is left to save
        Assert.True(cost.Pays(1, 4, null)); // an unknown end is taken as far away
    }
}
