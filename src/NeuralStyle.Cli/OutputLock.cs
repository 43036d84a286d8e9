namespace NeuralStyle.Cli;

/// <summary>
/// Keeps two runs from writing the same outputs at once (the same render started twice, or a sweep resumed in two
/// terminals): each would replace the other's checkpoint and images in turn, and the folder would end up holding
/// parts of both. A run holds a lock file beside its checkpoint while it runs; .NET locks it exclusively (on Unix
/// with flock), so the lock goes with the process however it ends, and a file left by a killed run locks nothing.
/// </summary>
internal sealed class OutputLock : IDisposable
{
    private readonly FileStream _stream;

    private OutputLock(FileStream stream) => _stream = stream;

    /// <summary>
    /// Takes the lock for <paramref name="checkpoint"/> (its folder must exist), or throws a
    /// <see cref="UserInputException"/> saying another run holds it and what to do: <paramref name="instead"/>.
    /// </summary>
    public static OutputLock Take(string checkpoint, string instead)
    {
        string full = Path.GetFullPath(checkpoint);
        string path = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.lock");
        try
        {
            return new OutputLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose));
        }
        catch (IOException)
        {
            throw new UserInputException($"Another run is writing '{checkpoint}' now (it holds '{path}'); wait for it to end, or {instead}.");
        }
    }

    public void Dispose() => _stream.Dispose();
}
