using System.Runtime.InteropServices;

namespace NeuralStyle.Native;

/// <summary>ns_status of neuralstyle.h.</summary>
internal enum NsStatus
{
    Ok = 0,
    InvalidArgument = 1,
    InvalidHandle = 2,
    BadInput = 3,
    InvalidState = 4,
    Cancelled = 5,
    Diverged = 6,
    Internal = 7,
}

/// <summary>ns_options of neuralstyle.h, field for field. Fields are only added at the end; a caller's struct_size says which it has.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NsOptions
{
    /// <summary>sizeof(ns_options) now.</summary>
    public static readonly uint CurrentSize = (uint)sizeof(NsOptions);

    /// <summary>
    /// sizeof(ns_options) in 0.4–0.9: every field before <see cref="LearningRates"/>, the pointer and count that 0.10
    /// added at the end (a count padded to the pointer's alignment).
    /// </summary>
    public static readonly uint Version04Size = CurrentSize - (2 * (uint)sizeof(IntPtr));

    /// <summary>
    /// sizeof(ns_options) in 0.1–0.3, whose programs still call ns_options_init and ns_engine_create with it: every
    /// field before <see cref="StyleScale"/>, the two doubles that 0.4 added.
    /// </summary>
    public static readonly uint Version03Size = Version04Size - (2 * sizeof(double));

    public uint StructSize;
    public int Size;
    public double LearningRate;
    public double ContentWeight;
    public double StyleWeight;
    public double TvWeight;
    public IntPtr Weights; // const char*
    public int Device;     // ns_device
    public int Precision;  // ns_precision (0.2; in 0.1's padding)
    public double StyleScale;    // 0.4
    public double MaxMegapixels; // 0.4
    public IntPtr LearningRates;  // const double*, 0.10
    public int LearningRateCount; // 0.10

    /// <summary>Whether <paramref name="structSize"/> is the size of a version's ns_options.</summary>
    public static bool IsKnownSize(uint structSize) => structSize == Version03Size || structSize == Version04Size || structSize == CurrentSize;
}

/// <summary>ns_loss_record of neuralstyle.h (0.7), field for field; its layout is fixed, as arrays of it are the caller's.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NsLossRecord
{
    public int Iteration;
    public double Total;
    public double Content;
    public double Style;
    public double Tv;
    public double Seconds;

    public static NsLossRecord From(NeuralStyle.Engine.LossRecord record) => new()
    {
        Iteration = record.Iteration,
        Total = record.Loss.Total,
        Content = record.Loss.Content,
        Style = record.Loss.Style,
        Tv = record.Loss.Tv,
        Seconds = record.Seconds,
    };
}
