using System.Globalization;
using System.Text.Json.Nodes;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;
using NeuralStyle.Weights;

namespace NeuralStyle.Tests;

/// <summary>
/// Mutation fuzzing of the file formats we read from users: images (PNG, JPEG), ONNX weight files and checkpoints. Each
/// case flips bits, truncates, or corrupts a length field of a valid file, or (for checkpoints) changes values of its
/// JSON header; checkpoints are also given the checksum of what they then hold, and resumed and stepped where they load.
/// Every case must end in success or a <see cref="UserInputException"/> within 10 s, never another exception or a
/// hang. The suite runs a bounded number of cases; <c>tools/fuzz.sh</c> runs many more (NEURALSTYLE_FUZZ_CASES,
/// NEURALSTYLE_FUZZ_SEED).
/// </summary>
public sealed class FuzzTests : TemporaryFolderTest
{
    private static readonly int Cases = int.TryParse(Environment.GetEnvironmentVariable("NEURALSTYLE_FUZZ_CASES"), out int n) ? n : 120;
    private static readonly ulong Seed = ulong.TryParse(Environment.GetEnvironmentVariable("NEURALSTYLE_FUZZ_SEED"), out ulong s) ? s : 1;
    private static readonly NetworkArchitecture Tiny = NetworkArchitecture.FromBlocks([[4], [5, 6]]);
    private readonly Xunit.Abstractions.ITestOutputHelper _log;

    public FuzzTests(Xunit.Abstractions.ITestOutputHelper log) => _log = log;


    [Theory]
    [InlineData("ok-palette.png")]
    [InlineData("ok-rgb16.png")]
    [InlineData("ok-gray.jpg")]
    [InlineData("ok-exif-rotated.jpg")]
    [InlineData("ok-interlaced.png")]
    [InlineData("ok-progressive.jpg")]
    [InlineData("ok-gif.gif")]
    [InlineData("ok-bmp.bmp")]
    [InlineData("ok-rle.tga")]
    [InlineData("ok-binary.ppm")]
    public void Mutated_images_load_or_are_refused(string file)
    {
        byte[] original = File.ReadAllBytes(Path.Combine(Repository.Root, "tests", "corpus", "images", file));
        Fuzz(original, Path.GetExtension(file), path => ImageFiles.Load(path, longSide: 32));
    }

    [Fact]
    public void Mutated_onnx_weight_files_import_or_are_refused()
    {
        string valid = Path.Combine(Folder, "valid.onnx");
        VggOnnxFiles.Write(TinyNetworks.Create([[4], [5, 6]], 3), VggLayout.Torchvision, valid);
        Fuzz(File.ReadAllBytes(valid), ".onnx", path => OnnxWeightImporter.Import(path, Tiny));
    }

    /// <summary>
    /// A checkpoint (of a render with its best image), damaged, or changed and given the checksum of what it now holds,
    /// as a writer with a bug would leave it, so that the reading of its structure is tried, not only the checksum.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Mutated_checkpoints_load_or_are_refused(bool checksumMatches)
    {
        string image = Path.Combine(Folder, "valid.png");
        using (var log = new StringWriter(CultureInfo.InvariantCulture))
        {
            Assert.True(Cli.Program.Run(["render", "--size", "24", "--iterations", "3", "--weights", "random", "--out", image], log, log, interactive: false) == 0, log.ToString());
        }

        byte[] valid = File.ReadAllBytes(Path.ChangeExtension(image, ".ckpt"));
        if (checksumMatches)
        {
            Fuzz(valid[..^32], ".ckpt", path => Checkpoint.Load(path), WithMatchingChecksum);
        }
        else
        {
            Fuzz(valid, ".ckpt", path => Checkpoint.Load(path));
        }
    }

    /// <summary>
    /// A sweep's checkpoint (three rates, one set aside; best images kept), changed and given the checksum of what it
    /// now holds, then resumed and stepped (<see cref="ResumeAndStep"/>). A resume builds a backend (about 0.3 s on this
    /// small problem), so the suite runs a quarter as many cases as for the readers.
    /// </summary>
    [Fact]
    public void Mutated_checkpoints_resume_or_are_refused()
    {
        byte[] valid = SweepCheckpoint();
        var outcomes = Fuzz(valid[..^32], ".ckpt", ResumeAndStep, WithMatchingChecksum, cases: Math.Max(1, Cases / 4));
        Assert.True(outcomes.GetValueOrDefault("ok") > 0, "no mutated checkpoint resumed: the cases try only the refusals");
    }

