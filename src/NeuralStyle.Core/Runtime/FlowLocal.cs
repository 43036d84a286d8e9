namespace NeuralStyle.Runtime;

/// <summary>
/// A setting that holds for the thread or async flow that made it and the work that flow starts, not for the other
/// threads of the process (a test class beside it, an embedding host's own threads). <see cref="Use"/> scopes it.
/// </summary>
/// <typeparam name="T">The setting's type; its default means unset.</typeparam>
internal sealed class FlowLocal<T>
{
    private readonly AsyncLocal<T?> _value = new();

    /// <summary>The value in this flow.</summary>
    public T? Value
    {
        get => _value.Value;
        set => _value.Value = value;
    }

    /// <summary>Sets <paramref name="value"/> until the result is disposed, then restores what it was.</summary>
    public IDisposable Use(T? value)
    {
        var restore = new Restore(this, Value);
        Value = value;
        return restore;
    }

    private sealed class Restore(FlowLocal<T> owner, T? before) : IDisposable
    {
        public void Dispose() => owner.Value = before;
    }
}
