using Microsoft.ML.OnnxRuntime;

namespace NeuralStyle.Runtime;

/// <summary>
/// The process's one ONNX Runtime environment. It owns a global intra-op thread pool shared by every session, so
/// the forward, backward and matrix-product sessions never run competing pools on the same cores.
/// </summary>
public static class OrtRuntime
{
    private static readonly Lock Gate = new();
    private static OrtEnv? _environment;

    /// <summary>The environment, created on first use with a global pool of one thread per core.</summary>
    public static OrtEnv Environment
    {
        get
        {
            lock (Gate)
            {
                if (_environment is null)
                {
                    using var threading = new OrtThreadingOptions
                    {
                        GlobalIntraOpNumThreads = System.Environment.ProcessorCount,
                        GlobalInterOpNumThreads = 1,
                    };
                    var options = new EnvironmentCreationOptions
                    {
                        logId = "neuralstyle",
                        logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL, // failures reach us as exceptions; the log would repeat them in colour
                        threadOptions = threading,
                    };
                    _environment = OrtEnv.CreateInstanceWithOptions(ref options);
                }

                return _environment;
            }
        }
    }

    /// <summary>Session options for the CPU provider on the shared pool, with all graph optimizations.</summary>
    public static SessionOptions CpuSessionOptions()
    {
        _ = Environment;
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        options.DisablePerSessionThreads();
        return options;
    }

    /// <summary>A CPU session over a serialized model.</summary>
    public static InferenceSession CreateCpuSession(byte[] model)
    {
        using SessionOptions options = CpuSessionOptions();
        return new InferenceSession(model, options);
    }
}
