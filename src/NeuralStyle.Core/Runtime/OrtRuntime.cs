using Microsoft.ML.OnnxRuntime;

namespace NeuralStyle.Runtime;

/// <summary>
/// The process's one ONNX Runtime environment. Ours owns a global intra-op thread pool and one memory arena shared by
/// every CPU session, so the forward, backward and matrix-product sessions never run competing pools on the same cores
/// nor hold their peaks side by side. ONNX Runtime allows one environment per process, made by whoever touches it
/// first: an application that embeds the engine and uses ONNX Runtime itself may have made it already, as does any
/// session created before this class's. Then the engine runs on that environment, each CPU session with its own
/// threads and arena (<see cref="SharesPool"/> false): the same values in more memory, each session keeping its own
/// peak (a 512 px render: 1.54–1.58 GB against 1.21–1.25 GB).
/// </summary>
public static class OrtRuntime
{
    private static readonly Lock Gate = new();
    private static OrtEnv? _environment;
    private static bool _shared;

    /// <summary>
    /// The environment: ours, created on first use with a global pool of one thread per core, or the one the process
    /// already had.
    /// </summary>
    public static OrtEnv Environment
    {
        get
        {
            lock (Gate)
            {
                _environment ??= CreateShared() ?? OrtEnv.Instance();
                return _environment;
            }
        }
    }

    /// <summary>Whether CPU sessions share the environment's thread pool and arena: false when the process had an environment before ours.</summary>
    public static bool SharesPool
    {
        get
        {
            _ = Environment;
            return _shared;
        }
    }

    /// <summary>Our environment with its shared pool and arena, or null when the process has one already.</summary>
    private static OrtEnv? CreateShared()
    {
        if (OrtEnv.IsCreated)
        {
            return null;
        }

        using var threading = new OrtThreadingOptions
        {
            GlobalIntraOpNumThreads = System.Environment.ProcessorCount,
            GlobalInterOpNumThreads = 1,
            // Idle pool threads sleep at once instead of spinning for more work: between two runs our own kernels
            // (Winograd transforms, pooling) need the same cores. Spinning, a 1024 px iteration took 6% longer, and in
            // Winograd bands, which hand over to ONNX Runtime's MatMul every few milliseconds, 16–23% longer than in
            // whole maps.
            GlobalSpinControl = false,
        };
        var options = new EnvironmentCreationOptions
        {
            logId = "neuralstyle",
            logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL, // failures reach us as exceptions; the log would repeat them in colour
            threadOptions = threading,
        };
        OrtEnv environment;
        try
        {
            environment = OrtEnv.CreateInstanceWithOptions(ref options);
        }
        catch (OnnxRuntimeException) when (OrtEnv.IsCreated)
        {
            return null; // another thread, outside this class, made one meanwhile
        }

        // One arena for the intermediates of every CPU session: the backend runs a dozen sessions in turn, and with an
        // arena each they held their peaks side by side (3.6 GB instead of 2.4 GB at 512 px).
        using var arena = new OrtArenaCfg(0, -1, -1, -1);
        environment.CreateAndRegisterAllocator(OrtMemoryInfo.DefaultInstance, arena);
        _shared = true;
        return environment;
    }

    private static readonly FlowLocal<string> Profile = new();

    /// <summary>
    /// Where sessions created from now on, by this thread or async flow, write ONNX Runtime's per-node profile (one
    /// JSON file per session, written when the session is disposed); null, the default, profiles nothing. Set by
    /// <c>bench iteration --profile</c>. Per flow, so that sessions another thread of the process creates meanwhile
    /// neither get profiled nor leave their files among the benchmark's.
    /// </summary>
    public static string? ProfileDirectory
    {
        get => Profile.Value;
        set => Profile.Value = value;
    }

    /// <summary>
    /// Sets <see cref="ProfileDirectory"/> until the result is disposed, then restores what it was: an application (or
    /// a test) that benchmarks once must not profile every session after.
    /// </summary>
    public static IDisposable ProfileInto(string directory) => Profile.Use(directory);

    /// <summary>
    /// Session options for the CPU provider on the shared pool, with all graph optimizations. A profiled session gets
    /// threads of its own: ONNX Runtime's thread-pool profiler is one per pool, and a profiled run switched the shared
    /// pool's on and off under the runs of every other session in the process, one of which then failed ("LogStart
    /// must pair with LogEnd") when a parallel section it began before the switch ended after it.
    /// </summary>
    /// <param name="name">Names the profile file when <see cref="ProfileDirectory"/> is set.</param>
    public static SessionOptions CpuSessionOptions(string name = "session")
    {
        // First: creating SessionOptions makes ONNX Runtime's default environment if there is none.
        bool shared = SharesPool && ProfileDirectory is null;
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        // Convolutions stay in NCHW. ONNX Runtime's NCHWc layout (its NchwcTransformer) wraps each Conv in reorders to
        // and from blocks of 8 or 16 channels, and for the graph layers (conv1_1: 3 channels in, 64 out) those copies
        // cost more than the convolutions: profiled at 256 px, conv1_1's forward session took 5.6 ms per run with
        // them and 2.4 ms without, its backward session 8.3 and 5.4 ms; at 512 px 22.4 and 14.0, 32.4 and 25.8 ms,
        // and a 512 px benchmark's peak memory fell from 1254 to 1140 MB. No other session has a Conv.
        options.AddSessionConfigEntry("optimization.disable_specified_optimizers", "NchwcTransformer");
        if (shared)
        {
            options.DisablePerSessionThreads();
            options.AddSessionConfigEntry("session.use_env_allocators", "1");
        }
        else
        {
            options.IntraOpNumThreads = System.Environment.ProcessorCount;
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); // as the shared pool does, for the reason given there
        }

        if (ProfileDirectory is string directory)
        {
            options.ProfileOutputPathPrefix = Path.Combine(directory, name); // before EnableProfiling, which passes it on
            options.EnableProfiling = true;
        }

        return options;
    }

    /// <summary>A CPU session over a serialized model; <paramref name="name"/> names its profile.</summary>
    public static InferenceSession CreateCpuSession(byte[] model, string name = "session")
    {
        using SessionOptions options = CpuSessionOptions(name);
        return new InferenceSession(model, options);
    }
}
