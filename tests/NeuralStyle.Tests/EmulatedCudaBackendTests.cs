using NeuralStyle.Cpu;
using NeuralStyle.Cuda;
using NeuralStyle.Engine;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>
/// <see cref="CudaBackend"/>'s loop without a GPU: device, kernels and cuBLAS on the emulated driver, the graphs on
/// ONNX Runtime's CPU provider bound to the same (host) buffers. Everything but the CUDA provider itself: the
/// bindings, every kernel launch, the loss downloads, Adam's state, reverts. Against the CPU backend on the tiny
/// problem, with the tolerance of the GPU test (1e-4 relative).
/// </summary>
[Collection(EmulatedCudaDriver.Collection)]
public sealed class EmulatedCudaBackendTests
{
    [SkippableTheory]
    [InlineData(PoolingMode.Max, StyleProductSource.Ours)]
    [InlineData(PoolingMode.Max, StyleProductSource.Cublas)]
    [InlineData(PoolingMode.Max, StyleProductSource.Measured)]
    [InlineData(PoolingMode.Average, StyleProductSource.Ours)]
    public void Iterations_match_the_cpu_backend(PoolingMode pooling, StyleProductSource products)
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        var loss = new LossSettings { Pooling = pooling, StyleLayers = TinyProblem.Loss.StyleLayers, ContentLayers = TinyProblem.Loss.ContentLayers };
        const int H = TinyProblem.Height, W = TinyProblem.Width;
        float[] content = TinyProblem.Image(1);
        long buffersBefore = DeviceBuffer.LiveCount;
        using var cpu = new CpuBackend(TinyProblem.Network, PreprocessPreset.Caffe, loss, new AdamSettings());
        using (CudaBackend emulated = Open(loss, products))
        {
            BackendAgreement.AssertIterationsMatch(cpu, emulated, loss, content, TinyProblem.Image(2), H, W, otherConvolutions: false);
            BackendAgreement.AssertDescribesProducts(emulated, products);
        }

