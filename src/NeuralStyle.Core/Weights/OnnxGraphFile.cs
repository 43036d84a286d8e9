using Google.Protobuf;
using Onnx;

namespace NeuralStyle.Weights;

/// <summary>
/// An ONNX model file's graph, read without its initializers' data: every node, the input names, and where in the
/// file each initializer lies, so that only the tensors asked for are ever read. Parsing the whole model would hold
/// every tensor in memory at once: the Model Zoo's VGG19 files are 575 MB, 80% of it the classifier, which the
/// engine never uses (that raised a 512 px render's peak memory by about 600 MB).
/// </summary>
internal sealed class OnnxGraphFile
{
    // Field numbers of onnx.proto3's messages.
    private const int ModelGraph = 7, GraphNode = 1, GraphInitializer = 5, GraphInput = 11, TensorName = 8;

    private readonly string _path;
    private readonly Dictionary<string, (long Offset, int Length)> _initializers = [];
    private readonly List<NodeProto> _nodes = [];
    private readonly List<string> _inputNames = [];

    private OnnxGraphFile(string path) => _path = path;

    /// <summary>Whether the file held a graph at all.</summary>
    public bool HasGraph { get; private set; }

    /// <summary>The graph's nodes in order, whole (Constant nodes with their tensors).</summary>
    public IReadOnlyList<NodeProto> Nodes => _nodes;

    /// <summary>The names of the graph's inputs.</summary>
    public IReadOnlyList<string> InputNames => _inputNames;

    /// <summary>The names of the graph's initializers.</summary>
    public IReadOnlyCollection<string> InitializerNames => _initializers.Keys;

    /// <summary>Reads the graph's structure; throws <see cref="InvalidProtocolBufferException"/> or <see cref="InvalidDataException"/> where the file does not parse.</summary>
    public static OnnxGraphFile Read(string path)
    {
        var file = new OnnxGraphFile(path);
        using FileStream stream = File.OpenRead(path);
        var input = new CodedInputStream(stream);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == ModelGraph && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                file.HasGraph = true;
                file.ReadGraph(input, input.ReadLength());
            }
            else
            {
                input.SkipLastField();
            }
        }

        return file;
    }

    /// <summary>The initializer called <paramref name="name"/>, read from the file now; null if the graph has none of that name.</summary>
    public TensorProto? Initializer(string name)
    {
        if (!_initializers.TryGetValue(name, out var place))
        {
            return null;
        }

        using FileStream stream = File.OpenRead(_path);
        stream.Position = place.Offset;
        var bytes = new byte[place.Length];
        stream.ReadExactly(bytes);
        return TensorProto.Parser.ParseFrom(bytes);
    }

    private void ReadGraph(CodedInputStream input, int length)
    {
        long end = input.Position + length;
        while (input.Position < end)
        {
            uint tag = TagBefore(input, end);
            bool message = WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited;
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case GraphNode when message:
                    _nodes.Add(NodeProto.Parser.ParseFrom(input.ReadBytes()));
                    break;
                case GraphInput when message:
                    _inputNames.Add(ValueInfoProto.Parser.ParseFrom(input.ReadBytes()).Name);
                    break;
                case GraphInitializer when message:
                    int size = input.ReadLength();
                    long offset = input.Position;
                    _initializers[NameOfTensor(input, offset + size)] = (offset, size);
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        if (input.Position != end)
        {
            throw new InvalidDataException("The graph's fields run past its length.");
        }
    }

    /// <summary>A TensorProto's name, skipping its data (which the encoding may put before or after the name) up to <paramref name="end"/>.</summary>
    private static string NameOfTensor(CodedInputStream input, long end)
    {
        string name = "";
        while (input.Position < end)
        {
            uint tag = TagBefore(input, end);
            if (WireFormat.GetTagFieldNumber(tag) == TensorName && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                name = input.ReadString();
            }
            else
            {
                input.SkipLastField();
            }
        }

        return input.Position == end ? name : throw new InvalidDataException("A tensor's fields run past its length.");
    }

    /// <summary>The next field's tag inside a message that ends at <paramref name="end"/>; the file ending first is a truncated file.</summary>
    private static uint TagBefore(CodedInputStream input, long end)
    {
        uint tag = input.ReadTag();
        return tag != 0 ? tag : throw new InvalidDataException($"The file ends at byte {input.Position}, inside a message that runs to byte {end}.");
    }
}
