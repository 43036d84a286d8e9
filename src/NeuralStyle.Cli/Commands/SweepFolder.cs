using System.Globalization;
using NeuralStyle.Cli.Reports;
using NeuralStyle.Study;

namespace NeuralStyle.Cli.Commands;

/// <summary>
/// What a new sweep may do to its <c>--out-dir</c>: write its files there, but never over a file already there
/// without <c>--force</c> (an earlier sweep, which may have taken hours, or a page of the user's own, such as an
/// <c>index.html</c> in <c>--out-dir .</c>), and never over one of its inputs.
/// </summary>
internal static class SweepFolder
{
    /// <summary>
    /// Refuses, before any work, a sweep into <paramref name="folder"/> that would write over one of its inputs, or,
    /// without <paramref name="force"/>, over any file there. A sweep that may end at a plateau
    /// (<paramref name="anyIteration"/>) saves its images at whatever iteration that is.
    /// </summary>
    public static void RequireNothingReplaced(string folder, IReadOnlyList<double> rates, IReadOnlyList<int> checkpoints, bool anyIteration,
        IEnumerable<string> inputs, bool force)
    {
        string[] written = Files(folder, rates, checkpoints, anyIteration).Select(name => Path.GetFullPath(Path.Combine(folder, name))).ToArray();
        string? input = inputs.Where(File.Exists).FirstOrDefault(p => written.Contains(Path.GetFullPath(p)));
        if (input is not null)
        {
            throw new UserInputException($"The sweep would write '{input}', one of its inputs, into --out-dir '{folder}'; choose another --out-dir so the input is kept.");
        }

        string[] there = written.Where(File.Exists).Select(Path.GetFileName).ToArray()!;
        if (there.Length > 0 && !force)
        {
            string names = there.Length <= 3 ? string.Join(", ", there) : $"{string.Join(", ", there.Take(3))} and {there.Length - 3} more";
            string earlier = File.Exists(Path.Combine(folder, SweepReport.CheckpointFile))
                ? $" (an earlier sweep: continue it with 'sweep --resume {folder} --checkpoints N')" : "";
            throw new UserInputException($"--out-dir '{folder}' already holds {names}, which this sweep would replace{earlier}; choose another --out-dir, or give --force to replace {(there.Length == 1 ? "it" : "them")}.");
        }
    }

    /// <summary>
    /// With --force, once the new sweep has started: removes the earlier sweep's images, which the new report would
    /// not list, so that the folder holds one sweep. Its other files are replaced as the new sweep writes them.
    /// </summary>
    public static void RemoveEarlierImages(string folder, IEnumerable<string> inputs)
    {
        List<CheckpointMetrics> earlier;
        try
        {
            earlier = SweepReport.ReadMetrics(folder);
        }
        catch (UserInputException)
        {
            return; // a damaged report names no images; the new one replaces it
        }

        string[] kept = inputs.Select(Path.GetFullPath).ToArray(); // an earlier result can be this sweep's --content
        foreach (CheckpointMetrics m in earlier)
        {
            string image = Path.Combine(folder, Path.GetFileName(m.Image)); // only ever inside the folder
            if (File.Exists(image) && !kept.Contains(Path.GetFullPath(image)))
            {
                File.Delete(image);
            }
        }
    }

    /// <summary>
    /// The names of the files a sweep of <paramref name="rates"/> to <paramref name="checkpoints"/> writes; for one that
    /// may end at any iteration (<paramref name="anyIteration"/>), also those of its images at other iterations up to
    /// the last checkpoint that <paramref name="folder"/> holds already.
    /// </summary>
    private static IEnumerable<string> Files(string folder, IReadOnlyList<double> rates, IReadOnlyList<int> checkpoints, bool anyIteration)
    {
        IEnumerable<string> images = rates.SelectMany(rate => checkpoints.Select(k => LearningRateSweep.ImageName(rate, k)));
        if (anyIteration && Directory.Exists(folder))
        {
            images = images.Concat(Directory.EnumerateFiles(folder, "lr*_it*.png").Select(path => Path.GetFileName(path))
                .Where(name => rates.Any(rate => IsImageUpTo(name, rate, checkpoints[^1]))));
        }

        return SweepReport.Files.Concat(images).Distinct();
    }

    /// <summary>Whether <paramref name="name"/> is <see cref="LearningRateSweep.ImageName"/> of <paramref name="rate"/> at an iteration up to <paramref name="last"/>.</summary>
    private static bool IsImageUpTo(string name, double rate, int last)
    {
        string prefix = LearningRateSweep.ImageName(rate, 0)[..^"00000.png".Length]; // "lr5_it"
        return name.StartsWith(prefix, StringComparison.Ordinal) && name.EndsWith(".png", StringComparison.Ordinal)
            && int.TryParse(name.AsSpan(prefix.Length, name.Length - prefix.Length - ".png".Length), NumberStyles.None, CultureInfo.InvariantCulture, out int k)
            && k <= last && name == LearningRateSweep.ImageName(rate, k);
    }
}
