using System.Runtime.InteropServices;
using Google.Protobuf;
using NeuralStyle.Model;
using Onnx;

namespace NeuralStyle.Tests.Support;

/// <summary>The ONNX VGG19 layouts people download or export, written from given weights (as the tests' stand-ins for real files).</summary>
public enum VggLayout
{
    /// <summary><c>torch.onnx.export(vgg19().features)</c>: input "input", initializers features.K.weight/bias.</summary>
    Torchvision,

    /// <summary>The model zoo's vgg19-caffe2: input "data_0", initializers conv1_1_w_0 / conv1_1_b_0, with the classifier.</summary>
    ZooCaffe2,

    /// <summary>The model zoo's vgg19 (MXNet export): weights as Constant nodes named vgg0_convK_weight, with the classifier.</summary>
    ZooConstants,

    /// <summary>The torchvision layout with every tensor in a side file (ONNX external data).</summary>
    TorchvisionExternal,
}

internal static class VggOnnxFiles
{
    public static void Write(NetworkWeights weights, VggLayout layout, string path)
    {
        var graph = new GraphProto { Name = "vgg19" };
        string input = layout == VggLayout.ZooCaffe2 ? "data_0" : "input";
        graph.Input.Add(new ValueInfoProto { Name = input });
        string x = input;
        var layers = weights.Architecture.Layers;
        int torchIndex = 0;
        using FileStream? side = layout == VggLayout.TorchvisionExternal ? File.Create(path + ".data") : null;
        for (int i = 0; i < layers.Count; i++)
        {
            ConvLayer layer = layers[i];
            if (i > 0 && layers[i - 1].Block != layer.Block)
            {
                x = AddNode(graph, "MaxPool", [x], $"pool{i}");
                torchIndex++;
            }

            (string w, string b) = layout switch
            {
                VggLayout.ZooCaffe2 => ($"{layer.ConvName}_w_0", $"{layer.ConvName}_b_0"),
                VggLayout.ZooConstants => ($"vgg0_conv{i}_weight", $"vgg0_conv{i}_bias"),
                _ => ($"features.{torchIndex}.weight", $"features.{torchIndex}.bias"),
            };
            AddTensor(graph, w, [layer.OutChannels, layer.InChannels, 3, 3], weights.Kernels[i], layout, side, path);
            AddTensor(graph, b, [layer.OutChannels], weights.Biases[i], layout, side, path);
            x = AddNode(graph, "Conv", [x, w, b], $"conv_out{i}");
            x = AddNode(graph, "Relu", [x], $"relu_out{i}");
            torchIndex += 2;
        }

        if (layout is VggLayout.ZooCaffe2 or VggLayout.ZooConstants)
        {
            // A small stand-in classifier: the importer must skip whatever follows the convolutions.
            x = AddNode(graph, "GlobalAveragePool", [x], "gap");
            x = AddNode(graph, "Flatten", [x], "flat");
            AddTensor(graph, "fc_w", [10, 512], new float[5120], VggLayout.Torchvision, null, path);
            x = AddNode(graph, "Gemm", [x, "fc_w"], "logits");
        }

        graph.Output.Add(new ValueInfoProto { Name = x });
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Version = 13 });
        File.WriteAllBytes(path, model.ToByteArray());
    }

    private static string AddNode(GraphProto graph, string op, string[] inputs, string output)
    {
        var node = new NodeProto { OpType = op, Name = "/" + output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        graph.Node.Add(node);
        return output;
    }

    private static void AddTensor(GraphProto graph, string name, long[] dims, float[] data, VggLayout layout, FileStream? side, string path)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims);
        byte[] bytes = MemoryMarshal.AsBytes(data.AsSpan()).ToArray();
        if (side is not null)
        {
            tensor.DataLocation = TensorProto.Types.DataLocation.External;
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = Path.GetFileName(path) + ".data" });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = side.Position.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            side.Write(bytes);
        }
        else if (layout == VggLayout.ZooConstants)
        {
            tensor.FloatData.AddRange(data);
            var constant = new NodeProto { OpType = "Constant", Name = name + "_const" };
            constant.Output.Add(name);
            constant.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = tensor });
            graph.Node.Add(constant);
            return;
        }
        else
        {
            tensor.RawData = ByteString.CopyFrom(bytes);
        }

        graph.Initializer.Add(tensor);
    }
}
