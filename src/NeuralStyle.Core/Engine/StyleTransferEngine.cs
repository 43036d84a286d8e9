using System.Diagnostics;
using NeuralStyle.Imaging;
using NeuralStyle.Model;

namespace NeuralStyle.Engine;

/// <summary>
/// Optimizes a batch of images for one <see cref="StyleProblem"/>, one learning rate per item: computes the
/// targets once, then runs iterations on a backend and keeps every item's loss history. The loss recorded for
/// iteration k is that of the images at the start of iteration k (row 0 is the initial image). Items can be
/// stopped one by one (a diverged item stops; the others go on), and a stopped item costs nothing from the next
/// iteration on: the backend's batch is started again without it (<see cref="BatchMembers"/>), unless the iterations
/// left to <see cref="PlannedIterations"/> would save less than the start costs (<see cref="RestartCost"/>). Each
/// item's image of the lowest loss so far is kept beside its current one (<see cref="BestImage"/>). Owns its backend
/// (until it hands it over: <see cref="HandOver"/>); dispose to free every buffer.
/// </summary>
public sealed class StyleTransferEngine : IDisposable
{
    private readonly IStyleBackend _backend;
    private readonly NetworkWeights _weights;
    private readonly BuiltFor _builtFor;
    private bool _handedOver;
    private readonly string?[] _stopped;
    private readonly bool[] _frozen;
    private readonly List<LossRecord>[] _history;
    private readonly LossRecord?[] _best; // per item: the row of the image the backend keeps as its best, or null before one
    private readonly BatchMembers _members;
    private readonly RestartCost _restartCost = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly double _secondsBefore;

    private StyleTransferEngine(IStyleBackend backend, NetworkWeights weights, BuiltFor builtFor, BatchMembers members, double startSeconds, StyleTargets targets, int width, int height,
        IReadOnlyList<double> learningRates, int iteration, IReadOnlyList<string?>? stopped, IReadOnlyList<IReadOnlyList<LossRecord>>? history, IReadOnlyList<int?>? bestIterations)
    {
        _members = members;
        _restartCost.Started(startSeconds);
        _backend = backend;
        _weights = weights;
        _builtFor = builtFor;
        Targets = targets;
        Width = width;
        Height = height;
        LearningRates = learningRates.ToArray();
        Iteration = iteration;
        StartIteration = iteration;
        int n = learningRates.Count;
        _stopped = stopped?.ToArray() ?? new string?[n];
        _frozen = _stopped.Select(s => s is not null).ToArray();
        _history = Enumerable.Range(0, n).Select(i => history is null ? new List<LossRecord>() : history[i].ToList()).ToArray();
        _secondsBefore = _history.SelectMany(h => h).Select(r => r.Seconds).DefaultIfEmpty(0).Max();
        _best = Enumerable.Range(0, n).Select(i => RowOf(_history[i], bestIterations?[i])).ToArray();
    }

    /// <summary>Width of the optimized images.</summary>
    public int Width { get; }

    /// <summary>Height of the optimized images.</summary>
    public int Height { get; }

    /// <summary>One learning rate per batch item (0..255 pixel units).</summary>
    public IReadOnlyList<double> LearningRates { get; }

    /// <summary>Iterations completed so far.</summary>
    public int Iteration { get; private set; }

    /// <summary>The iteration this engine started at: 0, or that of the checkpoint it resumed.</summary>
    public int StartIteration { get; }

    /// <summary>The targets the loss matches.</summary>
    public StyleTargets Targets { get; }

    /// <summary>
    /// The iteration the caller means to run to, where it knows it (null: unknown). An item that stopped leaves the
    /// batch at the next iteration only where the iterations left would save more than starting the batch again costs,
    /// both as measured on this run (<see cref="RestartCost"/>); otherwise it stays in the batch, frozen. It changes
    /// no result, only the time.
    /// </summary>
    public int? PlannedIterations { get; set; }

    /// <summary>
    /// What starting the batch is measured to cost on this run, in seconds: the last start (at creation, resume or an
    /// item's leaving) and, once two iterations have followed it, the first one's time beyond the second's.
    /// </summary>
    public double StartSeconds => _restartCost.Seconds;

