using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using NeuralStyle.Imaging;

namespace NeuralStyle.Engine;

/// <summary>The loss of one item at one iteration and the wall-clock seconds since the run began.</summary>
public readonly record struct LossRecord(int Iteration, IterationLosses Loss, double Seconds);

/// <summary>
/// The whole state of a run: settings, targets, the optimizer state (images, Adam moments, per-item step counts),
/// the iteration reached, which items stopped and why, and every item's loss history. Continuing from it gives,
/// on the CPU, bit for bit the run that never stopped.
/// </summary>
public sealed record Checkpoint
{
    /// <summary>What the run was started with.</summary>
    public required RunSettings Settings { get; init; }

    /// <summary>The targets (so a resume needs neither the images nor a recomputation).</summary>
    public required StyleTargets Targets { get; init; }

    /// <summary>Images, moments, step counts.</summary>
    public required OptimizerState State { get; init; }

    /// <summary>Iterations completed.</summary>
    public required int Iteration { get; init; }

    /// <summary>Per item: null while it runs, else why it stopped (e.g. "diverged at iteration 12").</summary>
    public required IReadOnlyList<string?> Stopped { get; init; }

    /// <summary>Per item, the loss of every iteration so far.</summary>
    public required IReadOnlyList<IReadOnlyList<LossRecord>> History { get; init; }

    /// <summary>
    /// The content image at the run's size, or null: the command line keeps it where <see cref="RunSettings.OriginalColors"/>
    /// is set (saved images take its colours), the embedding API always (for its image in the content's colours). Stored
    /// after the loss histories, and only when present, so checkpoints without it are as before.
    /// </summary>
    public RgbImage? ContentImage { get; init; }

    /// <summary>
    /// Every item's image of the lowest loss so far, or null in checkpoints from before they were kept (a run resumed
    /// from one keeps its best images from then on). Stored after the content image, and only when present.
    /// </summary>
    public BestImages? Best { get; init; }

    /// <summary>
    /// The image every item started from (the content image, noise, or an --init file, at the run's size), or null: a
    /// sweep keeps it so that rates can be added to it later (<see cref="WithNewItems"/>). Stored after the best images,
    /// and only when present.
    /// </summary>
    public RgbImage? StartImage { get; init; }

    private static ReadOnlySpan<byte> Magic => "NSCKPT01"u8;

    /// <summary>One row of a stored loss history: the iteration (int32), then content, style, TV and seconds (float64).</summary>
    private const int LossRecordBytes = sizeof(int) + (4 * sizeof(double));

    /// <summary>
    /// Item <paramref name="n"/> of a batch alone: its learning rate, image, moments, step count, stop reason, loss
    /// history and best image as a checkpoint of one, to continue it without the others (e.g. the best rate of a
    /// sweep). It runs as it would have in the batch, within float rounding: a batch's convolutions may round differently.
    /// An item that plateaued or was set aside (<see cref="StopReasons.CanGoOnAlone"/>) runs again, from the iteration it
    /// stopped at.
    /// </summary>
    public Checkpoint Item(int n) => Items([n]);

    /// <summary>
    /// Items <paramref name="items"/> of a batch as a batch of their own, in that order, as <see cref="Item"/> takes one:
    /// they must all be at the same iteration (<see cref="ItemIteration(int)"/>), e.g. rates set aside together.
    /// </summary>
    public Checkpoint Items(IReadOnlyList<int> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        int count = Settings.LearningRates.Count;
        foreach (int n in items)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(n);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(n, count);
        }

        int[] iterations = items.Select(ItemIteration).Distinct().ToArray();
        if (iterations.Length != 1)
        {
            throw new ArgumentException($"Items {string.Join(", ", items)} are at iterations {string.Join(", ", iterations)}, not at one.", nameof(items));
        }

