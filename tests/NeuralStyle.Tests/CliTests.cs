using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Cli;
using NeuralStyle.Imaging;
using NeuralStyle.Tests.Support;
using static NeuralStyle.Tests.Support.InProcessCli;

namespace NeuralStyle.Tests;

/// <summary>The command line, run in-process as a user would run it.</summary>
public sealed class CliTests : TemporaryFolderTest
{
    [Fact]
    public void Render_at_64_px_writes_the_image_and_halves_the_style_loss()
    {
        // Into folders that do not exist yet: the run makes them.
        string output = Path.Combine(Folder, "renders", "cat.png");
        string log = Path.Combine(Folder, "logs", "loss.csv");
        var (code, stdout, stderr) = Run("render", "--size", "64", "--iterations", "40", "--weights", "random:0",
            "--out", output, "--loss-log", log, "--save-every", "20");

        Assert.True(code == 0, stderr + stdout);
        RgbImage image = ImageFiles.Load(output, longSide: null);
        Assert.Equal((64, 43), (image.Width, image.Height)); // the 451×300 cat scaled to a long side of 64
        Assert.True(File.Exists(Path.Combine(Folder, "renders", "cat_00020.png")));

        string[] rows = File.ReadAllLines(log);
        Assert.Equal("iteration,total,content,style,tv,elapsed_s", rows[0]);
        Assert.Equal(42, rows.Length); // header, iterations 0..39, and the final image as row 40
        double Style(string row) => double.Parse(row.Split(',')[3], CultureInfo.InvariantCulture);
        Assert.True(Style(rows[^1]) <= 0.5 * Style(rows[1]), $"style {Style(rows[1])} → {Style(rows[^1])}");
        Assert.Contains("Wrote", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Resuming_to_an_iteration_already_reached_is_refused_before_any_work()
    {
        string image = Path.Combine(Folder, "done.png"), sweep = Path.Combine(Folder, "sweep");
        Assert.Equal(0, Run("render", "--size", "32", "--iterations", "2", "--weights", "random", "--out", image).Code);
        Assert.Equal(0, Run("sweep", "--size", "32", "--lr", "1,2", "--checkpoints", "2", "--weights", "random", "--no-estimate", "--out-dir", sweep).Code);

        var (code, stdout, stderr) = Run("render", "--resume", Path.ChangeExtension(image, ".ckpt"), "--iterations", "2");
        Assert.Equal(2, code);
        Assert.Equal("The checkpoint is already at iteration 2; ask for more --iterations to continue (or --iterations 2 --keep-best to save the best image it holds).", stderr.Trim());
        Assert.DoesNotContain("Preparing the network", stdout, StringComparison.Ordinal); // read from the checkpoint's head

        (code, stdout, stderr) = Run("sweep", "--resume", sweep, "--checkpoints", "1,2");
        Assert.Equal(2, code);
        Assert.Equal("The sweep is already at iteration 2; give --checkpoints beyond it.", stderr.Trim());
        Assert.DoesNotContain("Preparing the network", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Interrupted_before_its_first_iteration_a_run_writes_nothing_and_a_resumed_one_leaves_its_files_as_they_were()
    {
        // New runs: no folder, image, checkpoint or report is made.
        string fresh = Path.Combine(Folder, "fresh");
        string[][] starts =
        [
            ["render", "--size", "32", "--iterations", "2", "--weights", "random", "--out", Path.Combine(fresh, "cat.png")],
            ["sweep", "--size", "32", "--lr", "1,2", "--checkpoints", "2", "--weights", "random", "--out-dir", Path.Combine(fresh, "sweep")], // times a separate render first
            ["sweep", "--size", "32", "--lr", "1,2", "--checkpoints", "2", "--weights", "random", "--no-estimate", "--out-dir", Path.Combine(fresh, "sweep")],
        ];
        foreach (string[] args in starts)
        {
            var (code, stdout, stderr) = RunInterrupted(args);
            Assert.True(code == 130, $"{string.Join(' ', args)} → {code}: {stderr}{stdout}");
            Assert.Equal(PreparationInterrupted, stderr.Trim());
            Assert.False(Directory.Exists(fresh), string.Join(' ', args));
        }

        // Resumed runs, a sweep's rate added included (it would catch up alone first): every file stays as it was.
        string image = Path.Combine(Folder, "cat.png"), sweep = Path.Combine(Folder, "sweep");
        Assert.Equal(0, Run("render", "--size", "32", "--iterations", "2", "--weights", "random", "--out", image).Code);
        Assert.Equal(0, Run("sweep", "--size", "32", "--lr", "1,2", "--checkpoints", "2", "--weights", "random", "--no-estimate", "--out-dir", sweep).Code);
        Dictionary<string, byte[]> before = Directory.EnumerateFiles(Folder, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);
        string[][] resumes =
        [
            ["render", "--resume", Path.ChangeExtension(image, ".ckpt"), "--iterations", "4"],
            ["sweep", "--resume", sweep, "--checkpoints", "4"],
            ["sweep", "--resume", sweep, "--checkpoints", "4", "--add-lr", "3"],
        ];
        foreach (string[] args in resumes)
        {
            var (code, stdout, stderr) = RunInterrupted(args);
            Assert.True(code == 130, $"{string.Join(' ', args)} → {code}: {stderr}{stdout}");
            Assert.Equal(PreparationInterrupted, stderr.Trim());
            Dictionary<string, byte[]> after = Directory.EnumerateFiles(Folder, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);
            Assert.Equal(before.Keys.Order(), after.Keys.Order());
            Assert.All(before, file => Assert.True(file.Value.AsSpan().SequenceEqual(after[file.Key]), $"{string.Join(' ', args)} changed {file.Key}"));
        }
    }

    [Fact]
    public void Pooling_preprocessing_and_precision_reach_the_run_and_its_checkpoint()
    {
        string plain = Path.Combine(Folder, "plain.png"), other = Path.Combine(Folder, "other.png");
        Assert.Equal(0, Run("render", "--size", "32", "--iterations", "1", "--weights", "random", "--out", plain).Code);
        var (code, stdout, stderr) = Run("render", "--size", "32", "--iterations", "1", "--weights", "random", "--out", other,
            "--pooling", "avg", "--preprocess", "torchvision", "--precision", "tf32");

        Assert.True(code == 0, stderr + stdout);
        Assert.Contains(" in fp32 (TF32 is for CUDA's convolutions)", stdout, StringComparison.Ordinal); // the CPU says what it did
        Engine.Checkpoint saved = Engine.Checkpoint.Load(Path.ChangeExtension(other, ".ckpt"));
        Assert.Equal(Model.PoolingMode.Average, saved.Settings.Loss.Pooling);
        Assert.Equal(Model.PreprocessPreset.Torchvision, saved.Settings.Preprocess);
        Assert.NotEqual(Engine.Checkpoint.Load(Path.ChangeExtension(plain, ".ckpt")).History[0][0].Loss.Total, saved.History[0][0].Loss.Total);
    }

    [Fact]
    public void Init_starts_from_the_content_an_image_file_at_the_contents_size_or_seeded_noise()
    {
        string Render(string name, params string[] init)
        {
            string output = Path.Combine(Folder, name + ".png");
            var (code, stdout, stderr) = Run(["render", "--size", "40", "--iterations", "2", "--weights", "random", "--out", output, .. init]);
            Assert.True(code == 0, stderr + stdout);
            return output;
        }

        double FirstLoss(string image) => Engine.Checkpoint.Load(Path.ChangeExtension(image, ".ckpt")).History[0][0].Loss.Total;

        string cat = Path.Combine(Repository.Examples, "content-cat-chelsea.png");
        string painting = Path.Combine(Repository.Examples, "style-van-gogh-starry-night.jpg");
        string byDefault = Render("default"), fromContentFile = Render("content-file", "--init", cat);
        // The content file, resized to the content's exact size, is the content image: the same run, bit for bit.
        Assert.Equal(File.ReadAllBytes(byDefault), File.ReadAllBytes(fromContentFile));

        // Another image (of another shape) is stretched to the content's size and starts elsewhere.
        string fromPainting = Render("painting", "--init", painting);
        RgbImage started = ImageFiles.Load(fromPainting, longSide: null);
        Assert.Equal((40, 27), (started.Width, started.Height));
        Assert.NotEqual(FirstLoss(byDefault), FirstLoss(fromPainting));

        // Noise follows --seed.
        string seed3 = Render("seed3", "--init", "random", "--seed", "3"), again = Render("seed3-again", "--init", "random", "--seed", "3");
        string seed4 = Render("seed4", "--init", "random", "--seed", "4");
        Assert.Equal(File.ReadAllBytes(seed3), File.ReadAllBytes(again));
        Assert.NotEqual(File.ReadAllBytes(seed3), File.ReadAllBytes(seed4));
        Assert.NotEqual(FirstLoss(byDefault), FirstLoss(seed3));
    }

    [Theory]
    [InlineData("render", "--out", "made/x.png", "--loss-log", "logs/x.csv", "--iterations", "1")]
    [InlineData("sweep", "--out-dir", "made/sweep", "--lr", "1,2", "--checkpoints", "1")]
    public void A_run_refused_while_starting_makes_none_of_its_output_folders(string command, params string[] outputs)
    {
        string[] paths = outputs.Select(a => a.Contains('/', StringComparison.Ordinal) ? Path.Combine(Folder, a) : a).ToArray();
        var (code, _, stderr) = Run([command, "--weights", "random", "--max-memory-mb", "1", .. paths]);

        Assert.Equal(2, code);
        Assert.Contains("--max-memory-mb allows", stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(Folder));
    }

    [Theory]
    [InlineData("render", "--iterations", "3")]
    [InlineData("sweep", "--lr", "1,5", "--checkpoints", "2", "--no-estimate")]
    public void In_a_terminal_the_progress_bar_counts_every_iteration_and_the_run_ends_normally(string command, params string[] args)
    {
        // A terminal gets a redrawn bar instead of log lines; its first draw once overflowed a TimeSpan.
        string output = Path.Combine(Folder, "tty");
        string[] target = command == "render" ? ["--out", output + ".png"] : ["--out-dir", output];
        var (code, stdout, stderr) = Run(interactive: true, [command, "--size", "40", "--weights", "random", .. args, .. target]);

        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("\r[", stdout, StringComparison.Ordinal);
        Assert.Contains(" it/s ETA 0:00:0", stdout, StringComparison.Ordinal);
        string last = command == "render" ? "3/3" : "2/2";
        Assert.Contains($"] {last} ", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_iteration_json_is_clean_and_its_progress_goes_to_stderr()
    {
        var (code, stdout, stderr) = Run("bench", "iteration", "--size", "32", "--batch", "2", "--repeat", "2", "--warmup", "0", "--json");
        Assert.True(code == 0, stderr);
        using var json = System.Text.Json.JsonDocument.Parse(stdout);
        double total = json.RootElement.GetProperty("total_ms").GetProperty("median").GetDouble();
        Assert.True(total > 0, stdout);
        Assert.Equal(total / 2, json.RootElement.GetProperty("per_image_ms").GetDouble(), 9); // each of the batch's two images' share
        Assert.Equal(2, json.RootElement.GetProperty("repeat").GetInt32());
        Assert.True(json.RootElement.GetProperty("start_ms").GetDouble() > 0, stdout); // what a batch start costs, measured
        // The host's clock around each iteration holds every phase (on the CPU, timed within it) and the gaps between.
        Assert.True(json.RootElement.GetProperty("wall_clock_ms").GetProperty("min").GetDouble() >= json.RootElement.GetProperty("total_ms").GetProperty("min").GetDouble(), stdout);
        Assert.Contains("  2/2: ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_iteration_at_several_batch_sizes_times_each_smallest_first_and_says_what_an_image_added_costs()
    {
        var (code, stdout, stderr) = Run("bench", "iteration", "--size", "32", "--batch", "3,1", "--repeat", "2", "--warmup", "0", "--json");
        Assert.True(code == 0, stderr);
        using var json = System.Text.Json.JsonDocument.Parse(stdout);
        var runs = json.RootElement.EnumerateArray().ToArray();
        Assert.Equal([1, 3], runs.Select(r => r.GetProperty("batch").GetInt32()));
        Assert.False(runs[0].TryGetProperty("added_image_ms", out _)); // nothing smaller to compare with
        double Wall(int i) => runs[i].GetProperty("wall_clock_ms").GetProperty("median").GetDouble();
        Assert.Equal((Wall(1) - Wall(0)) / 2, runs[1].GetProperty("added_image_ms").GetDouble(), 9); // the slope between the two sizes
        Assert.False(runs[1].TryGetProperty("added_image_ms_by_round", out _)); // one round: nothing to spread
        Assert.True(stderr.IndexOf(": batch 1,", StringComparison.Ordinal) < stderr.IndexOf(": batch 3,", StringComparison.Ordinal), stderr);

        (code, stdout, stderr) = Run("bench", "iteration", "--size", "32", "--batch", "1,2", "--repeat", "1", "--warmup", "0", "--rounds", "2");
        Assert.True(code == 0, stderr);
        // The sizes alternate: round 1 times both, then round 2 times both again, each on a new engine.
        Assert.Matches(@"round 1/2, batch 1,[^\n]*\n(.*\n)*.*round 1/2, batch 2,[^\n]*\n(.*\n)*.*round 2/2, batch 1,[^\n]*\n(.*\n)*.*round 2/2, batch 2,", stderr.ReplaceLineEndings("\n"));
        Assert.Contains("batch 2, 2 timed iterations in 2 rounds, each after 0 warm-up", stdout, StringComparison.Ordinal); // each size's table pools its rounds
        Assert.Matches(@"From batch 1 to 2 an image added -?\d+\.\d ms to an iteration, [^\n]* \(by round: -?\d+\.\d, -?\d+\.\d ms\)", stdout);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(stdout, @"^phase +median ms", System.Text.RegularExpressions.RegexOptions.Multiline)); // each size's own table
        Assert.Matches(@"batch   wall clock ms   per image ms   each image added ms\n +1 +\d+\.\d +\d+\.\d +—\n +2 +\d+\.\d +\d+\.\d +-?\d+\.\d\n", stdout.ReplaceLineEndings("\n"));
        Assert.Contains("From batch 1 to 2 an image added ", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2,2", "--batch names a size twice (2,2); name each once.")]
    [InlineData("0,2", "bench iteration needs --batch ≥ 1, not 0.")]
    [InlineData("1,100000", "A batch of 100000 images of 32×32 is too large for the CPU backend: one of its arrays would hold 6,553,600,000 values, more than the 2,147,483,591 a .NET array allows; use a smaller --size or a smaller --batch.")] // before batch 1 is timed, in bench's words
    public void Bench_iteration_refuses_a_batch_size_named_twice_below_one_or_too_large_before_timing_any(string batches, string expected)
    {
        string profiles = Path.Combine(Folder, "refused-profiles");
        var (code, stdout, stderr) = Run("bench", "iteration", "--size", "32", "--batch", batches, "--profile", profiles);
        Assert.Equal(2, code);
        Assert.StartsWith(expected, stderr.Trim(), StringComparison.Ordinal);
        Assert.DoesNotContain("timed iterations", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(profiles), "a refused benchmark left its profile folder behind");
        Assert.Empty(stdout);
    }

    [Fact]
    public void Bench_profile_keeps_onnx_runtimes_profiles_and_says_where_the_graph_time_goes()
    {
        string profiles = Path.Combine(Folder, "prof");
        var (code, stdout, stderr) = Run("bench", "iteration", "--size", "32", "--repeat", "1", "--warmup", "0", "--profile", profiles);
        Assert.True(code == 0, stderr);
        Assert.Contains("threads, a pool per session while profiled)", stdout, StringComparison.Ordinal); // the device line says so

        // Each pass's sessions: the files kept, the time per run, and the operators that took it, the most first.
        foreach (string pass in new[] { "forward", "backward", "winograd" })
        {
            int files = Directory.GetFiles(profiles, pass + "*.json").Length;
            Assert.True(files > 0, $"no {pass} profile in {profiles}");
            Assert.Matches($@"{pass} sessions \({files} files\): \d+\.\d ms per run\n  [A-Za-z]+ +\d+\.\d ms +\d+ nodes +\d+ %\n", stdout.ReplaceLineEndings("\n"));
        }

        Assert.Matches(@"winograd sessions \(\d+ files\): \d+\.\d ms per run\n  MatMul ", stdout.ReplaceLineEndings("\n")); // the products are all it runs
        Assert.DoesNotContain("Reorder", stdout, StringComparison.Ordinal); // the graph layers' convolutions stay in NCHW, no NCHWc copies around them
        Assert.Matches(@"backward sessions \(\d+ files\): [^\n]*\n(  [^\n]*\n)*  ConvTranspose ", stdout.ReplaceLineEndings("\n")); // conv1_1's VJP on the CPU
        Assert.Null(Runtime.OrtRuntime.ProfileDirectory); // sessions made after the benchmark, in this process, are not profiled
    }

    /// <summary>Tests and embedding hosts create sessions on other threads while a benchmark profiles; those must not land among its files.</summary>
    [Fact]
    public void A_profile_folder_applies_to_the_flow_that_set_it_not_to_sessions_another_thread_creates()
    {
        bool otherProfiles = true;
        using (Runtime.OrtRuntime.ProfileInto(Path.Combine(Folder, "prof")))
        {
            using Microsoft.ML.OnnxRuntime.SessionOptions here = Runtime.OrtRuntime.CpuSessionOptions("here");
            var other = new Thread(() =>
            {
                using Microsoft.ML.OnnxRuntime.SessionOptions there = Runtime.OrtRuntime.CpuSessionOptions("there");
                otherProfiles = there.EnableProfiling;
            });
            using (ExecutionContext.SuppressFlow()) // a thread that was running before, as a test's or a host's is
            {
                other.Start();
            }

            other.Join();
            Assert.True(here.EnableProfiling);
        }

        Assert.False(otherProfiles);
    }

    [Fact]
    public void Bench_kernels_and_ceiling_print_a_rate_for_every_row()
    {
        var (code, stdout, stderr) = Run("bench", "kernels");
        Assert.True(code == 0, stderr);
        string[] rows = stdout.Split('\n').SkipWhile(l => !l.StartsWith("kernel ", StringComparison.Ordinal)).Skip(1).Where(l => l.Length > 0).ToArray();
        Assert.Contains(rows, r => r.StartsWith("gram (MLAS)", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.StartsWith("winograd out", StringComparison.Ordinal));
        Assert.All(rows, r => Assert.Matches(@"\s\d+\.\d{3}\s+\d+\.\d (GFLOP/s|GB/s)\s+\d+\.\d (GFLOP/s|GB/s) \(\d+ %\)$", r));

        (code, stdout, stderr) = Run("bench", "ceiling");
        Assert.True(code == 0, stderr);
        Assert.Matches(@"float32 MatMul 2048×2048 \(ONNX Runtime/MLAS, \d+ threads\): \d+\.\d GFLOP/s", stdout);
        Assert.Matches(@"memory copy 256 MB \(read \+ write\): \d+\.\d GB/s", stdout);
    }

    [Theory]
    [InlineData("iteration", "nothing was measured")]
    [InlineData("kernels", "the kernels above were measured")]
    public void A_benchmark_interrupted_before_it_measures_anything_exits_130(string what, string said)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        string[] args = what == "kernels" ? ["bench", what] : ["bench", what, "--size", "32", "--repeat", "1000"];
        int code = Program.Run(args, stdout, stderr, interactive: false, new CancellationToken(canceled: true));

        Assert.True(code == 130, $"exit {code}: {stdout}{stderr}");
        Assert.Contains(said, stderr.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("GFLOP/s", stdout.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[##..] 1/2", 8, "[##..] ")]
    [InlineData("[##..] 1/2", 20, "[##..] 1/2         ")]
    [InlineData("abc", 0, "a")]
    public void A_progress_line_fits_the_terminal_so_it_can_be_redrawn_in_place(string text, int columns, string expected) =>
        Assert.Equal(expected, ProgressReporter.FitLine(text, columns));

    [Fact]
    public void A_message_during_the_bar_gets_its_own_line_and_the_bar_comes_back_under_it()
    {
        using var terminal = new StringWriter(CultureInfo.InvariantCulture);
        var bar = new ProgressReporter(0, 10, 5, interactive: true, terminal);
        bar.Report(0, "loss 1");
        bar.Line("Checkpoint 1: lr 5 1.0E+006");
        bar.Report(1, "loss 2"); // drawn at once, not 100 ms later: nothing is on the line now

        string[] lines = terminal.ToString().Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("\r[##", lines[0], StringComparison.Ordinal); // the bar as it was, ended
        Assert.Equal("Checkpoint 1: lr 5 1.0E+006", lines[1]);
        Assert.Matches(@"^\r\[#+\.+\] 2/10 .* loss 2 *$", lines[2]);
    }

    [Fact]
    public void A_download_counts_megabytes_in_the_bar_and_in_the_log_lines()
    {
        using var terminal = new StringWriter(CultureInfo.InvariantCulture);
        using var log = new StringWriter(CultureInfo.InvariantCulture);
        var bar = new ProgressReporter(0, 10, 5, interactive: true, terminal, "MB");
        var lines = new ProgressReporter(0, 10, 5, interactive: false, log, "MB");
        for (int step = 0; step < 10; step++)
        {
            bar.Report(step, "");
            lines.Report(step, "");
        }

        Assert.Matches(@"\] 10/10 [0-9.]+ MB/s ETA 0:00:00", terminal.ToString());
        string[] rows = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, rows.Length); // the first step, every fifth, the last
        Assert.All(rows, r => Assert.Matches(@"^ +(1|6|10)/10 MB  [0-9.]+ MB/s$", r));
    }

    [Theory]
    [InlineData(0, "0:00:00")]
    [InlineData(59.6, "0:01:00")]
    [InlineData((3 * 86400) + 3723, "73:02:03")]
    [InlineData(double.PositiveInfinity, "876000:00:00")]
    public void The_eta_clock_counts_hours_past_a_day_and_never_overflows(double seconds, string expected) =>
        Assert.Equal(expected, ProgressReporter.Clock(seconds));

    [Theory]
    [InlineData("--size", "0")]
    [InlineData("--lr", "-1")]
    [InlineData("--iterations", "0")]
    [InlineData("--style-layers", "relu9_9")]
    [InlineData("--pooling", "median")]
    [InlineData("--device", "tpu")]
    [InlineData("--content", "/no/such/image.png")]
    [InlineData("--out", "/dev/null/x.png")] // a folder that cannot be made: a file is in its way
    [InlineData("--out", "picture.gif")]
    [InlineData("--style-blend", "1,2")]
    [InlineData("--device", "cuda")]
    [InlineData("--unknown-option", "1")]
    [InlineData("--max-memory-mb", "10")]
    [InlineData("--max-megapixels", "0.01")]
    [InlineData("--content-weight", "-1")]
    [InlineData("--style-weight", "NaN")]
    [InlineData("--out", "examples/content-cat-chelsea.png")]
    public void Bad_arguments_get_one_sentence_and_exit_code_2(string option, string value)
    {
        if (value.StartsWith("examples/", StringComparison.Ordinal))
        {
            value = Path.Combine(Support.Repository.Root, value);
            byte[] before = File.ReadAllBytes(value);
            Assert.Equal(2, Run("render", "--content", value, "--out", value, "--weights", "random").Code);
            Assert.Equal(before, File.ReadAllBytes(value));
            return;
        }

        var (code, _, stderr) = Run("render", option, value, "--out", Path.Combine(Folder, "x.png"), "--weights", "random");
        if (option == "--out" && !value.StartsWith("examples/", StringComparison.Ordinal))
        {
            (code, _, stderr) = Run("render", option, value, "--weights", "random");
        }

        Assert.Equal(2, code);
        string[] lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_diverging_render_saves_its_last_finite_state_and_suggests_a_lower_rate()
    {
        string output = Path.Combine(Folder, "diverged.png");
        var (code, stdout, _) = Run("render", "--size", "40", "--iterations", "30", "--lr", "1e30", "--style-weight", "1e6", "--weights", "random", "--out", output);
        Assert.Equal(1, code);
        Assert.Contains("diverged at iteration 1", stdout, StringComparison.Ordinal);
        Assert.Contains("lower --lr", stdout, StringComparison.Ordinal);
        Engine.Checkpoint saved = Engine.Checkpoint.Load(Path.ChangeExtension(output, ".ckpt"));
        Assert.True(Cpu.CpuKernels.AllFinite(saved.State.Images));
        Assert.Equal([0], saved.State.Steps); // the diverged update was undone: the initial image, whose loss was finite
        Assert.True(File.Exists(output));

        // Its checkpoint has nothing left to run: resuming it is refused up front, with the rate to try instead.
        var (resumeCode, _, resumeError) = Run("render", "--resume", Path.ChangeExtension(output, ".ckpt"), "--iterations", "50", "--out", Path.Combine(Folder, "again.png"));
        Assert.Equal(2, resumeCode);
        Assert.Contains("cannot go on", resumeError, StringComparison.Ordinal);
        Assert.Contains("lower --lr", resumeError, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Folder, "again.png")));
    }

    [Theory]
    [InlineData("render", "--style-weight", "1e308", "--style-weight")]
    [InlineData("render", "--tv-weight", "1e308", "--tv-weight")]
    [InlineData("sweep", "--style-weight", "1e308", "--style-weight")]
    public void A_starting_image_whose_loss_overflows_is_refused_naming_the_weight_to_lower(string command, string option, string value, string named)
    {
        // Every item starts from the same image, so no learning rate can help: a settings error, not a divergence.
        string output = Path.Combine(Folder, "overflow");
        string[] target = command == "render" ? ["--out", output + ".png", "--iterations", "3"] : ["--out-dir", output, "--checkpoints", "2", "--lr", "1,10", "--no-estimate"];
        var (code, stdout, stderr) = Run([command, "--size", "40", "--weights", "random", option, value, .. target]);

        Assert.True(code == 2, $"exit {code}: {stdout}{stderr}");
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("starting image", stderr, StringComparison.Ordinal);
        Assert.Contains("lower " + named, stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(output + ".png") || File.Exists(output + ".ckpt"), "a render refused at its first iteration writes nothing");
        Assert.Empty(Directory.Exists(output) ? Directory.GetFileSystemEntries(output) : []);
    }

    [Theory]
    [InlineData("render", "1e22")] // 86% of the values stall at 40 px
    [InlineData("render", "1e30")] // all of them
    [InlineData("sweep", "1e25")]
    public void A_first_update_that_adam_overflow_leaves_unchanged_is_refused_naming_the_weights(string command, string styleWeight)
    {
        // Adam's squared gradients overflow float32 and its steps become 0: the run would go on changing nothing.
        string output = Path.Combine(Folder, "stalled");
        string[] target = command == "render" ? ["--out", output + ".png", "--iterations", "3"] : ["--out-dir", output, "--checkpoints", "2", "--lr", "1,10", "--no-estimate"];
        var (code, stdout, stderr) = Run([command, "--size", "40", "--weights", "random", "--style-weight", styleWeight, .. target]);

        Assert.True(code == 2, $"exit {code}: {stdout}{stderr}");
        Assert.Matches(@"^The first update left \d+% of the image unchanged: .* divide --content-weight, --style-weight and --tv-weight by the same factor", stderr);
        Assert.False(File.Exists(output + ".png") || File.Exists(output + ".ckpt"), "a run refused at its first iteration writes nothing");
        Assert.Empty(Directory.Exists(output) ? Directory.GetFileSystemEntries(output) : []);
    }

    [Theory]
    [InlineData("--lr 5", "--lr", "sweep", "--resume", "out/sweep", "--lr", "5")]
    [InlineData("--size, --style-weight", "--size", "render", "--resume", "x.ckpt", "--size=80", "--style-weight", "3", "--iterations", "9")]
    [InlineData("--out-dir", "--out-dir", "sweep", "--resume", "out/sweep", "--out-dir", "elsewhere")]
    public void A_setting_the_checkpoint_stores_is_refused_with_resume_not_ignored(string what, string named, params string[] args)
    {
        var (code, _, stderr) = Run(args);
        Assert.True(code == 2, $"{what}: exit {code}: {stderr}");
        Assert.Contains(named, stderr, StringComparison.Ordinal);
        Assert.Contains("settings stored in", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("render", "--content-weight (1E+308) is so large")]
    [InlineData("sweep", "Every learning rate diverged: --content-weight (1E+308) is so large")]
    public void A_divergence_an_absurd_weight_causes_names_the_weight_not_the_rate(string command, string expected)
    {
        // The starting image's loss is finite (its content term is 0); the first update overflows. No rate helps.
        string output = Path.Combine(Folder, "absurd");
        string[] target = command == "render" ? ["--out", output + ".png", "--iterations", "3"] : ["--out-dir", output, "--checkpoints", "2", "--lr", "1,10", "--no-estimate"];
        var (code, stdout, stderr) = Run([command, "--size", "40", "--weights", "random", "--content-weight", "1e308", .. target]);

        Assert.True(code == 1, $"exit {code}: {stdout}{stderr}");
        Assert.Contains(expected, stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("lower --lr", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(5, 100, 1e-3, 1, null)]
    [InlineData(5, 1e29, 1e-3, 1, null)]
    [InlineData(5, 1e29, 1e-3, 20, "--style-weight times its largest layer weight (2E+30)")]
    [InlineData(1e31, 100, 1e-3, 1, "--content-weight (1E+31)")]
    [InlineData(5, 100, 1e40, 1, "--tv-weight (1E+40)")]
    public void Only_an_absurd_loss_weight_is_named_for_a_divergence(double content, double style, double tv, double layer, string? named)
    {
        var loss = new Engine.LossSettings { ContentWeight = content, StyleWeight = style, TvWeight = tv, StyleLayers = [new Engine.LayerWeight("relu1_1", layer)] };
        string? advice = NeuralStyle.Cli.Commands.LossSummary.HugeWeightAdvice(loss);
        Assert.Equal(named is null, advice is null);
        Assert.True(named is null || advice!.StartsWith(named + " is so large", StringComparison.Ordinal), advice);
    }

    [Fact]
    public void A_sweep_whose_every_rate_diverges_keeps_its_report_and_exits_1()
    {
        string folder = Path.Combine(Folder, "all-diverged");
        var (code, stdout, stderr) = Run("sweep", "--size", "40", "--lr", "1e30,1e31", "--checkpoints", "3", "--no-estimate", "--weights", "random", "--out-dir", folder);
        Assert.True(code == 1, $"exit {code}: {stdout}{stderr}");
        Assert.Contains("Every learning rate diverged", stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(folder, "metrics.csv")));
    }

    [Theory]
    [InlineData("--out", "x.png", "--checkpoint", "x.png")]
    [InlineData("--out", "x.png", "--loss-log", "x.png")]
    [InlineData("--out", "x.png", "--loss-log", "x.ckpt")] // the checkpoint goes beside --out
    [InlineData("--out", "x.png", "--checkpoint", "log.csv", "--loss-log", "log.csv")]
    [InlineData("--out", "x.png", "--save-every", "1", "--checkpoint", "x_00001.png")]
    [InlineData("--out", "x.png", "--save-every", "1", "--init", "x_00001.png")] // made below: an input a saved image would replace
    public void Outputs_that_would_overwrite_one_another_are_refused_before_any_work(params string[] args)
    {
        // Whichever was written last would win: the image or the checkpoint would be lost without a word.
        string[] paths = args.Select(a => a.Contains('.', StringComparison.Ordinal) ? Path.Combine(Folder, a) : a).ToArray();
        string? input = args.Contains("--init") ? paths[^1] : null;
        if (input is not null)
        {
            File.Copy(Path.Combine(Support.Repository.Root, "examples", "content-cat-chelsea.png"), input);
        }

        var (code, stdout, stderr) = Run(["render", "--size", "32", "--iterations", "2", "--weights", "random", .. paths]);

        Assert.True(code == 2, $"exit {code}: {stdout}{stderr}");
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(input is null ? "overwrite" : "write over", stderr, StringComparison.Ordinal);
        Assert.Equal(input is null ? [] : [input], Directory.GetFileSystemEntries(Folder));
    }

    [Theory]
    [InlineData("render")]
    [InlineData("sweep")]
    public void A_run_is_refused_while_another_writes_the_same_checkpoint(string command)
    {
        // Both would replace each other's checkpoint and images in turn; the second is refused before its first iteration.
        string checkpoint = command == "render" ? Path.Combine(Folder, "x.ckpt") : Path.Combine(Folder, "s", "sweep.ckpt");
        Directory.CreateDirectory(Path.GetDirectoryName(checkpoint)!);
        string[] target = command == "render" ? ["--out", Path.Combine(Folder, "x.png"), "--iterations", "2"] : ["--out-dir", Path.Combine(Folder, "s"), "--lr", "1,2", "--checkpoints", "2", "--no-estimate"];

        using (OutputLock.Take(checkpoint, "wait"))
        {
            var (code, stdout, stderr) = Run([command, "--size", "32", "--weights", "random", .. target]);
            Assert.True(code == 2, $"exit {code}: {stdout}{stderr}");
            Assert.Contains($"Another run is writing '{checkpoint}' now", stderr, StringComparison.Ordinal);
            Assert.False(File.Exists(checkpoint));
        }

        Assert.Equal(0, Run([command, "--size", "32", "--weights", "random", .. target]).Code); // the lock went with its holder
        Assert.True(File.Exists(checkpoint));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(checkpoint)!, "*.lock", new EnumerationOptions { AttributesToSkip = 0 }));
    }

    [Theory]
    [InlineData("--out", "shared.png")] // the same image, each with its own checkpoint
    [InlineData("--loss-log", "shared.csv")]
    public void A_render_is_refused_while_another_writes_one_of_its_outputs(string option, string name)
    {
        string shared = Path.Combine(Folder, name);
        string[] own = option == "--out" ? ["--checkpoint", Path.Combine(Folder, "mine.ckpt")] : ["--out", Path.Combine(Folder, "mine.png")];
        using (OutputLock.Take([Path.Combine(Folder, "theirs.ckpt"), shared], "wait"))
        {
            var (code, stdout, stderr) = Run(["render", "--size", "32", "--weights", "random", "--iterations", "1", option, shared, .. own]);
            Assert.True(code == 2, $"exit {code}: {stdout}{stderr}");
            Assert.Contains($"Another run is writing '{shared}' now", stderr, StringComparison.Ordinal);
            Assert.Contains("give this one other outputs (--out, --checkpoint, --loss-log)", stderr, StringComparison.Ordinal);
        }

        // Refused before it wrote anything, and holding none of its locks after.
        Assert.Empty(Directory.GetFiles(Folder, "*", new EnumerationOptions { AttributesToSkip = 0 }));
        Assert.Equal(0, Run(["render", "--size", "32", "--weights", "random", "--iterations", "1", option, shared, .. own]).Code);
    }

    [Fact]
    public void A_resumed_render_without_out_continues_in_place()
    {
        // Not into out/render.png, which may be another render's result: beside its checkpoint, in the image's format.
        string image = Path.Combine(Folder, "wall.jpg"), checkpoint = Path.Combine(Folder, "wall.ckpt"), log = Path.Combine(Folder, "logs", "wall.csv");
        Assert.Equal(0, Run("render", "--size", "40", "--iterations", "1", "--weights", "random", "--out", image, "--loss-log", log).Code);
        DateTime written = File.GetLastWriteTimeUtc(image);

        var (code, stdout, stderr) = Run("render", "--resume", checkpoint, "--iterations", "3");

        Assert.True(code == 0, stderr + stdout);
        Assert.Contains($"Wrote {image} and {checkpoint}", stdout, StringComparison.Ordinal);
        Assert.Equal(3, Engine.Checkpoint.Load(checkpoint).Iteration);
        Assert.True(File.GetLastWriteTimeUtc(image) >= written);
        Assert.Equal(["wall.ckpt", "wall.jpg"], Directory.GetFiles(Folder).Select(Path.GetFileName).Order());
        Assert.StartsWith("3,", File.ReadAllLines(log)[^1], StringComparison.Ordinal); // its loss log goes on too
    }

    [Fact]
    public void A_resumed_render_writes_the_image_its_checkpoint_records_never_one_of_its_inputs()
    {
        // The content photo wall.png beside wall.ckpt is not the image saved with it: wall_styled.jpg is.
        string photo = Path.Combine(Folder, "wall.png"), styled = Path.Combine(Folder, "wall_styled.jpg"), checkpoint = Path.Combine(Folder, "wall.ckpt");
        File.Copy(Path.Combine(Support.Repository.Root, "examples", "content-cat-chelsea.png"), photo);
        byte[] original = File.ReadAllBytes(photo);
        Assert.Equal(0, Run("render", "--size", "40", "--iterations", "1", "--weights", "random", "--content", photo, "--out", styled, "--checkpoint", checkpoint).Code);

        var (code, stdout, stderr) = Run("render", "--resume", checkpoint, "--iterations", "2");
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains($"Wrote {styled} and {checkpoint}", stdout, StringComparison.Ordinal);
        Assert.Equal(original, File.ReadAllBytes(photo));

        // Named on purpose, the photo is still an input of the run the checkpoint continues.
        (code, _, stderr) = Run("render", "--resume", checkpoint, "--iterations", "3", "--out", photo);
        Assert.Equal(2, code);
        Assert.Contains("is one of the inputs", stderr, StringComparison.Ordinal);
        Assert.Equal(original, File.ReadAllBytes(photo));
    }

    [Fact]
    public void A_checkpoint_that_records_no_image_needs_out_to_resume()
    {
        string checkpoint = Path.Combine(Folder, "api.ckpt");
        using (var transfer = new StyleTransfer(new StyleTransferOptions { Size = 40, Weights = "random:0", Device = Engine.DeviceKind.Cpu }))
        {
            transfer.SetContent(RgbImage.Noise(40, 30, 1));
            transfer.AddStyle(RgbImage.Noise(40, 30, 2));
            transfer.Run(1);
            transfer.SaveCheckpoint(checkpoint);
        }

        var (code, _, stderr) = Run("render", "--resume", checkpoint, "--iterations", "2");
        Assert.Equal(2, code);
        Assert.Contains("does not record an image saved with it", stderr, StringComparison.Ordinal);
        Assert.Equal(0, Run("render", "--resume", checkpoint, "--iterations", "2", "--out", Path.Combine(Folder, "api.png")).Code);
    }

    [Fact]
    public void A_resume_keeps_to_max_memory_mb()
    {
        string output = Path.Combine(Folder, "small.png");
        Assert.Equal(0, Run("render", "--size", "40", "--iterations", "1", "--weights", "random", "--out", output).Code);
        var (code, _, stderr) = Run("render", "--resume", Path.ChangeExtension(output, ".ckpt"), "--iterations", "2", "--max-memory-mb", "100", "--out", output);
        Assert.Equal(2, code);
        Assert.Contains("--max-memory-mb allows", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_that_diverges_at_once_on_resume_keeps_the_state_it_resumed_with()
    {
        // A checkpoint written on interruption holds the images after an update whose loss was never evaluated; here
        // that update was absurd (pixels near the float maximum), so the resumed run diverges in its first iteration,
        // with no earlier state to go back to.
        string first = Path.Combine(Folder, "first.png"), resumed = Path.Combine(Folder, "resumed.png"), checkpoint = Path.Combine(Folder, "blown.ckpt");
        Assert.Equal(0, Run("render", "--size", "40", "--iterations", "1", "--weights", "random", "--out", first).Code);
        Engine.Checkpoint saved = Engine.Checkpoint.Load(Path.ChangeExtension(first, ".ckpt"));
        Engine.Checkpoint blown = DivergedCheckpoint.BlownUp(saved);
        blown.Save(checkpoint);

        var (code, stdout, stderr) = Run("render", "--resume", checkpoint, "--iterations", "5", "--out", resumed);

        Assert.True(code == 1 && stdout.Contains("diverged at iteration 1", StringComparison.Ordinal), $"exit {code}: {stdout}{stderr}");
        Assert.Contains("keep the state it resumed with", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("last finite image", stdout, StringComparison.Ordinal);
        Engine.Checkpoint after = Engine.Checkpoint.Load(Path.ChangeExtension(resumed, ".ckpt"));
        Assert.Equal(blown.State.Steps, after.State.Steps);
        Assert.Equal(blown.State.Images, after.State.Images);
        Assert.Equal(blown.State.FirstMoment, after.State.FirstMoment);
    }

    [Fact]
    public void Doctor_reports_every_component_and_a_verdict()
    {
        var (code, stdout, _) = Run("doctor");
        Assert.Equal(0, code);
        foreach (string part in new[] { "CUDA driver", "NVRTC", "cuBLAS", "cuDNN", "CUDA libraries", "ORT CUDA provider", "Verdict:" })
        {
            Assert.Contains(part, stdout, StringComparison.Ordinal);
        }

        if (Cuda.CudaRuntime.Current.Reason is string why)
        {
            Assert.Contains($"Verdict: CUDA is not usable here; renders run on the CPU (--device auto or cpu). {why}", stdout, StringComparison.Ordinal);
        }
    }

    /// <summary>doctor's verdict names the first thing that sends renders to the CPU, cuDNN included, which the provider loads late.</summary>
    [Fact]
    public void Doctors_verdict_names_what_sends_renders_to_the_cpu()
    {
        var works = new Cuda.CudaReport { DeviceName = "GPU", NvrtcVersion = "13.0" };
        Assert.Null(NeuralStyle.Cli.Commands.DoctorCommand.WhyRendersRunOnTheCpu(works, providerProblem: null, cudnnFound: true));
        Assert.StartsWith("cuDNN 9 (libcudnn.so.9) is missing", NeuralStyle.Cli.Commands.DoctorCommand.WhyRendersRunOnTheCpu(works, null, cudnnFound: false), StringComparison.Ordinal);
        Assert.Equal("no provider", NeuralStyle.Cli.Commands.DoctorCommand.WhyRendersRunOnTheCpu(works, "no provider", cudnnFound: false));
        Assert.Equal("no GPU", NeuralStyle.Cli.Commands.DoctorCommand.WhyRendersRunOnTheCpu(works with { DeviceName = null, Reason = "no GPU" }, "no provider", cudnnFound: false));
    }

    [Fact]
    public void Help_exits_0_and_lists_the_options()
    {
        var (code, stdout, _) = Run("render", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--style-layers", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("help")]
    public void Help_without_a_command_lists_every_command(string help)
    {
        var (code, stdout, _) = Run(help);
        Assert.Equal(0, code);
        foreach (string command in new[] { "render", "sweep", "bench", "model", "doctor" })
        {
            Assert.Contains($"  {command} ", stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Help_naming_a_command_shows_that_commands_options()
    {
        var (code, stdout, _) = Run("help", "sweep");
        Assert.Equal(0, code);
        Assert.Contains("--checkpoints", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Version_prints_one_line_with_the_version()
    {
        var (code, stdout, _) = Run("--version");
        Assert.Equal(0, code);
        string line = Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("neuralstyle 1.", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("size", "render", "--iterations", "1", "--size")]
    [InlineData("content", "render", "--content")]
    [InlineData("lr", "sweep", "--size", "32", "--lr")]
    [InlineData("out-dir", "model", "export", "--out-dir")]
    [InlineData("out-dir", "sweep", "--out-dir", "", "--checkpoints", "1")]
    [InlineData("checkpoint", "render", "--checkpoint=", "--iterations", "1")]
    [InlineData("profile", "bench", "iteration", "--profile", "")]
    public void An_option_without_its_value_or_with_an_empty_one_is_refused(string option, params string[] args)
    {
        // The parser used to drop a last option without its value and run with the default ('render --content $FILE'
        // with an empty variable rendered the cat), and an empty path ended in an internal error.
        var (code, stdout, stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.StartsWith($"--{option} needs a value", stderr, StringComparison.Ordinal);
        Assert.Empty(stdout);
    }

    [Theory]
    [InlineData("rendr", "--size", "64")]
    [InlineData("help", "rendr")]
    public void An_unknown_command_is_refused_with_the_list_of_commands(params string[] args)
    {
        var (code, _, stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains("There is no command 'rendr': use render, sweep", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Verbose_adds_the_stack_trace_to_the_sentence_and_keeps_the_exit_code()
    {
        string[] args = ["render", "--content", Path.Combine(Folder, "missing.png"), "--size", "32"];
        var (code, _, plain) = Run(args);
        var (verboseCode, _, verbose) = Run([.. args, "--verbose"]);

        Assert.Equal((2, 2), (code, verboseCode));
        Assert.DoesNotContain("   at ", plain, StringComparison.Ordinal);
        Assert.StartsWith("NeuralStyle.UserInputException: " + plain.Trim(), verbose, StringComparison.Ordinal);
        Assert.Contains("   at NeuralStyle.", verbose, StringComparison.Ordinal);
    }

    [Fact]
    public void No_command_at_all_is_refused_with_the_list_of_commands()
    {
        var (code, stdout, stderr) = Run();
        Assert.Equal(2, code);
        Assert.Equal("Name a command: render, sweep, bench, model or doctor (add --help to see the options).", stderr.Trim());
        Assert.Empty(stdout);
    }

    [Theory]
    [InlineData("--repeat", "bench", "iteration", "--help")]
    [InlineData("--style-layers", "render", "--size", "64", "--help")]
    public void Help_after_other_arguments_still_shows_the_commands_options(string option, params string[] args)
    {
        var (code, stdout, stderr) = Run(args);
        Assert.True(code == 0, stderr);
        Assert.Contains(option, stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Model_export_writes_two_graphs_that_onnx_runtime_loads()
    {
        string dir = Path.Combine(Folder, "model");
        var (code, stdout, stderr) = Run("model", "export", "--out-dir", dir, "--weights", "random:2", "--style-layers", "relu1_1,relu2_1", "--content-layers", "relu2_2");
        Assert.True(code == 0, stderr);
        Assert.Contains("relu2_2", stdout, StringComparison.Ordinal);
        using var forward = new InferenceSession(Path.Combine(dir, "forward.onnx"));
        using var backward = new InferenceSession(Path.Combine(dir, "backward.onnx"));
        Assert.Contains("relu2_2", forward.OutputNames);
        Assert.Equal(["grad_image"], backward.OutputNames);
        Assert.Contains("grad_relu1_1", backward.InputNames);
    }

    [Fact]
    public void Original_colors_save_the_results_luma_in_the_contents_chroma()
    {
        string plain = Path.Combine(Folder, "plain.png"), kept = Path.Combine(Folder, "kept.png");
        string[] common = ["render", "--size", "48", "--iterations", "30", "--weights", "random:0", "--print-every", "0"];
        Assert.Equal(0, Run([.. common, "--out", plain]).Code);
        var (code, stdout, stderr) = Run([.. common, "--out", kept, "--original-colors"]);

        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("saved in the content image's colours", stdout, StringComparison.Ordinal);
        RgbImage content = ImageFiles.Load(Path.Combine(Repository.Examples, "content-cat-chelsea.png"), 48);
        RgbImage keptImage = ImageFiles.Load(kept, longSide: null), plainImage = ImageFiles.Load(plain, longSide: null);
        // Both renders optimize the same image; only the saved copy differs. Saving rounds each channel (±0.5, so
        // ±0.5 in luma and in chroma) and clamps to 0..255, which moves the few pixels it clamps further.
        Assert.InRange(ColourMeasures.MeanDifference(keptImage, content, ColourMeasures.Chroma), 0, ColourMeasures.Tolerance);
        Assert.InRange(ColourMeasures.MeanDifference(keptImage, plainImage, ColourMeasures.Luma), 0, ColourMeasures.Tolerance);
        Assert.True(ColourMeasures.MeanDifference(plainImage, content, ColourMeasures.Chroma) > 10 * ColourMeasures.Tolerance, "the plain render's colours are the style's, so the measure can tell");
    }

    [Fact]
    public void A_run_in_the_contents_colours_resumes_in_them_without_its_content_file()
    {
        string content = Path.Combine(Folder, "content.png");
        File.Copy(Path.Combine(Repository.Examples, "content-cat-chelsea.png"), content);
        RgbImage colors = ImageFiles.Load(content, 40);
        string kept = Path.Combine(Folder, "kept.png"), plain = Path.Combine(Folder, "plain.png"), later = Path.Combine(Folder, "later.png");
        string[] common = ["render", "--content", content, "--size", "40", "--iterations", "2", "--weights", "random", "--print-every", "0"];
        Assert.Equal(0, Run([.. common, "--out", kept, "--original-colors"]).Code);
        Assert.Equal(0, Run([.. common, "--out", plain]).Code);
        Assert.Equal(0, Run([.. common, "--out", later]).Code);

        // A run that did not keep them takes them on resuming, reading the content image again, and keeps them from then on.
        Assert.Equal(0, Run("render", "--resume", Path.ChangeExtension(plain, ".ckpt"), "--iterations", "25", "--original-colors").Code);
        Assert.InRange(ColourMeasures.MeanDifference(ImageFiles.Load(plain, longSide: null), colors, ColourMeasures.Chroma), 0, ColourMeasures.Tolerance);
        Assert.True(Engine.Checkpoint.ReadHead(Path.ChangeExtension(plain, ".ckpt")).Settings.OriginalColors);

        File.Delete(content);
        var (code, stdout, stderr) = Run("render", "--resume", Path.ChangeExtension(kept, ".ckpt"), "--iterations", "25");
        Assert.True(code == 0, stderr + stdout); // the checkpoint holds the content image
        Assert.InRange(ColourMeasures.MeanDifference(ImageFiles.Load(kept, longSide: null), colors, ColourMeasures.Chroma), 0, ColourMeasures.Tolerance);

        byte[] before = File.ReadAllBytes(later);
        (code, stdout, stderr) = Run("render", "--resume", Path.ChangeExtension(later, ".ckpt"), "--iterations", "25", "--original-colors");
        Assert.Equal(2, code);
        Assert.Equal($"--original-colors takes the colours of the content image the run began with, '{content}', which is not there (the path is kept as it was given). Resume from the folder the run began in, or without --original-colors.", stderr.Trim());
        Assert.DoesNotContain("Preparing the network", stdout, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(later));

        // A run whose content came through a pipe cannot read it again, whatever its path names now.
        string piped = Path.ChangeExtension(later, ".ckpt");
        (string json, byte[] after) = CheckpointBytes.Split(File.ReadAllBytes(piped));
        string fromPipe = System.Text.RegularExpressions.Regex.Replace(json, "\"Content\": \"[^\"]*\"", "\"Content\": \"/dev/stdin\"");
        Assert.NotEqual(json, fromPipe);
        File.WriteAllBytes(piped, CheckpointBytes.Join(fromPipe, after[..^32], checksum: true));
        (code, _, stderr) = Run("render", "--resume", piped, "--iterations", "25", "--original-colors");
        Assert.Equal(2, code);
        Assert.Equal("--original-colors takes the colours of the content image the run began with, which came through '/dev/stdin', a pipe or device that cannot be read again. Resume without --original-colors, or start the run again from that image saved as a file.", stderr.Trim());

        // Without the colours, 25 iterations are far from the content's chroma: the checks above can tell.
        Assert.Equal(0, Run("render", "--resume", Path.ChangeExtension(later, ".ckpt"), "--iterations", "25").Code);
        Assert.True(ColourMeasures.MeanDifference(ImageFiles.Load(later, longSide: null), colors, ColourMeasures.Chroma) > 10 * ColourMeasures.Tolerance);
    }
}
