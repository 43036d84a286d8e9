using System.Runtime.InteropServices;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Study;

namespace NeuralStyle.Native;

/// <summary>The C ABI of include/neuralstyle.h. Every export runs inside <see cref="LastError.Guard"/>.</summary>
internal static unsafe class Exports
{
    private const uint Version = (0 << 16) | (9 << 8) | 0;

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
            $"struct_size {structSize} is not the size of any version's ns_options ({NsOptions.Version03Size} until 0.3, {NsOptions.CurrentSize} since 0.4): this library is older than the header you compiled with; use the header that came with it.");
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

        return transfer.StopReason is string reason
            ? LastError.Fail(NsStatus.Diverged, transfer.DivergedAtStart
                ? $"The optimization {reason}, right after the resume: the image is the one it resumed with, which had already diverged. Start again with a lower learning rate."
                : $"The optimization {reason}; the image is the last finite one. Try a lower learning rate.")
            : NsStatus.Ok;
    });

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
        byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(description);
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
    {
        StyleTransfer transfer = HandleTable.Get(engine);
        RequireBuffer(records != null, capacity, "records", "rows");
        IReadOnlyList<LossRecord> history = transfer.LossHistory;
        if (count != null)
        {
            *count = history.Count;
        }

        for (int i = 0; i < Math.Min(capacity, history.Count); i++)
        {
            records[i] = NsLossRecord.From(history[i]);
        }

        return NsStatus.Ok;
    });

    /// <summary>ns_engine_get_recent_gain: <see cref="PlateauRule.GainOver"/>, with the reason where there is none yet.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_get_recent_gain")]
    public static int NsEngineGetRecentGain(nint engine, int window, double* percent) => LastError.Guard(() =>
    {
        StyleTransfer transfer = HandleTable.Get(engine);
        Require(window >= 1, $"window must be ≥ 1 iteration, not {window}.");
        Require(percent != null, "percent must not be NULL.");
        IReadOnlyList<LossRecord> history = transfer.LossHistory;
        if (PlateauRule.GainOver(history, window) is double gain)
        {
            *percent = gain;
            return NsStatus.Ok;
        }

        return LastError.Fail(NsStatus.InvalidState, NoGain(history, window));
    });

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
        CopyOut(HandleTable.Get(engine).CurrentImage(), pixels, width, height, stride, format));

    /// <summary>ns_engine_read_best_image.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_read_best_image")]
    public static int NsEngineReadBestImage(nint engine, byte* pixels, int width, int height, int stride, int format, int* iteration) => LastError.Guard(() =>
    {
        StyleTransfer transfer = HandleTable.Get(engine);
        if (transfer.BestImage() is not var (image, loss))
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
    });

    /// <summary>ns_engine_read_image_in_content_colors.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ns_engine_read_image_in_content_colors")]
    public static int NsEngineReadImageInContentColors(nint engine, byte* pixels, int width, int height, int stride, int format) => LastError.Guard(() =>
        CopyOut(HandleTable.Get(engine).CurrentImageInContentColors(), pixels, width, height, stride, format));

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
