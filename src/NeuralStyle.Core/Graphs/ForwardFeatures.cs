using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Engine;
using NeuralStyle.Model;

namespace NeuralStyle.Graphs;

/// <summary>Runs a forward-graph session once on one host image and copies the named layers' features back (for targets).</summary>
public static class ForwardFeatures
{
    /// <summary>The features of <paramref name="layers"/> for <paramref name="image"/> ([3, H, W], 0..255) at its own size.</summary>
    public static IReadOnlyDictionary<string, FeatureMap> Read(InferenceSession forward, NetworkArchitecture architecture, float[] image, int height, int width, IEnumerable<string> layers)
    {
        ArgumentNullException.ThrowIfNull(forward);
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(layers);
        string[] names = layers.Distinct().ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(image, [1, 3, height, width]);
        using var options = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = forward.Run(options, [GraphNames.Image], [input], names);
        var result = new Dictionary<string, FeatureMap>();
        for (int i = 0; i < names.Length; i++)
        {
            ConvLayer layer = architecture.FindRelu(names[i])!;
            var (h, w) = NetworkArchitecture.SpatialSize(layer.Block, height, width);
            result[names[i]] = new FeatureMap(layer.OutChannels, h, w, outputs[i].GetTensorDataAsSpan<float>().ToArray());
        }

        return result;
    }
}
