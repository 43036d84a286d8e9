using System.Diagnostics;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Model;
using NeuralStyle.Weights;

namespace NeuralStyle.Cli.Commands;

/// <summary>
/// <c>bench iteration</c>: the per-phase time of one Gatys iteration on noise images and the given weights (no files
/// needed), the median of <c>--repeat</c> after <c>--warmup</c>, at each <c>--batch</c> size in turn, smallest first,
/// <c>--rounds</c> times over. With several sizes it adds what each image added costs an iteration: the slope between
/// neighbouring sizes, the figure that decides how many rates a sweep should run side by side (the sweep's own restart
/// rule measures the same).
/// </summary>
internal static class IterationBenchmark
{
    /// <summary>One batch size's timings.</summary>
    /// <param name="Batch">Images per iteration.</param>
    /// <param name="Device">The backend's description.</param>
    /// <param name="Phases">Each timed iteration's phases.</param>
    /// <param name="Walls">Each timed iteration on the host's clock, in milliseconds.</param>
    /// <param name="PeakDevice">The most device memory in use while timed (whole device), or null on the host.</param>
    /// <param name="PeakHost">The process's peak memory so far, in bytes: as the sizes run smallest first, in the first round this size's own peak.</param>
    /// <param name="StartSeconds">What starting the batch cost.</param>
    private sealed record Measurement(int Batch, string Device, List<PhaseTimes> Phases, List<double> Walls, long? PeakDevice, double PeakHost, double StartSeconds)
    {
        public (double Median, double Min, double Max) Total => Summary(Phases.Select(p => p.Total));

        /// <summary>The median iteration on the host's clock: what a caller waits, device idle gaps included.</summary>
        public double WallMedian => Summary(Walls).Median;

        /// <summary>The rounds this measurement pools, each as timed.</summary>
        public List<Measurement> Rounds { get; private init; } = [];

        /// <summary>One size's rounds as one measurement: every timed iteration, the peaks (the host's of the first round, before a larger size ran), the median start.</summary>
        public static Measurement Pool(List<Measurement> rounds) => new(rounds[0].Batch, rounds[0].Device, [.. rounds.SelectMany(r => r.Phases)],
            [.. rounds.SelectMany(r => r.Walls)], rounds.Max(r => r.PeakDevice), rounds[0].PeakHost, Summary(rounds.Select(r => r.StartSeconds)).Median)
        {
            Rounds = rounds,
        };
    }

    private static readonly (string Name, Func<PhaseTimes, double> Pick)[] PhaseColumns =
    [
        ("forward", p => p.Forward), ("loss kernels", p => p.Loss), ("backward", p => p.Backward), ("tv", p => p.Tv), ("adam", p => p.Adam), ("host sync", p => p.HostSync), ("total", p => p.Total),
    ];

