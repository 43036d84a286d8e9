using System.Globalization;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Model;
using NeuralStyle.Study;
using NeuralStyle.Weights;

namespace NeuralStyle.Cli.Commands;

/// <summary>
/// Turns the shared command-line options into a <see cref="StyleProblem"/>. Every cheap check runs first, so a
/// bad argument is refused in one sentence before any image is decoded or any weight is loaded.
/// </summary>
internal static class ProblemFactory
{
    /// <summary>The example content image the built-in job renders.</summary>
    public static string DefaultContent => Path.Combine(AppContext.BaseDirectory, "examples", "content-cat-chelsea.png");

    /// <summary>The example style image the built-in job renders.</summary>
    public static string DefaultStyle => Path.Combine(AppContext.BaseDirectory, "examples", "style-van-gogh-starry-night.jpg");

    /// <summary>Checks the options that need no file access; throws <see cref="UserInputException"/>.</summary>
    public static void CheckArguments(OptimizationOptions o)
    {
        UserInputException.Require(o.Size is >= 1 and <= StyleTransferOptions.LargestSize, $"--size must be between 1 and {StyleTransferOptions.LargestSize} pixels, not {o.Size}.");
        UserInputException.Require(double.IsFinite(o.StyleScale) && o.StyleScale is > 0 and <= StyleTransferOptions.LargestStyleScale,
            $"--style-scale must be > 0 and ≤ {StyleTransferOptions.LargestStyleScale}, not {o.StyleScale}.");
        UserInputException.Require(double.IsFinite(o.MaxMegapixels) && o.MaxMegapixels > 0, $"--max-megapixels must be > 0, not {o.MaxMegapixels}.");
        UserInputException.Require(o.MaxMemoryMb is null || (double.IsFinite(o.MaxMemoryMb.Value) && o.MaxMemoryMb > 0), $"--max-memory-mb must be > 0, not {o.MaxMemoryMb}.");
        UserInputException.Require(o.PrintEvery >= 0, $"--print-every must be ≥ 0, not {o.PrintEvery}.");
        BackendFactory.CheckAvailable(ParseDevice(o.Device));
        _ = ParsePrecision(o.Precision);
        _ = ParsePooling(o.Pooling);
        _ = ParsePreprocess(o.Preprocess);
        _ = Loss(o);
        _ = StyleProblem.NormalizeBlend(o.StyleBlend.Any() ? o.StyleBlend.ToArray() : null, Math.Max(1, o.Styles.Count()));
    }

    /// <summary>
    /// Loads images and weights and assembles the problem; <paramref name="notice"/> receives one-line notices. A stop
    /// asked for through <paramref name="cancel"/> while an image comes through a pipe ends the wait with
    /// <see cref="PreparationInterruptedException"/>.
    /// </summary>
    public static StyleProblem Build(OptimizationOptions o, Action<string> notice, CancellationToken cancel) => Preparing(() => Assemble(o, notice, cancel), cancel);

    private static StyleProblem Assemble(OptimizationOptions o, Action<string> notice, CancellationToken cancel)
    {
        CheckArguments(o);
        string contentPath = o.Content ?? DefaultContent;
        string[] stylePaths = o.Styles.Any() ? o.Styles.ToArray() : [DefaultStyle];
        RgbImage content = ImageFiles.Load(contentPath, o.Size, o.MaxMegapixels, cancel);
        int styleSide = Math.Max(1, (int)Math.Round(o.Size * o.StyleScale));
        RgbImage[] styles = stylePaths.Select(p => ImageFiles.Load(p, styleSide, o.MaxMegapixels, cancel)).ToArray();
        RgbImage? initial = o.Init switch
        {
            "content" => null,
            "random" => RgbImage.Noise(content.Width, content.Height, o.Seed),
            string file when !File.Exists(file) && !Directory.Exists(file) && Path.GetExtension(file).Length == 0 =>
                throw new UserInputException($"--init must be content, random or an image file; '{file}' is none of them."),
            string file => ImageFiles.LoadExact(file, content.Width, content.Height, o.MaxMegapixels, cancel),
        };

        return new StyleProblem
        {
            Content = content,
            Styles = styles,
            StyleBlend = o.StyleBlend.Any() ? o.StyleBlend.ToArray() : null,
            Initial = initial,
            Weights = WeightSource.Resolve(o.Weights, notice),
            Preprocess = ParsePreprocess(o.Preprocess),
            Loss = Loss(o),
            MemoryLimitBytes = MemoryLimitBytes(o),
        };
    }

