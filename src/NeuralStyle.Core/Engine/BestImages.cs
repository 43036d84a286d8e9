namespace NeuralStyle.Engine;

/// <summary>
/// Every item's image of the lowest loss its run has reached ([N, 3, H, W]), and per item the iteration of that loss
/// (null where the item has no loss yet, its image then being the one it starts from). A run that swings or falls
/// apart later still has these.
/// </summary>
public sealed record BestImages(float[] Images, IReadOnlyList<int?> Iterations);
