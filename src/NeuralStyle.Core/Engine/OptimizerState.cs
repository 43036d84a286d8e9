namespace NeuralStyle.Engine;

/// <summary>
/// Everything the optimizer needs to continue exactly: the images, Adam's moments and, per item, the number of
/// updates applied so far (Adam's t; a stopped item's count stands still). Image arrays are [N, 3, H, W]; the
/// caller owns every array.
/// </summary>
public sealed record OptimizerState(int[] Steps, float[] Images, float[] FirstMoment, float[] SecondMoment)
{
    /// <summary>A run's state before its first update: <paramref name="items"/> copies of <paramref name="start"/> ([3, H, W]), moments 0.</summary>
    public static OptimizerState AtStart(float[] start, int items)
    {
        ArgumentNullException.ThrowIfNull(start);
        var images = new float[items * start.Length];
        for (int n = 0; n < items; n++)
        {
            start.CopyTo(images, n * start.Length);
        }

        return new OptimizerState(new int[items], images, new float[images.Length], new float[images.Length]);
    }
}