    /// <summary>The settings a checkpoint stores for a run built from <paramref name="o"/>.</summary>
    public static RunSettings Settings(OptimizationOptions o, StyleProblem problem) => new()
    {
        Content = o.Content ?? DefaultContent,
        Styles = o.Styles.Any() ? o.Styles.ToArray() : [DefaultStyle],
        WeightsSpec = o.Weights,
        WeightsIdentity = problem.Weights.Identity,
        Preprocess = problem.Preprocess ?? problem.Weights.Preprocess,
        Loss = problem.Loss,
        Adam = problem.Adam,
        OriginalColors = o.OriginalColors,
        Notes = string.Create(CultureInfo.InvariantCulture,
            $"size {o.Size}, style-scale {o.StyleScale}, init {o.Init}, seed {o.Seed}, style-blend {(o.StyleBlend.Any() ? string.Join(",", o.StyleBlend) : "equal")}"),
    };

    /// <summary>
    /// Creates the engine on the named device and precision, saying first what it is doing: building the backend and
    /// computing the targets takes seconds before the first iteration (on a GPU's first run, also compiling the kernels).
    /// A stop asked for through <paramref name="cancel"/> meanwhile ends it with <see cref="PreparationInterruptedException"/>.
    /// </summary>
    public static StyleTransferEngine CreateEngine(StyleProblem problem, IReadOnlyList<double> learningRates, string device, string precision, Action<string> notice,
        CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(problem);
        DeviceKind kind = ParseDevice(device);
        MathPrecision math = ParsePrecision(precision);
        notice($"Preparing the network and the targets at {problem.Content.Width}×{problem.Content.Height} (--device {device})…");
        return Preparing(() => StyleTransferEngine.Create(problem, learningRates, kind, math, cancel), cancel);
    }

    /// <summary>Runs <paramref name="prepare"/>, a step of a run's preparation (nothing is written yet), turning a stop it saw on <paramref name="cancel"/> into <see cref="PreparationInterruptedException"/>.</summary>
    private static T Preparing<T>(Func<T> prepare, CancellationToken cancel)
    {
        try
        {
            return prepare();
        }
        catch (OperationCanceledException e) when (cancel.IsCancellationRequested)
        {
            throw new PreparationInterruptedException(e);
        }
    }

    /// <summary>
    /// Loads a checkpoint and the weights it was made with, and starts an engine on them, saying so first: on all of
    /// its items, or on what <paramref name="select"/> makes of it (<see cref="OneRun"/> for a render).
    /// </summary>
    /// <returns>The engine, the stored settings, and the content image where the checkpoint holds one (<see cref="Checkpoint.ContentImage"/>).</returns>
    public static (StyleTransferEngine Engine, RunSettings Settings, RgbImage? ContentImage) Resume(string path, OptimizationOptions o, Action<string> notice, CancellationToken cancel,
        Func<Checkpoint, Checkpoint>? select = null)
    {
        _ = ParseDevice(o.Device); // a bad --device or --precision is refused before the checkpoint is read
        _ = ParsePrecision(o.Precision);
        Checkpoint checkpoint = Checkpoint.LoadWithDistinctRates(path);
        checkpoint = select?.Invoke(checkpoint) ?? checkpoint;
        RefuseIfNothingRuns(path, checkpoint);
        return Continue(checkpoint, WeightSource.ForResume(checkpoint.Settings, notice), o, notice, cancel);
    }

