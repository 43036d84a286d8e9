using System.Collections.Concurrent;

namespace NeuralStyle.Native;

/// <summary>
/// Maps the opaque <c>ns_engine*</c> values handed to C to engines. A handle is a never-reused number, not a
/// pointer into managed memory, so a released or invented handle is recognised and refused instead of crashing.
/// </summary>
internal static class HandleTable
{
    private static readonly ConcurrentDictionary<nint, StyleTransfer> Engines = new();
    private static long _next;

    public static nint Add(StyleTransfer engine)
    {
        nint handle = (nint)Interlocked.Increment(ref _next);
        Engines[handle] = engine;
        return handle;
    }

    public static StyleTransfer Get(nint handle) =>
        Engines.TryGetValue(handle, out StyleTransfer? engine) ? engine : throw new InvalidHandleException();

    public static StyleTransfer? Remove(nint handle) => Engines.TryRemove(handle, out StyleTransfer? engine) ? engine : null;
}

/// <summary>A handle that is NULL, released or unknown.</summary>
internal sealed class InvalidHandleException : Exception
{
    public InvalidHandleException()
        : base("The engine handle is NULL, already released, or was never created.")
    {
    }

    public InvalidHandleException(string message)
        : base(message)
    {
    }

    public InvalidHandleException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
