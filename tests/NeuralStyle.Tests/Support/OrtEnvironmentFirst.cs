using System.Runtime.CompilerServices;
using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Runtime;

namespace NeuralStyle.Tests.Support;

/// <summary>
/// Makes the process's ONNX Runtime environment before any test runs. Whoever touches ONNX Runtime first makes it,
/// and some tests create sessions of their own; left to the order the tests happen to run in, the engine would
/// sometimes share a pool and sometimes not. With <see cref="OrtEnvironmentTests.ForeignVariable"/> set, it is made as
/// an application that uses ONNX Runtime itself would make it, to test the engine on it.
/// </summary>
internal static class OrtEnvironmentFirst
{
    [ModuleInitializer]
    internal static void Create()
    {
        _ = Environment.GetEnvironmentVariable(OrtEnvironmentTests.ForeignVariable) == "1" ? OrtEnv.Instance() : OrtRuntime.Environment;
    }
}
