using System.Diagnostics;
using System.Globalization;

namespace NeuralStyle.Runtime;

/// <summary>What this process uses of the machine's memory, and what the machine has.</summary>
public static class ProcessMemory
{
    // Figures a flow reads instead of the machine's (Pretend): tests of the memory checks, on a machine of any size.
    private static readonly FlowLocal<(long Available, long Resident)?> Pretended = new();

    /// <summary>Peak resident memory of this process so far (Linux VmHWM; elsewhere the peak working set).</summary>
    public static long PeakBytes() => OwnFigure("VmHWM:", process => process.PeakWorkingSet64);

    /// <summary>Resident memory of this process now (Linux VmRSS; elsewhere the working set).</summary>
    public static long ResidentBytes() => Pretended.Value?.Resident ?? OwnFigure("VmRSS:", process => process.WorkingSet64);

    /// <summary>Memory available to a new job: Linux MemAvailable, elsewhere what the GC reports as available.</summary>
    public static long AvailableBytes()
    {
        if (Pretended.Value is { } pretended)
        {
            return pretended.Available;
        }

        long? available = ReadStatusKilobytes("/proc/meminfo", "MemAvailable:");
        return available is long kb ? kb * 1024 : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }

    /// <summary>
    /// Makes this flow (and the work it starts) read <paramref name="available"/> and <paramref name="resident"/> bytes
    /// instead of the machine's figures until the result is disposed; other threads read the machine's.
    /// </summary>
    internal static IDisposable Pretend(long available, long resident) => Pretended.Use((available, resident));

    /// <summary>This process's figure <paramref name="key"/> from /proc/self/status where there is one (Linux), else <paramref name="elsewhere"/>'s.</summary>
    private static long OwnFigure(string key, Func<Process, long> elsewhere)
    {
        if (ReadStatusKilobytes("/proc/self/status", key) is long kb)
        {
            return kb * 1024;
        }

        using var process = Process.GetCurrentProcess();
        return elsewhere(process);
    }

    private static long? ReadStatusKilobytes(string file, string key)
    {
        if (!File.Exists(file))
        {
            return null;
        }

        foreach (string line in File.ReadLines(file))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                string number = line[key.Length..].Trim().Split(' ')[0];
                return long.Parse(number, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }
}
