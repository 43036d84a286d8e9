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

/// <summary>ns_options of neuralstyle.h, field for field.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NsOptions
{
    public uint StructSize;
    public int Size;
    public double LearningRate;
    public double ContentWeight;
    public double StyleWeight;
    public double TvWeight;
    public IntPtr Weights; // const char*
    public int Device;     // ns_device
    public int Precision;  // ns_precision (0.2; in 0.1's padding)
}
