using System.Globalization;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;
using static NeuralStyle.Tests.Support.InProcessCli;

namespace NeuralStyle.Tests;

/// <summary>
/// The image of the lowest loss each item passed through: a backend keeps the image an iteration evaluated (the CPU
/// backend here, the CUDA backend's loop in <see cref="EmulatedCudaBackendTests"/>), the engine keeps it at each new
/// lowest loss, and checkpoints carry it across a resume.
/// </summary>
public sealed class BestImageTests : TemporaryFolderTest
{
    private const int H = TinyProblem.Height, W = TinyProblem.Width;

    [Fact]
    public void The_cpu_backend_keeps_the_image_the_last_iteration_evaluated_updated_or_not()
    {
        using var backend = TinyProblem.NewCpuBackend();
        KeepsTheEvaluatedImage(backend);
    }

    /// <summary>
    /// Keeps item 0 after the second iteration and item 1 after the third, then both after a fifth that updates item 0
    /// but not item 1 (frozen): each kept image must be the one that iteration started from. A backend that kept the
    /// updated image, or the one before the previous update, fails.
    /// </summary>
    internal static void KeepsTheEvaluatedImage(IStyleBackend backend)
    {
        StyleTargets targets = TinyProblem.Targets(backend, TinyProblem.Image(6));
        float[] images = [.. TinyProblem.Image(7), .. TinyProblem.Image(8)];
        float[] given = [.. TinyProblem.Image(9), .. TinyProblem.Image(10)];
        var start = new OptimizerState([0, 0], images, new float[images.Length], new float[images.Length]);
        backend.Start(targets, start, H, W, [3.0, 50.0]);
        Assert.Equal(images, backend.ReadBestImages()); // none given: the starting images
        backend.Start(targets, start, H, W, [3.0, 50.0], given);
        Assert.Equal(given, backend.ReadBestImages());

        float[] expected = (float[])given.Clone();
        int length = 3 * H * W;
        for (int k = 0; k < 5; k++)
        {
            float[] before = backend.ReadState().Images;
            bool[] frozen = [false, k == 4];
            backend.Iterate(frozen);
            foreach (int n in (int[])(k switch { 1 => [0], 2 => [1], 4 => [0, 1], _ => [] }))
            {
                backend.KeepAsBest(n);
                before.AsSpan(n * length, length).CopyTo(expected.AsSpan(n * length, length));
            }
        }

        float[] kept = backend.ReadBestImages();
        Assert.Equal(expected, kept);
        Assert.NotEqual(backend.ReadState().Images.AsSpan(0, length).ToArray(), kept.AsSpan(0, length).ToArray()); // item 0 moved on since
    }

    /// <summary>
    /// At lr 60 the loss of this 40×32 problem climbs after its first steps and comes back down: the engine's best
    /// is the lowest row of the history, not the last, and its image, run again from the start, has that loss
    /// (the same float32 arithmetic on the same image: 1e-6 relative).
    /// </summary>
    [Fact]
    public void The_engine_keeps_the_image_of_the_lowest_loss_and_that_image_has_that_loss()
    {
        StyleProblem problem = SmallVggProblem.Create();
        using StyleTransferEngine engine = StyleTransferEngine.Create(problem, [60.0], DeviceKind.Cpu);
        Assert.Null(engine.Best(0));
        for (int k = 0; k < 8; k++)
        {
            engine.Step();
        }

        IReadOnlyList<LossRecord> history = engine.History(0);
        LossRecord lowest = history.MinBy(r => r.Loss.Total);
        Assert.Equal(lowest, engine.Best(0));
        Assert.True(lowest.Iteration is > 0 and < 7, $"the lowest loss is at iteration {lowest.Iteration}: this test needs one between the ends");
        Assert.True(history[^1].Loss.Total > lowest.Loss.Total * 1.05, "the loss must have risen since its lowest");

        using StyleTransferEngine again = StyleTransferEngine.Create(problem with { Initial = engine.BestImage(0) }, [60.0], DeviceKind.Cpu);
        Tolerance.AssertClose([lowest.Loss.Total], [again.Evaluate()[0].Total], 0, 1e-6, "the best image's loss");
    }

