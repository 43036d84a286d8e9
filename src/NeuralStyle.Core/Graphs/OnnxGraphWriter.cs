using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace NeuralStyle.Graphs;

/// <summary>
/// Appends nodes, initializers, inputs and outputs to one ONNX graph and serialises the model. A thin layer over
/// the ONNX protobuf types (from OnnxSharp) so that the graph builders read like the math they encode.
/// </summary>
internal sealed class OnnxGraphWriter
{
    /// <summary>ONNX opset the graphs target: ScatterElements, Pad with tensor pads and MaxPool indices are all stable there.</summary>
    public const int Opset = 17;

    private const int FloatType = (int)TensorProto.Types.DataType.Float;
    private const int Int64Type = (int)TensorProto.Types.DataType.Int64;

    private readonly GraphProto _graph;
    private int _nextId;

    public OnnxGraphWriter(string graphName) => _graph = new GraphProto { Name = graphName };

    /// <summary>Adds a float initializer; the data is copied.</summary>
    public string Initializer(string name, long[] dims, ReadOnlySpan<float> data)
    {
        var tensor = new TensorProto { Name = name, DataType = FloatType, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data)) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds an int64 initializer.</summary>
    public string Int64Initializer(string name, params long[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = Int64Type, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Dims.Add(values.Length);
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds a float scalar initializer.</summary>
    public string Scalar(string name, float value)
    {
        var tensor = new TensorProto { Name = name, DataType = FloatType, RawData = ByteString.CopyFrom(BitConverter.GetBytes(value)) };
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds a node with one output, named after <paramref name="outputName"/> or generated; returns the output's name.</summary>
    public string Node(string opType, IEnumerable<string> inputs, string? outputName = null, params AttributeProto[] attributes)
        => Nodes(opType, inputs, [outputName ?? Fresh(opType)], attributes)[0];

    /// <summary>Adds a node with several outputs; returns their names.</summary>
    public string[] Nodes(string opType, IEnumerable<string> inputs, string[] outputNames, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = Fresh(opType + "_node") };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputNames);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return outputNames;
    }

    /// <summary>A new, unique intermediate name.</summary>
    public string Fresh(string stem) => $"{stem}_{_nextId++}";

    /// <summary>Declares a graph input; each dimension is a fixed size (int) or a symbolic name (string).</summary>
    public void Input(string name, bool isInt64, params object[] dims) => _graph.Input.Add(ValueInfo(name, isInt64, dims));

    /// <summary>Declares a graph output; each dimension is a fixed size (int) or a symbolic name (string).</summary>
    public void Output(string name, bool isInt64, params object[] dims) => _graph.Output.Add(ValueInfo(name, isInt64, dims));

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Text(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    /// <summary>The finished model, ready for ONNX Runtime or Netron.</summary>
    public ModelProto Build(string docString)
    {
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "NeuralStyle",
            ProducerVersion = typeof(OnnxGraphWriter).Assembly.GetName().Version?.ToString() ?? "0",
            DocString = docString,
            Graph = _graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = Opset });
        return model;
    }

    private static ValueInfoProto ValueInfo(string name, bool isInt64, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (object d in dims)
        {
            shape.Dim.Add(d is string symbol
                ? new TensorShapeProto.Types.Dimension { DimParam = symbol }
                : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) });
        }

        var tensorType = new TypeProto.Types.Tensor { ElemType = isInt64 ? Int64Type : FloatType };
        if (dims.Length > 0)
        {
            tensorType.Shape = shape;
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensorType } };
    }
}
