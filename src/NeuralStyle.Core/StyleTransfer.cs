using System.Globalization;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Model;
using NeuralStyle.Weights;

namespace NeuralStyle;

/// <summary>Settings of a <see cref="StyleTransfer"/>; the defaults are the command line's.</summary>
public sealed record StyleTransferOptions
{
    /// <summary>The largest <see cref="Size"/> accepted.</summary>
    public const int LargestSize = 16384;

    /// <summary>The largest <see cref="StyleScale"/> accepted.</summary>
    public const double LargestStyleScale = 16;

    /// <summary>Long side of the output in pixels; the content image is resized to it. Null keeps the content's size.</summary>
    public int? Size { get; init; } = 192;

    /// <summary>The style images' long side is <see cref="Size"/> (or the content's long side) times this.</summary>
    public double StyleScale { get; init; } = 1.0;

    /// <summary>Adam learning rate in 0..255 pixel units.</summary>
    public double LearningRate { get; init; } = 10;

    /// <summary>Weights: <c>auto</c>, <c>random[:SEED]</c> or an ONNX VGG19 file.</summary>
    public string Weights { get; init; } = "auto";

    /// <summary>Preprocessing; null uses the weights' own.</summary>
    public PreprocessPreset? Preprocess { get; init; }

    /// <summary>The loss definition.</summary>
    public LossSettings Loss { get; init; } = new();

    /// <summary>Adam's constants.</summary>
    public AdamSettings Adam { get; init; } = new();

    /// <summary>Where to run. <see cref="DeviceKind.Auto"/> uses CUDA when it works, else the CPU; <see cref="StyleTransfer.DeviceDescription"/> says which and why.</summary>
    public DeviceKind Device { get; init; } = DeviceKind.Auto;

    /// <summary>The arithmetic the convolutions may use; <see cref="MathPrecision.Tf32"/> matters on CUDA only.</summary>
    public MathPrecision Precision { get; init; } = MathPrecision.Fp32;

    /// <summary>Largest input image accepted from a file, in megapixels.</summary>
    public double MaxMegapixels { get; init; } = ImageFiles.DefaultMaxMegapixels;
}

/// <summary>Where a <see cref="StyleTransfer.Run"/> is: the iteration just done and the loss at its start.</summary>
/// <param name="Iteration">Iterations completed.</param>
/// <param name="Target">The iteration count this run is heading for.</param>
/// <param name="Loss">The loss at the start of the iteration just done.</param>
public sealed record StyleTransferProgress(int Iteration, int Target, IterationLosses Loss);

/// <summary>
/// The embedding API: one styled image, driven step by step. Set a content image and one or more style images
/// (files or caller-owned pixel buffers, which are copied), then <see cref="Run"/> any number of iterations with
/// progress and cancellation, read the image, save and resume checkpoints. The command line drives the same
/// <see cref="StyleTransferEngine"/> underneath. Dispose to free every buffer at once.
/// While <see cref="Run"/> runs on one thread, another may read the image, the loss or the iteration, save a
/// checkpoint or dispose (a user's Cancel): each waits for the current iteration to end, so an image is never read
/// half-updated and no buffer is freed under a running iteration. A second <see cref="Run"/> at once is refused.
/// </summary>
public sealed class StyleTransfer : IDisposable
{
    private readonly StyleTransferOptions _options;
    private readonly List<(RgbImage Image, double Weight)> _styles = [];
    private RgbImage? _content;
    private NetworkWeights? _weights;
    private StyleTransferEngine? _engine;
    private bool _disposed;
    private bool _running;

    // Held for each iteration and for every read or change of the state, never while progress is reported.
    private readonly Lock _gate = new();

    /// <summary>
    /// Creates an idle transfer; nothing heavy happens until the first <see cref="Run"/>. Options that cannot work
    /// (a size, scale, rate or limit out of range) throw <see cref="UserInputException"/> here.
    /// </summary>
    public StyleTransfer(StyleTransferOptions options) => _options = Checked(options);

    private StyleTransfer(StyleTransferOptions options, StyleTransferEngine engine, NetworkWeights weights, RgbImage? content)
        : this(options)
    {
        _engine = engine;
        _weights = weights;
        _content = content;
    }

