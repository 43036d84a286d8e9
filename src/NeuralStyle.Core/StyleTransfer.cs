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

    /// <summary>
    /// Several learning rates to run as one batch, a sweep, in place of <see cref="LearningRate"/>: one network pass
    /// per iteration computes them all, and the targets are computed once. Read each through
    /// <see cref="StyleTransfer.Rate"/>; set one aside when it stops paying (<see cref="StyleTransferRate.SetAside"/>).
    /// Null (the default) runs <see cref="LearningRate"/> alone.
    /// </summary>
    public IReadOnlyList<double>? LearningRates { get; init; }

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

/// <summary>Where a <see cref="StyleTransfer.Run"/> is: the iteration just done and the losses at its start.</summary>
/// <param name="Iteration">Iterations completed.</param>
/// <param name="Target">The iteration count this run is heading for.</param>
/// <param name="Losses">
/// Each rate's loss at the start of the iteration just done, in <see cref="StyleTransfer.LearningRates"/>' order; a
/// rate that has stopped repeats its last finite loss.
/// </param>
public sealed record StyleTransferProgress(int Iteration, int Target, IReadOnlyList<IterationLosses> Losses)
{
    /// <summary>The loss of a transfer's one rate; of a sweep, the lowest finite total of its rates (the first rate's where none is finite).</summary>
    public IterationLosses Loss => Losses.Any(l => l.IsFinite) ? Losses.Where(l => l.IsFinite).MinBy(l => l.Total) : Losses[0];
}

/// <summary>
/// The embedding API: one styled image, or one per learning rate of a sweep, driven step by step. Set a content image
/// and one or more style images (files or caller-owned pixel buffers, which are copied), then <see cref="Run"/> any
/// number of iterations with progress and cancellation, read the image, save and resume checkpoints. A sweep's rates
/// are read one by one through <see cref="Rate"/>; a transfer of one rate reads it through its own members too. The
/// command line drives the same <see cref="StyleTransferEngine"/> underneath. Dispose to free every buffer at once.
/// While <see cref="Run"/> runs on one thread, another may read the image, the loss or the iteration, save a
/// checkpoint or dispose (a user's Cancel): each waits for the current iteration to end, so an image is never read
/// half-updated and no buffer is freed under a running iteration. A second <see cref="Run"/> at once is refused.
/// </summary>
public sealed class StyleTransfer : IDisposable
{
    private readonly StyleTransferOptions _options;
    private readonly StyleTransferRate[] _rates;
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
    public StyleTransfer(StyleTransferOptions options)
    {
        _options = Checked(options);
        _rates = RatesOf(options).Select((rate, n) => new StyleTransferRate(this, n, rate)).ToArray();
    }

    private StyleTransfer(StyleTransferOptions options, StyleTransferEngine engine, NetworkWeights weights, RgbImage? content)
        : this(options)
    {
        _engine = engine;
        _weights = weights;
        _content = content;
    }

    /// <summary>Iterations completed so far.</summary>
    public int Iteration => Locked(() => _engine?.Iteration ?? 0);

    /// <summary>The learning rates, in the order given (one, unless <see cref="StyleTransferOptions.LearningRates"/> lists several).</summary>
    public IReadOnlyList<double> LearningRates => _rates.Select(r => r.LearningRate).ToArray();

    /// <summary>Each learning rate's loss, images and state, in <see cref="LearningRates"/>' order.</summary>
    public IReadOnlyList<StyleTransferRate> Rates => _rates;

    /// <summary>
    /// The learning rate <paramref name="learningRate"/> of this transfer (exactly as given);
    /// <see cref="UserInputException"/> naming the rates there are for one it lacks.
    /// </summary>
    public StyleTransferRate Rate(double learningRate) => _rates.FirstOrDefault(r => r.LearningRate.Equals(learningRate))
        ?? throw new UserInputException(RateNotHeld("This transfer runs", LearningRates, learningRate));

    /// <summary>The loss at the start of the last iteration run, or null before the first. One rate only (<see cref="OnlyRate"/>).</summary>
    public IterationLosses? LastLoss => OnlyRate.LastLoss;

    /// <summary>
    /// A copy of the loss of every iteration so far (row k: the image after k updates), empty before the first run;
    /// e.g. for a <see cref="Study.PlateauRule"/> that decides when more iterations stop paying. One rate only.
    /// </summary>
    public IReadOnlyList<LossRecord> LossHistory => OnlyRate.LossHistory;

    /// <summary>Why the optimization stopped on its own (e.g. "diverged at iteration 12"), or null. One rate only.</summary>
    public string? StopReason => OnlyRate.StopReason;

    /// <summary>True when the run diverged in the first iteration after a resume; see <see cref="StyleTransferEngine.DivergedAtStart"/>. One rate only.</summary>
    public bool DivergedAtStart => OnlyRate.DivergedAtStart;

