namespace NeuralStyle;

/// <summary>
/// What the caller calls the settings that an error message asks to change: the command line's <c>--size</c> is
/// <c>StyleTransferOptions.Size</c> to a .NET host and <c>options-&gt;size</c> to a C host. The engine raises those
/// messages deep inside (a size check, a memory estimate, a diverging first step), far from the front end that knows
/// the vocabulary, so the vocabulary is ambient, like <see cref="System.Globalization.CultureInfo.CurrentUICulture"/>:
/// each front end sets it once with <see cref="Use"/> for the work it runs, and the .NET API's names hold elsewhere.
/// A null name is a setting that front end does not offer; messages then leave that remedy out.
/// </summary>
public sealed record SettingNames
{
    /// <summary>The long side of the output.</summary>
    public required string Size { get; init; }

    /// <summary>The style images' size relative to the output's.</summary>
    public required string? StyleScale { get; init; }

    /// <summary>The content loss weight.</summary>
    public required string ContentWeight { get; init; }

    /// <summary>The style loss weight.</summary>
    public required string StyleWeight { get; init; }

    /// <summary>The total-variation loss weight.</summary>
    public required string TvWeight { get; init; }

    /// <summary>The weights that blend several style images.</summary>
    public required string StyleBlend { get; init; }

    /// <summary>The largest input image accepted.</summary>
    public required string? MaxMegapixels { get; init; }

    /// <summary>The host-memory limit of a run.</summary>
    public required string? MaxMemory { get; init; }

    /// <summary>The network weights setting.</summary>
    public required string Weights { get; init; }

    /// <summary>That setting given the random-feature weights.</summary>
    public required string RandomWeights { get; init; }

    /// <summary>The choice of the CPU backend.</summary>
    public required string DeviceCpu { get; init; }

    /// <summary>The choice of the CUDA backend.</summary>
    public required string DeviceCuda { get; init; }

    /// <summary>How to read one learning rate of a sweep (RATE stands for it).</summary>
    public required string ReadSweepRate { get; init; }

    /// <summary>How a host of this front end gets the CUDA backend, or null where it always has it (it registers it itself).</summary>
    public required string? RegisterCuda { get; init; }

    /// <summary>What makes a batch smaller: fewer of a sweep's rates at once (each is one of the batch's images), or a benchmark's smaller batch.</summary>
    public required string SmallerBatch { get; init; }

    /// <summary>The command line's options.</summary>
    public static SettingNames CommandLine { get; } = new()
    {
        Size = "--size",
        StyleScale = "--style-scale",
        ContentWeight = "--content-weight",
        StyleWeight = "--style-weight",
        TvWeight = "--tv-weight",
        StyleBlend = "--style-blend",
        MaxMegapixels = "--max-megapixels",
        MaxMemory = "--max-memory-mb",
        Weights = "--weights",
        RandomWeights = "--weights random",
        DeviceCpu = "--device cpu",
        DeviceCuda = "--device cuda",
        ReadSweepRate = "--lr RATE",
        RegisterCuda = null,
        SmallerBatch = "fewer learning rates at once",
    };

    /// <summary>
    /// The .NET API's: <see cref="StyleTransferOptions"/> and <see cref="StyleTransfer"/>; the loss weights by the
    /// type that holds them, which <see cref="Engine.StyleProblem"/> shares.
    /// </summary>
    public static SettingNames DotNet { get; } = new()
    {
        Size = "StyleTransferOptions.Size",
        StyleScale = "StyleTransferOptions.StyleScale",
        ContentWeight = "LossSettings.ContentWeight",
        StyleWeight = "LossSettings.StyleWeight",
        TvWeight = "LossSettings.TvWeight",
        StyleBlend = "the weights given to AddStyle",
        MaxMegapixels = "StyleTransferOptions.MaxMegapixels",
        MaxMemory = "StyleProblem.MemoryLimitBytes",
        Weights = "StyleTransferOptions.Weights",
        RandomWeights = "StyleTransferOptions.Weights = \"random\"",
        DeviceCpu = "DeviceKind.Cpu",
        DeviceCuda = "DeviceKind.Cuda",
        ReadSweepRate = "Rate(RATE)",
        RegisterCuda = "reference NeuralStyle.Cuda and call NeuralStyle.Cuda.CudaSupport.Register() once at start-up",
        SmallerBatch = "fewer learning rates at once",
    };

    /// <summary>The C API's (include/neuralstyle.h), which has no memory limit.</summary>
    public static SettingNames C { get; } = new()
    {
        Size = "options->size",
        StyleScale = "options->style_scale",
        ContentWeight = "options->content_weight",
        StyleWeight = "options->style_weight",
        TvWeight = "options->tv_weight",
        StyleBlend = "the weights given to ns_engine_add_style",
        MaxMegapixels = "options->max_megapixels",
        MaxMemory = null,
        Weights = "options->weights",
        RandomWeights = "options->weights = \"random\"",
        DeviceCpu = "NS_DEVICE_CPU",
        DeviceCuda = "NS_DEVICE_CUDA",
        ReadSweepRate = "ns_engine_read_rate_image(engine, RATE, …)",
        RegisterCuda = null,
        SmallerBatch = "fewer learning rates at once",
    };

    private static readonly Runtime.FlowLocal<SettingNames> Ambient = new();

    /// <summary>The names of the front end running the current work; the .NET API's unless one was set.</summary>
    public static SettingNames Current => Ambient.Value ?? DotNet;

    /// <summary>Makes <paramref name="names"/> current for this thread or async flow (and the work it starts) until disposed.</summary>
    public static IDisposable Use(SettingNames names)
    {
        ArgumentNullException.ThrowIfNull(names);
        return Ambient.Use(names);
    }

    /// <summary>"<see cref="StyleScale"/> (or <see cref="Size"/>)", or the size alone where there is no style scale: what makes a style image larger or smaller.</summary>
    public string StyleScaleOrSize => StyleScale is null ? Size : $"{StyleScale} (or {Size})";
}
