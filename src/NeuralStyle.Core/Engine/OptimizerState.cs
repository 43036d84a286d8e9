namespace NeuralStyle.Engine;

/// <summary>
/// Everything the optimizer needs to continue exactly: the images, Adam's moments and, per item, the number of
/// updates applied so far (Adam's t; a stopped item's count stands still). Image arrays are [N, 3, H, W]; the
/// caller owns every array.
/// </summary>
public sealed record OptimizerState(int[] Steps, float[] Images, float[] FirstMoment, float[] SecondMoment);
