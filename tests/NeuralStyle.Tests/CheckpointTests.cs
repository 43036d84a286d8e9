using System.Globalization;
using NeuralStyle.Cli;
using NeuralStyle.Engine;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>The checkpoint file: a damaged one is refused, an older one without a checksum still loads.</summary>
public sealed class CheckpointTests : TemporaryFolderTest
{
    [Fact]
    public void A_checkpoint_loads_back_as_saved()
    {
        Checkpoint saved = Checkpoint.Load(Render());
        string copy = Path.Combine(Folder, "copy.ckpt");
        saved.Save(copy);
        Checkpoint loaded = Checkpoint.Load(copy);

        Assert.Equal(saved.Iteration, loaded.Iteration);
        Assert.Equal(saved.State.Images, loaded.State.Images);
        Assert.Equal(saved.State.SecondMoment, loaded.State.SecondMoment);
        Assert.Equal(saved.State.Steps, loaded.State.Steps);
        Assert.Equal(saved.History[0], loaded.History[0]);
        Assert.Equal(saved.Targets.Grams["relu3_1"], loaded.Targets.Grams["relu3_1"]);
        Assert.Equal(File.ReadAllBytes(Render()), File.ReadAllBytes(copy)); // the same bytes, checksum included
    }

    [Fact]
    public void The_content_image_is_stored_where_given_and_named_in_the_header_only_then()
    {
        Checkpoint plain = Checkpoint.Load(Render());
        Assert.Null(plain.ContentImage);
        Assert.DoesNotContain("ContentImageStored", CheckpointBytes.Split(File.ReadAllBytes(Render())).Json, StringComparison.Ordinal); // as before it existed
        Assert.False(Checkpoint.ReadHead(Render()).HoldsContentImage);
        var content = Imaging.RgbImage.Noise(plain.Settings.Width, plain.Settings.Height, 7);

        // A run that keeps its colours (the command line's --original-colors), and one that does not (the embedding API's).
        foreach (bool keepColors in new[] { true, false })
        {
            string path = Path.Combine(Folder, $"held-{keepColors}.ckpt");
            (plain with { Settings = plain.Settings with { OriginalColors = keepColors }, ContentImage = content }).Save(path);
            Checkpoint loaded = Checkpoint.Load(path);
            Assert.Equal(content.Planes, loaded.ContentImage!.Planes);
            Assert.Equal(content.Planes, loaded.Item(0).ContentImage!.Planes); // a sweep's rate continued alone keeps it
            Assert.Equal(keepColors, loaded.Settings.OriginalColors);
            Assert.True(Checkpoint.ReadHead(path).HoldsContentImage);
        }

        Assert.Throws<InvalidOperationException>(() => (plain with { Settings = plain.Settings with { OriginalColors = true } }).Save(Path.Combine(Folder, "none.ckpt")));
    }

    [Fact]
    public void A_checkpoint_from_before_the_header_named_the_content_image_holds_it_where_it_kept_the_colours()
    {
        Checkpoint plain = Checkpoint.Load(Render());
        var content = Imaging.RgbImage.Noise(plain.Settings.Width, plain.Settings.Height, 7);
        string kept = Path.Combine(Folder, "kept.ckpt"), older = Path.Combine(Folder, "older.ckpt");
        (plain with { Settings = plain.Settings with { OriginalColors = true }, ContentImage = content }).Save(kept);

        // The same file as the earlier format wrote it: the header without the field (and, simplest, without the checksum).
        (string json, byte[] after) = CheckpointBytes.Split(File.ReadAllBytes(kept));
        string earlier = System.Text.RegularExpressions.Regex.Replace(json, @",\s*""ContentImageStored"": true", "");
        Assert.NotEqual(json, earlier);
        File.WriteAllBytes(older, CheckpointBytes.Join(earlier, after[..^32], checksum: false));

        Assert.True(Checkpoint.ReadHead(older).HoldsContentImage);
        Assert.Equal(content.Planes, Checkpoint.Load(older).ContentImage!.Planes);
    }

