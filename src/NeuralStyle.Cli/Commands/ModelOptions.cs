using CommandLine;

namespace NeuralStyle.Cli.Commands;

[Verb("model", HelpText = "Model tools. 'model export' writes the forward and backward ONNX graphs (with weights) for Netron; 'model fetch' downloads pretrained VGG19 weights into the model cache.")]
internal sealed class ModelOptions
{
    [Value(0, MetaName = "action", Required = true, HelpText = "export or fetch")]
    public string Action { get; set; } = "";

    [Option("source", Default = "vgg19-caffe2", HelpText = "fetch: vgg19-caffe2 (Caffe's VGG19, as Gatys et al. used) or vgg19 (the Model Zoo's torchvision-normalised one).")]
    public string Source { get; set; } = "";

    [Option("url", HelpText = "fetch: a mirror to download the same file from; its size and SHA-256 are checked all the same.")]
    public string? Url { get; set; }

    [Option("force", HelpText = "fetch: replace a file of that name in the model cache that is not the expected one.")]
    public bool Force { get; set; }

    [Option("out-dir", Default = "out/model", HelpText = "Folder for forward.onnx and backward.onnx.")]
    public string OutDir { get; set; } = "";

    [Option("weights", Default = "auto", HelpText = "auto, random[:SEED], or an ONNX VGG19 file.")]
    public string Weights { get; set; } = "";

    [Option("preprocess", HelpText = "caffe or torchvision. Default: what the weights were trained with.")]
    public string? Preprocess { get; set; }

    [Option("pooling", Default = "max", HelpText = "max or avg.")]
    public string Pooling { get; set; } = "";

    [Option("style-layers", Default = "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1", HelpText = "Style layers (decide where the graphs stop).")]
    public string StyleLayers { get; set; } = "";

    [Option("content-layers", Default = "relu4_2", HelpText = "Content layers.")]
    public string ContentLayers { get; set; } = "";

    [Option("verbose", HelpText = "Show internal details on errors.")]
    public bool Verbose { get; set; }
}
