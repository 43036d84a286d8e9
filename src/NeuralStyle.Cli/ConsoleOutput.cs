namespace NeuralStyle.Cli;

/// <summary>
/// A console stream that stops writing, instead of failing, once the terminal is gone: after a hang-up a write to
/// the terminal fails (EIO), and a run that is saving its work must not fail for want of somewhere to say so.
/// </summary>
internal sealed class ConsoleOutput(TextWriter inner) : TextWriter
{
    private volatile bool _gone;

    public override System.Text.Encoding Encoding => inner.Encoding;

    public override IFormatProvider FormatProvider => inner.FormatProvider;

    public override void Write(char value) => Guard(() => inner.Write(value));

    public override void Write(string? value) => Guard(() => inner.Write(value));

    public override void Write(char[] buffer, int index, int count) => Guard(() => inner.Write(buffer, index, count));

    public override void WriteLine(string? value) => Guard(() => inner.WriteLine(value));

    public override void WriteLine() => Guard(inner.WriteLine);

    public override void Flush() => Guard(inner.Flush);

    private void Guard(Action write)
    {
        if (_gone)
        {
            return;
        }

        try
        {
            write();
        }
        catch (IOException)
        {
            _gone = true; // the rest of the run's messages have no reader
        }
    }
}
