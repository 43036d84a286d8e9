using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Engine;
using NeuralStyle.Graphs;
using NeuralStyle.Model;
using NeuralStyle.Runtime;

namespace NeuralStyle.Cpu;

/// <summary>
/// The forward pass that computes the targets: one image, only the maps asked for, and no further than the deepest
/// of them. <see cref="ForwardPass"/> keeps every activation and a whole layer's Winograd scratch, as the backward pass
/// needs; this pass frees each map once the next layer has read it and convolves the Winograd layers in strips of
/// rows, so its peak is the maps asked for plus about two layers' maps: for VGG19's default style layers about 600
/// bytes per pixel instead of 2.5 KB, which is what a large --style-scale needs.
/// </summary>
/// <remarks>
/// A strip's tiles line up with the whole map's: a strip of output rows [r0, r1) convolves input rows [r0 − 4, r1 + 1)
/// (clipped to the map) and keeps rows [r0, r1), so every kept tile reads exactly the rows it reads in one pass over
/// the whole map, and its values come out the same.
/// </remarks>
internal static class FeaturePass
{
    /// <summary>The most memory a Winograd layer's strip takes: V and M, and the strip's copies of its input and output rows.</summary>
    public const long StripBytes = 256L << 20;

    /// <summary>Input rows a strip reads above its first output row: one whole tile, so that its tiles line up with the map's.</summary>
    private const int RowsAbove = Winograd.TileSize;

    /// <summary>
    /// Runs <paramref name="image"/> ([3, H, W], RGB 0..255) through the network and returns the maps of
    /// <paramref name="layers"/>; <paramref name="stripBytes"/> bounds each Winograd layer's strip memory (tests lower it).
    /// </summary>
    public static Dictionary<string, FeatureMap> Run(CpuStages stages, RunOptions options, float[] image, int height, int width, IEnumerable<string> layers,
        long stripBytes = StripBytes)
    {
        NetworkArchitecture architecture = stages.Architecture;
        HashSet<string> wanted = [.. layers];
        string[] unknown = wanted.Where(name => architecture.FindRelu(name) is null).ToArray();
        if (unknown.Length > 0)
        {
            throw new ArgumentException($"No layer {string.Join(", ", unknown)} in this network.", nameof(layers));
        }

        int deepest = -1;
        for (int i = 0; i < architecture.Layers.Count; i++)
        {
            deepest = wanted.Contains(architecture.Layers[i].ReluName) ? i : deepest;
        }

        var maps = new Dictionary<string, FeatureMap>();
        using var owned = new OwnedResources(); // every tensor; most are freed earlier, as soon as they have been read
        using OrtValue imageValue = OrtValue.CreateTensorValueFromMemory(image, [1, 3, height, width]);

        PassTensor New(int layer)
        {
            ConvLayer l = architecture.Layers[layer];
            var (h, w) = NetworkArchitecture.SpatialSize(l.Block, height, width);
            bool keep = wanted.Contains(l.ReluName);
            PassTensor map = owned.Own(keep ? PassTensor.Kept(1, l.OutChannels, h, w) : PassTensor.Transient(1, l.OutChannels, h, w));
            if (keep)
            {
                maps[l.ReluName] = new FeatureMap(l.OutChannels, h, w, map.Array);
            }

            return map;
        }

        PassTensor? previous = null; // the last layer's output
        for (int s = 0; s < stages.Stages.Count && stages.Stages[s].First <= deepest; s++)
        {
            CpuStage stage = stages.Stages[s];
            ConvLayer head = architecture.Layers[stage.First];
            PassTensor? input = previous;
            if (head.Index == 1 && head.Block > 1)
            {
                input = owned.Own(Pool(stages.Pooling, previous!));
                previous!.Dispose();
            }

            if (stage.Winograd)
            {
                previous = New(stage.First);
                Convolve(stages, options, stages.TransformedAt(stage.First)!, input!, previous, stripBytes);
            }
            else
            {
                PassTensor[] outputs = Enumerable.Range(stage.First, stage.Count).Select(New).ToArray();
                using (OrtIoBinding binding = stages.Forward(s).CreateIoBinding())
                {
                    if (input is null)
                    {
                        binding.BindInput(GraphNames.Image, imageValue);
                    }
                    else
                    {
                        binding.BindInput(GraphNames.BlockInput, input.View(input.Shape));
                    }

                    for (int i = 0; i < outputs.Length; i++)
                    {
                        binding.BindOutput(GraphNames.Activation(architecture.Layers[stage.First + i].ReluName), outputs[i].View(outputs[i].Shape));
                    }

                    stages.Forward(s).RunWithBinding(options, binding);
                }

                foreach (PassTensor inner in outputs[..^1])
                {
                    inner.Dispose();
                }

                previous = outputs[^1];
            }

            input?.Dispose();
        }

        return maps;
    }

