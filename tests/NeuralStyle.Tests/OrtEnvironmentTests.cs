using System.Globalization;
using NeuralStyle.Cpu;
using NeuralStyle.Engine;
using NeuralStyle.Runtime;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// ONNX Runtime allows one environment per process, made by whoever touches it first. The engine makes its own, with
/// a thread pool and an arena that all its CPU sessions share; an application that embeds the engine and made one
/// itself, or a session created before the engine's, leaves it the process's environment instead, and the engine must
/// run on that one (each session with its own threads) and compute the same values.
/// </summary>
public sealed class OrtEnvironmentTests : TemporaryFolderTest
{
    /// <summary>Set to 1 in a test process: it makes ONNX Runtime's environment before the engine does (see <see cref="OrtEnvironmentFirst"/>).</summary>
    internal const string ForeignVariable = "NEURALSTYLE_TEST_FOREIGN_ORT_ENV";

    private const string Category = "OrtEnvironment";
    private const string LossesVariable = "NEURALSTYLE_TEST_LOSSES_FILE";

    [Fact]
    [Trait("Category", Category)]
    public void The_engine_runs_on_the_environment_the_process_has()
    {
        bool foreign = Environment.GetEnvironmentVariable(ForeignVariable) == "1";
        Assert.Equal(!foreign, OrtRuntime.SharesPool);

        double[] losses = ThreeIterations(out string description);

        Assert.All(losses, loss => Assert.True(double.IsFinite(loss)));
        Assert.True(losses[^1] < losses[0], string.Join(", ", losses));
        Assert.Equal(foreign, description.Contains("a pool per session", StringComparison.Ordinal));
        if (Environment.GetEnvironmentVariable(LossesVariable) is string file)
        {
            File.WriteAllLines(file, losses.Select(loss => loss.ToString("R", CultureInfo.InvariantCulture)));
        }
    }

    [Fact]
    public async Task On_an_environment_made_before_the_engines_the_losses_are_the_same()
    {
        string file = Path.Combine(Folder, "losses.txt");

        var (code, output) = await InProcessRunner.RunAsync(["--filter", $"Category={Category}"],
            new Dictionary<string, string> { [ForeignVariable] = "1", [LossesVariable] = file });

        Assert.True(code == 0 && output.Contains("Passed: 1,", StringComparison.Ordinal), output);
        Assert.Equal(ThreeIterations(out _), File.ReadAllLines(file).Select(line => double.Parse(line, CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task In_a_process_of_its_own_the_engine_makes_the_environment_and_shares_its_pool()
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(CliProcess.StartInfo("render", "--size", "48", "--iterations", "1", "--device", "cpu", "--out", Path.Combine(Folder, "r.png")));

        Assert.True(code == 0, stderr);
        string device = Assert.Single(stdout.Split('\n'), line => line.StartsWith("Device: CPU (ONNX Runtime", StringComparison.Ordinal));
        Assert.DoesNotContain("a pool per session", device, StringComparison.Ordinal);
    }

    /// <summary>The total loss of three iterations of the tiny problem on the CPU backend, and the backend's description.</summary>
    private static double[] ThreeIterations(out string description)
    {
        using CpuBackend backend = TinyProblem.NewCpuBackend();
        float[] image = TinyProblem.Image(1);
        backend.Start(TinyProblem.Targets(backend, TinyProblem.Image(2)), new OptimizerState([0], image, new float[image.Length], new float[image.Length]),
            TinyProblem.Height, TinyProblem.Width, [10.0]);
        description = backend.Description;
        return Enumerable.Range(0, 3).Select(_ => backend.Iterate()[0].Total).ToArray();
    }
}
