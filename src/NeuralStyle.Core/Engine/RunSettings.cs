using System.Text.Json.Serialization;
using NeuralStyle.Model;

namespace NeuralStyle.Engine;

/// <summary>
/// What a run was started with, as stored in a checkpoint: enough to rebuild the engine without the original
/// images (the targets travel in the checkpoint too) and to show the user what they are continuing.
/// </summary>
public sealed record RunSettings
{
    /// <summary>The content image path as given.</summary>
    public string Content { get; init; } = "";

    /// <summary>The style image paths as given.</summary>
    public IReadOnlyList<string> Styles { get; init; } = [];

    /// <summary>The weights as given (<c>auto</c>, <c>random:1</c>, a path).</summary>
    public string WeightsSpec { get; init; } = "auto";

    /// <summary>The resolved weights' identity; a resume must resolve to the same.</summary>
    public string WeightsIdentity { get; init; } = "";

    /// <summary>The preprocessing in use.</summary>
    public PreprocessPreset Preprocess { get; init; }

    /// <summary>The loss definition.</summary>
    public LossSettings Loss { get; init; } = new();

    /// <summary>Adam's constants.</summary>
    public AdamSettings Adam { get; init; } = new();

    /// <summary>One learning rate per item.</summary>
    public IReadOnlyList<double> LearningRates { get; init; } = [];

    /// <summary>Image width.</summary>
    public int Width { get; init; }

    /// <summary>Image height.</summary>
    public int Height { get; init; }

    /// <summary>
    /// The image the command line saved with this checkpoint, relative to the checkpoint's folder: where a resume
    /// without a new output continues. Null where none was saved with it (the embedding API, a sweep).
    /// </summary>
    public string? Image { get; init; }

    /// <summary>The loss log the command line kept with this checkpoint, relative to its folder, or null.</summary>
    public string? LossLog { get; init; }

    /// <summary>
    /// Whether the command line saves this run's images in the content image's colours (<see cref="Imaging.ColorTransfer"/>,
    /// applied to each saved copy; the optimized image is not changed). The checkpoint then holds the content image
    /// (<see cref="Checkpoint.ContentImage"/>), so a resume needs neither the file nor the folder the run began in.
    /// </summary>
    public bool OriginalColors { get; init; }

    /// <summary>Free-form description of the remaining options (size, init, …) for people.</summary>
    public string Notes { get; init; } = "";
}

/// <summary>
/// Source-generated JSON for the engine's records, so serialization works under NativeAOT and trimming. A checkpoint's
/// header is read from a file that may be damaged: a null where the records allow none, or a constructor argument
/// missing, is a <see cref="System.Text.Json.JsonException"/> (a refused file), not a null found later.
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true, UseStringEnumConverter = true, RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(RunSettings))]
[JsonSerializable(typeof(CheckpointHeader))]
internal sealed partial class EngineJsonContext : JsonSerializerContext;
