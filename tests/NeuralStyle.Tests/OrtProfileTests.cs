using NeuralStyle.Runtime;

namespace NeuralStyle.Tests;

/// <summary>Reading ONNX Runtime's profile (Chrome trace) into time per operator kind, on a trace written here.</summary>
public sealed class OrtProfileTests
{
    [Fact]
    public void Kernel_times_are_summed_per_kind_averaged_per_run_and_added_over_files()
    {
        string folder = Directory.CreateTempSubdirectory("ns-profile-").FullName;
        try
        {
            // Two runs of a session: Conv 3 ms + 1 ms per run over two nodes, Relu 0.5 ms; fences and session events are not kernels.
            string first = Path.Combine(folder, "a.json"), second = Path.Combine(folder, "b.json");
            File.WriteAllText(first, """
                [
                  {"cat":"Session","name":"model_run","dur":5000},
                  {"cat":"Node","name":"c1_kernel_time","dur":3000,"args":{"op_name":"Conv"}},
                  {"cat":"Node","name":"c2_kernel_time","dur":1000,"args":{"op_name":"Conv"}},
                  {"cat":"Node","name":"c1_fence_before","dur":700,"args":{"op_name":"Conv"}},
                  {"cat":"Node","name":"r_kernel_time","dur":500,"args":{"op_name":"Relu"}},
                  {"cat":"Session","name":"model_run","dur":7000},
                  {"cat":"Node","name":"c1_kernel_time","dur":3000,"args":{"op_name":"Conv"}},
                  {"cat":"Node","name":"c2_kernel_time","dur":1000,"args":{"op_name":"Conv"}},
                  {"cat":"Node","name":"r_kernel_time","dur":500,"args":{"op_name":"Relu"}},
                  {"cat":"Session","name":"session_initialization","dur":90000}
                ]
                """);
            // One run of another session with 2 ms of Relu.
            File.WriteAllText(second, """[{"name":"model_run","dur":2500},{"name":"x_kernel_time","dur":2000,"args":{"op_name":"Relu"}}]""");

            var (operators, perRun) = OrtProfile.Summarize([first, second]);

            Assert.Equal(6.0 + 2.5, perRun, 9);
            Assert.Equal(["Conv", "Relu"], operators.Select(o => o.OpType));
            Assert.Equal(4.0, operators[0].MillisecondsPerRun, 9);
            Assert.Equal(2.0, operators[0].Nodes, 9);
            Assert.Equal(0.5 + 2.0, operators[1].MillisecondsPerRun, 9);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
