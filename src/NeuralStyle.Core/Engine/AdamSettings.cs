using System.Globalization;

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

    /// <summary>
    /// Returns a sentence naming the first constant out of its range, or null when they are usable: β1 and β2 in
    /// [0, 1) (at 1 the bias correction divides by 0), ε finite and above 0 (at 0 a zero gradient's step is 0/0).
    /// </summary>
    public string? Validate()
    {
        foreach (var (name, value) in new[] { ("β1", Beta1), ("β2", Beta2) })
        {
            if (value is not (>= 0 and < 1))
            {
                return string.Create(CultureInfo.InvariantCulture, $"Adam's {name} must be in [0, 1), not {value}.");
            }
        }

        return double.IsFinite(Epsilon) && Epsilon > 0 ? null : string.Create(CultureInfo.InvariantCulture, $"Adam's ε must be a finite number > 0, not {Epsilon}.");
    }
}