    /// <summary>
    /// The transfer's one learning rate, which its own members (<see cref="LastLoss"/>, <see cref="CurrentImage"/>, …)
    /// read; for a sweep, <see cref="InvalidOperationException"/> saying to name a rate with <see cref="Rate"/>.
    /// </summary>
    public StyleTransferRate OnlyRate => _rates.Length == 1 ? _rates[0] : throw new InvalidOperationException(
        $"This transfer runs {_rates.Length} learning rates ({Listed(LearningRates)}); name the one to read, e.g. {SettingNames.Current.ReadSweepRate.Replace("RATE", Listed([_rates[_rates.Length / 2].LearningRate]), StringComparison.Ordinal)}.");

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
    /// Runs up to <paramref name="iterations"/> more iterations (the first call also builds the network and computes
    /// the targets). Reports after each one; stops early, between iterations, when <paramref name="cancellationToken"/>
    /// is cancelled (throwing <see cref="OperationCanceledException"/>; in the first call also within the targets'
    /// pass, which a large style image makes seconds long, and the next call starts afresh) or once no rate runs: each stops where its loss
    /// diverges (see <see cref="StyleTransferRate.StopReason"/>), and a sweep's other rates go on. Returns the number
    /// of iterations run.
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
                    StyleTransferEngine engine = _engine ??= Start(cancellationToken);
                    if (engine.Iteration >= target || !engine.RunningItems.Any())
                    {
                        return done;
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                    engine.PlannedIterations = target; // a rate that stops leaves the batch where the iterations left pay for it
                    IterationLosses[] losses = engine.Step();
                    done++;
                    reached = new StyleTransferProgress(engine.Iteration, target, losses);
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

    /// <summary>A copy of the current image (the content image before the first run). One rate only (<see cref="OnlyRate"/>).</summary>
    public RgbImage CurrentImage() => OnlyRate.CurrentImage();

    /// <summary>The image of the lowest loss so far and its row; see <see cref="StyleTransferRate.BestImage"/>. One rate only.</summary>
    public (RgbImage Image, LossRecord Loss)? BestImage() => OnlyRate.BestImage();

    /// <summary>The current image in the content image's colours; see <see cref="StyleTransferRate.CurrentImageInContentColors"/>. One rate only.</summary>
    public RgbImage CurrentImageInContentColors() => OnlyRate.CurrentImageInContentColors();

    /// <summary>
    /// Writes the whole state to <paramref name="path"/> (atomically), every rate's, with the content image where the
    /// transfer has one; <see cref="Resume(string, DeviceKind, MathPrecision)"/> continues it exactly, and one rate of
    /// a sweep goes on alone with <see cref="Resume(string, double, DeviceKind, MathPrecision)"/>.
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

    /// <summary>
    /// Continues the run saved in <paramref name="path"/> (by this API, or the command line's render or sweep), every
    /// rate of it: those that stopped (diverged, set aside, plateaued) stay where they are; one of them goes on alone
    /// with <see cref="Resume(string, double, DeviceKind, MathPrecision)"/>.
    /// </summary>
    public static StyleTransfer Resume(string path, DeviceKind device = DeviceKind.Auto, MathPrecision precision = MathPrecision.Fp32) =>
        Resume(Checkpoint.LoadWithDistinctRates(path), device, precision);

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
        Checkpoint checkpoint = Checkpoint.LoadWithDistinctRates(path);
        IReadOnlyList<double> rates = checkpoint.Settings.LearningRates;
        int n = rates.ToList().IndexOf(learningRate);
        if (n < 0)
        {
            throw new UserInputException(RateNotHeld($"'{path}' holds", rates, learningRate));
        }

        return Resume(rates.Count == 1 ? checkpoint : checkpoint.Item(n), device, precision);
    }

    private static string Listed(IReadOnlyList<double> rates) => string.Join(", ", rates.Select(r => r.ToString("G6", CultureInfo.InvariantCulture)));

    /// <summary>"HOLDER the learning rates 1, 2, 4, not 3; give one of them."</summary>
    private static string RateNotHeld(string holder, IReadOnlyList<double> rates, double learningRate) => string.Create(CultureInfo.InvariantCulture,
        $"{holder} the learning rate{(rates.Count == 1 ? "" : "s")} {Listed(rates)}, not {learningRate:G6}; give {(rates.Count == 1 ? "that one" : "one of them")}.");

    private static StyleTransfer Resume(Checkpoint checkpoint, DeviceKind device, MathPrecision precision)
    {
        RunSettings s = checkpoint.Settings;
        NetworkWeights weights = WeightSource.ForResume(s);
        var options = new StyleTransferOptions
        {
            Size = null, LearningRate = s.LearningRates[0], LearningRates = s.LearningRates.Count > 1 ? s.LearningRates : null, Weights = s.WeightsSpec, Preprocess = s.Preprocess, Loss = s.Loss, Adam = s.Adam, Device = device, Precision = precision,
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

    private StyleTransferEngine Start(CancellationToken cancel)
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
        return StyleTransferEngine.Create(problem, LearningRates, _options.Device, _options.Precision, cancel);
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
        if (options.LearningRates is { } rates)
        {
            LearningRateList.Require(rates, "LearningRates");
        }

        UserInputException.Require(double.IsFinite(options.MaxMegapixels) && options.MaxMegapixels > 0, $"MaxMegapixels must be > 0, not {options.MaxMegapixels}.");
        return options;
    }

    private static double[] RatesOf(StyleTransferOptions options) => options.LearningRates?.ToArray() ?? [options.LearningRate];

    /// <summary>Runs <paramref name="read"/> under the transfer's lock, between iterations: how <see cref="StyleTransferRate"/> reads <see cref="Engine"/> and <see cref="Content"/>.</summary>
    internal T Locked<T>(Func<T> read)
    {
        lock (_gate)
        {
            return read();
        }
    }

    /// <summary>Runs <paramref name="change"/> under the transfer's lock, between iterations.</summary>
    internal void Locked(Action change)
    {
        lock (_gate)
        {
            change();
        }
    }

    /// <summary>The engine, from the first run on; read under <see cref="Locked"/>.</summary>
    internal StyleTransferEngine? Engine => _engine;

    /// <summary>The content image (set, or held by a resumed checkpoint); read under <see cref="Locked"/>.</summary>
    internal RgbImage? Content => _content;

    internal void RequireNotDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void RequireNotStarted()
    {
        RequireNotDisposed();
        if (_engine is not null)
        {
            throw new InvalidOperationException("The images are fixed once the transfer has started; create a new StyleTransfer.");
        }
    }
}