    [Fact]
    public void A_checkpoint_carries_the_best_images_and_a_resumed_run_goes_on_from_them()
    {
        StyleProblem problem = SmallVggProblem.Create();
        using StyleTransferEngine engine = StyleTransferEngine.Create(problem, [60.0, 5.0], DeviceKind.Cpu);
        for (int k = 0; k < 5; k++)
        {
            engine.Step();
        }

        string path = Path.Combine(Folder, "run.ckpt");
        engine.CreateCheckpoint(ProblemSettings.For(problem)).Save(path);
        Checkpoint loaded = Checkpoint.Load(path);
        Assert.Equal([engine.Best(0)!.Value.Iteration, engine.Best(1)!.Value.Iteration], loaded.Best!.Iterations);
        Assert.Equal([.. engine.BestImage(0).Planes, .. engine.BestImage(1).Planes], loaded.Best.Images);
        Assert.Equal(engine.BestImage(0).Planes, loaded.Item(0).Best!.Images); // a sweep's rate continued alone keeps its own
        Assert.Equal([engine.Best(0)!.Value.Iteration], loaded.Item(0).Best!.Iterations);

        using StyleTransferEngine resumed = StyleTransferEngine.Resume(loaded, problem.Weights, DeviceKind.Cpu);
        Assert.Equal(engine.Best(0), resumed.Best(0));
        Assert.Equal(engine.BestImage(0).Planes, resumed.BestImage(0).Planes);
        for (int k = 0; k < 3; k++)
        {
            engine.Step();
            resumed.Step();
        }

        // On the CPU a resumed run is the run that never stopped, best images included.
        Assert.Equal(engine.Best(0)!.Value.Iteration, resumed.Best(0)!.Value.Iteration);
        Assert.Equal(engine.BestImage(0).Planes, resumed.BestImage(0).Planes);
        Assert.Equal(engine.BestImage(1).Planes, resumed.BestImage(1).Planes);
    }

    [Fact]
    public void A_checkpoint_without_best_images_resumes_keeping_them_from_then_on()
    {
        StyleProblem problem = SmallVggProblem.Create();
        using StyleTransferEngine engine = StyleTransferEngine.Create(problem, [60.0], DeviceKind.Cpu);
        for (int k = 0; k < 3; k++)
        {
            engine.Step();
        }

        Checkpoint older = engine.CreateCheckpoint(ProblemSettings.For(problem)) with { Best = null };
        string path = Path.Combine(Folder, "older.ckpt");
        older.Save(path);
        Assert.Null(Checkpoint.Load(path).Best);

        using StyleTransferEngine resumed = StyleTransferEngine.Resume(Checkpoint.Load(path), problem.Weights, DeviceKind.Cpu);
        Assert.Null(resumed.Best(0));
        Assert.Equal(resumed.CurrentImage(0).Planes, resumed.BestImage(0).Planes);
        resumed.Step();
        Assert.Equal(3, resumed.Best(0)!.Value.Iteration); // the first row it evaluates, whatever the rows before
    }

