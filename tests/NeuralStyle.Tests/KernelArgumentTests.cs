using NeuralStyle.Cuda;

namespace NeuralStyle.Tests;

/// <summary>Kernel arguments hold each value's own bytes where cuLaunchKernel reads them: at the argument's address.</summary>
public sealed unsafe class KernelArgumentTests
{
    [Fact]
    public void Each_parameter_type_keeps_its_size_and_bytes()
    {
        Assert.Equal(BitConverter.GetBytes(0x1234_5678_9abc_def0UL), ((KernelArgument)0x1234_5678_9abc_def0UL).ToBytes());
        Assert.Equal(BitConverter.GetBytes(-7), ((KernelArgument)(-7)).ToBytes());
        Assert.Equal(BitConverter.GetBytes(1.5f), ((KernelArgument)1.5f).ToBytes());
        Assert.Equal(BitConverter.GetBytes(0.999), ((KernelArgument)0.999).ToBytes());
    }

    [Fact]
    public void A_pointer_to_an_argument_points_to_its_value()
    {
        KernelArgument[] arguments = [3.25f, 42, 0.125, 0xdead_beefUL];
        fixed (KernelArgument* first = arguments)
        {
            Assert.Equal(3.25f, *(float*)first);
            Assert.Equal(42, *(int*)(first + 1));
            Assert.Equal(0.125, *(double*)(first + 2));
            Assert.Equal(0xdead_beefUL, *(ulong*)(first + 3));
        }
    }
}
