using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NeuralStyle.Cpu;
using NeuralStyle.Cuda;
using NeuralStyle.Engine;
using NeuralStyle.Graphs;
using NeuralStyle.Imaging;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;
using Xunit.Abstractions;

namespace NeuralStyle.Tests;

/// <summary>Whole iterations on the GPU against the CPU backend (TF32 off): the same losses and images within 1e-4 relative.</summary>
[Trait("Category", "Cuda")]
public sealed class CudaBackendTests(ITestOutputHelper output)
{
    [SkippableTheory]
    [InlineData(PoolingMode.Max, StyleProductSource.Measured)]
    [InlineData(PoolingMode.Average, StyleProductSource.Measured)]
    [InlineData(PoolingMode.Max, StyleProductSource.Ours)]
    [InlineData(PoolingMode.Max, StyleProductSource.Cublas)]
    public void Iterations_match_the_cpu_backend(PoolingMode pooling, StyleProductSource products)
    {
        Skip.IfNot(CudaRuntime.IsAvailable, $"No CUDA device: {CudaRuntime.Current.Reason}");
        NetworkWeights weights = NetworkWeights.Random(NetworkArchitecture.Vgg19, 0);
        var loss = new LossSettings { Pooling = pooling };
        const int W = 48, H = 40;
        float[] content = TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, H, W, 1));
        using var cpu = new CpuBackend(weights, PreprocessPreset.Caffe, loss, new AdamSettings());
        long buffersBefore = DeviceBuffer.LiveCount;
        using (var gpu = new CudaBackend(weights, PreprocessPreset.Caffe, loss, new AdamSettings(), products: products))
        {
            BackendAgreement.AssertIterationsMatch(cpu, gpu, loss, content, TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, H, W, 2)), H, W, otherConvolutions: true, output.WriteLine);
            BackendAgreement.AssertDescribesProducts(gpu, products);
        }

        Assert.Equal(buffersBefore, DeviceBuffer.LiveCount);
    }

    [SkippableFact]
    public void The_gpu_max_pool_keeps_the_first_of_tied_maxima_as_the_cpu_does()
    {
        // The backward graph routes each window's gradient through MaxPool's indices; the CPU backend pools on its own
        // (CpuPooling). On exact ties (values from {0, 1, 2}) the two must pick the same maximum, so that the backends
        // can differ only where rounding separates near-equal values (BackendAgreement.MaxPoolOutlierShare).
        Skip.IfNot(CudaRuntime.IsAvailable, $"No CUDA device: {CudaRuntime.Current.Reason}");
        const int Planes = 6, H = 9, W = 11, Ph = H / 2, Pw = W / 2; // odd: the last row and column are dropped
        var graph = new OnnxGraphWriter("max_pool_ties");
        graph.Input("x", false, 1, Planes, H, W);
        graph.Nodes("MaxPool", ["x"], ["pooled", "at"], OnnxGraphWriter.Ints("kernel_shape", 2, 2), OnnxGraphWriter.Ints("strides", 2, 2));
        graph.Output("pooled", false, 1, Planes, Ph, Pw);
        graph.Output("at", true, 1, Planes, Ph, Pw);
        var input = new float[Planes * H * W];
        new DeterministicRandom(1).FillUniform(input, 0, 3);
        input = input.Select(MathF.Floor).ToArray();

        float[] pooled;
        long[] at;
        using (CudaDevice device = CudaDevice.Open())
        using (var graphs = new CudaGraphs(device, allowTf32: false, onHost: false))
        using (InferenceSession session = graphs.Create(graph.Build("ties").ToByteArray()))
        using (var results = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(input, [1, Planes, H, W]))]))
        {
            pooled = results.Single(r => r.Name == "pooled").AsEnumerable<float>().ToArray();
            at = results.Single(r => r.Name == "at").AsEnumerable<long>().ToArray();
        }

        var expected = new float[Planes * Ph * Pw];
        var argmax = new byte[expected.Length];
        CpuPooling.Forward(PoolingMode.Max, input, Planes, H, W, expected, argmax);
        // ONNX's indices count over the whole [1, planes, H, W] tensor; the CPU's argmax is dy·2 + dx within the window.
        long FlatIndex(byte k, int o) => (((o / (Ph * Pw) * H) + (2 * (o / Pw % Ph)) + (k >> 1)) * W) + (2 * (o % Pw)) + (k & 1);
        long[] expectedAt = argmax.Select(FlatIndex).ToArray();
        Assert.Equal(expected, pooled);
        Assert.Equal(expectedAt, at);
    }

    [SkippableFact]
    public void A_revert_keeps_a_state_with_no_update_and_otherwise_goes_back_one_update()
    {
        Skip.IfNot(CudaRuntime.IsAvailable, $"No CUDA device: {CudaRuntime.Current.Reason}");
        using (var gpu = new CudaBackend(TinyProblem.Network, PreprocessPreset.Caffe, TinyProblem.Loss, new AdamSettings()))
        {
            RevertTests.NoUpdateKeepsTheLoadedState(gpu);
        }

        using (var gpu = new CudaBackend(TinyProblem.Network, PreprocessPreset.Caffe, TinyProblem.Loss, new AdamSettings()))
        {
            RevertTests.RevertGoesBackOneUpdate(gpu);
        }

        using (var gpu = new CudaBackend(TinyProblem.Network, PreprocessPreset.Caffe, TinyProblem.Loss, new AdamSettings()))
        {
            RevertTests.FrozenItemBetweenUpdatedOnes(gpu);
        }
    }

    [SkippableFact]
    public void The_best_image_kept_is_the_one_the_last_iteration_evaluated()
    {
        Skip.IfNot(CudaRuntime.IsAvailable, $"No CUDA device: {CudaRuntime.Current.Reason}");
        using var gpu = new CudaBackend(TinyProblem.Network, PreprocessPreset.Caffe, TinyProblem.Loss, new AdamSettings());
        BestImageTests.KeepsTheEvaluatedImage(gpu);
    }

    [SkippableFact]
    public void Tf32_iterations_stay_within_a_percent_of_the_cpu_backend()
    {
        Skip.IfNot(CudaRuntime.IsAvailable, $"No CUDA device: {CudaRuntime.Current.Reason}");
        NetworkWeights weights = NetworkWeights.Random(NetworkArchitecture.Vgg19, 0);
        var loss = new LossSettings();
        const int W = 64, H = 48;
        float[] content = TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, H, W, 3));
        using var cpu = new CpuBackend(weights, PreprocessPreset.Caffe, loss, new AdamSettings());
        using var gpu = new CudaBackend(weights, PreprocessPreset.Caffe, loss, new AdamSettings(), allowTf32: true);
        StyleTargets targets = Targets.Of(cpu, loss, TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, H, W, 4)), content, H, W);
        foreach (IStyleBackend backend in new IStyleBackend[] { cpu, gpu })
        {
            backend.Start(targets, new OptimizerState(new int[1], (float[])content.Clone(), new float[content.Length], new float[content.Length]), H, W, [10.0]);
        }

        for (int k = 0; k < 3; k++)
        {
            IterationLosses a = cpu.Iterate()[0], b = gpu.Iterate()[0];
            // TF32 products keep 10 mantissa bits (≈ 5e-4 per product); sums over thousands of terms stay within 1%. The
            // content term starts at 0 on the CPU (the content image itself), where TF32's feature error squared remains:
            // within 1e-4 of the whole loss.
            double whole = Math.Abs(a.Content) + Math.Abs(a.Style) + Math.Abs(a.Tv);
            Tolerance.AssertClose([a.Content, a.Style, a.Tv], [b.Content, b.Style, b.Tv], Math.Max(1e-3, 1e-4 * whole), 1e-2, $"TF32 losses, iteration {k}");
        }
    }

    [SkippableFact]
    public void A_start_the_gpu_has_no_memory_for_is_refused_with_the_sizes_and_frees_what_it_took()
    {
        Skip.IfNot(CudaRuntime.IsAvailable, $"No CUDA device: {CudaRuntime.Current.Reason}");
        var loss = new LossSettings();
        const int W = 512, H = 512; // relu1_1, relu1_2 and relu1_1's seed alone take 400 MB for two images
        using var gpu = new CudaBackend(NetworkWeights.Random(NetworkArchitecture.Vgg19, 0), PreprocessPreset.Caffe, loss, new AdamSettings());
        float[] content = TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, H, W, 5)), style = TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, H, W, 6));
        StyleTargets targets = Targets.Of(gpu, loss, style, content, H, W); // the style of another image: the content's own would make the style loss 0
        OptimizerState State() => new(new int[2], [.. content, .. content], new float[2 * content.Length], new float[2 * content.Length]);

        using (CudaDevice other = CudaDevice.Open())
        {
            long buffersBefore = DeviceBuffer.LiveCount;
            List<DeviceBuffer> hog = TakeAllBut(other, 256UL << 20);
            try
            {
                var refused = Assert.Throws<UserInputException>(() => gpu.Start(targets, State(), H, W, [1.0, 5.0]));
                Assert.Contains("too little memory for 2 image(s) of 512×512", refused.Message, StringComparison.Ordinal);
                Assert.Equal(buffersBefore + hog.Count, DeviceBuffer.LiveCount); // only the hog
                Assert.Throws<InvalidOperationException>(() => gpu.Iterate());
            }
            finally
            {
                hog.ForEach(b => b.Dispose());
            }
        }

        gpu.Start(targets, State(), H, W, [1.0, 5.0]);
        Assert.All(gpu.Iterate(), l => Assert.True(l.IsFinite && l.Style > 0, $"losses after the refused start: {l}"));
    }

    [SkippableFact]
    public void A_backend_made_on_one_thread_runs_and_is_released_on_others()
    {
        Skip.IfNot(CudaRuntime.IsAvailable, $"No CUDA device: {CudaRuntime.Current.Reason}");
        var loss = new LossSettings();
        const int W = 32, H = 32;
        float[] content = TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, H, W, 7)), style = TinyNetworks.ToFloat(TinyNetworks.RandomImage(3, H, W, 8));
        long buffersBefore = DeviceBuffer.LiveCount;
        // Driver calls act on the calling thread's current context; a native host may hand the engine between threads.
        CudaBackend gpu = Threads.OnNewThread(() => new CudaBackend(NetworkWeights.Random(NetworkArchitecture.Vgg19, 0), PreprocessPreset.Caffe, loss, new AdamSettings()));
        try
        {
            IterationLosses[] first = Threads.OnNewThread(() =>
            {
                // The style of another image: from the content's own, the run would start at the loss's minimum but TV,
                // and its first update could only raise it.
                StyleTargets targets = Targets.Of(gpu, loss, style, content, H, W);
                gpu.Start(targets, new OptimizerState(new int[1], content, new float[content.Length], new float[content.Length]), H, W, [5.0]);
                return gpu.Iterate();
            });
            IterationLosses[] second = Threads.OnNewThread(() => gpu.Iterate());
            Assert.True(first[0].IsFinite && second[0].IsFinite, $"{first[0]}; {second[0]}");
            Assert.True(second[0].Total < first[0].Total, $"the second iteration's loss {second[0].Total} is not below the first's {first[0].Total}");
        }
        finally
        {
            Threads.OnNewThread(() =>
            {
                gpu.Dispose();
                return 0;
            });
        }

        Assert.Equal(buffersBefore, DeviceBuffer.LiveCount);
    }

    /// <summary>Allocates the device's free memory but about <paramref name="leave"/> bytes, in chunks (one allocation of nearly all of it may not fit).</summary>
    private static List<DeviceBuffer> TakeAllBut(CudaDevice device, ulong leave)
    {
        const ulong Chunk = 1UL << 30;
        var taken = new List<DeviceBuffer>();
        try
        {
            for (ulong free = device.MemoryInfo().Free; free > leave; free = device.MemoryInfo().Free)
            {
                taken.Add(device.Allocate(Math.Min(Chunk, free - leave)));
            }
        }
        catch (CudaException e) when (e.Status == CUresult.CUDA_ERROR_OUT_OF_MEMORY)
        {
            // What the driver reports free is not always allocatable to the last byte: take what it gave.
        }

        return taken;
    }

    [SkippableFact]
    public void A_sweep_through_the_embedding_api_keeps_each_rate_with_the_cpu_through_a_rate_set_aside()
    {
        Skip.IfNot(CudaRuntime.IsAvailable, $"No CUDA device: {CudaRuntime.Current.Reason}");
        CudaSupport.Register(); // as a .NET host does; the command line's tests do it too, but may not run first
        double[] rates = [2, 10, 40];
        StyleTransfer Started(DeviceKind device)
        {
            // Average pooling: with max pooling a run of several steps parts from the CPU's wherever the backends' rounding
            // flips an argmax (BackendAgreement.MaxPoolOutlierShare), and this compares whole runs of each rate.
            var transfer = new StyleTransfer(new StyleTransferOptions
            {
                LearningRates = rates, Size = null, Weights = "random:0", Device = device, Loss = new LossSettings { Pooling = PoolingMode.Average },
            });
            transfer.SetContent(RgbImage.Noise(48, 40, 1));
            transfer.AddStyle(RgbImage.Noise(40, 40, 2));
            return transfer;
        }

        long buffersBefore = DeviceBuffer.LiveCount;
        using (StyleTransfer cpu = Started(DeviceKind.Cpu), gpu = Started(DeviceKind.Cuda))
        {
            foreach (StyleTransfer transfer in new[] { cpu, gpu })
            {
                transfer.Run(3);
                transfer.Rate(40).SetAside(); // the batch goes on with two, started again smaller where that pays
                transfer.Run(3);
            }

            Assert.StartsWith("CUDA (", gpu.DeviceDescription, StringComparison.Ordinal);
            Assert.Equal("set aside at iteration 2", gpu.Rate(40).StopReason);
            foreach (double rate in rates)
            {
                Tolerance.AssertClose(cpu.Rate(rate).LossHistory.Select(r => r.Loss.Total).ToArray(), gpu.Rate(rate).LossHistory.Select(r => r.Loss.Total).ToArray(),
                    1e-6, 1e-4, $"lr {rate}'s losses");
                Tolerance.AssertClose(cpu.Rate(rate).CurrentImage().Planes.Select(v => (double)v).ToArray(), gpu.Rate(rate).CurrentImage().Planes, 0.1, 1e-4, $"lr {rate}'s image"); // BackendAgreement's tolerance
            }
        }

        Assert.Equal(buffersBefore, DeviceBuffer.LiveCount);
    }

    /// <summary>The full-size benchmark gpu-check.sh prints; on the host emulation (a dry run) it would take hours, and EmulatedDriverTests runs it at small sizes.</summary>
    [SkippableFact]
    public void Kernel_benchmark_times_every_kernel_against_its_reference()
    {
        Skip.IfNot(CudaRuntime.IsAvailable, $"No CUDA device: {CudaRuntime.Current.Reason}");
        Skip.If(CudaRuntime.Current.DeviceName == EmulatedCudaDriver.DeviceName, "The host emulation takes hours at the benchmark's sizes; EmulatedDriverTests runs it at small sizes.");
        long buffersBefore = DeviceBuffer.LiveCount;
        using (var benchmark = new CudaKernelBenchmark(repeats: 3))
        {
            IReadOnlyList<KernelTiming> rows = benchmark.Run();
            Assert.Contains(rows, r => r.Kernel == "gram");
            Assert.Contains(rows, r => r.Kernel == "adam");
            Assert.All(rows, r => Assert.True(r.Milliseconds > 0 && double.IsFinite(r.Rate) && r.Rate > 0, $"{r.Kernel} {r.Size}: {r.Milliseconds} ms, {r.Rate} {r.Unit}"));
        }

        Assert.Equal(buffersBefore, DeviceBuffer.LiveCount);
    }
}