    [Fact]
    public void A_best_image_of_an_iteration_its_history_lacks_is_refused_as_damaged()
    {
        var (engine, checkpoint) = SmallVggProblem.AfterOneIteration(60);
        engine.Dispose(); // only its checkpoint is needed
        string path = Path.Combine(Folder, "bad.ckpt");
        (checkpoint with { Best = checkpoint.Best! with { Iterations = [7] } }).Save(path);

        var e = Assert.Throws<UserInputException>(() => Checkpoint.Load(path));
        Assert.Contains("item 0's best image is of iteration 7, which has no finite loss in its history", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// At lr 60 the default render at 40 px swings within 6 iterations (its loss more than doubles after iteration 3):
    /// --keep-best saves the image of the lowest loss, which is the checkpoint's best image, not its last.
    /// </summary>
    [Fact]
    public void A_render_with_keep_best_saves_the_image_of_the_lowest_loss_and_says_which()
    {
        string image = Path.Combine(Folder, "k.png"), checkpoint = Path.ChangeExtension(image, ".ckpt");
        var (code, stdout, stderr) = Run(SwingingRender(image, "--keep-best"));
        Assert.True(code == 0, stderr + stdout);

        Checkpoint saved = Checkpoint.Load(checkpoint);
        LossRecord lowest = saved.History[0].MinBy(r => r.Loss.Total);
        Assert.True(lowest.Iteration is > 0 and < 6, $"the lowest loss is at iteration {lowest.Iteration}: this test needs one between the ends");
        Assert.Equal([lowest.Iteration], saved.Best!.Iterations);
        AssertSavedAs(saved.Best.Images, image);
        Assert.True(MaxDifference(saved.Best.Images, saved.State.Images) > 10, "the best image must differ from the last");
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"Wrote {image} (the image of iteration {lowest.Iteration}, the lowest loss: {lowest.Loss.Total:E4})"), stdout, StringComparison.Ordinal);
        Assert.Contains($"--keep-best saved the image of iteration {lowest.Iteration}.", stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// Without --keep-best the last image is saved, and the swing notice names the command that saves the best one
    /// from the checkpoint: it runs no iteration, nor a pass to evaluate one, and leaves the checkpoint at its iteration
    /// and history.
    /// </summary>
    [Fact]
    public void A_render_without_keep_best_names_the_command_that_saves_the_best_image_which_runs_no_iteration()
    {
        string image = Path.Combine(Folder, "p.png"), checkpoint = Path.ChangeExtension(image, ".ckpt");
        var (code, stdout, stderr) = Run(SwingingRender(image));
        Assert.True(code == 0, stderr + stdout);
        Checkpoint before = Checkpoint.Load(checkpoint);
        AssertSavedAs(before.State.Images, image);
        string command = $"render --resume {checkpoint} --iterations 6 --keep-best";
        Assert.Contains($"The image saved is the last, not that one, which the checkpoint holds: {command} saves it.", stdout, StringComparison.Ordinal);

        // As an interrupted run leaves it, without the row of its last image: a pass over that image would record it.
        before = before with { History = [before.History[0].Where(r => r.Iteration < 6).ToArray()] };
        before.Save(checkpoint);
        (code, stdout, stderr) = Run(command.Split(' '));
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains($"No iterations to run: saving the image of the lowest loss the checkpoint holds, to {image}.", stdout, StringComparison.Ordinal);
        Checkpoint after = Checkpoint.Load(checkpoint);
        AssertSavedAs(before.Best!.Images, image);
        Assert.Equal(6, after.Iteration);
        Assert.Equal(before.History[0], after.History[0]); // no pass ran
        Assert.Equal(before.State.Images, after.State.Images);
    }

    /// <summary>
    /// A sweep whose lr 60 swings names, at its end, the command that saves that rate's best image from the sweep's
    /// checkpoint; the command writes the checkpoint's best image of that rate and leaves the sweep as it was.
    /// </summary>
    [Fact]
    public void A_sweep_names_the_command_that_saves_a_swinging_rates_best_image()
    {
        string folder = Path.Combine(Folder, "sweep"), checkpoint = Path.Combine(folder, "sweep.ckpt");
        var (code, stdout, stderr) = Run("sweep", "--size", "40", "--lr", "5,60", "--checkpoints", "6", "--weights", "random:0", "--out-dir", folder,
            "--no-estimate", "--print-every", "0");
        Assert.True(code == 0, stderr + stdout);
        Checkpoint sweep = Checkpoint.Load(checkpoint);
        LossRecord lowest = sweep.History[1].MinBy(r => r.Loss.Total);
        string best = Path.Combine(Folder, "sweep-lr60-best.png");
        string command = $"render --resume {checkpoint} --lr 60 --iterations 6 --keep-best --out {best}";
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"lr 60 ended {100 * (sweep.History[1][^1].Loss.Total - lowest.Loss.Total) / lowest.Loss.Total:F0}% above its lowest loss ({lowest.Loss.Total:E3} at iteration {lowest.Iteration}); to save its image of then: {command}"),
            stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("lr 5 ended", stdout, StringComparison.Ordinal); // it only fell

        byte[] before = File.ReadAllBytes(checkpoint);
        (code, stdout, stderr) = Run(command.Split(' '));
        Assert.True(code == 0, stderr + stdout);
        AssertSavedAs(sweep.Item(1).Best!.Images, best);
        Assert.Equal(before, File.ReadAllBytes(checkpoint));
    }

    [Fact]
    public void Keep_best_on_a_checkpoint_without_best_images_saves_its_last_image_and_says_so()
    {
        string image = Path.Combine(Folder, "o.png"), checkpoint = Path.ChangeExtension(image, ".ckpt");
        Assert.Equal(0, Run(SwingingRender(image)).Code);
        Checkpoint older = Checkpoint.Load(checkpoint) with { Best = null };
        older.Save(checkpoint);

        var (code, stdout, stderr) = Run("render", "--resume", checkpoint, "--iterations", "6", "--keep-best");
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains($"The checkpoint holds no best image (it was written before they were kept), so {image} is its last image", stdout, StringComparison.Ordinal);
        AssertSavedAs(older.State.Images, image);
    }

    private static string[] SwingingRender(string image, params string[] more) =>
        ["render", "--size", "40", "--lr", "60", "--iterations", "6", "--weights", "random:0", "--print-every", "0", "--out", image, .. more];

    /// <summary>The PNG at <paramref name="path"/> is <paramref name="planes"/> as saving writes them: clamped to 0..255 and rounded (within 0.5).</summary>
    private static void AssertSavedAs(float[] planes, string path)
    {
        RgbImage saved = ImageFiles.Load(path, longSide: null);
        double[] expected = planes.Select(v => Math.Round(Math.Clamp((double)v, 0, 255))).ToArray();
        Tolerance.AssertClose(expected, saved.Planes, 0.5, 0, path);
    }

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
}