    /// <remarks>
    /// Progress goes to <paramref name="progress"/> (stderr), so that stdout holds only the results. Cancelled, it
    /// stops after the current iteration, reports what it measured and returns <see cref="Interruption.ExitCode"/>.
    /// </remarks>
    public static int Run(BenchOptions o, TextWriter output, TextWriter progress, CancellationToken cancel)
    {
        int[] batches = RequireValid(o);
        using IDisposable names = SettingNames.Use(SettingNames.Current with { SmallerBatch = "a smaller --batch" }); // its images are not a sweep's rates
        NetworkWeights weights = WeightSource.Resolve(o.Weights);
        var problem = new StyleProblem
        {
            Content = RgbImage.Noise(o.Size, o.Size, 1),
            Styles = [RgbImage.Noise(o.Size, o.Size, 2)],
            Weights = weights,
        };
        foreach (int batch in batches)
        {
            StyleTransferEngine.RequireFits(problem, batch, ProblemFactory.ParseDevice(o.Device)); // every size before the first is timed
        }

        if (o.Profile is not null)
        {
            Directory.CreateDirectory(o.Profile); // once nothing is refused: a refused run leaves no empty folder
        }

        var (byRound, refused) = TimeRounds(o, problem, batches, progress, cancel);
        List<Measurement> measured = [.. byRound.Where(rounds => rounds.Count > 0).Select(Measurement.Pool)];
        if (measured.Count == 0)
        {
            progress.WriteLine("Interrupted before the first timed iteration; nothing was measured.");
            return Interruption.ExitCode;
        }

        bool interrupted = measured.Sum(m => m.Phases.Count) < batches.Length * o.Rounds * o.Repeat;
        NetworkArchitecture used = weights.TruncatedAt(problem.Loss.DeepestTap(weights.Architecture)).Architecture;
        if (o.Json)
        {
            var objects = measured.Select((m, i) => JsonOf(o, m, i > 0 ? measured[i - 1] : null, IterationCost.IterationFlops(used, m.Batch, o.Size, o.Size))).ToList();
            output.WriteLine(batches.Length == 1 // the shape follows what was asked, not how far an interrupted run got
                ? JsonSerializer.Serialize(objects[0], BenchJsonContext.Default.DictionaryStringObject)
                : JsonSerializer.Serialize(objects, BenchJsonContext.Default.ListDictionaryStringObject));
        }
        else
        {
            foreach (Measurement m in measured)
            {
                WriteTable(o, m, IterationCost.IterationFlops(used, m.Batch, o.Size, o.Size), output);
            }

            if (measured.Count > 1)
            {
                WriteAddedImageCost(measured, output);
            }

            if (o.Profile is not null)
            {
                WriteProfiles(o.Profile, output);
            }
        }

        refused?.Throw(); // after the sizes timed: its message says why the next was not
        return interrupted ? Interruption.ExitCode : 0;
    }

    /// <summary>
    /// Times every size in turn, <see cref="BenchOptions.Rounds"/> times over, each on an engine of its own: per size,
    /// the measurement of each round timed. Stops where cancelled, or where a size is refused after others were
    /// timed (a GPU with no memory for it: the sizes timed are still reported, then the refusal).
    /// </summary>
    private static (List<Measurement>[] ByRound, ExceptionDispatchInfo? Refused) TimeRounds(BenchOptions o, StyleProblem problem, int[] batches, TextWriter progress, CancellationToken cancel)
    {
        List<Measurement>[] byRound = [.. batches.Select(_ => new List<Measurement>())];
        using (o.Profile is null ? null : Runtime.OrtRuntime.ProfileInto(o.Profile))
        {
            for (int round = 1; round <= o.Rounds; round++)
            {
                string? label = o.Rounds > 1 ? string.Create(CultureInfo.InvariantCulture, $"round {round}/{o.Rounds}, ") : null;
                for (int i = 0; i < batches.Length; i++)
                {
                    try
                    {
                        if (cancel.IsCancellationRequested || Measure(o, problem, batches[i], label, progress, cancel) is not Measurement m)
                        {
                            return (byRound, null);
                        }

                        byRound[i].Add(m);
                    }
                    catch (UserInputException e) when (byRound.Any(rounds => rounds.Count > 0))
                    {
                        return (byRound, ExceptionDispatchInfo.Capture(e));
                    }
                }
            }
        } // disposing the sessions writes their profiles

        return (byRound, null);
    }

    /// <summary>The batch sizes, smallest first, once every option is checked.</summary>
    private static int[] RequireValid(BenchOptions o)
    {
        int[] batches = [.. o.Batches.Order()];
        if (batches.Length == 0)
        {
            throw new UserInputException("bench iteration needs at least one --batch size, e.g. --batch 1 or --batch 1,4.");
        }

        if (batches.Distinct().Count() < batches.Length)
        {
            throw new UserInputException($"--batch names a size twice ({string.Join(",", o.Batches)}); name each once.");
        }

        foreach (var (option, value, minimum) in new[] { ("--size", o.Size, 16), ("--batch", batches[0], 1), ("--rounds", o.Rounds, 1), ("--repeat", o.Repeat, 1), ("--warmup", o.Warmup, 0) })
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
            AtomicFile.RequireWritableFolder(o.Profile, "--profile"); // a file in its way, no permission, /proc
        }

