namespace NeuralStyle.Engine;

/// <summary>
/// Whether starting a backend's batch again without its stopped items pays for itself before the run ends. A start
/// costs its own time (on the CPU, allocating the loop; on CUDA, also building the backward session for the new batch
/// and timing the style products) plus whatever the first iteration after it takes beyond the next (ONNX Runtime's
/// and cuDNN's first-run work for new shapes); an iteration's cost is taken as proportional to the images in the
/// batch. Both are measured on this run's own starts and iterations, so the rule holds on any device: on the CPU a
/// start costs a fraction of an iteration and nearly always pays, while on a GPU, where an iteration takes
/// milliseconds, a stop near the end of a run is cheaper to keep computing.
/// </summary>
internal sealed class RestartCost
{
    private double _startSeconds;
    private double? _firstIterationSeconds; // the first iteration after the last start, until the second is measured
    private double _firstIterationExcess;
    private double _iterationSeconds;
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

    /// <summary>Records an iteration of the whole batch that took <paramref name="seconds"/>.</summary>
    public void Iterated(double seconds)
    {
        _iterationsSinceStart++;
        if (_iterationsSinceStart == 1)
        {
            _firstIterationSeconds = seconds;
        }
        else if (_iterationsSinceStart == 2 && _firstIterationSeconds is double first)
        {
            _firstIterationExcess = Math.Max(0, first - seconds);
        }

        _iterationSeconds = seconds;
    }

    /// <summary>
    /// Whether taking <paramref name="stopped"/> of a batch of <paramref name="batch"/> images out saves more over
    /// <paramref name="iterationsLeft"/> iterations (null: unknown, taken as many) than a start costs.
    /// </summary>
    public bool Pays(int stopped, int batch, int? iterationsLeft) =>
        iterationsLeft is not int left || Saving(stopped, batch, left) > Seconds;

    /// <summary>The seconds saved over <paramref name="iterationsLeft"/> iterations without <paramref name="stopped"/> of <paramref name="batch"/> images.</summary>
    public double Saving(int stopped, int batch, int iterationsLeft) => _iterationSeconds * stopped / batch * Math.Max(0, iterationsLeft);
}
