using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Google.Protobuf;
using NeuralStyle.Model;
using Onnx;

namespace NeuralStyle.Weights;

/// <summary>
/// Reads VGG19 convolution weights from an ONNX file: the ONNX model zoo's <c>vgg19</c> and
/// <c>vgg19-caffe2</c>, or a torchvision <c>torch.onnx.export</c> of <c>vgg19().features</c>, with or without
/// the classifier. The first 16 Conv nodes in graph order are conv1_1 … conv5_4; their weights and biases may be
/// initializers, Constant nodes or external data. Every shape is checked against the layer table.
/// </summary>
public static partial class OnnxWeightImporter
{
    /// <summary>Imports the weights in <paramref name="path"/>; <paramref name="architecture"/> defaults to VGG19.</summary>
    public static NetworkWeights Import(string path, NetworkArchitecture? architecture = null)
    {
        architecture ??= NetworkArchitecture.Vgg19;
        OnnxGraphFile graph = Parse(path);
        var constants = new Dictionary<string, TensorProto>();
        foreach (NodeProto node in graph.Nodes.Where(n => n.OpType == "Constant"))
        {
            AttributeProto? value = node.Attribute.FirstOrDefault(a => a.Name == "value");
            if (value?.T is not null && node.Output.Count == 1)
            {
                constants[node.Output[0]] = value.T;
            }
        }

        // A Constant node's output is what a node reads, even where an initializer has the same name.
        TensorProto? Tensor(string name) => constants.GetValueOrDefault(name) ?? Read(path, () => graph.Initializer(name));

        List<NodeProto> convs = graph.Nodes.Where(n => n.OpType == "Conv").ToList();
        int expected = architecture.Layers.Count;
        if (convs.Count != expected)
        {
            throw Problem(path, $"it has {convs.Count} Conv nodes, but VGG19's feature stack has exactly {expected} (is it a VGG19?)");
        }

        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var kernels = new List<float[]>();
        var biases = new List<float[]>();
        for (int i = 0; i < expected; i++)
        {
            ConvLayer layer = architecture.Layers[i];
            NodeProto node = convs[i];
            string where = $"Conv node {i + 1} ('{node.Name}', taken as {layer.ConvName})";
            long[] wantKernel = [layer.OutChannels, layer.InChannels, 3, 3];
            kernels.Add(ReadFloats(path, folder, Tensor, node.Input.ElementAtOrDefault(1), where + " weight", wantKernel));
            string? biasName = node.Input.ElementAtOrDefault(2);
            biases.Add(string.IsNullOrEmpty(biasName)
                ? new float[layer.OutChannels]
                : ReadFloats(path, folder, Tensor, biasName, where + " bias", [layer.OutChannels]));
        }

        PreprocessPreset preset = LooksLikeCaffe(graph) ? PreprocessPreset.Caffe : PreprocessPreset.Torchvision;
        return new NetworkWeights(architecture, kernels, biases, $"file:{Path.GetFileName(path)} sha256:{Hash(path)}", preset);
    }

    /// <summary>
    /// Caffe-trained weights (the model zoo's vgg19-caffe2) name their blobs like <c>conv1_1_w</c> and their input
    /// <c>data_0</c>; everything else we accept (model zoo vgg19, torchvision) expects torchvision preprocessing.
    /// </summary>
    private static bool LooksLikeCaffe(OnnxGraphFile graph) =>
        graph.InputNames.Contains("data_0") || graph.InitializerNames.Any(n => CaffeBlobName().IsMatch(n));

    [GeneratedRegex(@"^conv\d_\d_w")]
    private static partial Regex CaffeBlobName();

    private static OnnxGraphFile Parse(string path)
    {
        if (!File.Exists(path))
        {
            string what = Directory.Exists(path) ? "is a folder, not a file" : "does not exist";
            throw new UserInputException($"Weights file '{path}' {what}; check the path, or use {SettingNames.Current.RandomWeights}.");
        }

        OnnxGraphFile graph = Read(path, () => OnnxGraphFile.Read(path));
        return graph.HasGraph ? graph : throw Problem(path, "it holds no graph");
    }

