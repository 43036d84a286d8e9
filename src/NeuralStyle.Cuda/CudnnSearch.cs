namespace NeuralStyle.Cuda;

/// <summary>
/// How ONNX Runtime's CUDA provider picks cuDNN's convolution algorithms. HEURISTIC, ours by default, takes cuDNN's
/// heuristic choice: no benchmarking on the first run and no large trial workspaces. EXHAUSTIVE, ONNX Runtime's
/// default, times the candidates on the first run of each shape (our shapes stay fixed for a run, so it pays once).
/// Which is faster over a run is a measurement, not a rule: <see cref="Variable"/> selects the mode so that
/// tools/gpu-check.sh can time both.
/// </summary>
internal static class CudnnSearch
{
    public const string Variable = "NEURALSTYLE_CUDNN_SEARCH";

    /// <summary>The mode to give the provider: the variable's value, checked, or HEURISTIC when it is not set.</summary>
    public static string Mode => Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>A value of <see cref="Variable"/> as the provider's option spells it; a <see cref="UserInputException"/> for any other.</summary>
    internal static string Parse(string? value) => value switch
    {
        null or "" => "HEURISTIC",
        _ when value.ToUpperInvariant() is "HEURISTIC" or "EXHAUSTIVE" or "DEFAULT" => value.ToUpperInvariant(),
        _ => throw new UserInputException($"{Variable} must be HEURISTIC, EXHAUSTIVE or DEFAULT, not '{value}'."),
    };
}