    /// <summary>Iterations completed so far.</summary>
    public int Iteration => Locked(() => _engine?.Iteration ?? 0);

    /// <summary>The loss at the start of the last iteration run, or null before the first.</summary>
    public IterationLosses? LastLoss => Locked<IterationLosses?>(() => _engine is { } e && e.History(0).Count > 0 ? e.History(0)[^1].Loss : null);

    /// <summary>
    /// A copy of the loss of every iteration so far (row k: the image after k updates), empty before the first run;
    /// e.g. for a <see cref="Study.PlateauRule"/> that decides when more iterations stop paying.
    /// </summary>
    public IReadOnlyList<LossRecord> LossHistory => Locked<IReadOnlyList<LossRecord>>(() => _engine?.History(0).ToArray() ?? []);

    /// <summary>Why the optimization stopped on its own (e.g. "diverged at iteration 12"), or null.</summary>
    public string? StopReason => Locked(() => _engine?.StopReason(0));

    /// <summary>True when the run diverged in the first iteration after a resume; see <see cref="StyleTransferEngine.DivergedAtStart"/>.</summary>
    public bool DivergedAtStart => Locked(() => _engine?.DivergedAtStart(0) ?? false);

    /// <summary>
    /// The device the run uses, e.g. "CPU (ONNX Runtime 1.31.0, 2 threads) (CUDA not used: …)" when
    /// <see cref="DeviceKind.Auto"/> fell back to the CPU; null before the first <see cref="Run"/>, which chooses it.
    /// </summary>
    public string? DeviceDescription => Locked(() => _engine?.DeviceDescription);

    /// <summary>Width of the output (known once the content is set).</summary>
    public int Width => Locked(() => _engine?.Width ?? _content?.Width ?? 0);

    /// <summary>Height of the output (known once the content is set).</summary>
    public int Height => Locked(() => _engine?.Height ?? _content?.Height ?? 0);

    /// <summary>Sets the content image (copied and resized to <see cref="StyleTransferOptions.Size"/>). Only before the first run.</summary>
    public void SetContent(RgbImage image)
    {
        lock (_gate)
        {
            ArgumentNullException.ThrowIfNull(image);
            RequireNotStarted();
            _content = _options.Size is int side ? ImageFiles.Resize(image, side) : image;
        }
    }

    /// <summary>Sets the content image from a file.</summary>
    public void SetContentFile(string path)
    {
        lock (_gate)
        {
            RequireNotStarted();
            _content = ImageFiles.Load(path, _options.Size, _options.MaxMegapixels);
        }
    }

    /// <summary>Adds a style image (copied and resized) with a blend weight. Only before the first run.</summary>
    public void AddStyle(RgbImage image, double weight = 1.0)
    {
        lock (_gate)
        {
            ArgumentNullException.ThrowIfNull(image);
            RequireNotStarted();
            _styles.Add((ImageFiles.Resize(image, StyleSide(image)), weight));
        }
    }

    /// <summary>Adds a style image from a file with a blend weight.</summary>
    public void AddStyleFile(string path, double weight = 1.0)
    {
        lock (_gate)
        {
            RequireNotStarted();
            RgbImage image = ImageFiles.Load(path, null, _options.MaxMegapixels);
            _styles.Add((ImageFiles.Resize(image, StyleSide(image)), weight));
        }
    }

    /// <summary>
    /// Runs up to <paramref name="iterations"/> more iterations (the first call also computes the targets).
    /// Reports after each one; stops early, between iterations, when <paramref name="cancellationToken"/> is
    /// cancelled (throwing <see cref="OperationCanceledException"/>) or when the loss diverges (see
    /// <see cref="StopReason"/>). Returns the number of iterations run.
    /// </summary>
    public int Run(int iterations, IProgress<StyleTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(iterations);
        int target;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_running)
            {
                throw new InvalidOperationException("Run is already running on another thread; wait for it to return.");
            }

