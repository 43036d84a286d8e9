using NeuralStyle.Runtime;

namespace NeuralStyle.Tests;

/// <summary>What a loop or pass owns is released newest first, each once, even when one release fails.</summary>
public sealed class OwnedResourcesTests
{
    [Fact]
    public void Releases_newest_first_and_each_once()
    {
        var released = new List<string>();
        var owned = new OwnedResources();
        var buffer = new Probe("buffer", released);
        Assert.Same(buffer, owned.Own(buffer));
        owned.Own(new Probe("binding", released));

        owned.Dispose();
        owned.Dispose();

        Assert.Equal(["binding", "buffer"], released);
    }

    [Fact]
    public void A_release_that_throws_does_not_keep_the_others_from_theirs_and_is_rethrown()
    {
        var released = new List<string>();
        var owned = new OwnedResources();
        owned.Own(new Probe("first", released));
        owned.Own(new Probe("failing", released, fail: true));
        owned.Own(new Probe("last", released));

        var error = Assert.Throws<InvalidOperationException>(owned.Dispose);

        Assert.Equal("failing failed to release", error.Message);
        Assert.Equal(["last", "failing", "first"], released);
    }

    [Fact]
    public void Several_failed_releases_come_back_together()
    {
        var released = new List<string>();
        var owned = new OwnedResources();
        owned.Own(new Probe("a", released, fail: true));
        owned.Own(new Probe("b", released, fail: true));

        var error = Assert.Throws<AggregateException>(owned.Dispose);

        Assert.Equal(["b failed to release", "a failed to release"], error.InnerExceptions.Select(e => e.Message));
    }

    private sealed class Probe(string name, List<string> released, bool fail = false) : IDisposable
    {
        public void Dispose()
        {
            released.Add(name);
            if (fail)
            {
                throw new InvalidOperationException($"{name} failed to release");
            }
        }
    }
}
