using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace NeuralStyle;

/// <summary>
/// Writes files through a temporary name in the same folder and renames it into place, so a crash leaves either
/// the old file or the new one, never a half-written one. Nor does it leave the temporary file: a process that exits
/// in the middle of a write (a second Ctrl-C) deletes it on its way out, and one killed outright leaves it to the
/// next write of the same file, which deletes it.
/// </summary>
public static class AtomicFile
{
    private static long _writes;

    // The temporary files of the writes under way, deleted if the process exits in the middle of one: Environment.Exit
    // (a second Ctrl-C) skips every finally block but raises ProcessExit.
    private static readonly ConcurrentDictionary<string, bool> Underway = CreateUnderway();

    private static ConcurrentDictionary<string, bool> CreateUnderway()
    {
        var underway = new ConcurrentDictionary<string, bool>();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (string temporary in underway.Keys)
            {
                DeleteIfThere(temporary);
            }
        };
        return underway;
    }

    /// <summary>
    /// Writes <paramref name="path"/> with <paramref name="write"/>, atomically. A write the system refuses (a full
    /// disk, no permission) throws an <see cref="IOException"/> that names the file and says the old one is kept.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder))
        {
            throw new UserInputException($"Cannot write '{path}': the folder '{folder}' does not exist; create it first.");
        }

        DeleteLeftBehind(full);
        // Unique per write, not only per process: an application may save from two transfers at once.
        string temporary = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Interlocked.Increment(ref _writes)}.tmp");
        Underway[temporary] = true;
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // .NET's message names the temporary file (" : '/out/.x.png.123.1.tmp'"); the user knows only the path they gave.
            string reason = e.Message.Replace($" : '{temporary}'", "", StringComparison.Ordinal).TrimEnd('.');
            throw new IOException($"Cannot write '{path}': {reason}; {(File.Exists(full) ? "the file there before is kept" : "nothing was written there")}.", e);
        }
        finally
        {
            DeleteIfThere(temporary);
            Underway.TryRemove(temporary, out _);
        }
    }

    /// <summary>
    /// Deletes the temporary files of <paramref name="full"/> that a process killed in the middle of a write left
    /// (<c>.NAME.PID.N.tmp</c>, as large as the file was when it died): those of a process that no longer runs.
    /// </summary>
    private static void DeleteLeftBehind(string full)
    {
        string prefix = $".{Path.GetFileName(full)}.";
        string[] temporaries;
        try
        {
            temporaries = Directory.GetFiles(Path.GetDirectoryName(full)!, ".*.tmp");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return; // a folder that cannot be listed can still be written to
        }

        foreach (string file in temporaries)
        {
            string name = Path.GetFileName(file);
            string[] parts = name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..].Split('.') : [];
            if (parts is [string pid, string write, "tmp"] && write.All(char.IsAsciiDigit)
                && int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out int id) && id != Environment.ProcessId && !IsRunning(id))
            {
                DeleteIfThere(file);
            }
        }
    }

    /// <summary>Whether a process <paramref name="processId"/> runs (a process of another user counts: its files are not ours to judge).</summary>
    private static bool IsRunning(int processId)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            return true;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
    }

    /// <summary>Deletes <paramref name="path"/> where it can; a file it cannot delete is left as it is.</summary>
    private static void DeleteIfThere(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left as it is: what matters is the file written, not its temporary.
        }
    }

    /// <summary>
    /// Refuses, with a <see cref="UserInputException"/>, a folder this process cannot create files in (no permission,
    /// a read-only file system), so that a long run is not refused only when it saves its result. A folder that does
    /// not exist yet is judged by the nearest folder above it that does, where it would be made (and refused if a file
    /// stands in its way); nothing is created here, so a run refused later leaves no empty folder behind
    /// (<see cref="CreateFolderOf"/> makes it when the run starts).
    /// </summary>
    public static void RequireWritableFolder(string folder, string option)
    {
        string existing = Path.GetFullPath(folder);
        while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is string parent)
        {
            if (File.Exists(existing))
            {
                throw new UserInputException($"Cannot create files in '{folder}': '{existing}' is a file, not a folder; give {option} a folder you can write to.");
            }

            existing = parent;
        }

        string probe = Path.Combine(existing, $".neuralstyle-probe.{Environment.ProcessId}.tmp");
        try
        {
            using var stream = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"Cannot create files in '{folder}' ({e.Message.TrimEnd('.')}); give {option} a folder you can write to.");
        }
    }

    /// <summary>Makes the folder <paramref name="file"/> goes in, and its parents, if they do not exist yet.</summary>
    public static void CreateFolderOf(string file) => Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);

    /// <summary>Writes text atomically (UTF-8).</summary>
    public static void WriteText(string path, string text) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), leaveOpen: true);
            writer.Write(text);
        });
}
