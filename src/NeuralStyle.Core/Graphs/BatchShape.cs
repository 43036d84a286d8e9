namespace NeuralStyle.Graphs;

/// <summary>
/// The batch size and image size a graph is built for, when they are known in advance: every size the graph would
/// otherwise compute from its inputs becomes a constant.
/// </summary>
/// <param name="Batch">Images per run.</param>
/// <param name="Height">Image height in pixels.</param>
/// <param name="Width">Image width in pixels.</param>
public readonly record struct BatchShape(int Batch, int Height, int Width);