        int length = State.Images.Length / count;
        float[] Gather(float[] values) => items.SelectMany(n => values.AsSpan(n * length, length).ToArray()).ToArray();
        return this with
        {
            Settings = Settings with { LearningRates = items.Select(n => Settings.LearningRates[n]).ToArray() },
            State = new OptimizerState(items.Select(n => State.Steps[n]).ToArray(), Gather(State.Images), Gather(State.FirstMoment), Gather(State.SecondMoment)),
            Iteration = iterations[0],
            Stopped = items.Select(n => StopReasons.CanGoOnAlone(Stopped[n]) ? null : Stopped[n]).ToArray(),
            History = items.Select(n => History[n]).ToArray(),
            Best = Best is null ? null : new BestImages(Gather(Best.Images), items.Select(n => Best.Iterations[n]).ToArray()),
        };
    }

    /// <summary>
    /// The run with <paramref name="part"/>, a batch of <see cref="Items"/> taken further on its own, put back in their
    /// places: their state, loss histories and best images. An item still running in the part is back in the run where
    /// the part reached this run's iteration, and otherwise set aside where the part is (<see cref="StopReasons.SetAside"/>),
    /// to be taken further again; one that stopped in the part keeps its reason.
    /// </summary>
    public Checkpoint WithItems(Checkpoint part, IReadOnlyList<int> items)
    {
        ArgumentNullException.ThrowIfNull(part);
        ArgumentNullException.ThrowIfNull(items);
        if (!part.Settings.LearningRates.SequenceEqual(items.Select(n => Settings.LearningRates[n])) || part.Iteration > Iteration)
        {
            throw new ArgumentException($"The part's rates ({string.Join(", ", part.Settings.LearningRates)}, at iteration {part.Iteration}) are not items {string.Join(", ", items)} of this run at or before iteration {Iteration}.", nameof(part));
        }

        int length = State.Images.Length / Settings.LearningRates.Count;
        var state = new OptimizerState(State.Steps.ToArray(), State.Images.ToArray(), State.FirstMoment.ToArray(), State.SecondMoment.ToArray());
        float[] bestImages = (Best?.Images ?? State.Images).ToArray(); // a checkpoint from before best images starts them from its images
        int?[] bestIterations = Best?.Iterations.ToArray() ?? new int?[Settings.LearningRates.Count];
        string?[] stopped = Stopped.ToArray();
        var history = History.ToArray();
        for (int i = 0; i < items.Count; i++)
        {
            int n = items[i];
            void Put(float[] from, float[] to) => from.AsSpan(i * length, length).CopyTo(to.AsSpan(n * length));
            Put(part.State.Images, state.Images);
            Put(part.State.FirstMoment, state.FirstMoment);
            Put(part.State.SecondMoment, state.SecondMoment);
            Put(part.Best?.Images ?? part.State.Images, bestImages);
            state.Steps[n] = part.State.Steps[i];
            bestIterations[n] = part.Best?.Iterations[i];
            history[n] = part.History[i];
            stopped[n] = part.Stopped[i] ?? (part.Iteration == Iteration ? null : StopReasons.SetAside(part.Iteration));
        }

        return this with { State = state, Stopped = stopped, History = history, Best = new BestImages(bestImages, bestIterations) };
    }

    /// <summary>
    /// The iteration an item of a checkpoint at <paramref name="iteration"/> is at: that one, or for an item that can
    /// go on alone (<see cref="StopReasons.CanGoOnAlone"/>) the one it stopped at, which its <paramref name="steps"/>
    /// count (one update per iteration run).
    /// </summary>
    internal static int ItemIteration(int iteration, string? stopped, int steps) => StopReasons.CanGoOnAlone(stopped) ? steps : iteration;

    /// <summary>
    /// The run with items added at <paramref name="learningRates"/>, after the others: each at iteration 0, from
    /// <see cref="StartImage"/> with Adam's moments at 0 and no loss yet, set aside there
    /// (<see cref="StopReasons.SetAside"/>), to be taken to the run's iteration as an item set aside is
    /// (<see cref="Items"/>, <see cref="WithItems"/>). They then run as they would have from the start.
    /// </summary>
    public Checkpoint WithNewItems(IReadOnlyList<double> learningRates)
    {
        ArgumentNullException.ThrowIfNull(learningRates);
        if (StartImage is not RgbImage start)
        {
            throw new InvalidOperationException("Items can be added only to a checkpoint that holds the image its items started from.");
        }

        int added = learningRates.Count;
        OptimizerState fresh = OptimizerState.AtStart(start.Planes, added);
        return this with
        {
            Settings = Settings with { LearningRates = [.. Settings.LearningRates, .. learningRates] },
            State = new OptimizerState([.. State.Steps, .. fresh.Steps], [.. State.Images, .. fresh.Images], [.. State.FirstMoment, .. fresh.FirstMoment],
                [.. State.SecondMoment, .. fresh.SecondMoment]),
            Stopped = [.. Stopped, .. Enumerable.Repeat(StopReasons.SetAside(0), added)],
            History = [.. History, .. Enumerable.Range(0, added).Select(_ => (IReadOnlyList<LossRecord>)[])],
            Best = new BestImages([.. Best?.Images ?? State.Images, .. fresh.Images], [.. Best?.Iterations ?? new int?[Stopped.Count], .. new int?[added]]),
        };
    }

    /// <summary>
    /// A run of <paramref name="learningRates"/> before its first iteration, every item at <paramref name="start"/>
    /// (the state <see cref="StyleTransferEngine.Create"/> starts from), with <paramref name="targets"/> already
    /// computed: for an engine of the same problem to take up with <see cref="StyleTransferEngine.HandOver"/> (a sweep
    /// on the backend of the single render timed before it).
    /// </summary>
    public static Checkpoint AtStart(RunSettings settings, StyleTargets targets, RgbImage start, IReadOnlyList<double> learningRates)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(learningRates);
        return new Checkpoint
        {
            Settings = settings with { LearningRates = learningRates.ToArray(), Width = start.Width, Height = start.Height },
            Targets = targets,
            State = OptimizerState.AtStart(start.Planes, learningRates.Count),
            Iteration = 0,
            Stopped = new string?[learningRates.Count],
            History = Enumerable.Range(0, learningRates.Count).Select(_ => (IReadOnlyList<LossRecord>)[]).ToArray(),
            StartImage = start,
        };
    }

    /// <summary>The iteration item <paramref name="n"/> is at (<see cref="ItemIteration(int, string?, int)"/>).</summary>
    public int ItemIteration(int n) => ItemIteration(Iteration, Stopped[n], State.Steps[n]);

    /// <summary>
    /// The run with only <paramref name="items"/> going on: every other item still running is set aside
    /// (<see cref="StopReasons.SetAside"/>) at this checkpoint's iteration, keeping its state, so a resumed batch holds
    /// only the items named (a sweep continuing its best rates) while the others can still go on alone
    /// (<see cref="Item"/>). An item set aside must have the loss of the state it keeps: a checkpoint written between
    /// two of a sweep's checkpoints (on an interruption) holds images whose loss is not yet known, and is refused.
    /// </summary>
    public Checkpoint SetAsideAllBut(IReadOnlyCollection<int> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        string?[] stopped = Stopped.ToArray();
        for (int n = 0; n < stopped.Length; n++)
        {
            if (stopped[n] is not null || items.Contains(n))
            {
                continue;
            }

            UserInputException.Require(History[n] is [.., LossRecord last] && last.Iteration == Iteration,
                $"The run was saved at iteration {Iteration}, between checkpoints, before the loss of its last images was measured, so its items cannot be set aside there; resume it whole to its next checkpoint first.");
            stopped[n] = StopReasons.SetAside(Iteration);
        }

        return this with { Stopped = stopped };
    }

    /// <summary>Writes the checkpoint atomically.</summary>
    public void Save(string path) => AtomicFile.Write(path, WriteTo);

    /// <summary>Reads a checkpoint; a file that is not one, or is damaged, is a <see cref="UserInputException"/> naming it.</summary>
    public static Checkpoint Load(string path) => Read(path, ReadFrom);

    /// <summary>
    /// As <see cref="Load"/>, for whoever names the items by their learning rates (a sweep resumed, one rate continued
    /// alone, <see cref="StyleTransfer.Rate"/>): also refuses a checkpoint whose rates repeat, as an engine's own batch
    /// may, since its items' images and reports would take one another's names.
    /// </summary>
    public static Checkpoint LoadWithDistinctRates(string path)
    {
        Checkpoint checkpoint = Load(path);
        LearningRateList.Require(checkpoint.Settings.LearningRates, $"'{path}'");
        return checkpoint;
    }

    /// <summary>
    /// Only the head of a checkpoint (<see cref="CheckpointHead"/>), without reading its arrays or checking its checksum
    /// (which <see cref="Load"/> does): cheap, for deciding where a resumed run writes before it starts.
    /// </summary>
    public static CheckpointHead ReadHead(string path) => Read(path, stream =>
    {
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        CheckpointHeader header = ReadHeader(reader);
        int[] items = header.Steps.Select((steps, n) => ItemIteration(header.Iteration, header.Stopped[n], steps)).ToArray();
        return new CheckpointHead(header.Settings, header.Iteration, header.HoldsContentImage(), items);
    });

    private static T Read<T>(string path, Func<Stream, T> read)
    {
        if (!File.Exists(path))
        {
            throw new UserInputException($"Checkpoint '{path}' {(Directory.Exists(path) ? "is a folder, not a file" : "does not exist")}; check the path.");
        }

        try
        {
            using FileStream stream = File.OpenRead(path);
            return read(stream);
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException or InvalidDataException or ArgumentException or OverflowException)
        {
            throw new UserInputException($"'{path}' is not a NeuralStyle checkpoint or is damaged ({e.Message.TrimEnd('.')}); use another checkpoint or start afresh.", e);
        }
    }

    /// <summary>
    /// The checkpoint, then the SHA-256 of everything before it: a file changed or damaged after it was written is
    /// refused on load instead of resuming from garbage. (Files written before the checksum existed end without it.)
    /// </summary>
    private void WriteTo(Stream stream)
    {
        using var hashing = new HashingStream(stream);
        WriteContent(hashing);
        stream.Write(hashing.Checksum());
    }

    private static Checkpoint ReadFrom(Stream stream)
    {
        using var hashing = new HashingStream(stream);
        Checkpoint checkpoint = ReadContent(hashing);
        long left = stream.Length - stream.Position;
        if (left == 0)
        {
            return checkpoint; // written before checkpoints carried a checksum
        }

        Span<byte> stored = stackalloc byte[HashingStream.ChecksumLength];
        if (left != stored.Length)
        {
            throw new InvalidDataException($"{left} unexpected bytes follow its content");
        }

        stream.ReadExactly(stored);
        if (!stored.SequenceEqual(hashing.Checksum()))
        {
            throw new InvalidDataException("its checksum does not match its content: the file was changed or damaged after it was written");
        }

        return checkpoint;
    }

    private void WriteContent(Stream stream)
    {
        if (Settings.OriginalColors && ContentImage is null)
        {
            throw new InvalidOperationException("A checkpoint whose settings keep the original colours needs the content image.");
        }

        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        var header = new CheckpointHeader(Settings, Iteration, Stopped.ToArray(), State.Steps.ToArray(),
            Targets.Grams.Keys.ToArray(), Targets.ContentFeatures.Keys.ToArray(), ContentImage is null ? null : true, Best?.Iterations.ToArray(),
            StartImage is null ? null : true);
        writer.Write(JsonSerializer.Serialize(header, EngineJsonContext.Default.CheckpointHeader));
        foreach (float[] gram in Targets.Grams.Values)
        {
            WriteArray(writer, gram);
        }

        foreach (float[] features in Targets.ContentFeatures.Values)
        {
            WriteArray(writer, features);
        }

        WriteArray(writer, State.Images);
        WriteArray(writer, State.FirstMoment);
        WriteArray(writer, State.SecondMoment);
        foreach (IReadOnlyList<LossRecord> history in History)
        {
            writer.Write(history.Count);
            foreach (LossRecord r in history)
            {
                writer.Write(r.Iteration);
                writer.Write(r.Loss.Content);
                writer.Write(r.Loss.Style);
                writer.Write(r.Loss.Tv);
                writer.Write(r.Seconds);
            }
        }

        if (ContentImage is not null)
        {
            WriteArray(writer, ContentImage.Planes);
        }

        if (Best is not null)
        {
            WriteArray(writer, Best.Images);
        }

        if (StartImage is not null)
        {
            WriteArray(writer, StartImage.Planes);
        }
    }

    private static Checkpoint ReadContent(Stream stream)
    {
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        CheckpointHeader header = ReadHeader(reader);
        var grams = header.GramLayers.ToDictionary(n => n, _ => ReadArray(reader));
        var content = header.ContentLayers.ToDictionary(n => n, _ => ReadArray(reader));
        var state = new OptimizerState(header.Steps, ReadArray(reader), ReadArray(reader), ReadArray(reader));
        int items = header.Settings.LearningRates.Count;
        long expected = (long)items * 3 * header.Settings.Width * header.Settings.Height;
        if (state.Images.Length != expected || state.FirstMoment.Length != expected || state.SecondMoment.Length != expected)
        {
            throw new InvalidDataException("the arrays do not match the stored sizes");
        }

        var history = new List<IReadOnlyList<LossRecord>>();
        for (int n = 0; n < items; n++)
        {
            int count = reader.ReadInt32();
            if (count < 0 || (long)count * LossRecordBytes > stream.Length - stream.Position)
            {
                throw new InvalidDataException($"item {n}'s loss history of {count} rows reaches past the end of the file");
            }

            var records = new List<LossRecord>(count);
            for (int k = 0; k < count; k++)
            {
                records.Add(new LossRecord(reader.ReadInt32(), new IterationLosses(reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble()), reader.ReadDouble()));
            }

            history.Add(records);
        }

        RgbImage? contentImage = header.HoldsContentImage() ? ImageOfRunSize(header, ReadArray(reader), "the content image") : null;

        BestImages? best = null;
        if (header.BestIterations is int?[] bestIterations)
        {
            float[] images = ReadArray(reader);
            if (images.Length != expected)
            {
                throw new InvalidDataException("the best images do not match the stored sizes");
            }

            for (int n = 0; n < items; n++)
            {
                if (bestIterations[n] is int k && !history[n].Any(r => r.Iteration == k && r.Loss.IsFinite))
                {
                    throw new InvalidDataException($"item {n}'s best image is of iteration {k}, which has no finite loss in its history");
                }
            }

            best = new BestImages(images, bestIterations);
        }

        RgbImage? startImage = header.StartImageStored == true ? ImageOfRunSize(header, ReadArray(reader), "the starting image") : null;

        return new Checkpoint
        {
            Settings = header.Settings,
            Targets = new StyleTargets(grams, content),
            State = state,
            Iteration = header.Iteration,
            Stopped = header.Stopped,
            History = history,
            ContentImage = contentImage,
            Best = best,
            StartImage = startImage,
        };
    }

    private static RgbImage ImageOfRunSize(CheckpointHeader header, float[] planes, string what) =>
        planes.Length == 3 * header.Settings.Width * header.Settings.Height
            ? new RgbImage(header.Settings.Width, header.Settings.Height, planes)
            : throw new InvalidDataException($"{what} does not match the stored size");

    private static CheckpointHeader ReadHeader(BinaryReader reader)
    {
        if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
        {
            throw new InvalidDataException("wrong file signature");
        }

        CheckpointHeader header = JsonSerializer.Deserialize(reader.ReadString(), EngineJsonContext.Default.CheckpointHeader)
            ?? throw new InvalidDataException("empty header");
        return header.RequireComplete().RequireConsistent();
    }

    private static void WriteArray(BinaryWriter writer, float[] values)
    {
        writer.Write(values.Length);
        writer.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }

    private static float[] ReadArray(BinaryReader reader)
    {
        int length = reader.ReadInt32();
        if (length < 0 || (long)length * sizeof(float) > reader.BaseStream.Length - reader.BaseStream.Position)
        {
            throw new InvalidDataException($"an array length of {length} reaches past the end of the file");
        }

        var values = new float[length];
        reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }
}