    /// <summary>
    /// The same checkpoint with one or two values of its JSON header changed (a number, a string, a list's length, a
    /// field removed) and a matching checksum, resumed and stepped: what the header means is tried, where flipped bits
    /// mostly break its JSON. Such headers once ended in internal errors (a list of stop reasons shorter than the rates,
    /// a target renamed, a layer the network lacks).
    /// </summary>
    [Fact]
    public void Checkpoints_with_changed_header_values_resume_or_are_refused()
    {
        byte[] valid = SweepCheckpoint();
        var outcomes = Fuzz(valid, ".ckpt", ResumeAndStep, mutate: ChangeHeaderValues, cases: Math.Max(1, Cases / 4));
        Assert.True(outcomes.GetValueOrDefault("ok") > 0, "no changed header resumed: the cases try only the refusals");
        Assert.True(outcomes.GetValueOrDefault("refused") > 0, "no changed header was refused: the changes are not tried");
    }

    /// <summary>The checkpoint of a sweep of <see cref="SmallVggProblem"/> at 24×20: rates 60, 5 and 1, the last set aside after the first iteration, two iterations.</summary>
    private byte[] SweepCheckpoint()
    {
        StyleProblem problem = SmallVggProblem.Create(24, 20);
        using StyleTransferEngine engine = StyleTransferEngine.Create(problem, [60.0, 5.0, 1.0], DeviceKind.Cpu);
        engine.Step();
        engine.SetAside(2);
        engine.Step();
        string path = Path.Combine(Folder, "valid.ckpt");
        engine.CreateCheckpoint(ProblemSettings.For(problem)).Save(path);
        return File.ReadAllBytes(path);
    }

    /// <summary>Loads the checkpoint, resumes it on the CPU with <see cref="SmallVggProblem"/>'s weights, steps twice and reads every item's images back.</summary>
    private static void ResumeAndStep(string path)
    {
        using StyleTransferEngine resumed = StyleTransferEngine.Resume(Checkpoint.Load(path), SmallVggProblem.Vgg, DeviceKind.Cpu);
        resumed.Step();
        resumed.Step();
        foreach (int n in Enumerable.Range(0, resumed.LearningRates.Count))
        {
            _ = resumed.CurrentImage(n);
            _ = resumed.BestImage(n);
        }
    }

    /// <summary>
    /// One or two values of a checkpoint's JSON header changed, the file given the checksum of what it then holds: a
    /// number to an extreme or a neighbour, a string to another layer's or preset's name, null to a value, a list
    /// shortened, lengthened or emptied, a field removed.
    /// </summary>
    private static (byte[] Data, string How) ChangeHeaderValues(byte[] file, DeterministicRandom rng)
    {
        (string json, byte[] after) = CheckpointBytes.Split(file);
        JsonNode root = JsonNode.Parse(json)!;
        int changes = 1 + (int)(rng.NextUInt64() % 2);
        string how = string.Join("; ", Enumerable.Range(0, changes).Select(_ => ChangeOneValue(root, rng)));
        return (CheckpointBytes.Join(root.ToJsonString(), after[..^32], checksum: true), how);
    }

    private static string ChangeOneValue(JsonNode root, DeterministicRandom rng)
    {
        var slots = new List<(JsonNode Parent, string? Key, int Index)>();
        Collect(root);
        var (parent, key, index) = slots[Pick(slots.Count)];
        JsonNode? value = key is null ? parent.AsArray()[index] : parent.AsObject()[key];
        string where = $"{parent.GetPath()}{(key is null ? $"[{index}]" : $".{key}")}";
        if (Pick(6) == 0)
        {
            if (key is null)
            {
                parent.AsArray().RemoveAt(index);
            }
            else
            {
                parent.AsObject().Remove(key);
            }

            return $"{where} removed";
        }

        JsonNode? changed = value switch
        {
            null => Of<JsonNode?>(0, "x", "set aside at iteration 1"),
            JsonArray list => Of<JsonNode?>(new JsonArray(), new JsonArray([.. list.Select(CopyOf), .. list.Take(1).Select(CopyOf)]), new JsonArray([.. list.Skip(1).Select(CopyOf)])),
            JsonObject => null,
            JsonValue v when v.TryGetValue(out double d) => Of<JsonNode?>(0, -1, 0.5, 1e308, -1e308, 1e-320, int.MaxValue, int.MinValue, d * 2, d + 1),
            JsonValue v when v.TryGetValue(out bool b) => !b,
            _ => Of<JsonNode?>("", "x", "relu1_1", "relu9_9", "Avg", "Torchvision", "random:1", 1),
        };
        if (key is null)
        {
            parent.AsArray()[index] = changed;
        }
        else
        {
            parent.AsObject()[key] = changed;
        }

        return $"{where} = {changed?.ToJsonString() ?? "null"}";

        void Collect(JsonNode node)
        {
            if (node is JsonObject o)
            {
                foreach (var (name, child) in o.ToList())
                {
                    slots.Add((o, name, -1));
                    if (child is not null)
                    {
                        Collect(child);
                    }
                }
            }
            else if (node is JsonArray a)
            {
                for (int i = 0; i < a.Count; i++)
                {
                    slots.Add((a, null, i));
                    if (a[i] is JsonNode child)
                    {
                        Collect(child);
                    }
                }
            }
        }

        int Pick(int count) => (int)(rng.NextUInt64() % (ulong)count);
        T Of<T>(params T[] choices) => choices[Pick(choices.Length)];
        static JsonNode? CopyOf(JsonNode? node) => node?.DeepClone();
    }

