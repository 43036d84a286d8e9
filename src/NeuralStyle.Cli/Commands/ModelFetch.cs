using System.Globalization;
using NeuralStyle.Model;
using NeuralStyle.Weights;

namespace NeuralStyle.Cli.Commands;

/// <summary>
/// <c>model fetch</c>: downloads a pretrained VGG19 into the model cache, where <c>--weights auto</c> finds it, with a
/// progress bar; the size and SHA-256 are checked before the file takes its name, and the file is imported once to
/// show that its 16 convolutions load.
/// </summary>
internal static class ModelFetch
{
    public static int Run(ModelOptions o, TextWriter output, bool interactive, CancellationToken cancel)
    {
        PretrainedFile file = PretrainedFile.Find(o.Source);
        using var http = new HttpClient();
        http.DefaultRequestHeaders.UserAgent.ParseAdd("NeuralStyle");
        return Fetch(file, MirrorUrl(o.Url) ?? file.Url, WeightSource.CacheDirectory, o.Force, http, output, interactive, cancel);
    }

    /// <summary>Downloads <paramref name="file"/> from <paramref name="url"/> into <paramref name="folder"/> (the model cache) and imports it once.</summary>
    internal static int Fetch(PretrainedFile file, Uri url, string folder, bool force, HttpClient http, TextWriter output, bool interactive, CancellationToken cancel)
    {
        string destination = Path.Combine(folder, file.FileName);
        if (File.Exists(destination))
        {
            output.WriteLine($"Checking the {file.FileName} already in {folder}…"); // hashing 575 MB takes seconds
            if (WeightsDownload.Holds(destination, file))
            {
                output.WriteLine($"{destination} is already {file.Name}, size and SHA-256 as expected; nothing to download.");
                return 0;
            }

            if (!force)
            {
                throw new UserInputException($"'{destination}' exists but is not {file.Name} (its size or SHA-256 differ); move it away, or add --force to replace it.");
            }
        }

        AtomicFile.RequireWritableFolder(folder, "NEURALSTYLE_MODELS");
        string partial = WeightsDownload.PartialPath(folder, file);
        long held = WeightsDownload.PartialBytes(folder, file);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Downloading {file.Name} ({file.Bytes / 1e6:F0} MB) from {url} into {folder}{(held > 0 ? $", continuing from the {held / 1e6:F0} MB received before" : "")}…"));
        int megabytes = (int)Math.Ceiling(file.Bytes / 1e6);
        var progress = new ProgressReporter(0, megabytes, Math.Max(1, megabytes / 10), interactive, output, "MB");
        string path;
        try
        {
            path = WeightsDownload.FetchAsync(file, url, folder, http, new MegabyteSteps(progress, megabytes), cancel).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            long kept = WeightsDownload.PartialBytes(folder, file);
            progress.Line(kept > 0
                ? string.Create(CultureInfo.InvariantCulture, $"Interrupted; the {kept / 1e6:F0} MB received are kept in {partial}, and 'model fetch' continues from there.")
                : $"Interrupted; nothing was saved in {folder}.");
            return Interruption.ExitCode;
        }

        NetworkWeights weights = OnnxWeightImporter.Import(path);
        string? used = WeightSource.CachedPretrainedFile(folder);
        progress.Line($"Saved {path} ({file.Name}: size and SHA-256 as expected; its 16 convolutions load, {weights.Preprocess} preprocessing). "
            + (used == path ? "--weights auto uses it from now on." : $"--weights auto still prefers {used}; use --weights {path} for this one."));
        return 0;
    }

    /// <summary>The --url given, checked: an absolute http or https address.</summary>
    private static Uri? MirrorUrl(string? text)
    {
        if (text is null)
        {
            return null;
        }

        return Uri.TryCreate(text, UriKind.Absolute, out Uri? url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)
            ? url
            : throw new UserInputException($"--url must be an http or https address, not '{text}'.");
    }

    /// <summary>Bytes received, reported as whole megabytes done, in order and on the caller's thread (Progress&lt;T&gt; would post them to the thread pool).</summary>
    private sealed class MegabyteSteps(ProgressReporter reporter, int total) : IProgress<long>
    {
        private int _shown;

        public void Report(long value)
        {
            int done = (int)Math.Min(total, value / 1_000_000);
            for (; _shown < done; _shown++)
            {
                reporter.Report(_shown, "");
            }
        }
    }
}