    /// <summary>
    /// Starts an engine on <paramref name="checkpoint"/> with <paramref name="weights"/> (those it was made with), on the
    /// device and precision <paramref name="o"/> names, saying so first; as <see cref="CreateEngine"/>, a stop asked for
    /// meanwhile ends it with <see cref="PreparationInterruptedException"/>.
    /// </summary>
    public static (StyleTransferEngine Engine, RunSettings Settings, RgbImage? ContentImage) Continue(Checkpoint checkpoint, NetworkWeights weights, OptimizationOptions o, Action<string> notice,
        CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        notice($"Preparing the network for {checkpoint.Settings.Width}×{checkpoint.Settings.Height} (--device {o.Device})…");
        StyleTransferEngine engine = Preparing(() => StyleTransferEngine.Resume(checkpoint, weights, ParseDevice(o.Device), ParsePrecision(o.Precision), MemoryLimitBytes(o), cancel), cancel);
        return (engine, checkpoint.Settings, checkpoint.ContentImage);
    }

    /// <summary>The line that says where <paramref name="engine"/> runs (and why, where CUDA was not used) and, on the host, the memory it expects to need at most.</summary>
    public static string DeviceLine(StyleTransferEngine engine) =>
        string.Create(CultureInfo.InvariantCulture, $"Device: {engine.DeviceDescription}{(engine.EstimatedPeakBytes is double bytes ? $"; estimated peak memory {bytes / 1e6:F0} MB" : "")}.");

    /// <summary>
    /// The content image of a checkpoint's run, read again at the run's size: for --original-colors given on resuming
    /// a run that did not keep its colours, whose checkpoint holds no content image. Refused in a sentence where the
    /// file cannot be read (its path is stored as it was given) or no longer matches the run's size.
    /// </summary>
    public static RgbImage ReloadContent(RunSettings settings)
    {
        const string Why = "--original-colors takes the colours of the content image the run began with";
        // A pipe (`--content <(curl …)`, /dev/stdin) ended with its run: whatever its path names now is something else.
        UserInputException.Require(!IsPipeOrDevice(settings.Content),
            $"{Why}, which came through '{settings.Content}', a pipe or device that cannot be read again. Resume without --original-colors, or start the run again from that image saved as a file.");
        UserInputException.Require(File.Exists(settings.Content),
            $"{Why}, '{settings.Content}', which is not there (the path is kept as it was given). Resume from the folder the run began in, or without --original-colors.");
        RgbImage content;
        try
        {
            content = ImageFiles.Load(settings.Content, Math.Max(settings.Width, settings.Height));
        }
        catch (UserInputException e)
        {
            throw new UserInputException($"{Why}, and it cannot be read again: {e.Message.TrimEnd('.')}. Resume from the folder the run began in, or without --original-colors.", e);
        }

        UserInputException.Require(content.Width == settings.Width && content.Height == settings.Height,
            $"{Why}, but '{settings.Content}' is now {content.Width}×{content.Height} at the run's size, not {settings.Width}×{settings.Height}: it is another image. Resume without --original-colors.");
        return content;
    }

    /// <summary>Whether <paramref name="path"/> lies under /dev or /proc, where a pipe's path (/dev/fd/63, /dev/stdin) does.</summary>
    private static bool IsPipeOrDevice(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return false;
        }

