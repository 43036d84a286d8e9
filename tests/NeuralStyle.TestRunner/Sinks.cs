using Xunit.Abstractions;
using Xunit;

namespace NeuralStyle.TestRunner;

/// <summary>Options for xunit's discoverer and executor; unset values take xunit's defaults.</summary>
internal sealed class FrameworkOptions : ITestFrameworkDiscoveryOptions, ITestFrameworkExecutionOptions
{
    private readonly Dictionary<string, object?> _values = [];

    public TValue GetValue<TValue>(string name) => _values.TryGetValue(name, out object? value) && value is TValue typed ? typed : default!;

    public void SetValue<TValue>(string name, TValue value) => _values[name] = value;
}

/// <summary>Collects the discovered test cases.</summary>
internal sealed class DiscoverySink : LongLivedMarshalByRefObject, IMessageSink
{
    public List<ITestCase> TestCases { get; } = [];

    public ManualResetEventSlim Finished { get; } = new();

    public bool OnMessage(IMessageSinkMessage message)
    {
        if (message is ITestCaseDiscoveryMessage discovered)
        {
            TestCases.Add(discovered.TestCase);
        }
        else if (message is IDiscoveryCompleteMessage)
        {
            Finished.Set();
        }

        return true;
    }
}

/// <summary>Shows xunit's diagnostic messages (e.g. a discoverer that could not load).</summary>
internal sealed class DiagnosticSink(TextWriter output) : LongLivedMarshalByRefObject, IMessageSink
{
    public bool OnMessage(IMessageSinkMessage message)
    {
        if (message is IDiagnosticMessage diagnostic)
        {
            output.WriteLine($"[xunit] {diagnostic.Message}");
        }

        return true;
    }
}

/// <summary>
/// Prints each test as it starts and its result as it arrives, and counts the results. A failure outside any test (a
/// fixture's constructor or cleanup) counts as a failure too, so that it cannot pass unseen. A "Starting" line with
/// no result after it names the test a native fault ended the process in.
/// </summary>
internal sealed class ConsoleReporter(TextWriter output) : LongLivedMarshalByRefObject, IMessageSink
{
    public int Passed { get; private set; }

    public int Failed { get; private set; }

    public int Skipped { get; private set; }

    public int Total => Passed + Failed + Skipped;

    public ManualResetEventSlim Finished { get; } = new();

    public bool OnMessage(IMessageSinkMessage message)
    {
        switch (message)
        {
            case ITestStarting starting:
                output.WriteLine($"  Starting {starting.Test.DisplayName}");
                break;
            case ITestPassed passed:
                Passed++;
                output.WriteLine($"  Passed {passed.Test.DisplayName} [{Seconds(passed.ExecutionTime)}]");
                WriteIndented(passed.Output); // what a passing test measured (how far the GPU's results lay from the CPU's)
                break;
            case ITestFailed failed:
                Failed++;
                output.WriteLine($"  Failed {failed.Test.DisplayName} [{Seconds(failed.ExecutionTime)}]");
                WriteFailure(failed);
                WriteIndented(failed.Output);
                break;
            case ITestSkipped skipped:
                Skipped++;
                output.WriteLine($"  Skipped {skipped.Test.DisplayName}: {skipped.Reason}");
                break;
            case IFailureInformation failure:
                Failed++;
                output.WriteLine($"  Failed outside a test ({message.GetType().Name})");
                WriteFailure(failure);
                break;
            case ITestAssemblyFinished:
                Finished.Set();
                break;
        }

        return true;
    }

    private static string Seconds(decimal seconds) => $"{seconds:0.000} s";

    private void WriteFailure(IFailureInformation failure)
    {
        for (int i = 0; i < failure.Messages.Length; i++)
        {
            WriteIndented($"{failure.ExceptionTypes[i]}: {failure.Messages[i]}");
            WriteIndented(failure.StackTraces[i]);
        }
    }

    private void WriteIndented(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return;
        }

        foreach (string line in text.Split('\n'))
        {
            output.WriteLine("      " + line.TrimEnd('\r'));
        }
    }
}
