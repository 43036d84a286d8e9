using System.Diagnostics;
using System.Globalization;
using NeuralStyle.Model;
using TorchSharp;
using static TorchSharp.torch;

// The same Gatys iteration as NeuralStyle's `bench iteration` and tools/peers/pytorch_peer.py, in TorchSharp with
// autograd: VGG19's convolutions to relu5_1 with NeuralStyle's random:0 weights (the numbers `bench iteration` uses
// and `model export --weights random:0` writes for the PyTorch peer), caffe preprocessing, style relu1_1…relu5_1
// (Gram / (C·H·W), mean squared difference, weight 100), content relu4_2 (weight 5), TV (weight 1e-3), Adam lr 10,
// batch 1, noise images. Each iteration's tensors are freed in a dispose scope, as TorchSharp's guide advises.
// Prints the median seconds per iteration after warm-up as JSON.
//   dotnet run -c Release --project tools/peers/torchsharp -- --size 256 --threads 2 --repeat 5 --warmup 2
var options = Arguments.Parse(args);
set_num_threads(options.Threads);
manual_seed(0);

NetworkWeights weights = NetworkWeights.Random(NetworkArchitecture.Vgg19, 0).TruncatedAt("relu5_1");
var convolutions = weights.Architecture.Layers
    .Select((layer, i) => (Layer: layer, Kernel: tensor(weights.Kernels[i], [layer.OutChannels, layer.InChannels, 3, 3]), Bias: tensor(weights.Biases[i])))
    .ToArray();

Tensor caffeMeans = tensor(CaffeMeans.Bgr).view(1, 3, 1, 1);
Tensor content = rand(1, 3, options.Size, options.Size) * 255, style = rand(1, 3, options.Size, options.Size) * 255;
string[] styleLayers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"];
const string ContentLayer = "relu4_2";
Tensor contentTarget;
Dictionary<string, Tensor> styleTargets;
using (no_grad())
{
    contentTarget = Features(content)[ContentLayer].detach();
    styleTargets = Features(style).Where(p => styleLayers.Contains(p.Key)).ToDictionary(p => p.Key, p => Gram(p.Value).detach());
}

var x = new TorchSharp.Modules.Parameter(content.clone());
var adam = optim.Adam([x], lr: 10);
var times = new List<double>();
double? firstLoss = null;
for (int i = 0; i < options.Warmup + options.Repeat; i++)
{
    var clock = Stopwatch.StartNew();
    using (NewDisposeScope())
    {
        adam.zero_grad();
        Dictionary<string, Tensor> taps = Features(x);
        Tensor loss = 5 * (taps[ContentLayer] - contentTarget).pow(2).mean();
        foreach (string name in styleLayers)
        {
            loss += 100 * (Gram(taps[name]) - styleTargets[name]).pow(2).mean();
        }

        Tensor across = x[.., .., .., 1..] - x[.., .., .., ..^1], down = x[.., .., 1.., ..] - x[.., .., ..^1, ..];
        loss += 1e-3 * (across.pow(2).sum() + down.pow(2).sum());
        firstLoss ??= loss.item<float>(); // also a check that both peers compute the same thing: the PyTorch peer prints its own
        loss.backward();
        adam.step();
    }

    if (i >= options.Warmup)
    {
        times.Add(clock.Elapsed.TotalSeconds);
    }
}

times.Sort();
double median = times.Count % 2 == 1 ? times[times.Count / 2] : (times[(times.Count / 2) - 1] + times[times.Count / 2]) / 2;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{{\"peer\": \"TorchSharp {typeof(torch).Assembly.GetName().Version} (LibTorch {__version__})\", \"size\": {options.Size}, \"threads\": {options.Threads}, \"median_s\": {median}, \"min_s\": {times[0]}, \"max_s\": {times[^1]}, \"first_loss\": {firstLoss}}}"));
return 0;

// Caffe preprocessing (RGB → BGR, the ImageNet means subtracted), then conv/ReLU, a 2×2 max pool between blocks.
Dictionary<string, Tensor> Features(Tensor image)
{
    Tensor h = image.flip(1) - caffeMeans;
    var taps = new Dictionary<string, Tensor>();
    int block = 1;
    foreach (var (layer, kernel, bias) in convolutions)
    {
        if (layer.Block != block)
        {
            h = nn.functional.max_pool2d(h, [2, 2], [2, 2]);
            block = layer.Block;
        }

        h = nn.functional.relu(nn.functional.conv2d(h, kernel, bias, padding: [1, 1]));
        taps[layer.ReluName] = h;
    }

    return taps;
}

static Tensor Gram(Tensor features)
{
    long channels = features.shape[1], positions = features.shape[2] * features.shape[3];
    Tensor f = features.view(1, channels, positions);
    return f.matmul(f.transpose(1, 2)) / (channels * positions);
}

/// <summary>--size, --threads, --repeat and --warmup, as the PyTorch peer takes them.</summary>
internal sealed record Arguments(int Size, int Threads, int Repeat, int Warmup)
{
    public static Arguments Parse(string[] args)
    {
        var values = new Dictionary<string, int> { ["--size"] = 256, ["--threads"] = 2, ["--repeat"] = 5, ["--warmup"] = 2 };
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (!values.ContainsKey(args[i]))
            {
                throw new ArgumentException($"Unknown option '{args[i]}'; the options are {string.Join(", ", values.Keys)}.");
            }

            values[args[i]] = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
        }

        return new Arguments(values["--size"], values["--threads"], values["--repeat"], values["--warmup"]);
    }
}

/// <summary>The ImageNet means Caffe's VGG19 subtracts, in its BGR order.</summary>
internal static class CaffeMeans
{
    public static readonly float[] Bgr = [103.939f, 116.779f, 123.68f];
}
