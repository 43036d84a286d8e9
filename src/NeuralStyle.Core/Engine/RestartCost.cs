namespace NeuralStyle.Engine;

/// <summary>
/// Whether starting a backend's batch again without its stopped items pays for itself before the run ends. A start
/// costs its own time (on the CPU, allocating the loop; on CUDA, also building the backward session for the new batch
/// and timing the style products) plus whatever the first iteration after it takes beyond the next (ONNX Runtime's
/// and cuDNN's first-run work for new shapes). What an image adds to an iteration is taken from the iterations of two
/// batch sizes once the run has had both (an iteration has a part that no image removes: launches, the host's turn
/// at the loss values, a GPU not filled by a small batch), and as the iteration's share per image before that. Both
/// are measured on this run's own starts and iterations, so the rule holds on any device: on the CPU a start costs a
/// fraction of an iteration and nearly always pays, while on a GPU, where an iteration takes milliseconds, a stop near
/// the end of a run is cheaper to keep computing.
/// </summary>
internal sealed class RestartCost
{
    // Iteration seconds by batch size, of iterations not the first after a start: their sum and count.
    private readonly Dictionary<int, (double Sum, int Count)> _steady = [];
    private double _startSeconds;
    private double? _firstIterationSeconds; // the first iteration after the last start, until the second is measured
    private double _firstIterationExcess;
    private double _iterationSeconds;
    private int _iterationBatch = 1; // the last iteration's batch size
    private int _iterationsSinceStart;

    /// <summary>What one start is measured to cost, in seconds: the start and its first iteration's excess.</summary>
    public double Seconds => _startSeconds + _firstIterationExcess;

    /// <summary>The last iteration's seconds, over the whole batch.</summary>
    public double IterationSeconds => _iterationSeconds;

    /// <summary>Records a start of the batch that took <paramref name="seconds"/>.</summary>
    public void Started(double seconds)
    {
        _startSeconds = seconds;
        _firstIterationExcess = 0;
        _firstIterationSeconds = null;
        _iterationsSinceStart = 0;
    }

    /// <summary>Records an iteration of the whole batch, <paramref name="batch"/> images, that took <paramref name="seconds"/>.</summary>
    public void Iterated(double seconds, int batch)
    {
        _iterationsSinceStart++;
        if (_iterationsSinceStart == 1)
        {
            _firstIterationSeconds = seconds;
        }
        else
        {
            if (_iterationsSinceStart == 2 && _firstIterationSeconds is double first)
            {
                _firstIterationExcess = Math.Max(0, first - seconds);
            }

            var (sum, count) = _steady.GetValueOrDefault(batch);
            _steady[batch] = (sum + seconds, count + 1);
        }

        _iterationSeconds = seconds;
        _iterationBatch = batch;
    }

    /// <summary>
    /// Taking <paramref name="stopped"/> of a batch of <paramref name="batch"/> images out, weighed: what it saves over
    /// <paramref name="iterationsLeft"/> iterations (null: unknown, taken as many) against what a start costs.
    /// </summary>
    public BatchLeaving Leaving(int stopped, int batch, int? iterationsLeft) =>
        new(stopped, iterationsLeft, iterationsLeft is int left ? Saving(stopped, batch, left) : null, Seconds);

    /// <summary>The seconds saved over <paramref name="iterationsLeft"/> iterations without <paramref name="stopped"/> of <paramref name="batch"/> images.</summary>
    public double Saving(int stopped, int batch, int iterationsLeft) => ImageSeconds(batch) * stopped * Math.Max(0, iterationsLeft);

    /// <summary>Iterations a batch size needs, besides the first after a start, before its mean time counts: one is too noisy on a busy CPU.</summary>
    public const int IterationsPerSize = 3;

    /// <summary>
    /// What one image adds to an iteration of about <paramref name="batch"/> images: the slope between the mean
    /// iterations of the two measured batch sizes nearest it (never below 0: a larger batch measured faster is noise,
    /// and saves nothing), else the last iteration's share per image.
    /// </summary>
    public double ImageSeconds(int batch)
    {
        var nearest = _steady.Where(size => size.Value.Count >= IterationsPerSize)
            .Select(size => (Batch: size.Key, Seconds: size.Value.Sum / size.Value.Count))
            .OrderBy(size => Math.Abs(size.Batch - batch)).ThenBy(size => size.Batch).Take(2).ToArray();
        if (nearest.Length < 2)
        {
            return _iterationSeconds / _iterationBatch;
        }

        var (a, b) = (nearest[0], nearest[1]);
        return Math.Max(0, (a.Seconds - b.Seconds) / (a.Batch - b.Batch));
    }
}

/// <summary>
/// Whether the stopped items still in a backend's batch leave it at the next iteration, as measured on the run
/// (<see cref="StyleTransferEngine.StoppedLeaving"/>): they do where there is no plan (<paramref name="IterationsLeft"/>
/// null, taken as many) or where leaving saves more than a start costs.
/// </summary>
/// <param name="Items">Stopped items still in the batch.</param>
/// <param name="IterationsLeft">Iterations left to the plan (<see cref="StyleTransferEngine.PlannedIterations"/>), or null where none is set.</param>
/// <param name="SavingSeconds">What taking them out saves over those iterations; null without a plan.</param>
/// <param name="StartSeconds">What a start of the batch costs.</param>
public sealed record BatchLeaving(int Items, int? IterationsLeft, double? SavingSeconds, double StartSeconds)
{
    /// <summary>Whether they leave: no plan, or a saving larger than a start.</summary>
    public bool Pays => SavingSeconds is not double saving || saving > StartSeconds;
}
