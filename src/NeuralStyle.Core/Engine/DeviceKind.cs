namespace NeuralStyle.Engine;

/// <summary>Where the optimization runs.</summary>
public enum DeviceKind
{
    /// <summary>CUDA when a working GPU is present, else the CPU.</summary>
    Auto,

    /// <summary>ONNX Runtime's CPU provider and managed kernels.</summary>
    Cpu,

    /// <summary>ONNX Runtime's CUDA provider and our CUDA kernels.</summary>
    Cuda,
}
