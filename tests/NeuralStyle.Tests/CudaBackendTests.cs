using NeuralStyle.Cpu;
using NeuralStyle.Cuda;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>Whole iterations on the GPU against the CPU backend (TF32 off): the same losses and images within 1e-4 relative.</summary>
[Trait("Category", "Cuda")]
public sealed class CudaBackendTests
{
    [SkippableTheory]
    [InlineData(PoolingMode.Max)]
    [InlineData(PoolingMode.Average)]
    public void Iterations_match_the_cpu_backend(PoolingMode pooling)
    {
        Skip.IfNot(CudaRuntime.IsAvailable, $"No CUDA device: {CudaRuntime.Current.Reason}");
        NetworkWeights weights = NetworkWeights.Random(NetworkArchitecture.Vgg19, 0);
        var loss = new LossSettings { Pooling = pooling };
        const int W = 48, H = 40;
        float[] content = TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, H, W, 1));
        using var cpu = new CpuBackend(weights, PreprocessPreset.Caffe, loss, new AdamSettings());
        long buffersBefore = DeviceBuffer.LiveCount;
        using (var gpu = new CudaBackend(weights, PreprocessPreset.Caffe, loss, new AdamSettings()))
        {
            var targets = new StyleTargets(
                cpu.Features(TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, H, W, 2)), H, W, loss.StyleLayers.Select(l => l.ReluName)).ToDictionary(p => p.Key, p => cpu.Gram(p.Value)),
                cpu.Features(content, H, W, loss.ContentLayers).ToDictionary(p => p.Key, p => p.Value.Data));
            float[] batch = [.. content, .. content];
            foreach (IStyleBackend backend in new IStyleBackend[] { cpu, gpu })
            {
                backend.Start(targets, new OptimizerState(new int[2], (float[])batch.Clone(), new float[batch.Length], new float[batch.Length]), H, W, [2.0, 10.0]);
            }

            for (int k = 0; k < 3; k++)
            {
                IterationLosses[] a = cpu.Iterate(), b = gpu.Iterate();
                for (int n = 0; n < 2; n++)
                {
                    Tolerance.AssertClose([a[n].Content, a[n].Style, a[n].Tv], [b[n].Content, b[n].Style, b[n].Tv], 1e-6, 1e-4, $"losses, iteration {k}, item {n}");
                }
            }

            double[] expected = cpu.ReadState().Images.Select(v => (double)v).ToArray();
            Tolerance.AssertClose(expected, gpu.ReadState().Images, 1e-3, 1e-4, "images after 3 iterations");
        }

        Assert.Equal(buffersBefore, DeviceBuffer.LiveCount);
    }
}
