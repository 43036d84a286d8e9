using System.Runtime.InteropServices;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Study;

namespace NeuralStyle.Native;

/// <summary>The C ABI of include/neuralstyle.h. Every export runs inside <see cref="LastError.Guard"/>.</summary>
internal static unsafe class Exports
{
    private const uint Version = (0 << 16) | (10 << 8) | 0;

    /// <summary>ns_version.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_version")]
    public static uint NsVersion() => Version;

    /// <summary>ns_last_error.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_last_error")]
    public static IntPtr NsLastError() => LastError.Current;

    /// <summary>ns_options_init: the function of 0.1–0.3, which filled their ns_options; the header's macro now calls <see cref="NsOptionsInitSized"/>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_options_init")]
    public static int NsOptionsInit(NsOptions* options) => LastError.Guard(() => InitOptions(options, NsOptions.Version03Size));

    /// <summary>ns_options_init_sized.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_options_init_sized")]
    public static int NsOptionsInitSized(NsOptions* options, uint structSize) => LastError.Guard(() =>
    {
        Require(NsOptions.IsKnownSize(structSize),
            $"struct_size {structSize} is not the size of any version's ns_options ({NsOptions.Version03Size} until 0.3, {NsOptions.Version04Size} in 0.4–0.9, {NsOptions.CurrentSize} since 0.10): this library is older than the header you compiled with; use the header that came with it.");
        return InitOptions(options, structSize);
    });

    /// <summary>ns_engine_create.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_create")]
    public static int NsEngineCreate(NsOptions* options, nint* engine) => LastError.Guard(() =>
    {
        Require(options != null && engine != null, "options and engine must not be NULL.");
        Require(NsOptions.IsKnownSize(options->StructSize), $"options->struct_size is {options->StructSize}, not the size of any version's ns_options; call ns_options_init.");
        NsOptions given = Given(options);
        Require(given.Size is >= 0 and <= StyleTransferOptions.LargestSize, $"options->size must be between 0 (the content's own size) and {StyleTransferOptions.LargestSize}, not {given.Size}.");
        Require(double.IsFinite(given.LearningRate) && given.LearningRate > 0, $"options->learning_rate must be finite and > 0, not {given.LearningRate}.");
        Require(double.IsFinite(given.StyleScale) && given.StyleScale is > 0 and <= StyleTransferOptions.LargestStyleScale,
            $"options->style_scale must be > 0 and ≤ {StyleTransferOptions.LargestStyleScale}, not {given.StyleScale}.");
        Require(double.IsFinite(given.MaxMegapixels) && given.MaxMegapixels > 0, $"options->max_megapixels must be finite and > 0, not {given.MaxMegapixels}.");
        double[]? rates = SweptRates(given);
        var loss = new LossSettings { ContentWeight = given.ContentWeight, StyleWeight = given.StyleWeight, TvWeight = given.TvWeight };
        if (loss.Validate(Model.NetworkArchitecture.Vgg19) is string problem)
        {
            throw new ArgumentException(problem);
        }

        var settings = new StyleTransferOptions
        {
            Size = given.Size == 0 ? null : given.Size,
            StyleScale = given.StyleScale,
            MaxMegapixels = given.MaxMegapixels,
            LearningRate = given.LearningRate,
            LearningRates = rates,
            Loss = loss,
            Weights = given.Weights == IntPtr.Zero ? "auto" : Marshal.PtrToStringUTF8(given.Weights)!,
            Device = Device(given.Device),
            Precision = Precision(given.Precision),
        };
        *engine = HandleTable.Add(new StyleTransfer(settings));
        return NsStatus.Ok;
    });

    /// <summary>ns_engine_resume.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_resume")]
    public static int NsEngineResume(byte* path, int device, nint* engine) => Resume(path, device, 0, engine);

    /// <summary>ns_engine_resume_with_precision.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_resume_with_precision")]
    public static int NsEngineResumeWithPrecision(byte* path, int device, int precision, nint* engine) => Resume(path, device, precision, engine);