/// <summary>
/// What a checkpoint says of itself before its arrays: its settings, the iteration it reached, whether it holds the
/// content image (<see cref="Checkpoint.ContentImage"/>) and the iteration each item is at (a plateaued one stopped
/// earlier; see <see cref="Checkpoint.Item"/>); enough to decide where a resumed run writes and what it needs before
/// anything heavy is read or built.
/// </summary>
public sealed record CheckpointHead(RunSettings Settings, int Iteration, bool HoldsContentImage, IReadOnlyList<int> ItemIterations);

/// <summary>
/// The JSON part of a checkpoint file. <paramref name="ContentImageStored"/> is written only where a content image
/// follows (true); files from before it existed held one exactly where the settings keep the original colours.
/// <paramref name="BestIterations"/>, where written, says the best images follow (<see cref="Checkpoint.Best"/>), and
/// <paramref name="StartImageStored"/> that the starting image follows them (<see cref="Checkpoint.StartImage"/>).
/// </summary>
internal sealed record CheckpointHeader(RunSettings Settings, int Iteration, string?[] Stopped, int[] Steps, string[] GramLayers, string[] ContentLayers,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? ContentImageStored = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int?[]? BestIterations = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? StartImageStored = null)
{
    /// <summary>Whether the content image follows the loss histories.</summary>
    public bool HoldsContentImage() => ContentImageStored ?? Settings.OriginalColors;

