namespace NeuralStyle.Engine;

/// <summary>
/// What the optimization matches: A_l, the target Gram matrix per style layer ([C, C], already divided by
/// C·H·W and blended over the style images), and P_l, the content features per content layer ([C, H·W] at the
/// size being optimized). Shared by every item of a batch.
/// </summary>
public sealed class StyleTargets
{
    /// <summary>Takes ownership of the dictionaries and their arrays.</summary>
    public StyleTargets(IReadOnlyDictionary<string, float[]> grams, IReadOnlyDictionary<string, float[]> contentFeatures)
    {
        Grams = grams;
        ContentFeatures = contentFeatures;
    }

    /// <summary>A_l by ReLU name.</summary>
    public IReadOnlyDictionary<string, float[]> Grams { get; }

    /// <summary>P_l by ReLU name.</summary>
    public IReadOnlyDictionary<string, float[]> ContentFeatures { get; }
}
