using CommandLine;

namespace NeuralStyle.Cli.Commands;

/// <summary>The options every optimizing verb (render, sweep) shares; their defaults are the built-in job.</summary>
internal abstract class OptimizationOptions
{
    [Option("content", HelpText = "Content image (PNG, JPEG, WebP, …). Default: the example cat photo.")]
    public string? Content { get; set; }

    [Option("style", HelpText = "One or more style images, space-separated. Default: the example Starry Night.")]
    public IEnumerable<string> Styles { get; set; } = [];

    [Option("style-blend", Separator = ',', HelpText = "Blend weights of the style images, comma-separated (normalized to sum 1). Default: equal.")]
    public IEnumerable<double> StyleBlend { get; set; } = [];

    [Option("size", Default = 192, HelpText = "Long side of the output in pixels; the content image is resized to it.")]
    public int Size { get; set; }

    [Option("style-scale", Default = 1.0, HelpText = "The style image's long side is --size times this.")]
    public double StyleScale { get; set; }

    [Option("content-weight", Default = 5.0, HelpText = "cw, the content loss weight.")]
    public double ContentWeight { get; set; }

    [Option("style-weight", Default = 100.0, HelpText = "sw, the style loss weight.")]
    public double StyleWeight { get; set; }

    [Option("tv-weight", Default = 1e-3, HelpText = "tvw, the total-variation weight.")]
    public double TvWeight { get; set; }

    [Option("style-layers", Default = "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1", HelpText = "Style layers, comma-separated; 'relu3_1:0.5' sets a layer's weight w_l (default 1).")]
    public string StyleLayers { get; set; } = "";

    [Option("content-layers", Default = "relu4_2", HelpText = "Content layers, comma-separated.")]
    public string ContentLayers { get; set; } = "";

    [Option("pooling", Default = "max", HelpText = "Pooling between blocks: max or avg.")]
    public string Pooling { get; set; } = "";

    [Option("init", Default = "content", HelpText = "Starting image: content, random (noise from --seed), or an image file.")]
    public string Init { get; set; } = "";

    [Option("seed", Default = 0UL, HelpText = "Seed for --init random.")]
    public ulong Seed { get; set; }

    [Option("original-colors", HelpText = "Save images in the content image's colours: the result's luminance with the content's chroma (luminance-only transfer). The checkpoint keeps it; render --resume can turn it on for the rest of a run.")]
    public bool OriginalColors { get; set; }

    [Option("weights", Default = "auto", HelpText = "VGG19 weights: auto (a pretrained file in the model cache, else random features), random[:SEED], or an ONNX file.")]
    public string Weights { get; set; } = "";

    [Option("preprocess", HelpText = "caffe or torchvision. Default: what the weights were trained with.")]
    public string? Preprocess { get; set; }

    [Option("device", Default = "auto", HelpText = "auto, cpu or cuda.")]
    public string Device { get; set; } = "";

    [Option("precision", Default = "fp32", HelpText = "fp32, or tf32 to let CUDA use TF32 tensor cores for the convolutions (faster, about 1e-3 relative); the CPU always uses fp32.")]
    public string Precision { get; set; } = "";

    [Option("plateau", HelpText = "End early once the lowest loss so far fell by less than PCT percent over the last N iterations: PCT, or PCT:N (N defaults to 100), e.g. 1 or 0.5:200. Images and checkpoint are saved where it ends; --resume goes on from there. In a sweep each rate stops at its own and leaves the batch (unless so near the end that restarting the batch costs more than it saves); render --resume takes it further alone.")]
    public string? Plateau { get; set; }

    [Option("print-every", Default = 25, HelpText = "Print the loss every N iterations when output is not a terminal (0: never).")]
    public int PrintEvery { get; set; }

    [Option("max-megapixels", Default = 100.0, HelpText = "Refuse input images larger than this many megapixels, from their header, before decoding.")]
    public double MaxMegapixels { get; set; }

    [Option("max-memory-mb", HelpText = "CPU runs: refuse to start when the run's estimated peak memory exceeds this many MB. Default: the memory available now.")]
    public double? MaxMemoryMb { get; set; }

    [Option("verbose", HelpText = "Show internal details (stack traces) on errors.")]
    public bool Verbose { get; set; }
}
