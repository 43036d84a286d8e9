using System.Globalization;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;
using NeuralStyle.Weights;

namespace NeuralStyle.Tests;

/// <summary>
/// Mutation fuzzing of the file formats we read from users: images (PNG, JPEG), ONNX weight files and checkpoints. Each
/// case flips bits, truncates, or corrupts a length field of a valid file; every case must end in success or a
/// <see cref="UserInputException"/> within 10 s, never another exception or a hang. The suite runs a bounded number
/// of cases; <c>tools/fuzz.sh</c> runs many more (NEURALSTYLE_FUZZ_CASES, NEURALSTYLE_FUZZ_SEED).
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
    /// now holds, then resumed on the CPU and stepped twice, its images read back: whatever loads must go on or be
    /// refused as a resume is, never crash. A resume builds a backend (about 0.1 s on this small problem), so the suite
    /// runs a quarter as many cases as for the readers.
    /// </summary>
    [Fact]
    public void Mutated_checkpoints_resume_or_are_refused()
    {
        StyleProblem problem = SmallVggProblem.Create(24, 20);
        byte[] valid;
        using (StyleTransferEngine engine = StyleTransferEngine.Create(problem, [60.0, 5.0, 1.0], DeviceKind.Cpu))
        {
            engine.Step();
            engine.SetAside(2);
            engine.Step();
            string path = Path.Combine(Folder, "valid.ckpt");
            engine.CreateCheckpoint(ProblemSettings.For(problem)).Save(path);
            valid = File.ReadAllBytes(path);
        }

        var outcomes = Fuzz(valid[..^32], ".ckpt", path =>
        {
            using StyleTransferEngine resumed = StyleTransferEngine.Resume(Checkpoint.Load(path), problem.Weights, DeviceKind.Cpu);
            resumed.Step();
            resumed.Step();
            foreach (int n in Enumerable.Range(0, resumed.LearningRates.Count))
            {
                _ = resumed.CurrentImage(n);
                _ = resumed.BestImage(n);
            }
        }, WithMatchingChecksum, cases: Math.Max(1, Cases / 4));
        Assert.True(outcomes.GetValueOrDefault("ok") > 0, "no mutated checkpoint resumed: the cases try only the refusals");
    }

    /// <summary>A checkpoint's content followed by its checksum, as <see cref="Checkpoint.Save"/> ends the file.</summary>
    private static byte[] WithMatchingChecksum(byte[] content) => [.. content, .. System.Security.Cryptography.SHA256.HashData(content)];

    /// <summary>
    /// Runs <paramref name="cases"/> mutations (by default <see cref="Cases"/>), each written as <paramref name="finish"/>
    /// makes it (by default as it is); fails at a case that crashes or hangs; returns how many cases ended in success
    /// and in each kind of refusal.
    /// </summary>
    private Dictionary<string, int> Fuzz(byte[] original, string extension, Action<string> read, Func<byte[], byte[]>? finish = null, int? cases = null)
    {
        var rng = new DeterministicRandom(Seed);
        var outcomes = new Dictionary<string, int>();
        int count = cases ?? Cases;
        for (int i = 0; i < count; i++)
        {
            byte[] mutated = Mutate(original, rng, out string how);
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

    private static byte[] Mutate(byte[] original, DeterministicRandom rng, out string how)
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

                how = $"{flips} bit flips";
                return data;
            case 1:
                int length = (int)(rng.NextUInt64() % (ulong)data.Length);
                how = $"truncated to {length} bytes";
                return data[..length];
            default:
                // A big-endian or varint length field is set to an extreme value: 4 bytes of 0xFF or 0x7F at a random offset.
                int at = (int)(rng.NextUInt64() % (ulong)Math.Max(1, data.Length - 4));
                byte fill = (rng.NextUInt64() & 1) == 0 ? (byte)0xFF : (byte)0x7F;
                data.AsSpan(at, Math.Min(4, data.Length - at)).Fill(fill);
                how = $"length field at {at} set to {fill:X2}s";
                return data;
        }
    }
}
