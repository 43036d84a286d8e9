namespace NeuralStyle.Engine;

/// <summary>Adam's constants (Kingma and Ba 2015), with bias correction; the learning rate is per batch item.</summary>
public sealed record AdamSettings
{
    /// <summary>β1, default 0.9.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>β2, default 0.999.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>ε, default 1e-8.</summary>
    public double Epsilon { get; init; } = 1e-8;
}