    /// <summary>A checkpoint's content followed by its checksum, as <see cref="Checkpoint.Save"/> ends the file.</summary>
    private static byte[] WithMatchingChecksum(byte[] content) => [.. content, .. System.Security.Cryptography.SHA256.HashData(content)];

    /// <summary>
    /// Runs <paramref name="cases"/> mutations (by default <see cref="Cases"/>), each written as <paramref name="finish"/>
    /// makes it (by default as it is); fails at a case that crashes or hangs; returns how many cases ended in success
    /// and in each kind of refusal.
    /// </summary>
    private Dictionary<string, int> Fuzz(byte[] original, string extension, Action<string> read, Func<byte[], byte[]>? finish = null, int? cases = null,
        Func<byte[], DeterministicRandom, (byte[] Data, string How)>? mutate = null)
    {
        var rng = new DeterministicRandom(Seed);
        var outcomes = new Dictionary<string, int>();
        int count = cases ?? Cases;
        for (int i = 0; i < count; i++)
        {
            (byte[] mutated, string how) = (mutate ?? Mutate)(original, rng);
            mutated = finish?.Invoke(mutated) ?? mutated;
            string path = Path.Combine(Folder, string.Create(CultureInfo.InvariantCulture, $"case{i}{extension}"));
            File.WriteAllBytes(path, mutated);
            // On its own thread, not the pool's: other tests may keep the pool busy, and then a case that is waiting
            // to start would look hung (seen once in a full run: case 0 "hung" at the start of the test run).
            Task<string> attempt = Task.Factory.StartNew(() =>
            {
                try
                {
                    read(path);
                    return "ok";
                }
                catch (UserInputException)
                {
                    return "refused";
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            // Waited on without Wait(), which would throw a crash's exception without the case that caused it.
            Assert.True(((IAsyncResult)attempt).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(10)), $"case {i} ({how}) hung");
            // Any other exception fails the test here, with the case that caused it.
            string outcome = attempt.IsFaulted ? throw new InvalidOperationException($"case {i} ({how}) crashed", attempt.Exception) : attempt.Result;
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            File.Delete(path);
        }

        Assert.Equal(count, outcomes.Values.Sum());
        _log.WriteLine($"{count} cases (seed {Seed}): " + string.Join(", ", outcomes.Select(o => $"{o.Value} {o.Key}")));
        return outcomes;
    }

    /// <summary>Bit flips, a truncation, or a length field set to an extreme: what damage does to any file.</summary>
    private static (byte[] Data, string How) Mutate(byte[] original, DeterministicRandom rng)
    {
        byte[] data = (byte[])original.Clone();
        switch (rng.NextUInt64() % 3)
        {
            case 0:
                int flips = 1 + (int)(rng.NextUInt64() % 8);
                for (int f = 0; f < flips; f++)
                {
                    data[(int)(rng.NextUInt64() % (ulong)data.Length)] ^= (byte)(1 << (int)(rng.NextUInt64() % 8));
                }

                return (data, $"{flips} bit flips");
            case 1:
                int length = (int)(rng.NextUInt64() % (ulong)data.Length);
                return (data[..length], $"truncated to {length} bytes");
            default:
                // A big-endian or varint length field is set to an extreme value: 4 bytes of 0xFF or 0x7F at a random offset.
                int at = (int)(rng.NextUInt64() % (ulong)Math.Max(1, data.Length - 4));
                byte fill = (rng.NextUInt64() & 1) == 0 ? (byte)0xFF : (byte)0x7F;
                data.AsSpan(at, Math.Min(4, data.Length - at)).Fill(fill);
                return (data, $"length field at {at} set to {fill:X2}s");
        }
    }
}