        string full = Path.GetFullPath(path);
        return full.StartsWith("/dev/", StringComparison.Ordinal) || full.StartsWith("/proc/", StringComparison.Ordinal);
    }

    /// <summary>
    /// What a render continues of <paramref name="checkpoint"/>: a render's own run, to which <paramref name="rate"/>
    /// must not be given (its rate is stored), or the item of a sweep whose learning rate <paramref name="rate"/> is,
    /// alone (see <see cref="ChosenItem"/>).
    /// </summary>
    public static Checkpoint OneRun(string path, Checkpoint checkpoint, double? rate, Action<string> notice)
    {
        if (ChosenItem(path, checkpoint.Settings.LearningRates, rate) is not int n)
        {
            return checkpoint;
        }

        notice(string.Create(CultureInfo.InvariantCulture, $"Continuing lr {rate:G6} of the sweep in '{path}' alone; the sweep itself is left as it is."));
        return checkpoint.Item(n);
    }

    /// <summary>
    /// Which item of a checkpoint with <paramref name="rates"/> a render continues: null for a render's own run, which
    /// refuses a <paramref name="rate"/> (its rate is stored), or the index of the sweep's item whose learning rate
    /// <paramref name="rate"/> is. Refuses a sweep without a rate, and a rate the sweep does not have, listing its
    /// rates. Needs only the settings, so a render can check it before anything is loaded.
    /// </summary>
    public static int? ChosenItem(string path, IReadOnlyList<double> rates, double? rate)
    {
        string listed = string.Join(", ", rates.Select(r => r.ToString("G6", CultureInfo.InvariantCulture)));
        if (rates.Count == 1)
        {
            return rate is null ? null
                : throw new UserInputException($"--resume continues with the settings stored in '{path}', so it does not take --lr (its rate is {listed}); drop it, or start a new run with it.");
        }

        if (rate is not double wanted)
        {
            // A sweep's folder holds its sweep.ckpt; a sweep saved through the embedding API is a file of any name.
            string folder = Path.GetDirectoryName(path) is { Length: > 0 } parent ? parent : ".";
            string all = Path.GetFileName(path) == Reports.SweepReport.CheckpointFile
                ? $"or all of them with 'sweep --resume {folder}'"
                : $"or all of them with 'sweep --resume FOLDER' once it is FOLDER/{Reports.SweepReport.CheckpointFile}";
            throw new UserInputException($"'{path}' holds a sweep of {rates.Count} learning rates ({listed}); continue one of them alone with --lr (e.g. --lr {rates[rates.Count / 2].ToString("G6", CultureInfo.InvariantCulture)}), {all}.");
        }

        int n = rates.ToList().IndexOf(wanted);
        return n >= 0 ? n
            : throw new UserInputException(string.Create(CultureInfo.InvariantCulture, $"'{path}' holds the learning rates {listed}, not {wanted:G6}; give --lr one of them."));
    }

    /// <summary>
    /// The items of a sweep with <paramref name="rates"/> whose learning rates are <paramref name="wanted"/> (a resumed
    /// sweep's --only); refuses a rate the sweep does not have, listing its rates, and a rate given twice.
    /// </summary>
    public static int[] ChosenItems(string path, IReadOnlyList<double> rates, IReadOnlyList<double> wanted)
    {
        string listed = string.Join(", ", rates.Select(r => r.ToString("G6", CultureInfo.InvariantCulture)));
        UserInputException.Require(wanted.Distinct().Count() == wanted.Count, "--only lists a learning rate twice; name each once.");
        double[] missing = wanted.Where(r => !rates.Contains(r)).ToArray();
        UserInputException.Require(missing.Length == 0, string.Create(CultureInfo.InvariantCulture,
            $"'{path}' holds the learning rates {listed}, not {string.Join(", ", missing.Select(r => r.ToString("G6", CultureInfo.InvariantCulture)))}; give --only some of them."));
        var items = rates.ToList();
        return wanted.Select(r => items.IndexOf(r)).ToArray();
    }

    public static long? MemoryLimitBytes(OptimizationOptions o) => o.MaxMemoryMb is double mb ? (long)(mb * 1e6) : null;

    /// <summary>Refuses, before any work, a checkpoint whose every item has stopped: resuming it could not run an iteration.</summary>
    public static void RefuseIfNothingRuns(string path, Checkpoint checkpoint)
    {
        IReadOnlyList<double> rates = checkpoint.Settings.LearningRates;
        if (checkpoint.Stopped.Any(reason => reason is null))
        {
            return;
        }

        string why = string.Join("; ", rates.Select((lr, n) => string.Create(CultureInfo.InvariantCulture, $"lr {lr:G6} {checkpoint.Stopped[n]}")));
        int alone = Enumerable.Range(0, rates.Count).FirstOrDefault(n => StopReasons.CanGoOnAlone(checkpoint.Stopped[n]), -1);
        throw new UserInputException(alone >= 0
            ? string.Create(CultureInfo.InvariantCulture,
                $"'{path}' cannot go on as a sweep: every rate has stopped ({why}); a rate that plateaued or was set aside goes on alone, e.g. render --resume {path} --lr {rates[alone]:G6} --iterations {4 * checkpoint.Iteration}.")
            : string.Create(CultureInfo.InvariantCulture,
                $"'{path}' cannot go on: its run has stopped ({why}); start a new one with a lower --lr (e.g. {rates.Min() / 4:G3})."));
    }

    /// <summary>--plateau's PCT or PCT:N, or null where it is not given.</summary>
    public static PlateauRule? ParsePlateau(string? text)
    {
        if (text is null)
        {
            return null;
        }

        string[] parts = text.Split(':');
        double percent = 0;
        int window = PlateauRule.DefaultWindow;
        bool read = parts.Length <= 2
            && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out percent)
            && (parts.Length == 1 || int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out window));
        UserInputException.Require(read, $"--plateau takes PCT or PCT:N (e.g. 1, or 0.5:200 for half a percent over 200 iterations), not '{text}'.");
        UserInputException.Require(double.IsFinite(percent) && percent is > 0 and < 100, $"--plateau's percentage must be > 0 and < 100, not {parts[0]}.");
        UserInputException.Require(window >= 1, $"--plateau's window must be at least 1 iteration, not {window}.");
        return new PlateauRule(percent, window);
    }

    public static MathPrecision ParsePrecision(string text) => text switch
    {
        "fp32" => MathPrecision.Fp32,
        "tf32" => MathPrecision.Tf32,
        _ => throw new UserInputException($"--precision must be fp32 or tf32, not '{text}'."),
    };

    public static DeviceKind ParseDevice(string text) => text switch
    {
        "auto" => DeviceKind.Auto,
        "cpu" => DeviceKind.Cpu,
        "cuda" => DeviceKind.Cuda,
        _ => throw new UserInputException($"--device must be auto, cpu or cuda, not '{text}'."),
    };

    private static PoolingMode ParsePooling(string text) => text switch
    {
        "max" => PoolingMode.Max,
        "avg" or "average" => PoolingMode.Average,
        _ => throw new UserInputException($"--pooling must be max or avg, not '{text}'."),
    };

    /// <summary>Parses --preprocess: caffe, torchvision, or null for the weights' own.</summary>
    public static PreprocessPreset? ParsePreprocess(string? text) => text switch
    {
        null => null,
        "caffe" => PreprocessPreset.Caffe,
        "torchvision" => PreprocessPreset.Torchvision,
        _ => throw new UserInputException($"--preprocess must be caffe or torchvision, not '{text}'."),
    };

    private static LossSettings Loss(OptimizationOptions o) =>
        LossFrom(o.StyleLayers, o.ContentLayers, o.Pooling, o.ContentWeight, o.StyleWeight, o.TvWeight);

    /// <summary>Loss settings from the text of the layer, pooling and weight options; throws <see cref="UserInputException"/>.</summary>
    public static LossSettings LossFrom(string styleLayers, string contentLayers, string pooling, double contentWeight = 5, double styleWeight = 100, double tvWeight = 1e-3)
    {
        var settings = new LossSettings
        {
            StyleLayers = ParseLayerList(styleLayers, "--style-layers", allowWeights: true),
            ContentLayers = ParseLayerList(contentLayers, "--content-layers", allowWeights: false).Select(l => l.ReluName).ToArray(),
            ContentWeight = contentWeight,
            StyleWeight = styleWeight,
            TvWeight = tvWeight,
            Pooling = ParsePooling(pooling),
        };
        if (settings.Validate(NetworkArchitecture.Vgg19) is string problem)
        {
            throw new UserInputException(problem);
        }

        return settings;
    }

    private static LayerWeight[] ParseLayerList(string text, string option, bool allowWeights)
    {
        var layers = new List<LayerWeight>();
        foreach (string item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] parts = item.Split(':');
            double weight = 1.0;
            if (parts.Length > 2 || (parts.Length == 2 && (!allowWeights
                || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out weight))))
            {
                throw new UserInputException(allowWeights
                    ? $"{option}: '{item}' is not LAYER or LAYER:WEIGHT (e.g. relu3_1:0.5)."
                    : $"{option}: '{item}' is not a layer name (e.g. relu4_2).");
            }

            if (NetworkArchitecture.Vgg19.FindRelu(parts[0]) is null)
            {
                throw new UserInputException($"{option}: unknown layer '{parts[0]}'; the layers are {string.Join(", ", NetworkArchitecture.Vgg19.ReluNames)}.");
            }

            layers.Add(new LayerWeight(parts[0], weight));
        }

        return layers.ToArray();
    }
}
