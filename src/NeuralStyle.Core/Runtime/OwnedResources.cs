using System.Runtime.ExceptionServices;

namespace NeuralStyle.Runtime;

/// <summary>
/// Resources made one after another and released together, newest first (a binding before the buffers it binds).
/// A constructor that owns through one releases what it made so far when it fails halfway, so a refused start
/// leaves no native memory to finalizers.
/// </summary>
public sealed class OwnedResources : IDisposable
{
    private readonly Stack<IDisposable> _owned = new();

    /// <summary>Takes <paramref name="resource"/> into ownership and returns it.</summary>
    public T Own<T>(T resource) where T : IDisposable
    {
        ArgumentNullException.ThrowIfNull(resource);
        _owned.Push(resource);
        return resource;
    }

    /// <summary>Releases everything, newest first, each once; a release that throws does not keep the others from theirs.</summary>
    public void Dispose()
    {
        List<Exception>? failures = null;
        while (_owned.TryPop(out IDisposable? resource))
        {
            try
            {
                resource.Dispose();
            }
            catch (Exception e)
            {
                (failures ??= []).Add(e);
            }
        }

        if (failures is [Exception only])
        {
            ExceptionDispatchInfo.Throw(only);
        }

        if (failures is not null)
        {
            throw new AggregateException("Several resources failed to release.", failures);
        }
    }
}
