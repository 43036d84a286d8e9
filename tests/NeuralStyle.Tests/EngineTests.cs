using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>The engine over the real VGG19 table (random features) at small sizes.</summary>
public sealed class EngineTests
{

    [Fact]
    public void A_batch_of_three_equals_three_single_runs()
    {
        double[] rates = [1, 5, 20];
        StyleProblem problem = SmallVggProblem.Create(40, 32);
        const int Iterations = 4;
        using StyleTransferEngine batch = StyleTransferEngine.Create(problem, rates, DeviceKind.Cpu);
        var batchLosses = Enumerable.Range(0, Iterations).Select(_ => batch.Step()).ToArray();

        for (int n = 0; n < rates.Length; n++)
        {
            using StyleTransferEngine single = StyleTransferEngine.Create(problem, [rates[n]], DeviceKind.Cpu);
            for (int k = 0; k < Iterations; k++)
            {
                IterationLosses alone = single.Step()[0];
                // Same float32 arithmetic per item; only the thread split of the convolutions may differ: 1e-5 relative.
                Tolerance.AssertClose([alone.Content, alone.Style, alone.Tv],
                    [batchLosses[k][n].Content, batchLosses[k][n].Style, batchLosses[k][n].Tv], 1e-6, 1e-5, $"lr {rates[n]} iteration {k}");
            }

            double[] expected = single.CurrentImage(0).Planes.Select(v => (double)v).ToArray();
            Tolerance.AssertClose(expected, batch.CurrentImage(n).Planes, 1e-3, 1e-5, $"image, lr {rates[n]}");
        }
    }

    [Fact]
    public void Blended_style_targets_are_the_normalized_weighted_sum_of_each_styles_gram()
    {
        // A = Σ w_i G_i with w = blend / Σ blend, each G_i = F Fᵀ / (C·H·W) of that style image's own size.
        var loss = new LossSettings { StyleLayers = [new LayerWeight("relu1_1", 1), new LayerWeight("relu2_1", 1)], ContentLayers = [] };
        RgbImage[] styles = [RgbImage.Noise(20, 18, 1), RgbImage.Noise(24, 16, 2)];
        var problem = new StyleProblem { Content = RgbImage.Noise(20, 20, 3), Styles = styles, StyleBlend = [3, 1], Weights = SmallVggProblem.Vgg, Loss = loss };
        using StyleTransferEngine engine = StyleTransferEngine.Create(problem, [1.0], DeviceKind.Cpu);
        using var backend = BackendFactory.Create(DeviceKind.Cpu, SmallVggProblem.Vgg, PreprocessPreset.Caffe, loss, new AdamSettings());

        foreach (string layer in new[] { "relu1_1", "relu2_1" })
        {
            double[] expected = null!;
            for (int i = 0; i < styles.Length; i++)
            {
                FeatureMap f = backend.Features(styles[i].Planes, styles[i].Height, styles[i].Width, [layer])[layer];
                int c = f.Channels, m = f.Height * f.Width;
                expected ??= new double[c * c];
                double weight = i == 0 ? 0.75 : 0.25;
                for (int a = 0; a < c; a++)
                {
                    for (int b = 0; b < c; b++)
                    {
                        double dot = 0;
                        for (int p = 0; p < m; p++)
                        {
                            dot += (double)f.Data[(a * m) + p] * f.Data[(b * m) + p];
                        }

                        expected[(a * c) + b] += weight * dot / ((double)c * m);
                    }
                }
            }

            // float32 products of up to 360 terms against float64: 1e-5 of the largest entry plus 1e-4 relative.
            Tolerance.AssertClose(expected, engine.Targets.Grams[layer], 1e-5 * Tolerance.MaxAbs(expected), 1e-4, layer);
        }
    }

