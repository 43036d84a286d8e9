using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NeuralStyle.Cuda;

/// <summary>
/// One kernel argument by value, as cuLaunchKernel reads it: <see cref="Size"/> bytes at the start of an 8-byte slot,
/// which is the struct's first field, so a pointer to the argument is a pointer to its value. Launchers pass them as a
/// <c>params ReadOnlySpan</c>, which lives on the caller's stack, so a launch neither boxes nor pins. The implicit
/// conversions are the only way to make one: a device address, an int, a float or a double, the parameter types
/// kernels/*.cu declare.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly struct KernelArgument
{
    private readonly ulong _slot;

    private KernelArgument(ulong slot, int size)
    {
        _slot = slot;
        Size = size;
    }

    /// <summary>Bytes the kernel reads for this parameter.</summary>
    public int Size { get; }

    /// <summary>A device address (CUdeviceptr).</summary>
    public static implicit operator KernelArgument(ulong address) => Of(address);

    public static implicit operator KernelArgument(int value) => Of(value);

    public static implicit operator KernelArgument(float value) => Of(value);

    public static implicit operator KernelArgument(double value) => Of(value);

    // Without these, C# would take a long or a uint to the nearest conversion above (a float, an address), silently.
    [Obsolete("No kernel takes a 64-bit integer other than an address: pass an int, or a device address as ulong.", error: true)]
    public static implicit operator KernelArgument(long value) => throw new NotSupportedException();

    [Obsolete("No kernel takes an unsigned int: pass an int.", error: true)]
    public static implicit operator KernelArgument(uint value) => throw new NotSupportedException();

    /// <summary>The bytes the kernel reads, in the host's byte order.</summary>
    internal byte[] ToBytes()
    {
        ulong slot = _slot;
        return MemoryMarshal.AsBytes(new Span<ulong>(ref slot))[..Size].ToArray();
    }

    private static KernelArgument Of<T>(T value) where T : unmanaged
    {
        ulong slot = 0;
        Unsafe.As<ulong, T>(ref slot) = value; // the value's own bytes at the slot's start, whatever the byte order
        return new KernelArgument(slot, Unsafe.SizeOf<T>());
    }
}