    /// <summary>Pools <paramref name="map"/> [1, C, H, W] 2×2 into a transient map; max pooling's argmax goes to scratch, as no backward pass reads it.</summary>
    private static PassTensor Pool(PoolingMode mode, PassTensor map)
    {
        int channels = (int)map.Shape[1], height = (int)map.Shape[2], width = (int)map.Shape[3];
        var pooled = PassTensor.Transient(1, channels, height / 2, width / 2);
        try
        {
            // One byte per pooled value, in a float tensor of a quarter the length (rounded up).
            using PassTensor? argmax = mode == PoolingMode.Max ? PassTensor.Transient((pooled.Length / sizeof(float)) + 1) : null;
            Span<byte> which = argmax is null ? [] : MemoryMarshal.AsBytes(argmax.Span)[..pooled.Length];
            CpuPooling.Forward(mode, map.Span, channels, height, width, pooled.Span, which);
            return pooled;
        }
        catch
        {
            pooled.Dispose(); // not owned by the pass yet
            throw;
        }
    }

    /// <summary>The Winograd convolution (bias and ReLU fused) of <paramref name="input"/> into <paramref name="output"/>, in strips of rows.</summary>
    private static void Convolve(CpuStages stages, RunOptions options, WinogradKernels kernels, PassTensor input, PassTensor output, long stripBytes)
    {
        int inChannels = kernels.Layer.InChannels, outChannels = kernels.Layer.OutChannels;
        int height = (int)output.Shape[2], width = (int)output.Shape[3];
        int rows = StripRows(inChannels, outChannels, height, width, stripBytes);
        bool whole = rows >= height;
        int spanRows = whole ? height : Math.Min(height, rows + RowsAbove + 1);
        var (th, tw) = Winograd.Tiles(spanRows, width);
        using PassTensor transformed = PassTensor.Transient((long)Winograd.Positions * inChannels * th * tw);
        using PassTensor products = PassTensor.Transient((long)Winograd.Positions * outChannels * th * tw);
        using PassTensor stripInput = PassTensor.Transient(whole ? 1 : (long)inChannels * spanRows * width);
        using PassTensor stripOutput = PassTensor.Transient(whole ? 1 : (long)outChannels * spanRows * width);
        for (int top = 0; top < height; top += rows)
        {
            int bottom = Math.Min(height, top + rows);
            int first = whole || top == 0 ? 0 : top - RowsAbove, last = whole ? height : Math.Min(height, bottom + 1);
            int span = last - first;
            Span<float> x = whole ? input.Span : stripInput.Span[..(inChannels * span * width)];
            Span<float> y = whole ? output.Span : stripOutput.Span[..(outChannels * span * width)];
            if (!whole)
            {
                CopyRows(input.Span, height, stripInput.Span, span, inChannels, width, first, 0, span);
            }

            var (sh, sw) = Winograd.Tiles(span, width);
            long tiles = (long)sh * sw;
            Winograd.InputTransform(x, [], [], 1, inChannels, span, width, transformed.Span);
            using (OrtIoBinding binding = stages.BindProducts(kernels.Forward.Value,
                transformed.View(1, Winograd.Positions, inChannels, tiles), products.View(1, Winograd.Positions, outChannels, tiles)))
            {
                stages.Products.RunWithBinding(options, binding);
            }

            Winograd.OutputTransform(products.Span, kernels.Bias, relu: true, 1, outChannels, span, width, y);
            if (!whole)
            {
                CopyRows(stripOutput.Span, span, output.Span, height, outChannels, width, top - first, top, bottom - top);
            }
        }
    }

    /// <summary>
    /// Output rows per strip for a layer: all of them when its whole scratch fits in <paramref name="stripBytes"/>, else
    /// as many whole tile rows as fit with the strip's extra input rows (at least one tile row).
    /// </summary>
    internal static int StripRows(int inChannels, int outChannels, int height, int width, long stripBytes)
    {
        double bytesPerRow = StripBytesPerRow(inChannels, outChannels, width);
        if (bytesPerRow * height <= stripBytes)
        {
            return height;
        }

        int rows = (int)(stripBytes / bytesPerRow) - RowsAbove - 1;
        return Math.Max(Winograd.TileSize, rows / Winograd.TileSize * Winograd.TileSize);
    }

    /// <summary>Strip memory per row of a layer: V and M (36 values per 4×4 tile for each channel) and the copies of input and output rows.</summary>
    internal static double StripBytesPerRow(int inChannels, int outChannels, int width) =>
        ((double)Winograd.Positions / (Winograd.TileSize * Winograd.TileSize) + 1) * (inChannels + outChannels) * width * sizeof(float);

    /// <summary>Copies <paramref name="count"/> rows of every channel from row <paramref name="from"/> of a [C, fromHeight, W] map to row <paramref name="to"/> of a [C, toHeight, W] one.</summary>
    private static void CopyRows(ReadOnlySpan<float> source, int sourceHeight, Span<float> destination, int destinationHeight, int channels, int width, int from, int to, int count)
    {
        for (int c = 0; c < channels; c++)
        {
            source.Slice(((c * sourceHeight) + from) * width, count * width).CopyTo(destination.Slice(((c * destinationHeight) + to) * width, count * width));
        }
    }
}
