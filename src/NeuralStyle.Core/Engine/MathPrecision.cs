namespace NeuralStyle.Engine;

/// <summary>The arithmetic the network's convolutions may use.</summary>
public enum MathPrecision
{
    /// <summary>IEEE float32 throughout (the default; CPU and CUDA agree to about 1e-5).</summary>
    Fp32,

    /// <summary>On CUDA, let cuDNN use TF32 tensor cores (10-bit mantissa products, float32 sums): faster, about 1e-3 relative. The CPU ignores it.</summary>
    Tf32,
}
