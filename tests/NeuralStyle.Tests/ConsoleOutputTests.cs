using System.Text;
using NeuralStyle.Cli;

namespace NeuralStyle.Tests;

/// <summary>The console writer that outlives its terminal.</summary>
public sealed class ConsoleOutputTests
{
    [Fact]
    public void Writes_pass_through_until_the_terminal_fails_and_are_dropped_after()
    {
        using var terminal = new FailingWriter();
        using var output = new ConsoleOutput(terminal);
        output.WriteLine("iteration 1");
        output.Write('x');
        Assert.Equal("iteration 1" + Environment.NewLine + "x", terminal.Text.ToString());

        terminal.HungUp = true;
        output.WriteLine("Stopping after this iteration and saving…"); // would throw without the guard
        terminal.HungUp = false;
        output.WriteLine("Interrupted at iteration 2.");
        Assert.Equal("iteration 1" + Environment.NewLine + "x", terminal.Text.ToString()); // nothing after the failure
        Assert.Equal(1, terminal.Failures);
    }

    /// <summary>A terminal whose writes fail with EIO once it has hung up.</summary>
    private sealed class FailingWriter : TextWriter
    {
        public StringBuilder Text { get; } = new();

        public bool HungUp { get; set; }

        public int Failures { get; private set; }

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            if (HungUp)
            {
                Failures++;
                throw new IOException("Input/output error");
            }

            Text.Append(value);
        }
    }
}