    [Fact]
    public void Random_features_keep_a_useful_scale_through_all_sixteen_layers()
    {
        RgbImage cat = ImageFiles.Load(Path.Combine(Repository.Examples, "content-cat-chelsea.png"), 96);
        using var backend = BackendFactory.Create(DeviceKind.Cpu, SmallVggProblem.Vgg, PreprocessPreset.Caffe,
            new LossSettings { StyleLayers = [new LayerWeight("relu5_4", 1)], ContentLayers = [] }, new AdamSettings());
        var features = backend.Features(cat.Planes, cat.Height, cat.Width, NetworkArchitecture.Vgg19.ReluNames);
        double Rms(string layer) => Math.Sqrt(features[layer].Data.Average(v => (double)v * v));
        double first = Rms("relu1_1");
        foreach (string layer in NetworkArchitecture.Vgg19.ReluNames)
        {
            double ratio = Rms(layer) / first;
            // He scaling keeps the mean square; max pooling raises it a little per block. Anything within 10× is usable.
            Assert.InRange(ratio, 0.1, 10.0);
        }
    }

    [Fact]
    public void Random_features_are_the_same_for_the_same_seed_and_differ_across_seeds()
    {
        NetworkWeights again = NetworkWeights.Random(NetworkArchitecture.Vgg19, 0);
        Assert.Equal(SmallVggProblem.Vgg.Kernels[7], again.Kernels[7]);
        Assert.NotEqual(SmallVggProblem.Vgg.Kernels[7], NetworkWeights.Random(NetworkArchitecture.Vgg19, 1).Kernels[7]);
        Assert.Equal(SmallVggProblem.Vgg.Kernels[3], SmallVggProblem.Vgg.TruncatedAt("relu2_2").Kernels[3]);
    }

    [Fact]
    public void Too_small_an_image_for_the_deepest_layer_is_refused_before_work()
    {
        var e = Assert.Throws<UserInputException>(() => StyleTransferEngine.Create(SmallVggProblem.Create(40, 12), [1.0], DeviceKind.Cpu));
        Assert.Contains("relu5_1", e.Message, StringComparison.Ordinal);
        Assert.Contains("16 px", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    public void Bad_learning_rates_are_refused(double lr) =>
        Assert.Throws<UserInputException>(() => StyleTransferEngine.Create(SmallVggProblem.Create(32, 32), [lr], DeviceKind.Cpu));

    /// <summary>Adam's constants out of their range (the bias correction would divide by 0, or a step be 0/0) are refused before work, named.</summary>
    [Theory]
    [InlineData(1.0, 0.999, 1e-8, "Adam's β1 must be in [0, 1), not 1.")]
    [InlineData(0.9, -0.5, 1e-8, "Adam's β2 must be in [0, 1), not -0.5.")]
    [InlineData(0.9, 0.999, 0.0, "Adam's ε must be a finite number > 0, not 0.")]
    [InlineData(double.NaN, 0.999, 1e-8, "Adam's β1 must be in [0, 1), not NaN.")]
    public void Adam_constants_out_of_range_are_refused(double beta1, double beta2, double epsilon, string expected)
    {
        StyleProblem problem = SmallVggProblem.Create(32, 32) with { Adam = new AdamSettings { Beta1 = beta1, Beta2 = beta2, Epsilon = epsilon } };
        var e = Assert.Throws<UserInputException>(() => StyleTransferEngine.Create(problem, [1.0], DeviceKind.Cpu));
        Assert.Equal(expected, e.Message);
    }

    [SkippableFact]
    public void Cuda_where_it_cannot_run_is_a_clear_error()
    {
        Skip.If(Cuda.CudaRuntime.IsAvailable, "CUDA works on this machine.");
        Cuda.CudaSupport.Register(); // as the command line's tests in this process may have done already: a build with CUDA (BackendFactoryTests covers one without)
        var e = Assert.Throws<UserInputException>(() => StyleTransferEngine.Create(SmallVggProblem.Create(32, 32), [1.0], DeviceKind.Cuda));
        Assert.StartsWith("DeviceKind.Cuda cannot run here: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(" Use DeviceKind.Cpu", e.Message, StringComparison.Ordinal);
    }
}