    /// <summary>ns_engine_resume_rate.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_resume_rate")]
    public static int NsEngineResumeRate(byte* path, double learningRate, int device, int precision, nint* engine) => LastError.Guard(() =>
    {
        Require(path != null && engine != null, "checkpoint_path and engine must not be NULL.");
        *engine = HandleTable.Add(StyleTransfer.Resume(Text(path), learningRate, Device(device), Precision(precision)));
        return NsStatus.Ok;
    });

    /// <summary>ns_engine_set_content.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_set_content")]
    public static int NsEngineSetContent(nint engine, byte* pixels, int width, int height, int stride, int format) => LastError.Guard(() =>
    {
        StyleTransfer transfer = HandleTable.Get(engine);
        transfer.SetContent(Pixels(pixels, width, height, stride, format));
        return NsStatus.Ok;
    });

    /// <summary>ns_engine_set_content_file.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_set_content_file")]
    public static int NsEngineSetContentFile(nint engine, byte* path) => LastError.Guard(() =>
    {
        StyleTransfer transfer = HandleTable.Get(engine);
        Require(path != null, "path is NULL.");
        transfer.SetContentFile(Text(path));
        return NsStatus.Ok;
    });

    /// <summary>ns_engine_add_style.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_add_style")]
    public static int NsEngineAddStyle(nint engine, byte* pixels, int width, int height, int stride, int format, double weight) => LastError.Guard(() =>
    {
        StyleTransfer transfer = HandleTable.Get(engine);
        Require(double.IsFinite(weight) && weight >= 0, $"weight must be finite and ≥ 0, not {weight}.");
        transfer.AddStyle(Pixels(pixels, width, height, stride, format), weight);
        return NsStatus.Ok;
    });

    /// <summary>ns_engine_add_style_file.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_add_style_file")]
    public static int NsEngineAddStyleFile(nint engine, byte* path, double weight) => LastError.Guard(() =>
    {
        StyleTransfer transfer = HandleTable.Get(engine);
        Require(path != null, "path is NULL.");
        Require(double.IsFinite(weight) && weight >= 0, $"weight must be finite and ≥ 0, not {weight}.");
        transfer.AddStyleFile(Text(path), weight);
        return NsStatus.Ok;
    });

    /// <summary>ns_engine_run.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_run")]
    public static int NsEngineRun(nint engine, int iterations, delegate* unmanaged<int, int, double, void*, int> progress, void* userData) => LastError.Guard(() =>
    {
        StyleTransfer transfer = HandleTable.Get(engine);
        Require(iterations >= 0, $"iterations must be ≥ 0, not {iterations}.");
        using var stop = new CancellationTokenSource();
        var reporter = progress == null ? null : new CallbackProgress(progress, userData, stop);
        try
        {
            transfer.Run(iterations, reporter, stop.Token);
        }
        catch (OperationCanceledException)
        {
            return LastError.Fail(NsStatus.Cancelled, $"The progress callback asked to stop after iteration {transfer.Iteration}.");
        }

        return Diverged(transfer) is string message ? LastError.Fail(NsStatus.Diverged, message) : NsStatus.Ok;
    });

    /// <summary>
    /// Why ns_engine_run returns NS_ERROR_DIVERGED: no rate runs any more and one of them diverged (a sweep's rate that
    /// diverges stops alone, and the others go on); null otherwise.
    /// </summary>
    private static string? Diverged(StyleTransfer transfer)
    {
        IReadOnlyList<StyleTransferRate> rates = transfer.Rates;
        if (rates.Any(r => r.StopReason is null) || rates.FirstOrDefault(r => StopReasons.IsDivergence(r.StopReason)) is not { } diverged)
        {
            return null;
        }

        string which = rates.Count == 1 ? "The optimization" : $"Learning rate {Named(diverged.LearningRate)}";
        string rest = rates.Count == 1 ? "" : " and no rate runs any more (ns_engine_get_rate_stop_reason says why for each)";
        return diverged.DivergedAtStart
            ? $"{which} {diverged.StopReason}, right after the resume{rest}: the image is the one it resumed with, which had already diverged. Start again with a lower learning rate."
            : $"{which} {diverged.StopReason}{rest}; the image is the last finite one. Try a lower learning rate.";
    }

