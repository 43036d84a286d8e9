using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NeuralStyle.Cpu;

/// <summary>Vector loads of every other float, for the kernels that work on 2×2 windows (pooling, Winograd tiles).</summary>
internal static class Strided
{
    /// <summary>From the 16 floats at <paramref name="p"/>: the 8 at even offsets and the 8 at odd ones.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe (Vector256<float> Even, Vector256<float> Odd) Deinterleave(float* p)
    {
        Vector256<int> evensThenOdds = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
        Vector256<float> a = Vector256.Shuffle(Vector256.Load(p), evensThenOdds), b = Vector256.Shuffle(Vector256.Load(p + 8), evensThenOdds);
        return (Vector256.Create(a.GetLower(), b.GetLower()), Vector256.Create(a.GetUpper(), b.GetUpper()));
    }
}
