using NeuralStyle.Model;

namespace NeuralStyle.Engine;

/// <summary>A tapped layer and its weight in the loss.</summary>
/// <param name="ReluName">The ReLU output the loss reads, e.g. <c>relu4_2</c>.</param>
/// <param name="Weight">w_l in the style sum (1 by default); content layers use 1.</param>
public sealed record LayerWeight(string ReluName, double Weight);

/// <summary>
/// The loss as DESIGN.md defines it: L = cw·Σ content_l + sw·Σ w_l·style_l + tvw·TV(x), per batch item.
/// </summary>
public sealed record LossSettings
{
    private static readonly LayerWeight[] DefaultStyleLayers =
        [new("relu1_1", 1.0), new("relu2_1", 1.0), new("relu3_1", 1.0), new("relu4_1", 1.0), new("relu5_1", 1.0)];

    /// <summary>Layers whose Gram matrices are matched; default relu1_1 … relu5_1 with weight 1.</summary>
    public IReadOnlyList<LayerWeight> StyleLayers { get; init; } = DefaultStyleLayers;

    /// <summary>Layers whose features are matched; default relu4_2.</summary>
    public IReadOnlyList<string> ContentLayers { get; init; } = ["relu4_2"];

    /// <summary>cw, default 5.</summary>
    public double ContentWeight { get; init; } = 5.0;

    /// <summary>sw, default 100.</summary>
    public double StyleWeight { get; init; } = 100.0;

    /// <summary>tvw, default 1e-3.</summary>
    public double TvWeight { get; init; } = 1e-3;

    /// <summary>Pooling between blocks, default max.</summary>
    public PoolingMode Pooling { get; init; } = PoolingMode.Max;

    /// <summary>Equal settings: the layer lists compared item by item (a record alone would compare their references).</summary>
    public bool Equals(LossSettings? other) =>
        other is not null && StyleLayers.SequenceEqual(other.StyleLayers) && ContentLayers.SequenceEqual(other.ContentLayers) && ContentWeight.Equals(other.ContentWeight)
        && StyleWeight.Equals(other.StyleWeight) && TvWeight.Equals(other.TvWeight) && Pooling == other.Pooling;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(StyleLayers.Count, ContentLayers.Count, ContentWeight, StyleWeight, TvWeight, Pooling);

    /// <summary>Every tapped layer, style or content, without repeats.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyList<string> Taps => StyleLayers.Select(l => l.ReluName).Concat(ContentLayers).Distinct().ToArray();

    /// <summary>1/(C·M): G = F Fᵀ/(C·M) for C channels at M positions.</summary>
    public static double GramScale(int channels, long positions) => 1.0 / ((double)channels * positions);

    /// <summary>sw·w_l/C²: style layer <paramref name="layer"/>'s weighted term is this times Σ(G − A)² (the mean over C² entries).</summary>
    public double StyleLossScale(LayerWeight layer, int channels) =>
        StyleWeight * (layer ?? throw new ArgumentNullException(nameof(layer))).Weight / ((double)channels * channels);

    /// <summary>sw·w_l·4/(C²·C·M): that term's gradient at F is this times (G − A)·F (G − A is symmetric).</summary>
    public double StyleGradientScale(LayerWeight layer, int channels, long positions) => StyleLossScale(layer, channels) * 4 * GramScale(channels, positions);

    /// <summary>cw/(C·M): a content layer's weighted term is this times Σ(F − P)² over its <paramref name="count"/> = C·M values.</summary>
    public double ContentLossScale(long count) => ContentWeight / count;

    /// <summary>2·cw/(C·M): that term's gradient at F is this times (F − P).</summary>
    public double ContentGradientScale(long count) => 2 * ContentLossScale(count);

    /// <summary>The deepest tapped layer in <paramref name="architecture"/>: the graphs stop there.</summary>
    public string DeepestTap(NetworkArchitecture architecture)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        return architecture.Layers.Last(l => Taps.Contains(l.ReluName)).ReluName;
    }

    /// <summary>Returns a sentence naming what is wrong with these settings for <paramref name="architecture"/>, or null when they are usable.</summary>
    public string? Validate(NetworkArchitecture architecture)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        string known = string.Join(", ", architecture.ReluNames);
        foreach (string name in Taps)
        {
            if (architecture.FindRelu(name) is null)
            {
                return $"Unknown layer '{name}'; the layers are {known}.";
            }
        }

        if (Taps.Count == 0)
        {
            return "No style or content layer is selected; name at least one.";
        }

        // A layer listed twice would count twice in the loss but once in the gradient (each term writes its seed).
        if (StyleLayers.GroupBy(l => l.ReluName).FirstOrDefault(g => g.Count() > 1) is { } twiceStyled)
        {
            return $"{twiceStyled.Key} is listed twice among the style layers; list it once, with a weight if it should count more (e.g. {twiceStyled.Key}:2).";
        }

        if (ContentLayers.GroupBy(name => name).FirstOrDefault(g => g.Count() > 1) is { } twiceContent)
        {
            return $"{twiceContent.Key} is listed twice among the content layers; list it once, and raise {SettingNames.Current.ContentWeight} if it should count more.";
        }

        SettingNames names = SettingNames.Current;
        foreach (var (setting, value) in new[] { (names.ContentWeight, ContentWeight), (names.StyleWeight, StyleWeight), (names.TvWeight, TvWeight) })
        {
            if (!double.IsFinite(value) || value < 0)
            {
                return $"{setting} must be a finite number ≥ 0, not {value}.";
            }
        }

        LayerWeight? bad = StyleLayers.FirstOrDefault(l => !double.IsFinite(l.Weight) || l.Weight < 0);
        if (bad is not null)
        {
            return $"The style layer weight of {bad.ReluName} must be a finite number ≥ 0, not {bad.Weight}.";
        }

        bool anyTerm = (ContentWeight > 0 && ContentLayers.Count > 0) || (StyleWeight > 0 && StyleLayers.Any(l => l.Weight > 0)) || TvWeight > 0;
        return anyTerm ? null : $"Every term of the loss has weight 0, so there is nothing to optimize; set {names.ContentWeight}, {names.StyleWeight} or {names.TvWeight} above 0.";
    }
}