    /// <summary>ns_engine_get_size.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_get_size")]
    public static int NsEngineGetSize(nint engine, int* width, int* height) => LastError.Guard(() =>
    {
        StyleTransfer transfer = HandleTable.Get(engine);
        Require(width != null && height != null, "width and height must not be NULL.");
        *width = transfer.Width;
        *height = transfer.Height;
        return NsStatus.Ok;
    });

    /// <summary>ns_engine_get_device.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_get_device")]
    public static int NsEngineGetDevice(nint engine, byte* buffer, int capacity, int* length) => LastError.Guard(() =>
    {
        StyleTransfer transfer = HandleTable.Get(engine);
        RequireBuffer(buffer != null, capacity, "buffer", "bytes");
        string description = transfer.DeviceDescription
            ?? throw new InvalidOperationException("The device is chosen by the first ns_engine_run; call it first.");
        return CopyText(description, buffer, capacity, length);
    });

    /// <summary>ns_engine_get_iteration.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_get_iteration")]
    public static int NsEngineGetIteration(nint engine, int* iteration) => LastError.Guard(() =>
    {
        StyleTransfer transfer = HandleTable.Get(engine);
        Require(iteration != null, "iteration must not be NULL.");
        *iteration = transfer.Iteration;
        return NsStatus.Ok;
    });

    /// <summary>ns_engine_get_loss_history.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_get_loss_history")]
    public static int NsEngineGetLossHistory(nint engine, NsLossRecord* records, int capacity, int* count) => LastError.Guard(() =>
        LossHistory(HandleTable.Get(engine).OnlyRate, records, capacity, count));

    /// <summary>ns_engine_get_rate_loss_history.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_get_rate_loss_history")]
    public static int NsEngineGetRateLossHistory(nint engine, double learningRate, NsLossRecord* records, int capacity, int* count) => LastError.Guard(() =>
        LossHistory(HandleTable.Get(engine).Rate(learningRate), records, capacity, count));

    private static NsStatus LossHistory(StyleTransferRate rate, NsLossRecord* records, int capacity, int* count)
    {
        RequireBuffer(records != null, capacity, "records", "rows");
        IReadOnlyList<LossRecord> history = rate.LossHistory;
        if (count != null)
        {
            *count = history.Count;
        }

        for (int i = 0; i < Math.Min(capacity, history.Count); i++)
        {
            records[i] = NsLossRecord.From(history[i]);
        }

        return NsStatus.Ok;
    }

    /// <summary>ns_engine_get_recent_gain: <see cref="PlateauRule.GainOver"/>, with the reason where there is none yet.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_get_recent_gain")]
    public static int NsEngineGetRecentGain(nint engine, int window, double* percent) => LastError.Guard(() =>
        RecentGain(HandleTable.Get(engine).OnlyRate, window, percent));

    /// <summary>ns_engine_get_rate_recent_gain.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_get_rate_recent_gain")]
    public static int NsEngineGetRateRecentGain(nint engine, double learningRate, int window, double* percent) => LastError.Guard(() =>
        RecentGain(HandleTable.Get(engine).Rate(learningRate), window, percent));

    private static NsStatus RecentGain(StyleTransferRate rate, int window, double* percent)
    {
        Require(window >= 1, $"window must be ≥ 1 iteration, not {window}.");
        Require(percent != null, "percent must not be NULL.");
        IReadOnlyList<LossRecord> history = rate.LossHistory;
        if (PlateauRule.GainOver(history, window) is double gain)
        {
            *percent = gain;
            return NsStatus.Ok;
        }

        return LastError.Fail(NsStatus.InvalidState, NoGain(history, window));
    }

