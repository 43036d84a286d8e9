using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Model;

namespace NeuralStyle.Tests.Support;

/// <summary>The engine's tests' problem: VGG19 with random features (seed 0), random content and style images a few dozen pixels wide.</summary>
internal static class SmallVggProblem
{
    private static readonly Lazy<NetworkWeights> Lazy = new(() => NetworkWeights.Random(NetworkArchitecture.Vgg19, 0));

    /// <summary>VGG19 with random features, seed 0, built once per test run.</summary>
    public static NetworkWeights Vgg => Lazy.Value;

    /// <summary>A content image of <paramref name="width"/> × <paramref name="height"/> (seed 1) and a 36×28 style image (seed 2).</summary>
    public static StyleProblem Create(int width = 40, int height = 32)
    {
        var content = new RgbImage(width, height, TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, height, width, 1)));
        var style = new RgbImage(36, 28, TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, 28, 36, 2)));
        return new StyleProblem { Content = content, Styles = [style], Weights = Vgg };
    }

    /// <summary>An engine of <see cref="Create"/>'s problem at <paramref name="learningRate"/> after one iteration, and its checkpoint then; the caller disposes the engine.</summary>
    public static (StyleTransferEngine Engine, Checkpoint Checkpoint) AfterOneIteration(double learningRate)
    {
        StyleProblem problem = Create();
        StyleTransferEngine engine = StyleTransferEngine.Create(problem, [learningRate], DeviceKind.Cpu);
        engine.Step();
        return (engine, engine.CreateCheckpoint(ProblemSettings.For(problem)));
    }
}