            _running = true;
            target = (_engine?.Iteration ?? 0) + iterations;
        }

        try
        {
            int done = 0;
            while (true)
            {
                StyleTransferProgress reached;
                lock (_gate)
                {
                    ObjectDisposedException.ThrowIf(_disposed, this); // disposed between two iterations
                    StyleTransferEngine engine = _engine ??= Start();
                    if (engine.Iteration >= target || engine.StopReason(0) is not null)
                    {
                        return done;
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                    IterationLosses loss = engine.Step()[0];
                    done++;
                    reached = new StyleTransferProgress(engine.Iteration, target, loss);
                }

                progress?.Report(reached); // outside the lock: a handler on another thread may read the image
            }
        }
        finally
        {
            lock (_gate)
            {
                _running = false;
            }
        }
    }

    /// <summary>A copy of the current image (the content image before the first run).</summary>
    public RgbImage CurrentImage() => Locked(() =>
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _engine?.CurrentImage(0) ?? _content ?? throw new InvalidOperationException("Set a content image first.");
    });

    /// <summary>
    /// A copy of the image of the lowest loss so far and that loss's row, or null where there is none: before the
    /// first run, and after a resume from a checkpoint that kept no best image until the next run. At a
    /// learning rate that makes the loss swing it is better than <see cref="CurrentImage"/>; the run itself goes on
    /// from the current image.
    /// </summary>
    public (RgbImage Image, LossRecord Loss)? BestImage() => Locked<(RgbImage, LossRecord)?>(() =>
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _engine is { } engine && engine.Best(0) is LossRecord best ? (engine.BestImage(0), best) : null;
    });

    /// <summary>
    /// A copy of the current image in the content image's colours (<see cref="ColorTransfer.KeepColors"/>): its luma
    /// with the content's chroma, what the command line's --original-colors saves. Needs the content image: the one
    /// set, or the one a resumed checkpoint holds (this API's checkpoints always keep it, a command-line render's only
    /// with --original-colors); without one, <see cref="InvalidOperationException"/>.
    /// </summary>
    public RgbImage CurrentImageInContentColors() => Locked(() =>
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        RgbImage content = _content ?? throw new InvalidOperationException(_engine is null
            ? "Set a content image first."
            : "This run was resumed from a checkpoint that holds no content image (a command-line render keeps one only with --original-colors), so its colours are not known here.");
        return ColorTransfer.KeepColors(_engine?.CurrentImage(0) ?? content, content);
    });

    /// <summary>
    /// Writes the whole state to <paramref name="path"/> (atomically), with the content image where the transfer has
    /// one; <see cref="Resume(string, DeviceKind, MathPrecision)"/> continues it exactly.
    /// </summary>
    public void SaveCheckpoint(string path)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            StyleTransferEngine engine = _engine ?? throw new InvalidOperationException("Nothing to save before the first run.");
            (engine.CreateCheckpoint(new RunSettings
            {
                WeightsSpec = _options.Weights,
                WeightsIdentity = _weights!.Identity,
                Preprocess = _options.Preprocess ?? _weights.Preprocess,
                Loss = _options.Loss,
                Adam = _options.Adam,
                Notes = "embedded",
            }) with { ContentImage = _content }).Save(path);
        }
    }

    /// <summary>Continues the run saved in <paramref name="path"/> (by this API or the command line's render).</summary>
    public static StyleTransfer Resume(string path, DeviceKind device = DeviceKind.Auto, MathPrecision precision = MathPrecision.Fp32)
    {
        Checkpoint checkpoint = Checkpoint.Load(path);
        IReadOnlyList<double> rates = checkpoint.Settings.LearningRates;
        if (rates.Count != 1)
        {
            string example = SettingNames.Current.ResumeSweepRate.Replace("PATH", path, StringComparison.Ordinal)
                .Replace("RATE", rates[rates.Count / 2].ToString("G6", CultureInfo.InvariantCulture), StringComparison.Ordinal);
            throw new UserInputException($"'{path}' holds a sweep of {rates.Count} learning rates ({Listed(rates)}); continue one of them alone, e.g. {example}.");
        }

        return Resume(checkpoint, device, precision);
    }

    /// <summary>
    /// Continues learning rate <paramref name="learningRate"/> of the sweep saved in <paramref name="path"/> (by the
    /// command line's sweep) alone, from where the sweep left it, as <c>render --resume PATH --lr RATE</c> does: a rate
    /// set aside or stopped at a plateau goes on from its own iteration, and one that diverged stays stopped
    /// (<see cref="StopReason"/>). The sweep's file is only read; save this run's checkpoint elsewhere. A checkpoint of
    /// one run continues as <see cref="Resume(string, DeviceKind, MathPrecision)"/> does, where its rate is
    /// <paramref name="learningRate"/>.
    /// </summary>
    public static StyleTransfer Resume(string path, double learningRate, DeviceKind device = DeviceKind.Auto, MathPrecision precision = MathPrecision.Fp32)
    {
        Checkpoint checkpoint = Checkpoint.Load(path);
        IReadOnlyList<double> rates = checkpoint.Settings.LearningRates;
        int n = rates.ToList().IndexOf(learningRate);
        if (n < 0)
        {
            throw new UserInputException(string.Create(CultureInfo.InvariantCulture,
                $"'{path}' holds the learning rate{(rates.Count == 1 ? "" : "s")} {Listed(rates)}, not {learningRate:G6}; give {(rates.Count == 1 ? "that one" : "one of them")}."));
        }

        return Resume(rates.Count == 1 ? checkpoint : checkpoint.Item(n), device, precision);
    }

    private static string Listed(IReadOnlyList<double> rates) => string.Join(", ", rates.Select(r => r.ToString("G6", CultureInfo.InvariantCulture)));

    private static StyleTransfer Resume(Checkpoint checkpoint, DeviceKind device, MathPrecision precision)
    {
        RunSettings s = checkpoint.Settings;
        NetworkWeights weights = WeightSource.ForResume(s);
        var options = new StyleTransferOptions
        {
            Size = null, LearningRate = s.LearningRates[0], Weights = s.WeightsSpec, Preprocess = s.Preprocess, Loss = s.Loss, Adam = s.Adam, Device = device, Precision = precision,
        };
        return new StyleTransfer(options, StyleTransferEngine.Resume(checkpoint, weights, device, precision), weights, checkpoint.ContentImage);
    }

    /// <summary>Frees the engine and every buffer it holds. Safe to call twice.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _engine?.Dispose();
            _engine = null;
            _disposed = true;
        }
    }

    private StyleTransferEngine Start()
    {
        RgbImage content = _content ?? throw new InvalidOperationException("Set a content image before running.");
        if (_styles.Count == 0)
        {
            throw new InvalidOperationException("Add at least one style image before running.");
        }

        _weights ??= WeightSource.Resolve(_options.Weights);
        var problem = new StyleProblem
        {
            Content = content,
            Styles = _styles.Select(s => s.Image).ToArray(),
            StyleBlend = _styles.Select(s => s.Weight).ToArray(),
            Weights = _weights,
            Preprocess = _options.Preprocess,
            Loss = _options.Loss,
            Adam = _options.Adam,
        };
        return StyleTransferEngine.Create(problem, [_options.LearningRate], _options.Device, _options.Precision);
    }

    private int StyleSide(RgbImage style)
    {
        int contentSide = _options.Size ?? (_content is null ? Math.Max(style.Width, style.Height) : Math.Max(_content.Width, _content.Height));
        return Math.Max(1, (int)Math.Round(contentSide * _options.StyleScale));
    }

    private static StyleTransferOptions Checked(StyleTransferOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        UserInputException.Require(options.Size is null or (>= 1 and <= StyleTransferOptions.LargestSize),
            $"Size must be between 1 and {StyleTransferOptions.LargestSize} pixels (or null: the content's own size), not {options.Size}.");
        UserInputException.Require(double.IsFinite(options.StyleScale) && options.StyleScale is > 0 and <= StyleTransferOptions.LargestStyleScale,
            $"StyleScale must be > 0 and ≤ {StyleTransferOptions.LargestStyleScale}, not {options.StyleScale}.");
        UserInputException.Require(double.IsFinite(options.LearningRate) && options.LearningRate > 0, $"LearningRate must be a finite number > 0, not {options.LearningRate}.");
        UserInputException.Require(double.IsFinite(options.MaxMegapixels) && options.MaxMegapixels > 0, $"MaxMegapixels must be > 0, not {options.MaxMegapixels}.");
        return options;
    }

    private T Locked<T>(Func<T> read)
    {
        lock (_gate)
        {
            return read();
        }
    }

    private void RequireNotStarted()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_engine is not null)
        {
            throw new InvalidOperationException("The images are fixed once the transfer has started; create a new StyleTransfer.");
        }
    }
}