    /// <summary>Why <see cref="PlateauRule.GainOver"/> has no gain over <paramref name="window"/> for <paramref name="history"/>.</summary>
    private static string NoGain(IReadOnlyList<LossRecord> history, int window)
    {
        if (history.Count == 0)
        {
            return "There is no loss yet: the history starts with the first ns_engine_run.";
        }

        LossRecord last = history[^1];
        int reach = last.Iteration - history[0].Iteration;
        if (!last.Loss.IsFinite)
        {
            return $"The loss at iteration {last.Iteration} is not finite (the run diverged), so it has no gain to measure.";
        }

        if (reach < window)
        {
            return $"The loss history reaches back {reach} iterations, not {window}: run {window - reach} more, or ask for a shorter window.";
        }

        int start = last.Iteration - window;
        double lowest = history.Where(r => r.Iteration <= start && r.Loss.IsFinite).Select(r => r.Loss.Total).DefaultIfEmpty(double.NaN).Min();
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"The lowest loss by iteration {start} is {lowest:G4}, so there is no gain relative to it.");
    }

    /// <summary>ns_engine_read_image.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_read_image")]
    public static int NsEngineReadImage(nint engine, byte* pixels, int width, int height, int stride, int format) => LastError.Guard(() =>
        CopyOut(HandleTable.Get(engine).OnlyRate.CurrentImage(), pixels, width, height, stride, format));

    /// <summary>ns_engine_read_rate_image.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_read_rate_image")]
    public static int NsEngineReadRateImage(nint engine, double learningRate, byte* pixels, int width, int height, int stride, int format) => LastError.Guard(() =>
        CopyOut(HandleTable.Get(engine).Rate(learningRate).CurrentImage(), pixels, width, height, stride, format));

    /// <summary>ns_engine_read_best_image.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_read_best_image")]
    public static int NsEngineReadBestImage(nint engine, byte* pixels, int width, int height, int stride, int format, int* iteration) => LastError.Guard(() =>
    {
        StyleTransfer transfer = HandleTable.Get(engine);
        return BestImage(transfer, transfer.OnlyRate, pixels, width, height, stride, format, iteration);
    });

    /// <summary>ns_engine_read_rate_best_image.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_read_rate_best_image")]
    public static int NsEngineReadRateBestImage(nint engine, double learningRate, byte* pixels, int width, int height, int stride, int format, int* iteration) =>
        LastError.Guard(() =>
        {
            StyleTransfer transfer = HandleTable.Get(engine);
            return BestImage(transfer, transfer.Rate(learningRate), pixels, width, height, stride, format, iteration);
        });

    private static NsStatus BestImage(StyleTransfer transfer, StyleTransferRate rate, byte* pixels, int width, int height, int stride, int format, int* iteration)
    {
        if (rate.BestImage() is not var (image, loss))
        {
            return LastError.Fail(NsStatus.InvalidState, transfer.Iteration == 0
                ? "There is no loss yet, so no best image: run the engine first."
                : "This engine was resumed from a checkpoint that kept no best image (made before 0.8): run it, and the best image is kept from then on.");
        }

        NsStatus status = CopyOut(image, pixels, width, height, stride, format);
        if (status == NsStatus.Ok && iteration != null)
        {
            *iteration = loss.Iteration;
        }

        return status;
    }

    /// <summary>ns_engine_read_image_in_content_colors.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_read_image_in_content_colors")]
    public static int NsEngineReadImageInContentColors(nint engine, byte* pixels, int width, int height, int stride, int format) => LastError.Guard(() =>
        CopyOut(HandleTable.Get(engine).OnlyRate.CurrentImageInContentColors(), pixels, width, height, stride, format));

    /// <summary>ns_engine_read_rate_image_in_content_colors.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_read_rate_image_in_content_colors")]
    public static int NsEngineReadRateImageInContentColors(nint engine, double learningRate, byte* pixels, int width, int height, int stride, int format) =>
        LastError.Guard(() => CopyOut(HandleTable.Get(engine).Rate(learningRate).CurrentImageInContentColors(), pixels, width, height, stride, format));

    /// <summary>ns_engine_get_rates.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_get_rates")]
    public static int NsEngineGetRates(nint engine, double* rates, int capacity, int* count) => LastError.Guard(() =>
    {
        StyleTransfer transfer = HandleTable.Get(engine);
        RequireBuffer(rates != null, capacity, "rates", "values");
        IReadOnlyList<double> all = transfer.LearningRates;
        if (count != null)
        {
            *count = all.Count;
        }

        for (int i = 0; i < Math.Min(capacity, all.Count); i++)
        {
            rates[i] = all[i];
        }

        return NsStatus.Ok;
    });

    /// <summary>ns_engine_get_rate_stop_reason.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_get_rate_stop_reason")]
    public static int NsEngineGetRateStopReason(nint engine, double learningRate, byte* buffer, int capacity, int* length) => LastError.Guard(() =>
    {
        StyleTransferRate rate = HandleTable.Get(engine).Rate(learningRate);
        RequireBuffer(buffer != null, capacity, "buffer", "bytes");
        return CopyText(rate.StopReason ?? "", buffer, capacity, length);
    });

    /// <summary>ns_engine_set_aside_rate.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_set_aside_rate")]
    public static int NsEngineSetAsideRate(nint engine, double learningRate) => LastError.Guard(() =>
    {
        HandleTable.Get(engine).Rate(learningRate).SetAside();
        return NsStatus.Ok;
    });

    /// <summary>ns_engine_save_checkpoint.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_save_checkpoint")]
    public static int NsEngineSaveCheckpoint(nint engine, byte* path) => LastError.Guard(() =>
    {
        StyleTransfer transfer = HandleTable.Get(engine);
        Require(path != null, "path is NULL.");
        transfer.SaveCheckpoint(Text(path));
        return NsStatus.Ok;
    });

    /// <summary>ns_engine_release.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_release")]
    public static void NsEngineRelease(nint engine) => LastError.Guard(() =>
    {
        HandleTable.Remove(engine)?.Dispose();
        return NsStatus.Ok;
    });

    /// <summary>Every field's default, as the .NET API has them.</summary>
    private static NsOptions Defaults()
    {
        var defaults = new StyleTransferOptions();
        return new NsOptions
        {
            StructSize = NsOptions.CurrentSize,
            Size = defaults.Size ?? 0,
            LearningRate = defaults.LearningRate,
            ContentWeight = defaults.Loss.ContentWeight,
            StyleWeight = defaults.Loss.StyleWeight,
            TvWeight = defaults.Loss.TvWeight,
            Weights = IntPtr.Zero,
            Device = 0,
            Precision = 0,
            StyleScale = defaults.StyleScale,
            MaxMegapixels = defaults.MaxMegapixels,
            LearningRates = IntPtr.Zero,
            LearningRateCount = 0,
        };
    }

    /// <summary>The defaults' first <paramref name="structSize"/> bytes into the caller's struct, and not a byte past it.</summary>
    private static NsStatus InitOptions(NsOptions* options, uint structSize)
    {
        Require(options != null, "options is NULL.");
        NsOptions defaults = Defaults() with { StructSize = structSize };
        Buffer.MemoryCopy(&defaults, options, structSize, structSize);
        return NsStatus.Ok;
    }

    /// <summary>The caller's options as far as its struct_size goes, and the defaults for the fields its version lacks.</summary>
    private static NsOptions Given(NsOptions* options)
    {
        NsOptions given = Defaults();
        Buffer.MemoryCopy(options, &given, sizeof(NsOptions), options->StructSize);
        return given;
    }

    /// <summary>A caller's buffer of <paramref name="capacity"/> elements: a capacity ≥ 0, and a buffer unless it is 0.</summary>
    private static void RequireBuffer(bool given, int capacity, string name, string elements) =>
        Require(capacity >= 0 && (given || capacity == 0), $"{name} must hold capacity ({capacity}) {elements}: a capacity ≥ 0, and a buffer unless it is 0.");

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }

    /// <summary>
    /// Writes <paramref name="text"/> into the caller's buffer as UTF-8, NUL-terminated and cut at a character boundary
    /// to fit <paramref name="capacity"/> bytes, and its whole length in bytes into *<paramref name="length"/> (may be NULL).
    /// </summary>
    private static NsStatus CopyText(string text, byte* buffer, int capacity, int* length)
    {
        byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(text);
        if (length != null)
        {
            *length = utf8.Length;
        }

        if (capacity > 0)
        {
            int fits = Math.Min(utf8.Length, capacity - 1);
            while (fits < utf8.Length && fits > 0 && (utf8[fits] & 0xC0) == 0x80)
            {
                fits--; // never end inside a UTF-8 sequence: back up to the start of the cut character
            }

            utf8.AsSpan(0, fits).CopyTo(new Span<byte>(buffer, fits));
            buffer[fits] = 0;
        }

        return NsStatus.Ok;
    }

    /// <summary>
    /// options->learning_rates, where the caller's struct has it and gives any (NULL and 0: learning_rate alone), checked
    /// as the .NET API checks a sweep's rates.
    /// </summary>
    private static double[]? SweptRates(NsOptions given)
    {
        Require(given.LearningRateCount >= 0 && (given.LearningRates != IntPtr.Zero || given.LearningRateCount == 0),
            $"options->learning_rates must hold options->learning_rate_count ({given.LearningRateCount}) rates: a count ≥ 0, and an array unless it is 0.");
        if (given.LearningRateCount == 0)
        {
            return null;
        }

        double[] rates = new ReadOnlySpan<double>((void*)given.LearningRates, given.LearningRateCount).ToArray();
        try
        {
            LearningRateList.Require(rates, "options->learning_rates");
        }
        catch (UserInputException e)
        {
            throw new ArgumentException(e.Message); // a bad option value, as the other fields' are
        }

        return rates;
    }

    private static string Named(double learningRate) => learningRate.ToString("G6", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Writes <paramref name="image"/> into the caller's buffer, which must be of its size.</summary>
    private static NsStatus CopyOut(RgbImage image, byte* pixels, int width, int height, int stride, int format)
    {
        Require(width == image.Width && height == image.Height, $"The buffer is {width}×{height}, but the image is {image.Width}×{image.Height}; ask ns_engine_get_size.");
        Require(pixels != null, "pixels is NULL.");
        Require(format is 3 or 4, $"format must be NS_PIXEL_RGB8 or NS_PIXEL_RGBA8, not {format}.");
        Require(stride >= width * format, $"stride {stride} is less than width × {format} bytes.");
        image.CopyToPixels(new Span<byte>(pixels, checked(((height - 1) * stride) + (width * format))), stride, format);
        return NsStatus.Ok;
    }

    private static int Resume(byte* path, int device, int precision, nint* engine) => LastError.Guard(() =>
    {
        Require(path != null && engine != null, "checkpoint_path and engine must not be NULL.");
        *engine = HandleTable.Add(StyleTransfer.Resume(Text(path), Device(device), Precision(precision)));
        return NsStatus.Ok;
    });

    private static string Text(byte* utf8) => Marshal.PtrToStringUTF8((IntPtr)utf8) ?? "";

    private static DeviceKind Device(int device) => device switch
    {
        0 => DeviceKind.Auto,
        1 => DeviceKind.Cpu,
        2 => DeviceKind.Cuda,
        _ => throw new ArgumentException($"device must be NS_DEVICE_AUTO, NS_DEVICE_CPU or NS_DEVICE_CUDA, not {device}."),
    };

    private static MathPrecision Precision(int precision) => precision switch
    {
        0 => MathPrecision.Fp32,
        1 => MathPrecision.Tf32,
        _ => throw new ArgumentException($"precision must be NS_PRECISION_FP32 or NS_PRECISION_TF32, not {precision}."),
    };

    private static RgbImage Pixels(byte* pixels, int width, int height, int stride, int format)
    {
        Require(pixels != null, "pixels is NULL.");
        Require(format is 3 or 4, $"format must be NS_PIXEL_RGB8 or NS_PIXEL_RGBA8, not {format}.");
        Require(width > 0 && height > 0 && stride >= width * format, $"A {width}×{height} image needs width, height > 0 and a stride of at least {width * format} bytes, got {stride}.");
        return RgbImage.FromPixels(new ReadOnlySpan<byte>(pixels, checked(((height - 1) * stride) + (width * format))), width, height, stride, format);
    }

    /// <summary>Calls the C progress callback synchronously after each iteration; a non-zero return cancels the run.</summary>
    private sealed class CallbackProgress(delegate* unmanaged<int, int, double, void*, int> callback, void* userData, CancellationTokenSource stop)
        : IProgress<StyleTransferProgress>
    {
        public void Report(StyleTransferProgress value)
        {
            if (callback(value.Iteration, value.Target, value.Loss.Total, userData) != 0)
            {
                stop.Cancel();
            }
        }
    }
}
