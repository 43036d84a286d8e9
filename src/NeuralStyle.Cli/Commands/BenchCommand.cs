using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CommandLine;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Model;
using NeuralStyle.Weights;

namespace NeuralStyle.Cli.Commands;

[Verb("bench", HelpText = "Benchmarks. 'bench iteration': per-phase time of one Gatys iteration (median of --repeat after warm-up), FLOPs and GFLOP/s. 'bench kernels': each kernel at several sizes against MLAS MatMul or a memory copy (CPU), cuBLAS or the device copy bandwidth (--device cuda). 'bench ceiling': this machine's float32 MatMul rate and copy bandwidth.")]
internal sealed class BenchOptions
{
    [Value(0, MetaName = "benchmark", Required = true, HelpText = "iteration, kernels or ceiling")]
    public string What { get; set; } = "";

    [Option("size", Default = 256, HelpText = "Square image side in pixels.")]
    public int Size { get; set; }

    [Option("batch", Default = 1, HelpText = "Images per iteration.")]
    public int Batch { get; set; }

    [Option("repeat", Default = 10, HelpText = "Timed iterations.")]
    public int Repeat { get; set; }

    [Option("warmup", Default = 2, HelpText = "Untimed iterations first.")]
    public int Warmup { get; set; }

    [Option("device", Default = "cpu", HelpText = "cpu or cuda (auto: CUDA where it works).")]
    public string Device { get; set; } = "";

    [Option("weights", Default = "random:0", HelpText = "Weights; the default needs no download.")]
    public string Weights { get; set; } = "";

    [Option("precision", Default = "fp32", HelpText = "fp32, or tf32 to let CUDA use TF32 tensor cores.")]
    public string Precision { get; set; } = "";

    [Option("json", HelpText = "Print one JSON object instead of the table.")]
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

        foreach (var (option, value, minimum) in new[] { ("--size", o.Size, 16), ("--batch", o.Batch, 1), ("--repeat", o.Repeat, 1), ("--warmup", o.Warmup, 0) })
        {
            if (value < minimum)
            {
                throw new UserInputException($"bench iteration needs {option} ≥ {minimum}, not {value}.");
            }
        }

        if (o.Size > StyleTransferOptions.LargestSize)
        {
            throw new UserInputException($"bench iteration needs --size ≤ {StyleTransferOptions.LargestSize}, as render does, not {o.Size}.");
        }

        if (o.Profile is not null)
        {
            if (File.Exists(o.Profile))
            {
                throw new UserInputException($"--profile '{o.Profile}' is a file; name a folder for the profiles.");
            }

            Directory.CreateDirectory(o.Profile);
        }

        using IDisposable? profiling = o.Profile is null ? null : Runtime.OrtRuntime.ProfileInto(o.Profile);

        NetworkWeights weights = WeightSource.Resolve(o.Weights);
        var problem = new StyleProblem
        {
            Content = RgbImage.Noise(o.Size, o.Size, 1),
            Styles = [RgbImage.Noise(o.Size, o.Size, 2)],
            Weights = weights,
        };
        var samples = new List<PhaseTimes>();
        var walls = new List<double>(); // each timed Step on the host's clock: the phases plus whatever the device idles between them
        long? peakDevice = null;
        double startSeconds = 0;
        string device;
        using (StyleTransferEngine engine = ProblemFactory.CreateEngine(problem, Enumerable.Repeat(1.0, o.Batch).ToArray(), o.Device, o.Precision, progress.WriteLine))
        {
            device = engine.DeviceDescription;
            progress.WriteLine($"{device}: {o.Warmup} warm-up and {o.Repeat} timed iterations…");
            for (int i = 0; i < o.Warmup && !cancel.IsCancellationRequested; i++)
            {
                engine.Step();
            }

            for (int i = 0; i < o.Repeat && !cancel.IsCancellationRequested; i++)
            {
                long started = Stopwatch.GetTimestamp();
                engine.Step();
                samples.Add(engine.LastPhases); // on CUDA this waits for the Step's last work (Adam): inside the clock, as a peer's synchronised timing has it
                walls.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {i + 1}/{o.Repeat}: {samples[^1].Total:F1} ms"));
                peakDevice = engine.DeviceMemoryInUse is long inUse ? Math.Max(inUse, peakDevice ?? 0) : null;
            }

            startSeconds = engine.StartSeconds;
        } // disposing the sessions writes their profiles

        if (samples.Count == 0)
        {
            progress.WriteLine("Interrupted before the first timed iteration; nothing was measured.");
            return Interruption.ExitCode;
        }

        // Interrupted, the table covers the iterations timed so far, and says so.
        int timed = samples.Count;
        string interrupted = timed < o.Repeat ? string.Create(CultureInfo.InvariantCulture, $" (interrupted: {timed} of {o.Repeat})") : "";

