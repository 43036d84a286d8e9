using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Model;
using NeuralStyle.Runtime;

namespace NeuralStyle.Tests.Support;

/// <summary>Small layer tables with random weights and non-zero biases, and random images, for exact checks.</summary>
internal static class TinyNetworks
{
    public static NetworkWeights Create(int[][] blocks, ulong seed)
    {
        NetworkArchitecture architecture = NetworkArchitecture.FromBlocks(blocks);
        NetworkWeights random = NetworkWeights.Random(architecture, seed);
        var rng = new DeterministicRandom(seed + 99);
        var biases = architecture.Layers.Select(l =>
        {
            var b = new float[l.OutChannels];
            rng.FillGaussian(b, 5.0);
            return b;
        }).ToList();
        return new NetworkWeights(architecture, random.Kernels, biases, $"tiny:{seed}", PreprocessPreset.Caffe);
    }

    public static double[] RandomImage(int channels, int height, int width, ulong seed)
    {
        var values = new float[channels * height * width];
        new DeterministicRandom(seed).FillUniform(values, 0, 255);
        return values.Select(v => (double)v).ToArray();
    }

    public static InferenceSession Session(Onnx.ModelProto model) => OrtRuntime.CreateCpuSession(model.ToByteArray());

    public static float[] ToFloat(double[] values) => values.Select(v => (float)v).ToArray();
}
