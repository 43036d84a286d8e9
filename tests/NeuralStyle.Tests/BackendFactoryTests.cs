using NeuralStyle.Cpu;
using NeuralStyle.Engine;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>Which backend each --device gets, with a stand-in CUDA registration (the process-wide one is left alone).</summary>
public sealed class BackendFactoryTests
{
    private static readonly NetworkWeights Weights = TinyNetworks.Create([[4]], 1);
    private static readonly LossSettings Loss = new() { StyleLayers = [new LayerWeight("relu1_1", 1)], ContentLayers = [] };

    [Fact]
    public void Auto_falls_back_to_the_cpu_and_says_why_when_the_cuda_probe_fails()
    {
        var probeFails = new CudaRegistration(() => null, (_, _, _, _, _) => throw new UserInputException("cuDNN is missing. Install it."));
        using IStyleBackend backend = BackendFactory.Create(probeFails, DeviceKind.Auto, Weights, PreprocessPreset.Caffe, Loss, new AdamSettings());
        Assert.IsType<CpuBackend>(backend);
        Assert.Contains("CUDA not used: cuDNN is missing)", backend.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Auto_gives_the_reason_of_a_cuda_refusal_without_its_wording_for_cuda()
    {
        var probeFails = new CudaRegistration(() => null, (_, _, _, _, _) => throw BackendFactory.CudaCannotRun("cuDNN 9 is not on the loader path."));
        using IStyleBackend backend = BackendFactory.Create(probeFails, DeviceKind.Auto, Weights, PreprocessPreset.Caffe, Loss, new AdamSettings());
        Assert.EndsWith(" (CUDA not used: cuDNN 9 is not on the loader path)", backend.Description, StringComparison.Ordinal);
        var refused = Assert.Throws<UserInputException>(() => BackendFactory.Create(probeFails, DeviceKind.Cuda, Weights, PreprocessPreset.Caffe, Loss, new AdamSettings()));
        Assert.StartsWith("DeviceKind.Cuda cannot run here: cuDNN 9 is not on the loader path. Use DeviceKind.Cpu", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_cuda_backend_auto_says_so_and_a_dotnet_host_is_told_how_to_register_one()
    {
        using (SettingNames.Use(SettingNames.DotNet))
        {
            using IStyleBackend auto = BackendFactory.Create(null, DeviceKind.Auto, Weights, PreprocessPreset.Caffe, Loss, new AdamSettings());
            Assert.EndsWith(" (CUDA not used: this build has no CUDA backend; reference NeuralStyle.Cuda and call NeuralStyle.Cuda.CudaSupport.Register() once at start-up)",
                auto.Description, StringComparison.Ordinal);
            var refused = Assert.Throws<UserInputException>(() => BackendFactory.Create(null, DeviceKind.Cuda, Weights, PreprocessPreset.Caffe, Loss, new AdamSettings()));
            Assert.Equal("DeviceKind.Cuda is not available: this build has no CUDA backend; reference NeuralStyle.Cuda and call NeuralStyle.Cuda.CudaSupport.Register() once at start-up, or use DeviceKind.Cpu.",
                refused.Message);
        }

        // A front end that registers it itself has nothing to tell its user about registering.
        using (SettingNames.Use(SettingNames.CommandLine))
        {
            var refused = Assert.Throws<UserInputException>(() => BackendFactory.Create(null, DeviceKind.Cuda, Weights, PreprocessPreset.Caffe, Loss, new AdamSettings()));
            Assert.Equal("--device cuda is not available: this build has no CUDA backend. Use --device cpu.", refused.Message);
        }
    }

    [Fact]
    public void Auto_without_a_driver_names_the_reason_and_cpu_names_none()
    {
        var noDriver = new CudaRegistration(() => "No driver. Install one.", (_, _, _, _, _) => throw new InvalidOperationException("must not be called"));
        using IStyleBackend auto = BackendFactory.Create(noDriver, DeviceKind.Auto, Weights, PreprocessPreset.Caffe, Loss, new AdamSettings());
        Assert.Contains("CUDA not used: No driver)", auto.Description, StringComparison.Ordinal);
        using IStyleBackend cpu = BackendFactory.Create(noDriver, DeviceKind.Cpu, Weights, PreprocessPreset.Caffe, Loss, new AdamSettings());
        Assert.DoesNotContain("CUDA", cpu.Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(MathPrecision.Tf32, true)]
    [InlineData(MathPrecision.Fp32, false)]
    public void The_cpu_says_it_computes_in_fp32_when_tf32_was_asked_for(MathPrecision precision, bool said)
    {
        using IStyleBackend cpu = BackendFactory.Create(null, DeviceKind.Auto, Weights, PreprocessPreset.Caffe, Loss, new AdamSettings(), precision);
        Assert.Equal(said, cpu.Description.EndsWith(" in fp32 (TF32 is for CUDA's convolutions)", StringComparison.Ordinal));
    }

    [Fact]
    public void Cuda_where_it_cannot_run_is_a_user_error_naming_the_reason()
    {
        var noDriver = new CudaRegistration(() => "No driver.", (_, _, _, _, _) => throw new InvalidOperationException("must not be called"));
        var e = Assert.Throws<UserInputException>(() => BackendFactory.Create(noDriver, DeviceKind.Cuda, Weights, PreprocessPreset.Caffe, Loss, new AdamSettings()));
        Assert.Contains("No driver.", e.Message, StringComparison.Ordinal);
        Assert.Throws<UserInputException>(() => BackendFactory.Create(null, DeviceKind.Cuda, Weights, PreprocessPreset.Caffe, Loss, new AdamSettings()));
    }

    [Fact]
    public void Only_a_device_that_cannot_end_on_cuda_is_surely_on_the_host()
    {
        // The host-memory check runs before building a backend only where this says yes.
        var working = new CudaRegistration(() => null, (_, _, _, _, _) => throw new InvalidOperationException("must not be called"));
        var noDriver = working with { Unavailable = () => "No driver." };
        Assert.True(BackendFactory.SurelyOnHost(working, DeviceKind.Cpu));
        Assert.True(BackendFactory.SurelyOnHost(null, DeviceKind.Auto));
        Assert.True(BackendFactory.SurelyOnHost(noDriver, DeviceKind.Auto));
        Assert.False(BackendFactory.SurelyOnHost(working, DeviceKind.Auto));
        Assert.False(BackendFactory.SurelyOnHost(working, DeviceKind.Cuda));
    }

    [Fact]
    public void The_precision_reaches_the_cuda_backend()
    {
        MathPrecision? seen = null;
        var working = new CudaRegistration(() => null, (weights, preprocess, loss, adam, precision) =>
        {
            seen = precision;
            return new CpuBackend(weights, preprocess, loss, adam); // a stand-in: only the argument matters here
        });
        using IStyleBackend backend = BackendFactory.Create(working, DeviceKind.Cuda, Weights, PreprocessPreset.Caffe, Loss, new AdamSettings(), MathPrecision.Tf32);
        Assert.Equal(MathPrecision.Tf32, seen);
    }
}
