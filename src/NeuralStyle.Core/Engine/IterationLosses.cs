namespace NeuralStyle.Engine;

/// <summary>The loss of one batch item at the start of an iteration, each term already multiplied by its weight.</summary>
/// <param name="Content">cw·Σ content_l.</param>
/// <param name="Style">sw·Σ w_l·style_l.</param>
/// <param name="Tv">tvw·TV(x).</param>
public readonly record struct IterationLosses(double Content, double Style, double Tv)
{
    /// <summary>The sum of the three terms.</summary>
    public double Total => Content + Style + Tv;

    /// <summary>True when every term is a finite number.</summary>
    public bool IsFinite => double.IsFinite(Content) && double.IsFinite(Style) && double.IsFinite(Tv);
}
