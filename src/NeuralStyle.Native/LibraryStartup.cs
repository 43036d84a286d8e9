using System.Runtime.CompilerServices;

namespace NeuralStyle.Native;

/// <summary>What the library does once, when the host program loads it.</summary>
internal static class LibraryStartup
{
#pragma warning disable CA2255 // This library is the application: NativeAOT runs this once when it loads.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize()
    {
        // First, before any ONNX Runtime type is touched.
        LibraryLocation.RegisterOnnxRuntimeResolver();

        // NS_DEVICE_CUDA and NS_DEVICE_AUTO reach the CUDA backend as they do from the command line. Registering
        // loads nothing: the driver is probed when an engine is created.
        Cuda.CudaSupport.Register();
    }
}