    /// <summary>The estimated peak host memory of this run in bytes (see <see cref="MemoryEstimate"/>), or null for a
    /// run on a device, whose backend refuses a batch its device has no memory for when it allocates it.</summary>
    public double? EstimatedPeakBytes { get; private init; }

    /// <summary>The backend's description, e.g. "CPU (ONNX Runtime 1.31.0, 2 threads)".</summary>
    public string DeviceDescription => Backend.Description;

    /// <summary>Seconds of optimization so far, including the time before a resume.</summary>
    public double ElapsedSeconds => _secondsBefore + _clock.Elapsed.TotalSeconds;

    /// <summary>
    /// Validates the problem, builds the backend, computes the targets and sets every item to the initial image.
    /// Throws <see cref="UserInputException"/> for settings that cannot work, before any heavy work. Cancelled through
    /// <paramref name="cancel"/>, it stops within a layer of the targets' pass (seconds of work with a large style
    /// image) and throws <see cref="OperationCanceledException"/>, having freed what it built.
    /// </summary>
    public static StyleTransferEngine Create(StyleProblem problem, IReadOnlyList<double> learningRates, DeviceKind device = DeviceKind.Auto, MathPrecision precision = MathPrecision.Fp32,
        CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(learningRates);
        Validate(problem, learningRates);
        double[] blend = problem.NormalizedBlend();
        PreprocessPreset preprocess = problem.Preprocess ?? problem.Weights.Preprocess;
        RgbImage content = problem.Content;
        var (memory, checkedBefore) = CheckBeforeBuilding(problem, learningRates.Count, device);
        cancel.ThrowIfCancellationRequested();
        IStyleBackend backend = BackendFactory.Create(device, problem.Weights, preprocess, problem.Loss, problem.Adam, precision);
        try
        {
            double? estimate = checkedBefore ?? memory.For(backend);
            StyleTargets targets = ComputeTargets(backend, problem, blend, cancel);
            cancel.ThrowIfCancellationRequested();
            int batch = learningRates.Count;
            float[] start = (problem.Initial ?? content).Planes;
            OptimizerState state = OptimizerState.AtStart(start, batch);
            double startSeconds = Seconds(() => backend.Start(targets, state, content.Height, content.Width, learningRates));
            var builtFor = new BuiltFor(problem.Weights.Identity, preprocess, problem.Loss, problem.Adam);
            return new StyleTransferEngine(backend, problem.Weights, builtFor, new BatchMembers(batch, start.Length), startSeconds, targets, content.Width, content.Height, learningRates, 0, null, null, null)
            {
                EstimatedPeakBytes = estimate,
            };
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Refuses, as <see cref="Create"/> would but before any work, a run of <paramref name="batch"/> images of
    /// <paramref name="problem"/> whose arrays or memory cannot fit; the memory only where the run is surely on the host
    /// (<see cref="Create"/> checks an automatic choice again once it is made). For a caller with other work to do
    /// first.
    /// </summary>
    public static void RequireFits(StyleProblem problem, int batch, DeviceKind device = DeviceKind.Auto)
    {
        ArgumentNullException.ThrowIfNull(problem);
        CheckBeforeBuilding(problem, batch, device);
    }

    /// <summary>The checks before a backend is built: the targets' arrays, and the memory of a run surely on the host (its estimate, else null).</summary>
    private static (HostMemoryCheck Memory, double? Estimate) CheckBeforeBuilding(StyleProblem problem, int batch, DeviceKind device)
    {
        RgbImage largestTarget = problem.Styles.Append(problem.Content).MaxBy(i => (long)i.Width * i.Height)!;
        var memory = new HostMemoryCheck(problem.Weights, problem.Loss, batch, problem.Content.Width, problem.Content.Height, problem.MemoryLimitBytes,
            (largestTarget.Width, largestTarget.Height));
        memory.RequireTargetArraysFit();
        return (memory, memory.BeforeBuilding(device));
    }

    /// <summary>
    /// Continues a run from <paramref name="checkpoint"/> with <paramref name="weights"/>, which must be the weights
    /// it was made with (same identity). Continues exactly: no target is recomputed. <paramref name="memoryLimitBytes"/>
    /// caps a run on the host as <see cref="StyleProblem.MemoryLimitBytes"/> does (default: the memory available).
    /// Cancelled through <paramref name="cancel"/> once the backend is built, it frees it and throws
    /// <see cref="OperationCanceledException"/>.
    /// </summary>
    public static StyleTransferEngine Resume(Checkpoint checkpoint, NetworkWeights weights, DeviceKind device = DeviceKind.Auto, MathPrecision precision = MathPrecision.Fp32,
        long? memoryLimitBytes = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(weights);
        RunSettings s = checkpoint.Settings;
        if (weights.Identity != s.WeightsIdentity)
        {
            throw new UserInputException($"The checkpoint was made with weights {s.WeightsIdentity}, not {weights.Identity}; resume it with the weights it was made with (WeightSource.ForResume finds them).");
        }

        RequireUsable(checkpoint, weights.Architecture);
        HostMemoryCheck memory = MemoryOfBatch(checkpoint, weights, memoryLimitBytes);
        double? checkedBefore = memory.BeforeBuilding(device);
        cancel.ThrowIfCancellationRequested();
        IStyleBackend backend = BackendFactory.Create(device, weights, s.Preprocess, s.Loss, s.Adam, precision);
        try
        {
            cancel.ThrowIfCancellationRequested();
            return Continue(backend, weights, checkpoint, checkedBefore ?? memory.For(backend));
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Continues <paramref name="next"/>, another batch of this engine's run (some of its items, or all of them put
    /// back together: <see cref="Checkpoint.Items"/>, <see cref="Checkpoint.WithItems"/>), on this engine's backend:
    /// its network, sessions and compiled kernels carry over, so the new batch costs only its start, not a second
    /// backend's (a sweep's rates catching up, then joining the others). <paramref name="next"/> must be of the same
    /// weights, preprocessing, loss and Adam constants. This engine is then done: dispose it (its backend lives on in
    /// the engine returned); any other call throws. Where the new batch cannot start (no memory for it), this engine can
    /// only be disposed too. <paramref name="memoryLimitBytes"/> is as for <see cref="Resume"/>; on the host, without a
    /// limit, the check counts what this process holds now (the network and this batch) as available to the next batch.
    /// </summary>
    public StyleTransferEngine HandOver(Checkpoint next, long? memoryLimitBytes = null)
    {
        ArgumentNullException.ThrowIfNull(next);
        RunSettings s = next.Settings;
        IStyleBackend backend = Backend;
        BuiltFor wanted = BuiltFor.Of(s);
        if (wanted != _builtFor)
        {
            string part = wanted.WeightsIdentity != _builtFor.WeightsIdentity ? $"weights ({wanted.WeightsIdentity}, not {_builtFor.WeightsIdentity})"
                : wanted.Preprocess != _builtFor.Preprocess ? $"preprocessing ({wanted.Preprocess}, not {_builtFor.Preprocess})"
                : wanted.Loss != _builtFor.Loss ? "loss" : "Adam constants";
            throw new ArgumentException($"The checkpoint differs from the run this engine's backend was built for in its {part}; resume it in an engine of its own.", nameof(next));
        }

        RequireUsable(next, _weights.Architecture);
        // The estimate is of the whole process, which holds the network and this batch now: they count as available.
        HostMemoryCheck memory = MemoryOfBatch(next, _weights, memoryLimitBytes) with { HeldBytes = Runtime.ProcessMemory.ResidentBytes() };
        StyleTransferEngine continued = Continue(backend, _weights, next, memory.For(backend));
        _handedOver = true;
        return continued;
    }

    /// <summary>
    /// Refuses a checkpoint that no run on <paramref name="architecture"/> writes: loss settings that network cannot
    /// run, or targets, state or best images that do not fit the settings. Its checksum tells damage, not a file
    /// changed and given a matching one (or a writer's bug), which would otherwise fail inside the backend.
    /// </summary>
    private static void RequireUsable(Checkpoint checkpoint, NetworkArchitecture architecture)
    {
        RunSettings s = checkpoint.Settings;
        string? problem = s.Loss.Validate(architecture)
            ?? StartChecks.Misfit(architecture, s.Loss, checkpoint.Targets, checkpoint.State, s.Height, s.Width, s.LearningRates, checkpoint.Best?.Images);
        if (problem is not null)
        {
            throw new UserInputException($"The checkpoint does not fit its own settings or these weights' network: {problem} It was changed or damaged; use another checkpoint or start afresh.");
        }
    }

    /// <summary>The host memory check of <paramref name="checkpoint"/>'s batch: only the items still running (all of them where none is).</summary>
    private static HostMemoryCheck MemoryOfBatch(Checkpoint checkpoint, NetworkWeights weights, long? memoryLimitBytes)
    {
        RunSettings s = checkpoint.Settings;
        int running = checkpoint.Stopped.Count(r => r is null);
        int batch = running > 0 ? running : s.LearningRates.Count;
        return new HostMemoryCheck(weights, s.Loss, batch, s.Width, s.Height, memoryLimitBytes, LargestTarget: (0, 0)); // targets are stored
    }

    /// <summary>Starts <paramref name="backend"/> on <paramref name="checkpoint"/>'s running items and returns the engine that continues it; <paramref name="estimate"/> is its memory estimate.</summary>
    private static StyleTransferEngine Continue(IStyleBackend backend, NetworkWeights weights, Checkpoint checkpoint, double? estimate)
    {
        RunSettings s = checkpoint.Settings;
        int[] stopped = Enumerable.Range(0, s.LearningRates.Count).Where(n => checkpoint.Stopped[n] is not null).ToArray();
        int[] leaving = stopped.Length < s.LearningRates.Count ? stopped : [];

        // A checkpoint from before best images were kept starts them from its images, as a new run does.
        var members = new BatchMembers(s.LearningRates.Count, 3 * s.Width * s.Height);
        BatchMembers.Reduced batch = members.Without(leaving, checkpoint.State, checkpoint.Best?.Images ?? checkpoint.State.Images);
        double startSeconds = Seconds(() => backend.Start(checkpoint.Targets, batch.State, s.Height, s.Width, batch.Batch.Select(n => s.LearningRates[n]).ToArray(), batch.Best));
        members.Commit(batch);
        return new StyleTransferEngine(backend, weights, BuiltFor.Of(s), members, startSeconds, checkpoint.Targets, s.Width, s.Height,
            s.LearningRates, checkpoint.Iteration, checkpoint.Stopped, checkpoint.History, checkpoint.Best?.Iterations)
        {
            EstimatedPeakBytes = estimate,
        };
    }

    /// <summary>
    /// Runs one iteration for every item that is not stopped and records each item's loss at the start of it. An
    /// item whose loss is NaN or infinite is stopped here ("diverged at iteration k"); its image is no longer updated.
    /// A starting image whose loss is already not finite is no matter of learning rate: that throws a
    /// <see cref="UserInputException"/> naming the loss weight to lower, and the engine can only be disposed; so does a
    /// first update that changed nothing because the loss is so large that Adam overflows.
    /// </summary>
    public IterationLosses[] Step()
    {
        TakeOutStopped();
        float[]? before = Iteration == 0 ? ReadState().Images : null;
        IterationLosses[] losses = Iterate(_frozen);
        Record(losses);
        if (before is not null)
        {
            RefuseAStall(before, losses);
        }

        Iteration++;
        return losses;
    }

    /// <summary>The loss of the current images without changing them (one forward and backward pass); recorded as row <see cref="Iteration"/>.</summary>
    public IterationLosses[] Evaluate()
    {
        TakeOutStopped();
        IterationLosses[] losses = Iterate(Enumerable.Repeat(true, LearningRates.Count).ToArray());
        Record(losses);
        return losses;
    }

    /// <summary>Milliseconds per phase of the last iteration.</summary>
    public PhaseTimes LastPhases => Backend.LastPhases;

    /// <summary>Bytes of device memory in use now (CUDA: the whole device, context included); null on the CPU.</summary>
    public long? DeviceMemoryInUse => Backend.DeviceMemoryInUse;

    /// <summary>Stops updating item <paramref name="item"/>; <paramref name="reason"/> is kept in checkpoints and reports.</summary>
    public void Stop(int item, string reason)
    {
        _stopped[item] ??= reason;
        _frozen[item] = true;
    }

    /// <summary>
    /// Stops item <paramref name="item"/> as plateaued (<see cref="StopReasons.Plateaued"/>) at the last iteration its
    /// history records, keeping the image whose loss that is: called after <see cref="Step"/>, it undoes that step's
    /// update, so the image, its loss and its step count agree and the item can go on alone from there
    /// (<see cref="Checkpoint.Item"/>).
    /// </summary>
    public void StopAtPlateau(int item) => StopAtLastRow(item, StopReasons.Plateaued);

    /// <summary>
    /// Stops item <paramref name="item"/> as set aside (<see cref="StopReasons.SetAside"/>) at the last iteration its
    /// history records, as <see cref="StopAtPlateau"/> does: its state is then that of its last measured loss, to be
    /// taken further later (a sweep interrupted while a rate caught up with the others).
    /// </summary>
    public void SetAside(int item) => StopAtLastRow(item, StopReasons.SetAside);

    private void StopAtLastRow(int item, Func<int, string> reason)
    {
        if (_stopped[item] is not null)
        {
            return;
        }

        if (_history[item] is [])
        {
            Stop(item, reason(Iteration)); // it has not run yet, so nothing is to be undone
            return;
        }

        // A running item takes one update per iteration, so where the engine is past its last row, the last Step
        // updated it (and after Evaluate it is not).
        LossRecord last = _history[item][^1];
        if (Iteration > last.Iteration)
        {
            Backend.RevertLastUpdate(_members.SlotOf(item));
        }

        Stop(item, reason(last.Iteration));
    }

    /// <summary>Why item <paramref name="item"/> stopped, or null while it runs.</summary>
    public string? StopReason(int item) => _stopped[item];

    /// <summary>
    /// How many images the backend computes per iteration: the items still running, once those that stopped have left
    /// the batch (at the next iteration, where that pays: <see cref="PlannedIterations"/>). Where none runs, the batch
    /// is left as it was.
    /// </summary>
    public int BatchSize => _members.InBatch.Count;

    /// <summary>
    /// Whether the items that stopped leave the backend's batch at the next iteration, with what that saves over the
    /// iterations left to <see cref="PlannedIterations"/> and what the start costs, both measured on this run; null where
    /// none is to leave (no stopped item in the batch, or no running one).
    /// </summary>
    public BatchLeaving? StoppedLeaving
    {
        get
        {
            int stopped = StoppedInBatch().Length, batch = _members.InBatch.Count;
            return stopped == 0 || stopped == batch ? null : _restartCost.Leaving(stopped, batch, PlannedIterations - Iteration);
        }
    }

    /// <summary>The items that have not stopped, in batch order.</summary>
    public IEnumerable<int> RunningItems => Enumerable.Range(0, _stopped.Length).Where(n => _stopped[n] is null);

    /// <summary>
    /// True when item <paramref name="item"/> diverged in this engine's first iteration. It then had no update of
    /// this run to undo and keeps the state it was resumed with, whose loss was never finite here (a checkpoint
    /// written on interruption holds an update whose loss was not yet evaluated). Otherwise a diverged item keeps
    /// the last image whose loss was finite.
    /// </summary>
    public bool DivergedAtStart(int item) =>
        _stopped[item] is not null && _history[item] is [.., LossRecord last] && !last.Loss.IsFinite && last.Iteration == StartIteration;

    /// <summary>Item <paramref name="item"/>'s loss history.</summary>
    public IReadOnlyList<LossRecord> History(int item) => _history[item];

    /// <summary>A copy of item <paramref name="item"/>'s current image (unclamped; saving clamps to 0..255).</summary>
    public RgbImage CurrentImage(int item)
    {
        OptimizerState state = ReadState();
        int length = 3 * Width * Height;
        return new RgbImage(Width, Height, state.Images.AsSpan(item * length, length).ToArray());
    }

    /// <summary>
    /// The row of item <paramref name="item"/>'s lowest finite loss since its best image was kept: of the whole run,
    /// or, resumed from a checkpoint that kept none, since the resume. Null before its first loss.
    /// </summary>
    public LossRecord? Best(int item) => _best[item];

    /// <summary>A copy of the image of <see cref="Best"/> (unclamped), or, before its first loss, the image it starts from.</summary>
    public RgbImage BestImage(int item)
    {
        float[] images = _members.WholeBest(Backend.ReadBestImages());
        int length = 3 * Width * Height;
        return new RgbImage(Width, Height, images.AsSpan(item * length, length).ToArray());
    }

    /// <summary>The whole run state, for <see cref="Checkpoint.Save"/>.</summary>
    public Checkpoint CreateCheckpoint(RunSettings settings) => new()
    {
        Settings = settings with { LearningRates = LearningRates, Width = Width, Height = Height },
        Targets = Targets,
        State = ReadState(),
        Iteration = Iteration,
        Stopped = _stopped.ToArray(),
        History = _history.Select(h => (IReadOnlyList<LossRecord>)h.ToArray()).ToArray(),
        Best = new BestImages(_members.WholeBest(Backend.ReadBestImages()), _best.Select(r => r?.Iteration).ToArray()),
    };

    /// <summary>Frees the backend and its buffers, unless it was handed over (<see cref="HandOver"/>).</summary>
    public void Dispose()
    {
        if (!_handedOver)
        {
            _backend.Dispose();
        }
    }

    /// <summary>The backend, while this engine has it.</summary>
    private IStyleBackend Backend => _handedOver
        ? throw new InvalidOperationException("This engine handed its backend over to another (HandOver): go on with that one.")
        : _backend;

    /// <summary>What a backend is built for: another batch can continue on it only where all of these are the same.</summary>
    private sealed record BuiltFor(string WeightsIdentity, PreprocessPreset Preprocess, LossSettings Loss, AdamSettings Adam)
    {
        public static BuiltFor Of(RunSettings s) => new(s.WeightsIdentity, s.Preprocess, s.Loss, s.Adam);
    }

    /// <summary>
    /// Starts the backend's batch again without the items that stopped, where any still runs and the iterations left
    /// pay for the start: from then on an iteration costs what the running items cost. Their state stays on the host
    /// for checkpoints and images.
    /// </summary>
    private void TakeOutStopped()
    {
        if (StoppedLeaving is not { Pays: true })
        {
            return;
        }

        BatchMembers.Reduced batch = _members.Without(StoppedInBatch(), Backend.ReadState(), Backend.ReadBestImages());
        _restartCost.Started(Seconds(() => Backend.Start(Targets, batch.State, Height, Width, batch.Batch.Select(n => LearningRates[n]).ToArray(), batch.Best)));
        _members.Commit(batch);
    }

    /// <summary>The items in the backend's batch that have stopped.</summary>
    private int[] StoppedInBatch() => _members.InBatch.Where(n => _stopped[n] is not null).ToArray();

    private static double Seconds(Action work)
    {
        long start = Stopwatch.GetTimestamp();
        work();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>The whole run's optimizer state, the items taken out of the batch included.</summary>
    private OptimizerState ReadState() => _members.Whole(Backend.ReadState());

    /// <summary>
    /// One backend iteration over the batch, <paramref name="frozen"/> given per item; the losses per item. An item
    /// taken out of the batch is not evaluated: its loss is that of its last finite row, which is its image's.
    /// </summary>
    private IterationLosses[] Iterate(bool[] frozen)
    {
        bool[] batchFrozen = _members.InBatch.Select(n => frozen[n]).ToArray();
        IterationLosses[] evaluated = [];
        _restartCost.Iterated(Seconds(() => evaluated = Backend.Iterate(batchFrozen)), batchFrozen.Length);
        var losses = new IterationLosses[LearningRates.Count];
        for (int n = 0; n < losses.Length; n++)
        {
            losses[n] = _members.Holds(n) ? evaluated[_members.SlotOf(n)] : LastFiniteOrLast(_history[n]).Loss;
        }

        return losses;
    }

    private static LossRecord LastFiniteOrLast(List<LossRecord> history) =>
        history.FindLastIndex(r => r.Loss.IsFinite) is int i and >= 0 ? history[i] : history[^1];

    private void Record(IterationLosses[] losses)
    {
        double seconds = ElapsedSeconds;
        for (int n = 0; n < losses.Length; n++)
        {
            // A stopped item keeps its history; a row already recorded by Evaluate is not recorded twice.
            if (_stopped[n] is not null || (_history[n].Count > 0 && _history[n][^1].Iteration == Iteration))
            {
                continue;
            }

            if (_history[n].Count == 0 && !losses[n].IsFinite)
            {
                throw new UserInputException(NotFiniteAtStart(losses[n]));
            }

            var row = new LossRecord(Iteration, losses[n], seconds);
            _history[n].Add(row);
            if (losses[n].IsFinite && (_best[n] is not LossRecord best || row.Loss.Total < best.Loss.Total))
            {
                Backend.KeepAsBest(_members.SlotOf(n)); // a new lowest loss: its image is the one this iteration evaluated
                _best[n] = row;
            }

            if (!losses[n].IsFinite)
            {
                // The image at the start of this iteration is already bad; go back to the last finite one.
                Backend.RevertLastUpdate(_members.SlotOf(n));
                Stop(n, StopReasons.Diverged(Iteration));
            }
        }
    }

    /// <summary>The row of <paramref name="iteration"/> in <paramref name="history"/>, or null where none is given or there is no such row.</summary>
    private static LossRecord? RowOf(List<LossRecord> history, int? iteration) =>
        history.FindIndex(r => r.Iteration == iteration) is int i and >= 0 ? history[i] : null;

    /// <summary>
    /// Refuses a first update that left more than 1% of an item's image unchanged while its loss is huge: where the
    /// gradient passes about 1.8e19, Adam's squared gradient overflows float32, the second moment is infinite and the
    /// step is 0 from then on, so the run would go on without a word and change little or nothing (as
    /// torch.optim.Adam does). Adam's first step moves every value whose gradient is finite and not 0 by about the
    /// learning rate, so a normal run leaves none unchanged (measured: none at style weight 1e20 at 40 px, 14% at 1e21,
    /// 86% at 1e22, all at 1e30); below <see cref="HugeLoss"/>, unchanged values are gradients of 0, no weight's doing.
    /// </summary>
    private void RefuseAStall(float[] before, IterationLosses[] losses)
    {
        float[] after = ReadState().Images;
        int length = 3 * Width * Height;
        for (int n = 0; n < losses.Length; n++)
        {
            if (_stopped[n] is not null || !(losses[n].Total > HugeLoss))
            {
                continue;
            }

            int unchanged = 0;
            for (int i = n * length; i < (n + 1) * length; i++)
            {
                unchanged += before[i] == after[i] ? 1 : 0;
            }

            if (unchanged > length / 100)
            {
                SettingNames names = SettingNames.Current;
                throw new UserInputException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"The first update left {100.0 * unchanged / length:F0}% of the image unchanged: the loss ({losses[n].Total:G4}) is so large that Adam's squared gradients overflow float32 there and those steps are 0. Adam follows only the ratios of the loss weights, so divide {names.ContentWeight}, {names.StyleWeight} and {names.TvWeight} by the same factor (e.g. {Math.Pow(10, Math.Floor(Math.Log10(losses[n].Total)) - 10):G1})."));
            }
        }
    }

    /// <summary>A loss above any a sensible run reaches (about 1e7 at 256 px with the default weights), below float32's range.</summary>
    private const double HugeLoss = 1e20;

    /// <summary>Names the first term that is not finite and the weight that scales it.</summary>
    private static string NotFiniteAtStart(IterationLosses loss)
    {
        SettingNames names = SettingNames.Current;
        string advice =
            !double.IsFinite(loss.Content) ? $"the content term; lower {names.ContentWeight}" :
            !double.IsFinite(loss.Style) ? $"the style term; lower {names.StyleWeight} or the style layers' weights" :
            $"the total-variation term; lower {names.TvWeight}";
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"The loss of the starting image is already not finite (content {loss.Content:G4}, style {loss.Style:G4}, tv {loss.Tv:G4}), so no learning rate can help: it overflows in {advice} (or, with a weights file, check that its values are not far too large).");
    }

    private static void Validate(StyleProblem problem, IReadOnlyList<double> learningRates)
    {
        NetworkArchitecture architecture = problem.Weights.Architecture;
        if ((problem.Loss.Validate(architecture) ?? problem.Adam.Validate()) is string problemText)
        {
            throw new UserInputException(problemText);
        }

        if (!LearningRateList.AreUsable(learningRates))
        {
            throw new UserInputException($"Learning rates must be finite and > 0; got {string.Join(", ", learningRates)}.");
        }

        if (problem.Styles.Count == 0)
        {
            throw new UserInputException("Give at least one style image.");
        }

        ConvLayer deepest = architecture.FindRelu(problem.Loss.DeepestTap(architecture))!;
        int minimum = NetworkArchitecture.MinimumInputSide(deepest.Block);
        CheckSize("The content image", problem.Content, minimum, deepest, SettingNames.Current.Size);
        foreach (RgbImage style in problem.Styles)
        {
            CheckSize("A style image", style, minimum, deepest, SettingNames.Current.StyleScaleOrSize);
        }

        if (problem.Initial is RgbImage initial && (initial.Width != problem.Content.Width || initial.Height != problem.Content.Height))
        {
            throw new UserInputException($"The initial image is {initial.Width}×{initial.Height}, but the content is {problem.Content.Width}×{problem.Content.Height}.");
        }
    }

    /// <summary>Refuses an image smaller than the deepest layer needs, naming <paramref name="raise"/>, the options that make it larger.</summary>
    private static void CheckSize(string what, RgbImage image, int minimum, ConvLayer deepest, string raise)
    {
        if (image.Width < minimum || image.Height < minimum)
        {
            throw new UserInputException($"{what} is {image.Width}×{image.Height} at this size, too small for {deepest.ReluName}, which needs at least {minimum} px on each side; raise {raise} or use shallower layers.");
        }
    }

    private static StyleTargets ComputeTargets(IStyleBackend backend, StyleProblem problem, double[] blend, CancellationToken cancel)
    {
        LossSettings loss = problem.Loss;
        RgbImage content = problem.Content;
        var contentFeatures = new Dictionary<string, float[]>();
        if (loss.ContentLayers.Count > 0)
        {
            foreach (var (name, map) in backend.Features(content.Planes, content.Height, content.Width, loss.ContentLayers, cancel))
            {
                contentFeatures[name] = map.Data;
            }
        }

        var grams = new Dictionary<string, float[]>();
        string[] styleLayers = loss.StyleLayers.Select(l => l.ReluName).Distinct().ToArray();
        for (int i = 0; i < problem.Styles.Count; i++)
        {
            RgbImage style = problem.Styles[i];
            foreach (var (name, map) in backend.Features(style.Planes, style.Height, style.Width, styleLayers, cancel))
            {
                float[] gram = backend.Gram(map);
                if (!grams.TryGetValue(name, out float[]? sum))
                {
                    grams[name] = sum = new float[gram.Length];
                }

                for (int k = 0; k < gram.Length; k++)
                {
                    sum[k] += (float)(blend[i] * gram[k]);
                }
            }
        }

        // A style image's maps are garbage once its Gram matrices are taken, and with --style-scale they can be as
        // large as the whole optimization, which allocates next: collect them now rather than at some later GC.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return new StyleTargets(grams, contentFeatures);
    }
}