    /// <summary>
    /// This header, or an <see cref="InvalidDataException"/> naming what it lacks. System.Text.Json refuses a null
    /// written where none is allowed (<see cref="EngineJsonContext"/>), but leaves a property missing from the JSON
    /// null, its initializer notwithstanding: a damaged header could otherwise pass, to fail later on the null. Every
    /// field checked here has been written since the first checkpoint format.
    /// </summary>
    public CheckpointHeader RequireComplete()
    {
        RunSettings? settings = Settings;
        LossSettings? loss = settings?.Loss;
        (string Name, bool Present)[] fields =
        [
            ("Settings", settings is not null), ("Stopped", Stopped is not null), ("Steps", Steps is not null),
            ("GramLayers", Present(GramLayers)), ("ContentLayers", Present(ContentLayers)),
            ("Settings.Content", settings?.Content is not null), ("Settings.Styles", Present(settings?.Styles)),
            ("Settings.WeightsSpec", settings?.WeightsSpec is not null), ("Settings.WeightsIdentity", settings?.WeightsIdentity is not null),
            ("Settings.Loss", loss is not null), ("Settings.Loss.StyleLayers", Present(loss?.StyleLayers)), ("Settings.Loss.ContentLayers", Present(loss?.ContentLayers)),
            ("Settings.Adam", settings?.Adam is not null), ("Settings.LearningRates", settings?.LearningRates is not null), ("Settings.Notes", settings?.Notes is not null),
        ];
        return fields.FirstOrDefault(f => !f.Present).Name is string missing
            ? throw new InvalidDataException($"its header lacks {missing}")
            : this;

        static bool Present<T>(IReadOnlyList<T?>? list) => list is not null && !list.Contains(default);
    }

