using NeuralStyle.Imaging;
using NeuralStyle.Model;

namespace NeuralStyle.Engine;

/// <summary>
/// Optimizes a batch of images for one <see cref="StyleProblem"/>, one learning rate per item: computes the
/// targets once, then runs iterations on a backend. The loss reported for iteration k is that of the images at
/// the start of iteration k (row 0 is the initial image). Owns its backend; dispose to free every buffer.
/// </summary>
public sealed class StyleTransferEngine : IDisposable
{
    private readonly IStyleBackend _backend;
    private readonly bool[] _frozen;

    private StyleTransferEngine(IStyleBackend backend, int width, int height, IReadOnlyList<double> learningRates)
    {
        _backend = backend;
        Width = width;
        Height = height;
        LearningRates = learningRates;
        _frozen = new bool[learningRates.Count];
    }

    /// <summary>Width of the optimized images.</summary>
    public int Width { get; }

    /// <summary>Height of the optimized images.</summary>
    public int Height { get; }

    /// <summary>One learning rate per batch item (0..255 pixel units).</summary>
    public IReadOnlyList<double> LearningRates { get; }

    /// <summary>Iterations completed so far.</summary>
    public int Iteration { get; private set; }

    /// <summary>The backend's description, e.g. "CPU (ONNX Runtime 1.31.0, 2 threads)".</summary>
    public string DeviceDescription => _backend.Description;

    /// <summary>
    /// Validates the problem, builds the backend, computes the targets and sets every item to the initial image.
    /// Throws <see cref="UserInputException"/> for settings that cannot work, before any heavy work.
    /// </summary>
    public static StyleTransferEngine Create(StyleProblem problem, IReadOnlyList<double> learningRates, DeviceKind device = DeviceKind.Auto)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(learningRates);
        Validate(problem, learningRates);
        double[] blend = problem.NormalizedBlend();
        PreprocessPreset preprocess = problem.Preprocess ?? problem.Weights.Preprocess;
        IStyleBackend backend = BackendFactory.Create(device, problem.Weights, preprocess, problem.Loss, problem.Adam);
        try
        {
            RgbImage content = problem.Content;
            StyleTargets targets = ComputeTargets(backend, problem, blend);
            int batch = learningRates.Count;
            float[] start = (problem.Initial ?? content).Planes;
            var images = new float[batch * start.Length];
            for (int n = 0; n < batch; n++)
            {
                start.CopyTo(images, n * start.Length);
            }

            var state = new OptimizerState(new int[batch], images, new float[images.Length], new float[images.Length]);
            backend.Start(targets, state, content.Height, content.Width, learningRates);
            return new StyleTransferEngine(backend, content.Width, content.Height, learningRates.ToArray());
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    /// <summary>Runs one iteration for every item that is not stopped; returns each item's loss at the start of it.</summary>
    public IterationLosses[] Step()
    {
        IterationLosses[] losses = _backend.Iterate(_frozen);
        Iteration++;
        return losses;
    }

    /// <summary>The loss of the current images without changing them (costs one forward and backward pass).</summary>
    public IterationLosses[] Evaluate() => _backend.Iterate(Enumerable.Repeat(true, LearningRates.Count).ToArray());

    /// <summary>Stops updating item <paramref name="item"/> (e.g. after it diverged); the others go on.</summary>
    public void Freeze(int item) => _frozen[item] = true;

    /// <summary>True when item <paramref name="item"/> no longer updates.</summary>
    public bool IsFrozen(int item) => _frozen[item];

    /// <summary>A copy of item <paramref name="item"/>'s current image (unclamped; saving clamps to 0..255).</summary>
    public RgbImage CurrentImage(int item)
    {
        OptimizerState state = _backend.ReadState();
        int length = 3 * Width * Height;
        return new RgbImage(Width, Height, state.Images.AsSpan(item * length, length).ToArray());
    }

    /// <summary>Frees the backend and its buffers.</summary>
    public void Dispose() => _backend.Dispose();

    private static void Validate(StyleProblem problem, IReadOnlyList<double> learningRates)
    {
        NetworkArchitecture architecture = problem.Weights.Architecture;
        if (problem.Loss.Validate(architecture) is string problemText)
        {
            throw new UserInputException(problemText);
        }

        if (learningRates.Count == 0 || learningRates.Any(lr => !double.IsFinite(lr) || lr <= 0))
        {
            throw new UserInputException($"Learning rates must be finite and > 0; got {string.Join(", ", learningRates)}.");
        }

        if (problem.Styles.Count == 0)
        {
            throw new UserInputException("Give at least one style image.");
        }

        ConvLayer deepest = architecture.FindRelu(problem.Loss.DeepestTap(architecture))!;
        int minimum = NetworkArchitecture.MinimumInputSide(deepest.Block);
        CheckSize("The content image", problem.Content, minimum, deepest);
        foreach (RgbImage style in problem.Styles)
        {
            CheckSize("A style image", style, minimum, deepest);
        }

        if (problem.Initial is RgbImage initial && (initial.Width != problem.Content.Width || initial.Height != problem.Content.Height))
        {
            throw new UserInputException($"The initial image is {initial.Width}×{initial.Height}, but the content is {problem.Content.Width}×{problem.Content.Height}.");
        }
    }

    private static void CheckSize(string what, RgbImage image, int minimum, ConvLayer deepest)
    {
        if (image.Width < minimum || image.Height < minimum)
        {
            throw new UserInputException($"{what} is {image.Width}×{image.Height} at this size, too small for {deepest.ReluName}, which needs at least {minimum} px on each side; raise --size (or --style-scale) or use shallower layers.");
        }
    }

    private static StyleTargets ComputeTargets(IStyleBackend backend, StyleProblem problem, double[] blend)
    {
        LossSettings loss = problem.Loss;
        RgbImage content = problem.Content;
        var contentFeatures = new Dictionary<string, float[]>();
        if (loss.ContentLayers.Count > 0)
        {
            foreach (var (name, map) in backend.Features(content.Planes, content.Height, content.Width, loss.ContentLayers))
            {
                contentFeatures[name] = map.Data;
            }
        }

        var grams = new Dictionary<string, float[]>();
        string[] styleLayers = loss.StyleLayers.Select(l => l.ReluName).Distinct().ToArray();
        for (int i = 0; i < problem.Styles.Count; i++)
        {
            RgbImage style = problem.Styles[i];
            foreach (var (name, map) in backend.Features(style.Planes, style.Height, style.Width, styleLayers))
            {
                float[] gram = backend.Gram(map);
                if (!grams.TryGetValue(name, out float[]? sum))
                {
                    grams[name] = sum = new float[gram.Length];
                }

                for (int k = 0; k < gram.Length; k++)
                {
                    sum[k] += (float)(blend[i] * gram[k]);
                }
            }
        }

        return new StyleTargets(grams, contentFeatures);
    }
}
