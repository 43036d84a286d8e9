namespace NeuralStyle.Model;

/// <summary>The 2×2 stride-2 pooling between blocks.</summary>
public enum PoolingMode
{
    /// <summary>Max pooling, as in VGG19.</summary>
    Max,

    /// <summary>Average pooling, which Gatys et al. found gives smoother results.</summary>
    Average,
}
