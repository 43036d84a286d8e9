namespace NeuralStyle.Tests.Support;

/// <summary>An <see cref="IProgress{T}"/> that reports on the reporting thread, at once (<see cref="Progress{T}"/> posts to the thread pool, so a test would race its own handler).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
