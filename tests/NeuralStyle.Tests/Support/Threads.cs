using System.Runtime.ExceptionServices;

namespace NeuralStyle.Tests.Support;

/// <summary>Runs work on a thread of its own, as an embedding host may hand an engine between threads.</summary>
internal static class Threads
{
    /// <summary>Runs <paramref name="work"/> on a new thread and waits; its exception is rethrown here with its stack.</summary>
    public static T OnNewThread<T>(Func<T> work)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        });
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }
}