    /// <summary>What <paramref name="read"/> reads from the file, or the user's error where the file does not parse.</summary>
    private static T Read<T>(string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidDataException)
        {
            throw Problem(path, "it is not an ONNX model (the file does not parse; it may be truncated)");
        }
    }

    private static float[] ReadFloats(string path, string folder, Func<string, TensorProto?> tensors, string? name, string what, long[] expectedShape)
    {
        if (string.IsNullOrEmpty(name) || tensors(name) is not TensorProto tensor)
        {
            throw Problem(path, $"the {what} ('{name}') is not an initializer or constant");
        }

        long[] shape = tensor.Dims.ToArray();
        if (!shape.SequenceEqual(expectedShape))
        {
            throw Problem(path, $"the {what} has shape [{string.Join(",", shape)}], but VGG19 needs [{string.Join(",", expectedShape)}]");
        }

        long count = expectedShape.Aggregate(1L, (a, b) => a * b);
        float[] values = (TensorProto.Types.DataType)tensor.DataType switch
        {
            TensorProto.Types.DataType.Float => FloatsOf(tensor, path, folder, what),
            TensorProto.Types.DataType.Double => DoublesOf(tensor, path, folder, what),
            var other => throw Problem(path, $"the {what} is {other}; only float and double weights are supported"),
        };
        if (values.Length != count)
        {
            throw Problem(path, $"the {what} holds {values.Length} values for shape [{string.Join(",", shape)}] ({count}); the file is damaged");
        }

        if (!Cpu.CpuKernels.AllFinite(values))
        {
            throw Problem(path, $"the {what} contains NaN or infinite values");
        }

        return values;
    }

    private static float[] FloatsOf(TensorProto tensor, string path, string folder, string what)
    {
        if (tensor.FloatData.Count > 0)
        {
            return tensor.FloatData.ToArray();
        }

        byte[] raw = RawBytes(tensor, path, folder, what);
        return MemoryMarshal.Cast<byte, float>(raw).ToArray();
    }

    private static float[] DoublesOf(TensorProto tensor, string path, string folder, string what)
    {
        double[] values = tensor.DoubleData.Count > 0
            ? tensor.DoubleData.ToArray()
            : MemoryMarshal.Cast<byte, double>(RawBytes(tensor, path, folder, what)).ToArray();
        return values.Select(v => (float)v).ToArray();
    }

    /// <summary>The tensor's raw little-endian bytes, from the file itself or from its external-data file.</summary>
    private static byte[] RawBytes(TensorProto tensor, string path, string folder, string what)
    {
        if (tensor.DataLocation != TensorProto.Types.DataLocation.External)
        {
            return tensor.RawData.ToByteArray();
        }

        var entries = tensor.ExternalData.ToDictionary(e => e.Key, e => e.Value);
        if (!entries.TryGetValue("location", out string? location))
        {
            throw Problem(path, $"the {what} is external data without a location");
        }

        string file = Path.Combine(folder, location);
        if (!File.Exists(file))
        {
            throw Problem(path, $"the {what} lives in '{location}', which is not next to the model; copy it there");
        }

        long offset = entries.TryGetValue("offset", out string? o) ? long.Parse(o, System.Globalization.CultureInfo.InvariantCulture) : 0;
        long length = entries.TryGetValue("length", out string? l) ? long.Parse(l, System.Globalization.CultureInfo.InvariantCulture) : new FileInfo(file).Length - offset;
        using FileStream stream = File.OpenRead(file);
        if (offset + length > stream.Length)
        {
            throw Problem(path, $"the {what} reaches past the end of '{location}'; the file is truncated");
        }

        var bytes = new byte[length];
        stream.Seek(offset, SeekOrigin.Begin);
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static string Hash(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream))[..16];
    }

    private static UserInputException Problem(string path, string what) =>
        new($"Weights file '{path}' cannot be used: {what}.");
}
