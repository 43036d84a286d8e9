using System.Runtime.InteropServices;
using NeuralStyle.Cpu;
using NeuralStyle.Engine;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;
using NeuralStyle.Weights;

namespace NeuralStyle.Tests;

/// <summary>Round trips of VGG19 weights through every ONNX layout we import, and the errors for files that do not fit.</summary>
public sealed class WeightImportTests : TemporaryFolderTest
{
    private static readonly Lazy<NetworkWeights> Original = new(() => NetworkWeights.Random(NetworkArchitecture.Vgg19, 5));


    [Theory]
    [InlineData(VggLayout.Torchvision, PreprocessPreset.Torchvision)]
    [InlineData(VggLayout.ZooCaffe2, PreprocessPreset.Caffe)]
    [InlineData(VggLayout.ZooConstants, PreprocessPreset.Torchvision)]
    [InlineData(VggLayout.TorchvisionExternal, PreprocessPreset.Torchvision)]
    public void Import_returns_the_written_weights_and_the_layouts_preset(VggLayout layout, PreprocessPreset preset)
    {
        string path = Path.Combine(Folder, $"{layout}.onnx");
        VggOnnxFiles.Write(Original.Value, layout, path);

        NetworkWeights imported = OnnxWeightImporter.Import(path);

        Assert.Equal(preset, imported.Preprocess);
        Assert.StartsWith($"file:{layout}.onnx sha256:", imported.Identity, StringComparison.Ordinal);
        for (int i = 0; i < 16; i++)
        {
            Assert.Equal(Original.Value.Kernels[i], imported.Kernels[i]);
            Assert.Equal(Original.Value.Biases[i], imported.Biases[i]);
        }

        // The same weights give bit-identical features.
        var loss = new LossSettings();
        float[] image = TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, 32, 32, 1));
        using var a = new CpuBackend(Original.Value, PreprocessPreset.Caffe, loss, new AdamSettings());
        using var b = new CpuBackend(imported, PreprocessPreset.Caffe, loss, new AdamSettings());
        var fa = a.Features(image, 32, 32, ["relu5_1", "relu1_1"]);
        var fb = b.Features(image, 32, 32, ["relu5_1", "relu1_1"]);
        Assert.Equal(fa["relu5_1"].Data, fb["relu5_1"].Data);
        Assert.Equal(fa["relu1_1"].Data, fb["relu1_1"].Data);
    }

    /// <summary>
    /// The Model Zoo's files are 575 MB, 80% of it the classifier. Only the convolutions' tensors are read: importing
    /// a file with a 64 MB classifier allocates a few megabytes (reading the whole model allocated all of it).
    /// </summary>
    [Fact]
    public void The_classifier_is_never_read_into_memory()
    {
        var (tiny, path, model) = TinyFile("with-classifier.onnx", VggLayout.ZooCaffe2);
        var classifier = new Onnx.TensorProto { Name = "fc6_w_0", DataType = (int)Onnx.TensorProto.Types.DataType.Float, RawData = Google.Protobuf.ByteString.CopyFrom(new byte[64 << 20]) };
        classifier.Dims.Add(16 << 20);
        model.Graph.Initializer.Insert(0, classifier); // before the convolutions' tensors, so that it has to be skipped
        Rewrite(model, path);

        long before = GC.GetAllocatedBytesForCurrentThread();
        NetworkWeights imported = OnnxWeightImporter.Import(path, tiny.Architecture);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated < 8 << 20, $"importing allocated {allocated / 1e6:F1} MB");
        Assert.Equal(tiny.Kernels, imported.Kernels);
        Assert.Equal(tiny.Biases, imported.Biases);
        Assert.Equal(PreprocessPreset.Caffe, imported.Preprocess);
    }

    [Fact]
    public void A_wrong_shape_names_the_node_the_layer_and_both_shapes()
    {
        NetworkArchitecture other = NetworkArchitecture.FromBlocks([[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 256]]);
        string path = Path.Combine(Folder, "wrong.onnx");
        VggOnnxFiles.Write(NetworkWeights.Random(other, 1), VggLayout.Torchvision, path);
        var e = Assert.Throws<UserInputException>(() => OnnxWeightImporter.Import(path));
        Assert.Contains("conv5_4", e.Message, StringComparison.Ordinal);
        Assert.Contains("[256,512,3,3]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[512,512,3,3]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_network_with_another_conv_count_is_refused()
    {
        string path = Path.Combine(Folder, "small.onnx");
        VggOnnxFiles.Write(TinyNetworks.Create([[4], [5]], 1), VggLayout.Torchvision, path);
        var e = Assert.Throws<UserInputException>(() => OnnxWeightImporter.Import(path));
        Assert.Contains("2 Conv nodes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Double_weights_are_read_as_the_floats_they_hold()
    {
        var (tiny, path, model) = TinyFile("doubles.onnx", VggLayout.Torchvision);
        foreach (Onnx.TensorProto tensor in model.Graph.Initializer.Take(2)) // conv1_1's kernel raw, its bias as double_data
        {
            double[] values = MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray().Select(v => (double)v).ToArray();
            tensor.DataType = (int)Onnx.TensorProto.Types.DataType.Double;
            tensor.RawData = tensor.Dims.Count > 1 ? Google.Protobuf.ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) : Google.Protobuf.ByteString.Empty;
            if (tensor.Dims.Count == 1)
            {
                tensor.DoubleData.AddRange(values);
            }
        }

        Rewrite(model, path);
        NetworkWeights imported = OnnxWeightImporter.Import(path, tiny.Architecture);
        Assert.Equal(tiny.Kernels, imported.Kernels);
        Assert.Equal(tiny.Biases, imported.Biases);
    }

    [Theory]
    [InlineData("int32", VggLayout.Torchvision, "conv1_1) weight is Int32; only float and double weights are supported")]
    [InlineData("short", VggLayout.Torchvision, "conv1_1) weight holds 35 values for shape [4,3,3,3] (108); the file is damaged")]
    [InlineData("no location", VggLayout.TorchvisionExternal, "conv1_1) weight is external data without a location")]
    [InlineData("side file gone", VggLayout.TorchvisionExternal, "conv1_1) weight lives in 'damaged.onnx.data', which is not next to the model; copy it there")]
    [InlineData("side file cut", VggLayout.TorchvisionExternal, "reaches past the end of 'damaged.onnx.data'; the file is truncated")]
    public void A_tensor_that_cannot_be_read_is_named_with_what_is_wrong(string damage, VggLayout layout, string expected)
    {
        var (tiny, path, model) = TinyFile("damaged.onnx", layout);
        string side = path + ".data";
        Onnx.TensorProto kernel = model.Graph.Initializer[0];
        switch (damage)
        {
            case "int32":
                kernel.DataType = (int)Onnx.TensorProto.Types.DataType.Int32;
                break;
            case "short":
                kernel.RawData = Google.Protobuf.ByteString.CopyFrom(kernel.RawData.Span[..(35 * sizeof(float))]);
                break;
            case "no location":
                kernel.ExternalData.Remove(kernel.ExternalData.Single(e => e.Key == "location"));
                break;
            case "side file gone":
                File.Delete(side);
                break;
            case "side file cut":
                File.WriteAllBytes(side, File.ReadAllBytes(side)[..^1]); // the last tensor is one byte short
                break;
        }

        Rewrite(model, path);
        var e = Assert.Throws<UserInputException>(() => OnnxWeightImporter.Import(path, tiny.Architecture));
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), e.Message);
        Assert.Contains("damaged.onnx", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_onnx_is_refused_in_one_sentence()
    {
        string path = Path.Combine(Folder, "notes.onnx");
        File.WriteAllText(path, "this is not a model\n");
        var e = Assert.Throws<UserInputException>(() => OnnxWeightImporter.Import(path));
        Assert.Contains("notes.onnx", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Auto_uses_a_cached_file_and_falls_back_to_random_with_a_notice()
    {
        // The cache is given, not set in the environment, where tests running beside this one would see it.
        var notices = new List<string>();
        NetworkWeights fallback = WeightSource.Resolve("auto", notices.Add, Folder);
        Assert.Equal("random:0", fallback.Identity);
        Assert.Single(notices);
        Assert.Contains($"no pretrained VGG19 in {Folder}", notices[0], StringComparison.Ordinal);
        Assert.Contains("model fetch", notices[0], StringComparison.Ordinal);

        VggOnnxFiles.Write(Original.Value, VggLayout.ZooCaffe2, Path.Combine(Folder, "vgg19-caffe2-9.onnx"));
        notices.Clear();
        NetworkWeights cached = WeightSource.Resolve("auto", notices.Add, Folder);
        Assert.StartsWith("file:vgg19-caffe2-9.onnx", cached.Identity, StringComparison.Ordinal);
        Assert.Equal(PreprocessPreset.Caffe, cached.Preprocess);
        Assert.Empty(notices);

        // A damaged file that auto found (the user named none) is refused with where it came from.
        File.WriteAllText(Path.Combine(Folder, "vgg19-features.onnx"), "half a download");
        var e = Assert.Throws<UserInputException>(() => WeightSource.Resolve("auto", null, Folder));
        Assert.Contains("vgg19-features.onnx' cannot be used: it is not an ONNX model", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("; the 'auto' weights come from the model cache, so replace or remove it ('neuralstyle model fetch --force' replaces the Model Zoo's files), or use StyleTransferOptions.Weights = \"random\" or another file.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_resume_gets_the_weights_its_run_was_made_with_or_says_how_to()
    {
        // auto fell back to random features; a pretrained file fetched since must not stop that run from going on.
        VggOnnxFiles.Write(Original.Value, VggLayout.ZooCaffe2, Path.Combine(Folder, "vgg19-caffe2-9.onnx"));
        var randomRun = new RunSettings { WeightsSpec = "auto", WeightsIdentity = "random:0" };
        Assert.Equal("random:0", WeightSource.ForResume(randomRun, null, Folder).Identity);
        Assert.Equal("random:3", WeightSource.ForResume(randomRun with { WeightsSpec = "random:3", WeightsIdentity = "random:3" }, null, Folder).Identity);

        string fetched = WeightSource.Resolve("auto", null, Folder).Identity;
        var pretrainedRun = new RunSettings { WeightsSpec = "auto", WeightsIdentity = fetched };
        Assert.Equal(fetched, WeightSource.ForResume(pretrainedRun, null, Folder).Identity);

        // The file it was made with is gone: auto now gives random features, which would be another run.
        File.Delete(Path.Combine(Folder, "vgg19-caffe2-9.onnx"));
        var e = Assert.Throws<UserInputException>(() => WeightSource.ForResume(pretrainedRun, null, Folder));
        Assert.Equal($"The run was made with the weights {fetched}, but 'auto' now gives random:0; put that file back into the model cache ({Folder}) to continue it, or start a new run.", e.Message);
    }

    [Theory]
    [InlineData("random:x")]
    [InlineData("random:-1")]
    [InlineData("random:")]
    public void A_bad_random_seed_is_refused(string spec) =>
        Assert.Throws<UserInputException>(() => WeightSource.Resolve(spec));

    /// <summary>A two-block network written as <paramref name="layout"/>, and its model read back to alter and <see cref="Rewrite"/>.</summary>
    private (NetworkWeights Weights, string Path, Onnx.ModelProto Model) TinyFile(string name, VggLayout layout)
    {
        NetworkWeights tiny = TinyNetworks.Create([[4], [5, 6]], 3);
        string path = Path.Combine(Folder, name);
        VggOnnxFiles.Write(tiny, layout, path);
        return (tiny, path, Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)));
    }

    private static void Rewrite(Onnx.ModelProto model, string path) => File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(model));
}