        return batches;
    }

    /// <summary>Times one batch size on an engine of its own (<paramref name="round"/>: "round 2/3, " or null, for the progress line); null when interrupted before its first timed iteration.</summary>
    private static Measurement? Measure(BenchOptions o, StyleProblem problem, int batch, string? round, TextWriter progress, CancellationToken cancel)
    {
        var phases = new List<PhaseTimes>();
        var walls = new List<double>(); // each timed Step on the host's clock: the phases plus whatever the device idles between them
        long? peakDevice = null;
        StyleTransferEngine created;
        try
        {
            created = ProblemFactory.CreateEngine(problem, Enumerable.Repeat(1.0, batch).ToArray(), o.Device, o.Precision, progress.WriteLine, cancel);
        }
        catch (PreparationInterruptedException)
        {
            return null; // the sizes timed before are still reported
        }

        using StyleTransferEngine engine = created;
        progress.WriteLine($"{engine.DeviceDescription}: {round}batch {batch}, {o.Warmup} warm-up and {o.Repeat} timed iterations…");
        for (int i = 0; i < o.Warmup && !cancel.IsCancellationRequested; i++)
        {
            engine.Step();
        }

        for (int i = 0; i < o.Repeat && !cancel.IsCancellationRequested; i++)
        {
            long started = Stopwatch.GetTimestamp();
            engine.Step();
            phases.Add(engine.LastPhases); // on CUDA this waits for the Step's last work (Adam): inside the clock, as a peer's synchronised timing has it
            walls.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {i + 1}/{o.Repeat}: {phases[^1].Total:F1} ms"));
            peakDevice = engine.DeviceMemoryInUse is long inUse ? Math.Max(inUse, peakDevice ?? 0) : null;
        }

        return phases.Count == 0 ? null
            : new Measurement(batch, engine.DeviceDescription, phases, walls, peakDevice, Runtime.ProcessMemory.PeakBytes(), engine.StartSeconds);
    }

    /// <summary>Each phase's median, min and max, then the iteration on the host's clock.</summary>
    private static (string Name, (double Median, double Min, double Max) Stats)[] Rows(Measurement m) =>
    [
        .. PhaseColumns.Select(p => (p.Name, Summary(m.Phases.Select(p.Pick)))),
        // On CUDA the phases are the stream's time between device events; an iteration as a caller waits for it, as a
        // peer's synchronised wall-clock timing counts it, also holds the device's idle gaps (host round trip, launches).
        ("wall clock", Summary(m.Walls)),
    ];

    /// <summary>Milliseconds an image added to the batch adds to the median iteration on the host's clock, against a smaller size measured.</summary>
    private static double AddedImageMilliseconds(Measurement smaller, Measurement larger) =>
        (larger.WallMedian - smaller.WallMedian) / (larger.Batch - smaller.Batch);

    private static Dictionary<string, object> JsonOf(BenchOptions o, Measurement m, Measurement? smaller, double flops)
    {
        double median = m.Total.Median;
        var json = new Dictionary<string, object>
        {
            ["device"] = m.Device, ["size"] = o.Size, ["batch"] = m.Batch, ["repeat"] = m.Phases.Count, ["rounds"] = m.Rounds.Count, ["interrupted"] = m.Phases.Count < o.Repeat * o.Rounds,
            ["gflop"] = flops / 1e9, ["gflops"] = flops / 1e9 / (median / 1000), ["peak_memory_mb"] = m.PeakHost / 1e6, ["start_ms"] = m.StartSeconds * 1000,
            ["per_image_ms"] = median / m.Batch,
        };
        if (smaller is not null)
        {
            json["added_image_ms"] = AddedImageMilliseconds(smaller, m);
            if (o.Rounds > 1)
            {
                json["added_image_ms_by_round"] = AddedImageMillisecondsByRound(smaller, m);
            }
        }

        if (m.PeakDevice is long bytes)
        {
            json["peak_device_memory_mb"] = bytes / 1e6;
        }

        foreach (var (name, s) in Rows(m))
        {
            json[name.Replace(' ', '_') + "_ms"] = new Dictionary<string, double> { ["median"] = s.Median, ["min"] = s.Min, ["max"] = s.Max };
        }

        return json;
    }

    private static void WriteTable(BenchOptions o, Measurement m, double flops, TextWriter output)
    {
        string interrupted = m.Phases.Count < o.Repeat * o.Rounds ? string.Create(CultureInfo.InvariantCulture, $" (interrupted: {m.Phases.Count} of {o.Repeat * o.Rounds})") : "";
        string rounds = o.Rounds > 1 ? $" in {m.Rounds.Count} rounds, each after {o.Warmup} warm-up" : $" after {o.Warmup} warm-up";
        output.WriteLine($"{m.Device}; {o.Size}×{o.Size}, batch {m.Batch}, {m.Phases.Count} timed iterations{rounds}{interrupted}");
        output.WriteLine("phase            median ms      min ms      max ms");
        foreach (var (name, s) in Rows(m))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-14} {s.Median,11:F1} {s.Min,11:F1} {s.Max,11:F1}"));
        }

        double seconds = m.Total.Median / 1000;
        string devicePeak = m.PeakDevice is long d ? string.Create(CultureInfo.InvariantCulture, $"; peak device memory in use {d / 1e6:F0} MB (whole device)") : "";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{flops / 1e9:F1} GFLOP per iteration as direct convolutions (2·9·C_in·C_out·H·W per conv, forward and backward) → {flops / 1e9 / seconds:F1} GFLOP/s effective; peak memory {m.PeakHost / 1e6:F0} MB{devicePeak}"));
        if (m.Batch > 1)
        {
            // What each rate of a sweep this wide costs per iteration: set against --batch 1, what batching saves here.
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Per image: {m.Total.Median / m.Batch:F1} ms of the median iteration, each of a sweep's {m.Batch} rates' share; compare with --batch 1"));
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Starting the batch: {m.StartSeconds * 1000:F0} ms (the start and its first iteration's time beyond the second's); a sweep weighs a stopped rate's leaving the batch against this"));
    }

    /// <summary>
    /// The sizes side by side on the host's clock (what a caller waits): each image's share, and what each image added
    /// costs against the next smaller size.
    /// </summary>
    private static void WriteAddedImageCost(List<Measurement> measured, TextWriter output)
    {
        output.WriteLine("batch   wall clock ms   per image ms   each image added ms");
        for (int i = 0; i < measured.Count; i++)
        {
            Measurement m = measured[i];
            string added = i == 0 ? "—" : AddedImageMilliseconds(measured[i - 1], m).ToString("F1", CultureInfo.InvariantCulture);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{m.Batch,5} {m.WallMedian,15:F1} {m.WallMedian / m.Batch,14:F1} {added,21}"));
        }

        Measurement first = measured[0], last = measured[^1];
        double[] byRound = AddedImageMillisecondsByRound(first, last);
        string spread = byRound.Length > 1
            ? string.Create(CultureInfo.InvariantCulture, $" (by round: {string.Join(", ", byRound.Select(ms => ms.ToString("F1", CultureInfo.InvariantCulture)))} ms)")
            : " (the sizes were timed in turn once; where this machine's speed drifts, add --rounds 3)";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"From batch {first.Batch} to {last.Batch} an image added {AddedImageMilliseconds(first, last):F1} ms to an iteration, which took {first.WallMedian:F1} ms at batch {first.Batch}: what each rate of a sweep costs beside the others{spread}"));
    }

    /// <summary>What an image added cost in each round that timed both sizes: the spread a drifting machine leaves.</summary>
    private static double[] AddedImageMillisecondsByRound(Measurement smaller, Measurement larger) =>
        [.. smaller.Rounds.Zip(larger.Rounds, AddedImageMilliseconds)];

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

    private static (double Median, double Min, double Max) Summary(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        double median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        return (median, sorted[0], sorted[^1]);
    }
}