        Assert.Equal(buffersBefore, DeviceBuffer.LiveCount);
        Assert.Equal(0, EmulatedCudaDriver.LiveAllocations);
        Assert.Equal(0, EmulatedCudaDriver.LiveHandles);
        Assert.Equal(0, EmulatedCudaDriver.PrimaryContextRetains);
    }

    [SkippableFact]
    public void Max_pooling_iterations_started_again_from_the_cpus_state_match_it_with_no_outliers()
    {
        // The GPU test's protocol for max pooling (the backend started again from the CPU's state before each iteration,
        // a few values allowed apart), on a backend whose convolutions round as the CPU's: every restart must give the
        // iteration the CPU ran on, with nothing apart.
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        var loss = new LossSettings { Pooling = PoolingMode.Max, StyleLayers = TinyProblem.Loss.StyleLayers, ContentLayers = TinyProblem.Loss.ContentLayers };
        using var cpu = new CpuBackend(TinyProblem.Network, PreprocessPreset.Caffe, loss, new AdamSettings());
        using CudaBackend emulated = Open(loss, StyleProductSource.Ours);
        var reports = new List<string>();
        BackendAgreement.AssertIterationsMatch(cpu, emulated, loss, TinyProblem.Image(1), TinyProblem.Image(2), TinyProblem.Height, TinyProblem.Width,
            otherConvolutions: true, reports.Add);
        Assert.Equal(7, reports.Count); // one per iteration
        Assert.All(reports, r => Assert.Matches(@"^iteration \d: 0 of \d+ image values outside the tolerance \(largest difference [^)]+\), 0 of Adam's m \(largest [^)]+\)$", r));
    }

    [SkippableFact]
    public void A_gram_larger_than_every_activation_is_reduced_within_its_partials()
    {
        // 64 channels on 6×5 positions: the Gram's 64² values outnumber every activation (as VGG19's relu5_1 does at a
        // small image), and its loss is reduced through the same partials buffer. Too small a buffer is refused.
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        NetworkWeights wide = TinyNetworks.Create(GraphGradientTests.Parse("3|64"), 5);
        var loss = new LossSettings { StyleLayers = [new LayerWeight("relu2_1", 1)], ContentLayers = ["relu2_1"] };
        using var cpu = new CpuBackend(wide, PreprocessPreset.Caffe, loss, new AdamSettings());
        using CudaBackend emulated = new(wide, PreprocessPreset.Caffe, loss, new AdamSettings(), allowTf32: false, StyleProductSource.Ours,
            new CudaSetup(EmulatedCudaDriver.OpenDevice, EmulatedCudaDriver.Cublas, EmulatedCudaDriver.KernelCache, GraphsOnHost: true));
        BackendAgreement.AssertIterationsMatch(cpu, emulated, loss, TinyProblem.Image(1), TinyProblem.Image(2), TinyProblem.Height, TinyProblem.Width, otherConvolutions: false);
    }

    [SkippableFact]
    public void An_iteration_sends_the_host_only_its_loss_values_and_waits_only_for_them()
    {
        // The loop's one host round trip: every term's per-item loss in one download (2 style terms, 1 content term and
        // TV, a double each per item, written by the reductions where that download reads them), the iteration's one
        // wait for the device. Which items Adam updates goes back as fills whose values travel in the calls: no copy
        // from host memory, no wait. Nothing else crosses: the graphs, the products, TV and Adam stay on the device.
        // The device's own copies keep the state each update may be reverted to (image, m and v), none gathers the
        // losses. The host does not wait for Adam at the end of the iteration: only reading the phase times waits for that.
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        const int Items = 2, Iterations = 3;
        using CudaBackend emulated = Open(TinyProblem.Loss, StyleProductSource.Ours);
        float[] image = TinyProblem.Image(1), batch = [.. image, .. image];
        emulated.Start(TinyProblem.Targets(emulated, TinyProblem.Image(2)), new OptimizerState(new int[Items], batch, new float[batch.Length], new float[batch.Length]),
            TinyProblem.Height, TinyProblem.Width, [2.0, 10.0]);
        emulated.Iterate(); // ONNX Runtime's first runs may set themselves up
        HostTransfers before = EmulatedCudaDriver.Transfers;
        long waitsBefore = EmulatedCudaDriver.HostWaits, deviceCopiesBefore = EmulatedCudaDriver.DeviceCopies;
        for (int k = 0; k < Iterations; k++)
        {
            emulated.Iterate();
        }

        HostTransfers crossed = EmulatedCudaDriver.Transfers - before;
        int terms = TinyProblem.Loss.StyleLayers.Count + TinyProblem.Loss.ContentLayers.Count + 1;
        Assert.Equal(new HostTransfers(0, 0, Iterations, Iterations * terms * Items * sizeof(double)), crossed);
        Assert.Equal(Iterations, EmulatedCudaDriver.HostWaits - waitsBefore);
        Assert.Equal(Iterations * 3, EmulatedCudaDriver.DeviceCopies - deviceCopiesBefore); // every item runs: one copy each of image, m and v

        long waitsBeforePhases = EmulatedCudaDriver.HostWaits;
        Assert.True(emulated.LastPhases.Adam >= 0);
        long waitsForPhases = EmulatedCudaDriver.HostWaits - waitsBeforePhases;
        Assert.True(waitsForPhases > 0, "reading the phase times did not wait for the iteration's events");
        Assert.True(emulated.LastPhases.Forward >= 0);
        Assert.Equal(waitsForPhases, EmulatedCudaDriver.HostWaits - waitsBeforePhases); // read once, then kept

        // A Step's last work, not waited for by the Step, is waited for at disposal: the device finishes it before the buffers are freed.
        emulated.Iterate();
        long waitsBeforeDisposal = EmulatedCudaDriver.HostWaits;
        emulated.Dispose();
        Assert.True(EmulatedCudaDriver.HostWaits > waitsBeforeDisposal, "the loop freed its buffers without waiting for the stream");
    }

    [SkippableFact]
    public void A_revert_keeps_a_state_with_no_update_and_otherwise_goes_back_one_update()
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        using (CudaBackend emulated = Open(TinyProblem.Loss, StyleProductSource.Ours))
        {
            RevertTests.NoUpdateKeepsTheLoadedState(emulated);
        }

        using (CudaBackend emulated = Open(TinyProblem.Loss, StyleProductSource.Ours))
        {
            RevertTests.RevertGoesBackOneUpdate(emulated);
        }

        using (CudaBackend emulated = Open(TinyProblem.Loss, StyleProductSource.Ours))
        {
            RevertTests.FrozenItemBetweenUpdatedOnes(emulated);
        }

        // A revert is queued: three device copies (image, m, v) and a fill of the step count, no transfer from the host, no wait.
        using (CudaBackend emulated = Open(TinyProblem.Loss, StyleProductSource.Ours))
        {
            float[] image = TinyProblem.Image(1);
            emulated.Start(TinyProblem.Targets(emulated, TinyProblem.Image(2)), new OptimizerState([0], image, new float[image.Length], new float[image.Length]),
                TinyProblem.Height, TinyProblem.Width, [2.0]);
            emulated.Iterate();
            HostTransfers before = EmulatedCudaDriver.Transfers;
            long waitsBefore = EmulatedCudaDriver.HostWaits, deviceCopiesBefore = EmulatedCudaDriver.DeviceCopies;
            emulated.RevertLastUpdate(0);
            Assert.Equal(default, EmulatedCudaDriver.Transfers - before);
            Assert.Equal(0, EmulatedCudaDriver.HostWaits - waitsBefore);
            Assert.Equal(3, EmulatedCudaDriver.DeviceCopies - deviceCopiesBefore);
        }
    }

    [SkippableFact]
    public void The_best_image_kept_is_the_one_the_last_iteration_evaluated()
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        using CudaBackend emulated = Open(TinyProblem.Loss, StyleProductSource.Ours);
        BestImageTests.KeepsTheEvaluatedImage(emulated);
    }

    /// <summary>The emulated device has 1 GiB: two 2560×2560 images need more (eight image-sized buffers alone take 1.26 GB).</summary>
    [SkippableFact]
    public void A_start_the_device_has_no_memory_for_is_refused_with_the_sizes_and_frees_what_it_took()
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        const int Side = 2560;
        float[] content = new float[3 * Side * Side];
        new DeterministicRandom(3).FillUniform(content, 0, 255);
        StyleTargets targets;
        using (CpuBackend cpu = TinyProblem.NewCpuBackend())
        {
            // On the CPU: the emulated Gram kernel over 6.5 million positions would take minutes.
            targets = Targets.Of(cpu, TinyProblem.Loss, content, content, Side, Side);
        }

        using CudaBackend emulated = Open(TinyProblem.Loss, StyleProductSource.Ours);
        int allocationsBefore = EmulatedCudaDriver.LiveAllocations;
        var state = new OptimizerState(new int[2], [.. content, .. content], new float[2 * content.Length], new float[2 * content.Length]);
        var refused = Assert.Throws<UserInputException>(() => emulated.Start(targets, state, Side, Side, [1.0, 5.0]));
        Assert.Contains($"too little memory for 2 image(s) of {Side}×{Side}", refused.Message, StringComparison.Ordinal);
        Assert.Equal(allocationsBefore, EmulatedCudaDriver.LiveAllocations);
        Assert.Throws<InvalidOperationException>(() => emulated.Iterate());

        // The backend is still usable at a size that fits.
        float[] small = TinyProblem.Image(4);
        emulated.Start(TinyProblem.Targets(emulated, small), new OptimizerState(new int[1], small, new float[small.Length], new float[small.Length]), TinyProblem.Height, TinyProblem.Width, [5.0]);
        Assert.True(emulated.Iterate()[0].IsFinite);
    }

    /// <summary>cuBLAS is optional: without it the measured products stay on our kernels, and the device line says why.</summary>
    [SkippableFact]
    public void Without_cublas_the_products_stay_on_our_kernels_and_the_description_says_so()
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        var setup = new CudaSetup(EmulatedCudaDriver.OpenDevice, () => throw new CudaLibraryException("Cannot load cuBLAS (tried libcublas.so.13: not found)."),
            EmulatedCudaDriver.KernelCache, GraphsOnHost: true);
        float[] content = TinyProblem.Image(7);
        using (var emulated = new CudaBackend(TinyProblem.Network, PreprocessPreset.Caffe, TinyProblem.Loss, new AdamSettings(), false, StyleProductSource.Measured, setup))
        {
            emulated.Start(TinyProblem.Targets(emulated, TinyProblem.Image(8)), new OptimizerState(new int[1], content, new float[content.Length], new float[content.Length]),
                TinyProblem.Height, TinyProblem.Width, [5.0]);
            Assert.True(emulated.Iterate()[0].IsFinite);
            Assert.Contains("cuBLAS not found, style products on our kernels", emulated.Description, StringComparison.Ordinal);
            Assert.Contains("relu1_1 Gram ours, gradient ours", emulated.Description, StringComparison.Ordinal);
        }

        Assert.Equal(0, EmulatedCudaDriver.LiveAllocations);
    }

    /// <summary>
    /// Driver calls act on the calling thread's current context; a native host may create the backend on one thread,
    /// iterate on others and dispose on a third. Each phase is timed by the stream's events.
    /// </summary>
    [SkippableFact]
    public void A_backend_made_on_one_thread_runs_and_is_released_on_others_and_times_every_phase()
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        float[] content = TinyProblem.Image(5);
        CudaBackend emulated = Threads.OnNewThread(() => Open(TinyProblem.Loss, StyleProductSource.Ours));
        try
        {
            IterationLosses[] first = Threads.OnNewThread(() =>
            {
                emulated.Start(TinyProblem.Targets(emulated, TinyProblem.Image(6)), new OptimizerState(new int[1], content, new float[content.Length], new float[content.Length]),
                    TinyProblem.Height, TinyProblem.Width, [5.0]);
                return emulated.Iterate();
            });
            IterationLosses[] second = Threads.OnNewThread(() => emulated.Iterate());
            Assert.True(second[0].Total < first[0].Total, $"the second iteration's loss {second[0].Total} is not below the first's {first[0].Total}");
            PhaseTimes phases = emulated.LastPhases;
            Assert.All(new[] { phases.Forward, phases.Loss, phases.Backward, phases.Tv, phases.Adam, phases.HostSync }, ms => Assert.True(ms >= 0, $"{phases}"));
            Assert.True(phases.Forward > 0 && phases.Backward > 0 && phases.Loss > 0, $"{phases}");
            Assert.True(emulated.DeviceMemoryInUse > 0);
        }
        finally
        {
            Threads.OnNewThread(() =>
            {
                emulated.Dispose();
                return 0;
            });
        }

        Assert.Equal(0, EmulatedCudaDriver.LiveAllocations);
        Assert.Equal(0, EmulatedCudaDriver.PrimaryContextRetains);
    }

    /// <summary>
    /// An embedding host that creates the backend itself gets the command line's sentence, not ONNX Runtime's exception,
    /// where the provider does not load; and the device, kernels and cuBLAS opened before are released.
    /// </summary>
    [SkippableFact]
    public void A_provider_that_does_not_load_is_a_sentence_and_leaves_nothing_on_the_device()
    {
        Skip.If(EmulatedCudaDriver.Unavailable is not null, EmulatedCudaDriver.Unavailable);
        Skip.If(CudaProviderLibraries.Missing(CudaProviderLibraries.Linked).Count == 0, "CUDA 13's libraries are installed here.");
        var setup = new CudaSetup(EmulatedCudaDriver.OpenDevice, EmulatedCudaDriver.Cublas, EmulatedCudaDriver.KernelCache, GraphsOnHost: false);
        var refused = Assert.Throws<UserInputException>(() => new CudaBackend(TinyProblem.Network, PreprocessPreset.Caffe, TinyProblem.Loss, new AdamSettings(), false, StyleProductSource.Measured, setup));
        Assert.StartsWith("DeviceKind.Cuda cannot run here: ONNX Runtime's CUDA provider does not load: the loader cannot find libcudart.so.13", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, EmulatedCudaDriver.LiveAllocations);
        Assert.Equal(0, EmulatedCudaDriver.LiveHandles);
        Assert.Equal(0, EmulatedCudaDriver.PrimaryContextRetains);
    }

    private static CudaBackend Open(LossSettings loss, StyleProductSource products) =>
        new(TinyProblem.Network, PreprocessPreset.Caffe, loss, new AdamSettings(), allowTf32: false, products,
            new CudaSetup(EmulatedCudaDriver.OpenDevice, EmulatedCudaDriver.Cublas, EmulatedCudaDriver.KernelCache, GraphsOnHost: true));
}
