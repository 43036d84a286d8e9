using System.Globalization;
using NeuralStyle.Engine;
using NeuralStyle.Model;

namespace NeuralStyle.Weights;

/// <summary>
/// Resolves <c>--weights</c>: <c>auto</c> (a pretrained file in the model cache, else random features with a
/// notice), <c>random[:seed]</c>, or a path to an ONNX VGG19 file.
/// </summary>
public static class WeightSource
{
    /// <summary>File names <c>auto</c> looks for in the cache, best first (see models/README.md).</summary>
    public static IReadOnlyList<string> PretrainedFileNames { get; } =
        ["vgg19-features.onnx", "vgg19-caffe2-9.onnx", "vgg19-7.onnx", "vgg19.onnx"];

    /// <summary>
    /// The model cache: <c>$NEURALSTYLE_MODELS</c> if set, else <c>$XDG_CACHE_HOME/neuralstyle/models</c>, else
    /// <c>~/.cache/neuralstyle/models</c>.
    /// </summary>
    public static string CacheDirectory
    {
        get
        {
            string? custom = Environment.GetEnvironmentVariable("NEURALSTYLE_MODELS");
            if (!string.IsNullOrEmpty(custom))
            {
                return custom;
            }

            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string root = !string.IsNullOrEmpty(xdg)
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(root, "neuralstyle", "models");
        }
    }

    /// <summary>The pretrained file <c>--weights auto</c> uses: the first of <see cref="PretrainedFileNames"/> in the cache, or null.</summary>
    public static string? CachedPretrainedFile() => CachedPretrainedFile(CacheDirectory);

    /// <summary>Resolves <paramref name="spec"/>; <paramref name="notice"/> receives a one-line message when <c>auto</c> falls back to random features.</summary>
    public static NetworkWeights Resolve(string spec, Action<string>? notice = null) => Resolve(spec, notice, CacheDirectory);

    /// <summary>
    /// The weights a checkpoint's run was made with (<see cref="RunSettings.WeightsIdentity"/>), which a resume must
    /// use. Random features come back from their seed whatever the run asked for: a run that <c>auto</c> started on
    /// random features before a pretrained file was fetched goes on with them. Any other weights are resolved as the
    /// run named them, and refused, saying what to do, when that now gives other weights (a file replaced or gone).
    /// </summary>
    public static NetworkWeights ForResume(RunSettings settings, Action<string>? notice = null) => ForResume(settings, notice, CacheDirectory);

    /// <summary><see cref="ForResume(RunSettings, Action{string}?)"/> with the model cache <paramref name="cache"/>.</summary>
    internal static NetworkWeights ForResume(RunSettings settings, Action<string>? notice, string cache)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string made = settings.WeightsIdentity;
        NetworkWeights weights = Resolve(made.StartsWith("random:", StringComparison.Ordinal) ? made : settings.WeightsSpec, notice, cache);
        if (weights.Identity != made)
        {
            string where = settings.WeightsSpec == "auto" ? $"into the model cache ({cache})" : $"at '{settings.WeightsSpec}'";
            throw new UserInputException($"The run was made with the weights {made}, but '{settings.WeightsSpec}' now gives {weights.Identity}; put that file back {where} to continue it, or start a new run.");
        }

        return weights;
    }

    /// <summary><see cref="CachedPretrainedFile()"/> in the folder <paramref name="cache"/>.</summary>
    public static string? CachedPretrainedFile(string cache) =>
        PretrainedFileNames.Select(n => Path.Combine(cache, n)).FirstOrDefault(File.Exists);

    /// <summary><see cref="Resolve(string, Action{string}?)"/> with the model cache <paramref name="cache"/> (tests give their own, not the environment's).</summary>
    internal static NetworkWeights Resolve(string spec, Action<string>? notice, string cache)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec == "auto")
        {
            if (CachedPretrainedFile(cache) is string found)
            {
                try
                {
                    return OnnxWeightImporter.Import(found);
                }
                catch (UserInputException e)
                {
                    // The user did not name this file: say where it came from and how to get past it.
                    throw new UserInputException($"{e.Message.TrimEnd('.')}; the 'auto' weights come from the model cache, so replace or remove it ('neuralstyle model fetch --force' replaces the Model Zoo's files), or use {SettingNames.Current.RandomWeights} or another file.", e);
                }
            }

            notice?.Invoke($"Using random-feature weights (random:0): no pretrained VGG19 in {cache}. For much better results run 'neuralstyle model fetch' once (575 MB), or see models/README.md.");
            return NetworkWeights.Random(NetworkArchitecture.Vgg19, 0);
        }

        if (spec == "random" || spec.StartsWith("random:", StringComparison.Ordinal))
        {
            string seedText = spec == "random" ? "0" : spec[7..]; // "random:" alone names no seed
            if (!ulong.TryParse(seedText, NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed))
            {
                throw new UserInputException($"{SettingNames.Current.Weights} '{spec}': the seed after 'random:' must be a whole number ≥ 0, e.g. random:1.");
            }

            return NetworkWeights.Random(NetworkArchitecture.Vgg19, seed);
        }

        return OnnxWeightImporter.Import(spec);
    }
}
