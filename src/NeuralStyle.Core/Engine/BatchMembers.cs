namespace NeuralStyle.Engine;

/// <summary>
/// Which of an engine's items its backend's batch holds. A stopped item costs the batch as much as a running one
/// (the graphs run every image in it), so the engine takes stopped items out and starts the backend again with the
/// others; this keeps the final state of each item taken out (image, Adam's moments and step count, best image) on the
/// host, maps an item to its place in the batch, and puts the whole run's arrays together from the batch's and the
/// kept ones. Image arrays are [N, 3, H, W], in item order for the whole run and in batch order for the batch.
/// </summary>
internal sealed class BatchMembers
{
    private readonly int _imageLength;
    private readonly Kept?[] _kept;
    private int[] _batch;

    /// <summary>All <paramref name="items"/> items in the batch, in item order; each image <paramref name="imageLength"/> floats.</summary>
    public BatchMembers(int items, int imageLength)
    {
        _imageLength = imageLength;
        _kept = new Kept?[items];
        _batch = Enumerable.Range(0, items).ToArray();
    }

    /// <summary>The items the batch holds, in batch order.</summary>
    public IReadOnlyList<int> InBatch => _batch;

    /// <summary>Whether the batch holds item <paramref name="item"/>.</summary>
    public bool Holds(int item) => _kept[item] is null;

    /// <summary>Item <paramref name="item"/>'s place in the batch; it must be in it.</summary>
    public int SlotOf(int item)
    {
        int slot = Array.IndexOf(_batch, item);
        return slot >= 0 ? slot : throw new InvalidOperationException($"Item {item} is no longer in the batch.");
    }

    /// <summary>
    /// The batch without <paramref name="items"/>: their state, read from the batch's <paramref name="state"/> and
    /// <paramref name="best"/> images, is kept here, and the state and best images the batch of the others starts from
    /// are returned. Nothing changes until <see cref="Commit"/> is called with the result, once the backend has it.
    /// </summary>
    public Reduced Without(IReadOnlyCollection<int> items, OptimizerState state, float[] best)
    {
        int[] remaining = _batch.Where(n => !items.Contains(n)).ToArray();
        float[] Gather(float[] values, int[] members)
        {
            var gathered = new float[members.Length * _imageLength];
            for (int i = 0; i < members.Length; i++)
            {
                Slice(values, SlotOf(members[i])).CopyTo(gathered.AsSpan(i * _imageLength));
            }

            return gathered;
        }

        Kept[] kept = items.Select(n => new Kept(n, state.Steps[SlotOf(n)], Slice(state.Images, SlotOf(n)).ToArray(),
            Slice(state.FirstMoment, SlotOf(n)).ToArray(), Slice(state.SecondMoment, SlotOf(n)).ToArray(), Slice(best, SlotOf(n)).ToArray())).ToArray();
        var reducedState = new OptimizerState(remaining.Select(n => state.Steps[SlotOf(n)]).ToArray(),
            Gather(state.Images, remaining), Gather(state.FirstMoment, remaining), Gather(state.SecondMoment, remaining));
        return new Reduced(remaining, reducedState, Gather(best, remaining), kept);
    }

    /// <summary>Makes <paramref name="reduced"/> (from <see cref="Without"/>) the batch.</summary>
    public void Commit(Reduced reduced)
    {
        foreach (Kept item in reduced.Kept)
        {
            _kept[item.Item] = item;
        }

        _batch = reduced.Batch;
    }

    /// <summary>The whole run's optimizer state: the batch's <paramref name="batch"/> state and that of the items taken out.</summary>
    public OptimizerState Whole(OptimizerState batch)
    {
        if (_batch.Length == _kept.Length)
        {
            return batch;
        }

        var whole = new OptimizerState(new int[_kept.Length], new float[_kept.Length * _imageLength], new float[_kept.Length * _imageLength],
            new float[_kept.Length * _imageLength]);
        for (int n = 0; n < _kept.Length; n++)
        {
            if (_kept[n] is Kept kept)
            {
                whole.Steps[n] = kept.Steps;
                kept.Image.CopyTo(whole.Images, n * _imageLength);
                kept.FirstMoment.CopyTo(whole.FirstMoment, n * _imageLength);
                kept.SecondMoment.CopyTo(whole.SecondMoment, n * _imageLength);
            }
            else
            {
                int slot = SlotOf(n);
                whole.Steps[n] = batch.Steps[slot];
                Slice(batch.Images, slot).CopyTo(whole.Images.AsSpan(n * _imageLength));
                Slice(batch.FirstMoment, slot).CopyTo(whole.FirstMoment.AsSpan(n * _imageLength));
                Slice(batch.SecondMoment, slot).CopyTo(whole.SecondMoment.AsSpan(n * _imageLength));
            }
        }

        return whole;
    }

    /// <summary>The whole run's best images: the batch's <paramref name="batch"/> ones and those of the items taken out.</summary>
    public float[] WholeBest(float[] batch)
    {
        if (_batch.Length == _kept.Length)
        {
            return batch;
        }

        var whole = new float[_kept.Length * _imageLength];
        for (int n = 0; n < _kept.Length; n++)
        {
            ReadOnlySpan<float> image = _kept[n] is Kept kept ? kept.Best : Slice(batch, SlotOf(n));
            image.CopyTo(whole.AsSpan(n * _imageLength));
        }

        return whole;
    }

    private ReadOnlySpan<float> Slice(float[] values, int slot) => values.AsSpan(slot * _imageLength, _imageLength);

    /// <summary>A batch without some items, from <see cref="Without"/>: who is in it, its starting state and best images, and the items taken out.</summary>
    internal sealed record Reduced(int[] Batch, OptimizerState State, float[] Best, Kept[] Kept);

    /// <summary>The final state of an item taken out of the batch.</summary>
    internal sealed record Kept(int Item, int Steps, float[] Image, float[] FirstMoment, float[] SecondMoment, float[] Best);
}
