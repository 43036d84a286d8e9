namespace NeuralStyle.Cuda;

/// <summary>
/// How ONNX Runtime's CUDA provider picks cuDNN's convolution algorithms. EXHAUSTIVE, ours and ONNX Runtime's
/// default, times the candidates on the first run of each shape; our shapes stay fixed for a run, so it pays once. On
/// an H200 it made an iteration 16% faster at 512 px (12.6 ms against 15.1) and 21% at 1024 px (45.3 against 57.1),
/// for 119 and 228 ms more at the start and 13 MB more device memory: ahead after 50 and 20 iterations.
/// HEURISTIC takes cuDNN's heuristic choice, with no timing at the start. <see cref="Variable"/> selects either, so
/// that tools/gpu-check.sh can time both.
/// </summary>
internal static class CudnnSearch
{
    public const string Variable = "NEURALSTYLE_CUDNN_SEARCH";

    /// <summary>The mode to give the provider: the variable's value, checked, or EXHAUSTIVE when it is not set.</summary>
    public static string Mode => Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>A value of <see cref="Variable"/> as the provider's option spells it; a <see cref="UserInputException"/> for any other.</summary>
    internal static string Parse(string? value) => value switch
    {
        null or "" => "EXHAUSTIVE",
        _ when value.ToUpperInvariant() is "HEURISTIC" or "EXHAUSTIVE" or "DEFAULT" => value.ToUpperInvariant(),
        _ => throw new UserInputException($"{Variable} must be HEURISTIC, EXHAUSTIVE or DEFAULT, not '{value}'."),
    };
}
