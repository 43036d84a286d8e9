namespace NeuralStyle.Cli;

/// <summary>
/// Keeps two runs from writing the same outputs at once (the same render started twice, two renders with one --out
/// and different checkpoints, or a sweep resumed in two terminals): each would replace the other's files in turn, and
/// the folder would end up holding parts of both. A run holds a lock file beside each of its outputs while it runs;
/// .NET locks it exclusively (on Unix with flock), so the lock goes with the process however it ends, and a file left
/// by a killed run locks nothing.
/// </summary>
internal sealed class OutputLock : IDisposable
{
    private readonly List<FileStream> _held = [];

    private OutputLock()
    {
    }

    /// <summary>
    /// Takes the locks of <paramref name="outputs"/> (their folders must exist), or takes none and throws a
    /// <see cref="UserInputException"/> naming the output another run holds and what to do: <paramref name="instead"/>.
    /// </summary>
    public static OutputLock Take(IEnumerable<string> outputs, string instead)
    {
        var taken = new OutputLock();
        foreach (string output in outputs.DistinctBy(Path.GetFullPath))
        {
            string full = Path.GetFullPath(output);
            string path = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.lock");
            try
            {
                taken._held.Add(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose));
            }
            catch (IOException)
            {
                taken.Dispose();
                throw new UserInputException($"Another run is writing '{output}' now (it holds '{path}'); wait for it to end, or {instead}.");
            }
        }

        return taken;
    }

    /// <summary>Takes the lock of one output; see <see cref="Take(IEnumerable{string}, string)"/>.</summary>
    public static OutputLock Take(string output, string instead) => Take([output], instead);

    public void Dispose()
    {
        foreach (FileStream lockFile in _held)
        {
            lockFile.Dispose();
        }

        _held.Clear();
    }
}
