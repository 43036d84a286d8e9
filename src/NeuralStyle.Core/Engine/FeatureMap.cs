namespace NeuralStyle.Engine;

/// <summary>One image's ReLU output at one layer, [C, H·W] row-major.</summary>
public sealed record FeatureMap(int Channels, int Height, int Width, float[] Data)
{
    /// <summary>H·W, the number of positions per channel.</summary>
    public int Positions => Height * Width;
}
