using System.Runtime.InteropServices;
using NeuralStyle.Cuda;

namespace NeuralStyle.Tests.Support;

/// <summary>
/// kernels/*.cu built for the host with kernels/emulation (each CUDA thread a host thread) and loaded once; every
/// launch takes its geometry from <see cref="LaunchConfig"/>, exactly as the CUDA backend does.
/// </summary>
internal static unsafe class EmulatedKernels
{
    private static readonly Lazy<(IntPtr Library, string Path, string Problem)> Loaded =
        new(() => HostLibrary.Build(Path.Combine(Repository.Root, "kernels", "emulation", "emulated_kernels.cpp"), "ns_emulated"));

    /// <summary>Why the harness is unavailable (no C++ compiler), or null.</summary>
    public static string? Unavailable => Loaded.Value.Library == IntPtr.Zero ? Loaded.Value.Problem : null;

    public static void Gram(LaunchConfig l, float* f, float* output, int c, int m, int sliceM, int slices, float scale) =>
        ((delegate* unmanaged<uint, uint, uint, uint, uint, uint, float*, float*, int, int, int, int, float, void>)Export("emulate_gram_forward"))(l.GridX, l.GridY, l.GridZ, l.BlockX, l.BlockY, l.BlockZ, f, output, c, m, sliceM, slices, scale);

    public static void GramSumSlices(LaunchConfig l, float* partial, float* g, int count, int slices, float scale) =>
        ((delegate* unmanaged<uint, uint, uint, uint, uint, uint, float*, float*, int, int, float, void>)Export("emulate_gram_sum_slices"))(l.GridX, l.GridY, l.GridZ, l.BlockX, l.BlockY, l.BlockZ, partial, g, count, slices, scale);

    public static void StyleGrad(LaunchConfig l, float* g, float* a, float* f, float* d, int c, int m, float k, int accumulate) =>
        ((delegate* unmanaged<uint, uint, uint, uint, uint, uint, float*, float*, float*, float*, int, int, float, int, void>)Export("emulate_style_grad_backward"))(l.GridX, l.GridY, l.GridZ, l.BlockX, l.BlockY, l.BlockZ, g, a, f, d, c, m, k, accumulate);

    public static void ContentGrad(LaunchConfig l, float* f, float* p, float* d, int count, float k, int accumulate) =>
        ((delegate* unmanaged<uint, uint, uint, uint, uint, uint, float*, float*, float*, int, float, int, void>)Export("emulate_content_grad_backward"))(l.GridX, l.GridY, l.GridZ, l.BlockX, l.BlockY, l.BlockZ, f, p, d, count, k, accumulate);

    public static void SquaredDifferencePartials(LaunchConfig l, float* a, float* t, float* partials, int count) =>
        ((delegate* unmanaged<uint, uint, uint, uint, uint, uint, float*, float*, float*, int, void>)Export("emulate_squared_difference_partials"))(l.GridX, l.GridY, l.GridZ, l.BlockX, l.BlockY, l.BlockZ, a, t, partials, count);

    public static void SumPartials(LaunchConfig l, float* partials, double* output, int blocks, double scale) =>
        ((delegate* unmanaged<uint, uint, uint, uint, uint, uint, float*, double*, int, double, void>)Export("emulate_sum_partials"))(l.GridX, l.GridY, l.GridZ, l.BlockX, l.BlockY, l.BlockZ, partials, output, blocks, scale);

    public static void TotalVariation(LaunchConfig l, float* x, float* grad, float* partials, int c, int h, int w, float weight) =>
        ((delegate* unmanaged<uint, uint, uint, uint, uint, uint, float*, float*, float*, int, int, int, float, void>)Export("emulate_tv_forward_backward"))(l.GridX, l.GridY, l.GridZ, l.BlockX, l.BlockY, l.BlockZ, x, grad, partials, c, h, w, weight);

    public static void AdamPrepare(LaunchConfig l, float* lr, byte* active, int* steps, float* stepSize, float* root, int items, double b1, double b2) =>
        ((delegate* unmanaged<uint, uint, uint, uint, uint, uint, float*, byte*, int*, float*, float*, int, double, double, void>)Export("emulate_adam_prepare"))(l.GridX, l.GridY, l.GridZ, l.BlockX, l.BlockY, l.BlockZ, lr, active, steps, stepSize, root, items, b1, b2);

    public static void AdamUpdate(LaunchConfig l, float* x, float* m, float* v, float* g, byte* active, float* stepSize, float* root, int length, double b1, double b2, float eps) =>
        ((delegate* unmanaged<uint, uint, uint, uint, uint, uint, float*, float*, float*, float*, byte*, float*, float*, int, float, float, float, float, float, void>)Export("emulate_adam_update"))(
            l.GridX, l.GridY, l.GridZ, l.BlockX, l.BlockY, l.BlockZ, x, m, v, g, active, stepSize, root, length, (float)b1, (float)(1 - b1), (float)b2, (float)(1 - b2), eps);

    public static void ToPlanes(LaunchConfig l, byte* pixels, float* planes, int w, int h, int stride, int channels) =>
        ((delegate* unmanaged<uint, uint, uint, uint, uint, uint, byte*, float*, int, int, int, int, void>)Export("emulate_rgb8_to_planes"))(l.GridX, l.GridY, l.GridZ, l.BlockX, l.BlockY, l.BlockZ, pixels, planes, w, h, stride, channels);

    public static void ToPixels(LaunchConfig l, float* planes, byte* pixels, int w, int h, int stride, int channels) =>
        ((delegate* unmanaged<uint, uint, uint, uint, uint, uint, float*, byte*, int, int, int, int, void>)Export("emulate_planes_to_rgb8"))(l.GridX, l.GridY, l.GridZ, l.BlockX, l.BlockY, l.BlockZ, planes, pixels, w, h, stride, channels);

    private static IntPtr Export(string name) => NativeLibrary.GetExport(Loaded.Value.Library, name);
}
