using NeuralStyle.Cpu;
using NeuralStyle.Engine;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// A backend's Start refuses targets and states that do not fit the run before it changes anything: the message
/// names what is wrong, and a loop already running goes on as if the call had not been made.
/// </summary>
public sealed class StartChecksTests
{
    private const int H = TinyProblem.Height, W = TinyProblem.Width;

    [Fact]
    public void A_refused_start_names_the_problem_and_leaves_the_running_loop_as_it_was()
    {
        using CpuBackend backend = TinyProblem.NewCpuBackend();
        float[] image = TinyProblem.Image(6);
        StyleTargets targets = TinyProblem.Targets(backend, image);
        backend.Start(targets, State(image, 1), H, W, [3.0]);
        backend.Iterate();
        OptimizerState before = backend.ReadState();

        var grams = new Dictionary<string, float[]>(targets.Grams) { ["relu2_1"] = new float[15] };
        AssertRefused(() => backend.Start(new StyleTargets(grams, targets.ContentFeatures), State(image, 1), H, W, [3.0]),
            "style target of relu2_1 must be a 4×4 Gram matrix; it holds 15 values");
        AssertRefused(() => backend.Start(new StyleTargets(targets.Grams, new Dictionary<string, float[]>()), State(image, 1), H, W, [3.0]),
            "content target of relu2_1 holds 0 values; 10×12 images need 120");
        AssertRefused(() => backend.Start(targets, State(image, 1), H, W, [3.0, 4.0]),
            "The state holds 1 step counts and 360, 360 and 360 values (images, first and second moments); a batch of 2 at 10×12 needs 2 and 720 each");
        OptimizerState shortMoment = State(image, 1) with { SecondMoment = new float[359] };
        AssertRefused(() => backend.Start(targets, shortMoment, H, W, [3.0]), "360, 360 and 359 values");

        OptimizerState after = backend.ReadState();
        Assert.Equal(before.Steps, after.Steps);
        Assert.Equal(before.Images, after.Images);
        Assert.Equal(before.SecondMoment, after.SecondMoment);
        Assert.True(Assert.Single(backend.Iterate()).IsFinite);
        Assert.Equal([2], backend.ReadState().Steps);
    }

    [Fact]
    public void A_tap_the_network_lacks_is_named()
    {
        using CpuBackend backend = TinyProblem.NewCpuBackend();
        float[] image = TinyProblem.Image(6);
        var e = Assert.Throws<ArgumentException>(() => StartChecks.Require(NetworkArchitecture.Vgg19.TruncatedAt("relu1_2"), TinyProblem.Loss, TinyProblem.Targets(backend, image), State(image, 1), H, W, [1.0]));
        Assert.Contains("The network has no layer relu2_1", e.Message, StringComparison.Ordinal);
    }

    private static void AssertRefused(Action start, string expected)
    {
        var e = Assert.Throws<ArgumentException>(start);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    private static OptimizerState State(float[] image, int batch) =>
        new(new int[batch], Enumerable.Repeat(image, batch).SelectMany(i => i).ToArray(), new float[batch * image.Length], new float[batch * image.Length]);
}
