using System.Globalization;
using CommandLine;
using NeuralStyle.Engine;

namespace NeuralStyle.Cli.Commands;

[Verb("bench", HelpText = "Benchmarks. 'bench iteration': per-phase time of one Gatys iteration (median of --repeat after warm-up), FLOPs and GFLOP/s. 'bench kernels': each kernel at several sizes against MLAS MatMul or a memory copy (CPU), cuBLAS or the device copy bandwidth (--device cuda). 'bench ceiling': this machine's float32 MatMul rate and copy bandwidth.")]
internal sealed class BenchOptions
{
    [Value(0, MetaName = "benchmark", Required = true, HelpText = "iteration, kernels or ceiling")]
    public string What { get; set; } = "";

    [Option("size", Default = 256, HelpText = "Square image side in pixels.")]
    public int Size { get; set; }

    [Option("batch", Separator = ',', Default = new[] { 1 }, HelpText = "Images per iteration; several sizes, comma-separated (e.g. 1,4), are timed in turn, smallest first, and compared: what an image added costs an iteration.")]
    public IEnumerable<int> Batches { get; set; } = [];

    [Option("rounds", Default = 1, HelpText = "Time every --batch size this many times, the sizes alternated, each time on a new engine; the tables pool the rounds, so a machine whose speed drifts slows every size alike.")]
    public int Rounds { get; set; }

    [Option("repeat", Default = 10, HelpText = "Timed iterations (per size and round).")]
    public int Repeat { get; set; }

    [Option("warmup", Default = 2, HelpText = "Untimed iterations first.")]
    public int Warmup { get; set; }

    [Option("device", Default = "cpu", HelpText = "cpu or cuda (auto: CUDA where it works).")]
    public string Device { get; set; } = "";

    [Option("weights", Default = "random:0", HelpText = "Weights; the default needs no download.")]
    public string Weights { get; set; } = "";

    [Option("precision", Default = "fp32", HelpText = "fp32, or tf32 to let CUDA use TF32 tensor cores.")]
    public string Precision { get; set; } = "";

    [Option("json", HelpText = "Print one JSON object instead of the table (an array of them, one per --batch size, where several are given).")]
    public bool Json { get; set; }

    [Option("profile", HelpText = "iteration on the CPU: write ONNX Runtime's per-node profiles to this folder and print the time per operator kind.")]
    public string? Profile { get; set; }
}

/// <summary>The <c>bench</c> verb.</summary>
internal static class BenchCommand
{
    /// <remarks>
    /// Progress goes to <paramref name="progress"/> (stderr), so that stdout holds only the results (and --json stays
    /// clean). Cancelled (Ctrl-C, SIGTERM), a benchmark stops after the current iteration or kernel, reports what it
    /// measured and exits with <see cref="Interruption.ExitCode"/>.
    /// </remarks>
    public static int Run(BenchOptions o, TextWriter output, TextWriter progress, CancellationToken cancel)
    {
        if (o.What == "ceiling")
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"float32 MatMul 2048×2048 (ONNX Runtime/MLAS, {Environment.ProcessorCount} threads): {Runtime.MachineCeiling.MatMulGflops():F1} GFLOP/s"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"memory copy 256 MB (read + write): {Runtime.MachineCeiling.CopyGigabytesPerSecond():F1} GB/s"));
            return 0;
        }

        if (o.What == "kernels")
        {
            if (ProblemFactory.ParseDevice(o.Device) == DeviceKind.Cuda)
            {
                // Our kernels need the driver, a GPU and NVRTC, not ONNX Runtime's provider, which the backend's check also asks for.
                if (Cuda.CudaRuntime.Current.Reason is string reason)
                {
                    throw BackendFactory.CudaCannotRun(reason);
                }

                using var cuda = new Cuda.CudaKernelBenchmark();
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{Cuda.CudaRuntime.Current.DeviceName}: device copy 512 MB (read + write) {cuda.CopyGigabytesPerSecond(512UL << 20):F0} GB/s; device events, L2 flushed before each run"));
                return WriteKernelTable(cuda.Run(), "cuBLAS SGEMM for products, a device copy of the same bytes otherwise", output, progress, cancel);
            }

            return WriteKernelTable(Cpu.CpuKernelBenchmark.Run(), "ONNX Runtime/MLAS MatMul for products, a memory copy of the same bytes otherwise", output, progress, cancel);
        }

        if (o.What != "iteration")
        {
            throw new UserInputException($"Unknown benchmark '{o.What}'; the benchmarks are: iteration, kernels, ceiling.");
        }

        return IterationBenchmark.Run(o, output, progress, cancel);
    }

    /// <summary>Writes each kernel's row as it is measured; cancelled, stops before the next kernel and returns 130.</summary>
    private static int WriteKernelTable(IEnumerable<Cpu.KernelTiming> timings, string reference, TextWriter output, TextWriter progress, CancellationToken cancel)
    {
        output.WriteLine($"kernel             size                  median ms        rate   reference ({reference})");
        using IEnumerator<Cpu.KernelTiming> measured = timings.GetEnumerator();
        while (!cancel.IsCancellationRequested && measured.MoveNext())
        {
            Cpu.KernelTiming t = measured.Current;
            string against = double.IsNaN(t.Reference) ? "—" : string.Create(CultureInfo.InvariantCulture, $"{t.Reference:F1} {t.Unit} ({t.Rate / t.Reference:P0})");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{t.Kernel,-18} {t.Size,-20} {t.Milliseconds,10:F3} {t.Rate,8:F1} {t.Unit,-7} {against}"));
        }

        if (cancel.IsCancellationRequested)
        {
            progress.WriteLine("Interrupted: the kernels above were measured, the rest were not.");
            return Interruption.ExitCode;
        }

        return 0;
    }
}

/// <summary>Source-generated JSON for the benchmark output.</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, object>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<Dictionary<string, object>>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, double>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(double[]))]
[System.Text.Json.Serialization.JsonSerializable(typeof(double))]
[System.Text.Json.Serialization.JsonSerializable(typeof(int))]
[System.Text.Json.Serialization.JsonSerializable(typeof(bool))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class BenchJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