        NetworkArchitecture used = weights.TruncatedAt(problem.Loss.DeepestTap(weights.Architecture)).Architecture;
        double flops = IterationCost.IterationFlops(used, o.Batch, o.Size, o.Size);
        var phases = new (string Name, Func<PhaseTimes, double> Pick)[]
        {
            ("forward", p => p.Forward), ("loss kernels", p => p.Loss), ("backward", p => p.Backward), ("tv", p => p.Tv), ("adam", p => p.Adam), ("host sync", p => p.HostSync), ("total", p => p.Total),
        };
        var rows = phases.Select(p => (p.Name, Stats: Summary(samples.Select(p.Pick)))).ToArray();
        double medianSeconds = rows[^1].Stats.Median / 1000;
        // On CUDA the phases are the stream's time between device events; an iteration as a caller waits for it, as a
        // peer's synchronised wall-clock timing counts it, also holds the device's idle gaps (host round trip, launches).
        var reported = rows.Append(("wall clock", Summary(walls))).ToArray();
        double peak = Runtime.ProcessMemory.PeakBytes();
        if (o.Json)
        {
            var json = new Dictionary<string, object>
            {
                ["device"] = device, ["size"] = o.Size, ["batch"] = o.Batch, ["repeat"] = timed, ["interrupted"] = timed < o.Repeat,
                ["gflop"] = flops / 1e9, ["gflops"] = flops / 1e9 / medianSeconds, ["peak_memory_mb"] = peak / 1e6, ["start_ms"] = startSeconds * 1000,
                ["per_image_ms"] = rows[^1].Stats.Median / o.Batch,
            };
            if (peakDevice is long bytes)
            {
                json["peak_device_memory_mb"] = bytes / 1e6;
            }
            foreach (var (name, s) in reported)
            {
                json[name.Replace(' ', '_') + "_ms"] = new Dictionary<string, double> { ["median"] = s.Median, ["min"] = s.Min, ["max"] = s.Max };
            }

            output.WriteLine(JsonSerializer.Serialize(json, BenchJsonContext.Default.DictionaryStringObject));
            return timed < o.Repeat ? Interruption.ExitCode : 0;
        }

        output.WriteLine($"{device}; {o.Size}×{o.Size}, batch {o.Batch}, {timed} timed iterations after {o.Warmup} warm-up{interrupted}");
        output.WriteLine("phase            median ms      min ms      max ms");
        foreach (var (name, s) in reported)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-14} {s.Median,11:F1} {s.Min,11:F1} {s.Max,11:F1}"));
        }

        string devicePeak = peakDevice is long d ? string.Create(CultureInfo.InvariantCulture, $"; peak device memory in use {d / 1e6:F0} MB (whole device)") : "";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{flops / 1e9:F1} GFLOP per iteration as direct convolutions (2·9·C_in·C_out·H·W per conv, forward and backward) → {flops / 1e9 / medianSeconds:F1} GFLOP/s effective; peak memory {peak / 1e6:F0} MB{devicePeak}"));
        if (o.Batch > 1)
        {
            // What each rate of a sweep this wide costs per iteration: set against --batch 1, what batching saves here.
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Per image: {rows[^1].Stats.Median / o.Batch:F1} ms of the median iteration, each of a sweep's {o.Batch} rates' share; compare with --batch 1"));
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Starting the batch: {startSeconds * 1000:F0} ms (the start and its first iteration's time beyond the second's); a sweep weighs a stopped rate's leaving the batch against this"));
        if (o.Profile is not null)
        {
            WriteProfiles(o.Profile, output);
        }

        return timed < o.Repeat ? Interruption.ExitCode : 0;
    }

    /// <summary>
    /// Time per operator kind over the profiles of the forward sessions, the backward sessions and the Winograd
    /// products (every run, targets and warm-up included). A forward or backward session runs once per pass; the
    /// products session once per Winograd layer and direction, so its "per run" is per product.
    /// </summary>
    private static void WriteProfiles(string directory, TextWriter output)
    {
        foreach (string pass in new[] { "forward", "backward", "winograd" })
        {
            string[] files = Directory.EnumerateFiles(directory, pass + "*.json").Order().ToArray();
            if (files.Length == 0)
            {
                output.WriteLine($"no {pass} profile in {directory} (profiles come from the CPU backend only)");
                continue;
            }

            var (operators, perRun) = Runtime.OrtProfile.Summarize(files);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{pass} sessions ({files.Length} files): {perRun:F1} ms per run"));
            foreach (Runtime.OperatorTime op in operators.Take(8))
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {op.OpType,-18} {op.MillisecondsPerRun,9:F1} ms {op.Nodes,5:F0} nodes  {op.MillisecondsPerRun / perRun,5:P0}"));
            }
        }
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

    private static (double Median, double Min, double Max) Summary(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        double median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        return (median, sorted[0], sorted[^1]);
    }
}

/// <summary>Source-generated JSON for the benchmark output.</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, object>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, double>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(double))]
[System.Text.Json.Serialization.JsonSerializable(typeof(int))]
[System.Text.Json.Serialization.JsonSerializable(typeof(bool))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class BenchJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