    /// <summary>
    /// This header, or an <see cref="InvalidDataException"/> naming what no run writes: a list of one entry per
    /// learning rate of another length, a rate no run has, an empty image size, an iteration below 0, or Adam's
    /// constants out of range. The checksum tells damage, not a file changed and given a matching one (or a writer's
    /// bug), which would otherwise index past a list or run on nonsense.
    /// </summary>
    public CheckpointHeader RequireConsistent()
    {
        int items = Settings.LearningRates.Count;
        string rates = items == 1 ? "1 learning rate" : $"{items} learning rates";
        string? problem = !LearningRateList.AreUsable(Settings.LearningRates) ? "its learning rates are not all finite and above 0"
            : Stopped.Length != items ? $"it holds {rates} but {Stopped.Length} stop reasons"
            : Steps.Length != items ? $"it holds {rates} but {Steps.Length} step counts"
            : BestIterations is { } best && best.Length != items ? $"it holds {rates} but {best.Length} best iterations"
            : Settings.Width < 1 || Settings.Height < 1 ? $"its image size is {Settings.Width}×{Settings.Height}"
            : Iteration < 0 || Steps.Any(s => s < 0) ? "it counts iterations below 0"
            : Settings.Adam.Validate();
        return problem is null ? this : throw new InvalidDataException(problem.TrimEnd('.'));
    }
}
