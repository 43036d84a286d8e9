namespace NeuralStyle.Cli;

/// <summary>
/// Keeps two runs from writing the same outputs at once (the same render started twice, two renders with one --out
/// and different checkpoints, or a sweep resumed in two terminals): each would replace the other's files in turn, and
/// the folder would end up holding parts of both. A run holds a lock file beside each of its outputs while it runs;
/// .NET locks it exclusively (on Unix with flock), so the lock goes with the process however it ends, and a file left
/// by a killed run locks nothing. A run that exits at once (a second Ctrl-C) still deletes its lock files.
/// </summary>
internal sealed class OutputLock : IDisposable
{
    // Every lock held in this process: Environment.Exit (a second Ctrl-C) skips the using blocks that would release
    // them, but raises ProcessExit, where they are released.
    private static readonly HashSet<OutputLock> Taken = CreateTaken();

    private readonly List<FileStream> _held = [];

    private OutputLock()
    {
    }

    private static HashSet<OutputLock> CreateTaken()
    {
        var taken = new HashSet<OutputLock>();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            OutputLock[] all;
            lock (taken)
            {
                all = [.. taken];
            }

            foreach (OutputLock held in all)
            {
                held.Dispose();
            }
        };
        return taken;
    }

    /// <summary>
    /// Takes the locks of <paramref name="outputs"/> (their folders must exist), or takes none and throws a
    /// <see cref="UserInputException"/> naming the output another run holds and what to do: <paramref name="instead"/>.
    /// </summary>
    public static OutputLock Take(IEnumerable<string> outputs, string instead)
    {
        var taken = new OutputLock();
        lock (Taken)
        {
            Taken.Add(taken);
        }

        foreach (string output in outputs.DistinctBy(Path.GetFullPath))
        {
            string full = Path.GetFullPath(output);
            string path = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.lock");
            try
            {
                var lockFile = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
                lock (Taken)
                {
                    taken._held.Add(lockFile);
                }
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
        lock (Taken)
        {
            Taken.Remove(this);
            foreach (FileStream lockFile in _held)
            {
                lockFile.Dispose(); // deletes it (FileOptions.DeleteOnClose)
            }

            _held.Clear();
        }
    }
}