    [Theory]
    [InlineData(0.10)] // in the targets
    [InlineData(0.60)] // in the images or moments
    [InlineData(0.999)] // near the end: the history, or the checksum itself
    public void One_changed_byte_is_refused_as_damaged(double where)
    {
        byte[] bytes = File.ReadAllBytes(Render());
        bytes[(int)(where * bytes.Length)] ^= 0x10;
        string damaged = Path.Combine(Folder, "damaged.ckpt");
        File.WriteAllBytes(damaged, bytes);

        var e = Assert.Throws<UserInputException>(() => Checkpoint.Load(damaged));
        Assert.Contains("is damaged", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_checkpoint_from_before_the_checksum_still_loads_and_a_cut_one_does_not()
    {
        byte[] bytes = File.ReadAllBytes(Render());
        string older = Path.Combine(Folder, "older.ckpt"), cut = Path.Combine(Folder, "cut.ckpt");
        File.WriteAllBytes(older, bytes[..^32]);
        File.WriteAllBytes(cut, bytes[..^5]);

        Assert.Equal(Checkpoint.Load(Render()).State.Images, Checkpoint.Load(older).State.Images);
        var e = Assert.Throws<UserInputException>(() => Checkpoint.Load(cut));
        Assert.Contains("27 unexpected bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_checkpoint_or_other_weights_are_refused_in_a_sentence()
    {
        var missing = Assert.Throws<UserInputException>(() => Checkpoint.Load(Path.Combine(Folder, "none.ckpt")));
        Assert.Equal($"Checkpoint '{Path.Combine(Folder, "none.ckpt")}' does not exist; check the path.", missing.Message);

        // The engine's own guard, for code that resumes without WeightSource.ForResume.
        Checkpoint saved = Checkpoint.Load(Render());
        var other = Assert.Throws<UserInputException>(() => StyleTransferEngine.Resume(saved, Model.NetworkWeights.Random(Model.NetworkArchitecture.Vgg19, 1), DeviceKind.Cpu));
        Assert.StartsWith("The checkpoint was made with weights random:0, not random:1;", other.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A header whose JSON lacks a field (System.Text.Json would leave it null), holds null where none is allowed, or
    /// holds what no run writes (a file changed and given a matching checksum, or a writer's bug) is refused on load
    /// and for its head alone, naming what is wrong, rather than failing later on the null, indexing past a list or
    /// running on nonsense.
    /// </summary>
    [Theory]
    [InlineData(@",\s*""LearningRates"": \[[^\]]*\]", "", "its header lacks Settings.LearningRates")]
    [InlineData(@"""GramLayers"": \[[^\]]*\]", @"""GramLayers"": [null]", "its header lacks GramLayers")]
    [InlineData(@"""Adam"": \{[^}]*\}", @"""Adam"": null", "Adam")]
    [InlineData(@"""ReluName"": ""relu1_1""", @"""ReluName"": null", "ReluName")]
    [InlineData(@"""Stopped"": \[[^\]]*\]", @"""Stopped"": [null, null]", "(it holds 1 learning rate but 2 stop reasons)")]
    [InlineData(@"""Steps"": \[[^\]]*\]", @"""Steps"": []", "(it holds 1 learning rate but 0 step counts)")]
    [InlineData(@"""BestIterations"": \[[^\]]*\]", @"""BestIterations"": [1, 2]", "(it holds 1 learning rate but 2 best iterations)")]
    [InlineData(@"""LearningRates"": \[[^\]]*\]", @"""LearningRates"": [0]", "(its learning rates are not all finite and above 0)")]
    [InlineData(@"""Width"": \d+", @"""Width"": 0", "(its image size is 0×")]
    [InlineData(@"""Iteration"": \d+", @"""Iteration"": -1", "(it counts iterations below 0)")]
    [InlineData(@"""Beta1"": [^,\s]+", @"""Beta1"": 1", "(Adam's β1 must be in [0, 1), not 1)")]
    public void A_header_lacking_a_field_or_holding_what_no_run_writes_is_refused_naming_it(string pattern, string replacement, string named)
    {
        string path = RenderWithHeaderChanged(pattern, replacement);

        var e = Assert.Throws<UserInputException>(() => Checkpoint.Load(path));
        Assert.Contains("is damaged", e.Message, StringComparison.Ordinal);
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        Assert.Throws<UserInputException>(() => Checkpoint.ReadHead(path));
    }

    /// <summary>
    /// A checkpoint whose settings the network cannot run, or whose targets do not fit them, loads (its header is whole
    /// and consistent) but is refused by a resume before a backend is built, naming the misfit.
    /// </summary>
    [Theory]
    [InlineData(@"""GramLayers"": \[\s*""relu1_1""", @"""GramLayers"": [ ""relu1_2""", "The style target of relu1_1 must be a 64×64 Gram matrix; it holds 0 values.")]
    [InlineData(@"""ReluName"": ""relu1_1""", @"""ReluName"": ""relu9_9""", "Unknown layer 'relu9_9'; the layers are relu1_1, ")]
    [InlineData(@"""ContentWeight"": [^,\s]+", @"""ContentWeight"": -1", "must be a finite number ≥ 0, not -1.")]
    public void A_checkpoint_that_does_not_fit_the_network_is_refused_by_a_resume(string pattern, string replacement, string named)
    {
        Checkpoint loaded = Checkpoint.Load(RenderWithHeaderChanged(pattern, replacement));

        var e = Assert.Throws<UserInputException>(() => StyleTransferEngine.Resume(loaded, SmallVggProblem.Vgg, DeviceKind.Cpu));
        Assert.StartsWith("The checkpoint does not fit its own settings or these weights' network: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        Assert.EndsWith(" It was changed or damaged; use another checkpoint or start afresh.", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// An engine's batch may repeat a rate, but whoever names the items by their rates refuses such a checkpoint,
    /// before anything is written: a sweep resumed (whose images and reports would take one another's names, as they
    /// would for rates alike to 6 digits), one rate continued alone, the embedding API. The engine itself resumes it.
    /// </summary>
    [Fact]
    public void A_checkpoint_whose_rates_repeat_is_refused_where_items_are_named_by_rate()
    {
        StyleProblem problem = SmallVggProblem.Create(24, 20);
        string folder = Directory.CreateDirectory(Path.Combine(Folder, "repeated")).FullName, path = Path.Combine(folder, "sweep.ckpt");
        (int Code, string Message) SweepOf(params double[] rates)
        {
            using (StyleTransferEngine engine = StyleTransferEngine.Create(problem, rates, DeviceKind.Cpu))
            {
                engine.Step();
                engine.CreateCheckpoint(ProblemSettings.For(problem)).Save(path);
            }

            var (code, _, stderr) = InProcessCli.Run("sweep", "--resume", folder, "--checkpoints", "2");
            return (code, stderr.Trim());
        }

        var alike = SweepOf(1.0, 1.0000001);
        Assert.Equal(2, alike.Code);
        Assert.StartsWith($"'{path}' lists rates that agree to 6 significant digits (each is 1 in file names", alike.Message, StringComparison.Ordinal);
        Assert.EndsWith($"take them on one at a time: render --resume {path} --lr RATE --out FILE.", alike.Message, StringComparison.Ordinal);

        string expected = $"'{path}' lists a learning rate twice; each item needs its own rate.";
        Assert.Equal((2, expected), SweepOf(1.0, 1.0));
        var alone = InProcessCli.Run("render", "--resume", path, "--lr", "1", "--iterations", "2", "--out", Path.Combine(Folder, "alone.png"));
        Assert.Equal((2, expected), (alone.Code, alone.Stderr.Trim()));
        Assert.Equal(expected, Assert.Throws<UserInputException>(() => StyleTransfer.Resume(path, DeviceKind.Cpu)).Message);
        Assert.Equal(expected, Assert.Throws<UserInputException>(() => StyleTransfer.Resume(path, 1.0, DeviceKind.Cpu)).Message);
        Assert.Equal(["sweep.ckpt"], Directory.GetFiles(folder).Select(Path.GetFileName));
        Assert.Empty(Directory.GetFiles(Folder)); // nor anything of the refused render's

        using StyleTransferEngine resumed = StyleTransferEngine.Resume(Checkpoint.Load(path), problem.Weights, DeviceKind.Cpu);
        Assert.Equal([1.0, 1.0], resumed.LearningRates);
    }

    [Fact]
    public void A_loss_history_longer_than_the_file_is_refused_before_room_is_made_for_it()
    {
        (string json, byte[] after) = CheckpointBytes.Split(File.ReadAllBytes(Render()));
        using var header = System.Text.Json.JsonDocument.Parse(json);
        int arrays = header.RootElement.GetProperty("GramLayers").GetArrayLength() + header.RootElement.GetProperty("ContentLayers").GetArrayLength() + 3; // and images, m, v
        int history = 0;
        for (int a = 0; a < arrays; a++)
        {
            history += sizeof(int) + (sizeof(float) * BitConverter.ToInt32(after, history));
        }

        Assert.Equal(3, BitConverter.ToInt32(after, history)); // the first item's rows: iterations 0, 1 and 2 of a two-iteration render
        BitConverter.TryWriteBytes(after.AsSpan(history), int.MaxValue);
        string path = WriteWithoutChecksum(json, after[..^32]);

        var e = Assert.Throws<UserInputException>(() => Checkpoint.Load(path));
        Assert.Contains($"item 0's loss history of {int.MaxValue} rows reaches past the end of the file", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// <see cref="Render"/>'s checkpoint with its header's JSON changed by a regular expression (which must match),
    /// written as the format before the checksum was (none to match), so that only the reading stands between it and a run.
    /// </summary>
    private string RenderWithHeaderChanged(string pattern, string replacement)
    {
        (string json, byte[] after) = CheckpointBytes.Split(File.ReadAllBytes(Render()));
        string changed = System.Text.RegularExpressions.Regex.Replace(json, pattern, replacement);
        Assert.NotEqual(json, changed);
        return WriteWithoutChecksum(changed, after[..^32]);
    }

    /// <summary>A checkpoint as the format before the checksum wrote it, from its header's JSON and what follows the header.</summary>
    private string WriteWithoutChecksum(string json, byte[] content)
    {
        string path = Path.Combine(Folder, $"unchecked-{Guid.NewGuid():N}.ckpt");
        File.WriteAllBytes(path, CheckpointBytes.Join(json, content, checksum: false));
        return path;
    }

    /// <summary>The checkpoint of a two-iteration render at 40 px (made once per test).</summary>
    private string Render()
    {
        string image = Path.Combine(Folder, "r.png"), checkpoint = Path.ChangeExtension(image, ".ckpt");
        if (!File.Exists(checkpoint))
        {
            using var output = new StringWriter(CultureInfo.InvariantCulture);
            using var error = new StringWriter(CultureInfo.InvariantCulture);
            Assert.Equal(0, Program.Run(["render", "--size", "40", "--iterations", "2", "--weights", "random", "--out", image], output, error, interactive: false));
        }

        return checkpoint;
    }
}
