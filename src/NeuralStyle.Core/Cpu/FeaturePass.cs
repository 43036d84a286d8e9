using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Engine;
using NeuralStyle.Graphs;
using NeuralStyle.Model;
using NeuralStyle.Runtime;

namespace NeuralStyle.Cpu;

/// <summary>
/// The forward pass that computes the targets: one image, only the maps asked for, and no further than the deepest
/// of them. <see cref="ForwardPass"/> keeps the maps the backward pass needs; this pass frees each map once the next
/// layer has read it, so its peak is the maps asked for plus about two layers' maps: for VGG19's default style layers
/// about 600 bytes per pixel instead of 2.5 KB, which is what a large --style-scale needs. Its Winograd layers run
/// in the same bands of tile rows as the loop's (<see cref="WinogradBands"/>), so their values come out the same.
/// </summary>
internal static class FeaturePass
{
    /// <summary>
    /// Runs <paramref name="image"/> ([3, H, W], RGB 0..255) through the network and returns the maps of
    /// <paramref name="layers"/>; <paramref name="bandFloats"/> bounds each Winograd layer's scratch (tests lower it).
    /// Throws <see cref="OperationCanceledException"/> between layers, and between a Winograd layer's bands, once
    /// <paramref name="cancel"/> is cancelled.
    /// </summary>
    public static Dictionary<string, FeatureMap> Run(CpuStages stages, RunOptions options, float[] image, int height, int width, IEnumerable<string> layers,
        long bandFloats = WinogradBands.DefaultScratchFloats, CancellationToken cancel = default)
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
            cancel.ThrowIfCancellationRequested();
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
                Convolve(stages, options, stages.TransformedAt(stage.First)!, input!, previous, bandFloats, cancel);
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

    /// <summary>The Winograd convolution (bias and ReLU fused) of <paramref name="input"/> into <paramref name="output"/>, band by band.</summary>
    private static void Convolve(CpuStages stages, RunOptions options, WinogradKernels kernels, PassTensor input, PassTensor output, long bandFloats, CancellationToken cancel)
    {
        int inChannels = kernels.Layer.InChannels, outChannels = kernels.Layer.OutChannels;
        int height = (int)output.Shape[2], width = (int)output.Shape[3];
        long scratch = WinogradBands.ScratchFloats(Math.Max(inChannels, outChannels), height, width, bandFloats);
        using PassTensor transformed = PassTensor.Transient(scratch), products = PassTensor.Transient(scratch);
        using var bands = new WinogradBands(stages, kernels.Forward.Value, inChannels, outChannels, height, width, bandFloats, transformed.View, products.View);
        foreach (TileRows band in bands.Rows)
        {
            cancel.ThrowIfCancellationRequested();
            Winograd.InputTransform(input.Span, [], [], 1, inChannels, height, width, transformed.Span, rows: band);
            bands.Multiply(options, band);
            Winograd.OutputTransform(products.Span, kernels.Bias, relu: true, 1, outChannels, height, width, output.Span, rows: band);
        }
    }
}
