using System.Text.Json;

namespace NeuralStyle.Runtime;

/// <summary>Time spent in one kind of operator over a session's runs.</summary>
/// <param name="OpType">The ONNX operator (Conv, Where, ScatterElements, …).</param>
/// <param name="MillisecondsPerRun">Summed kernel time of its nodes per run of the session.</param>
/// <param name="Nodes">How many nodes of this kind ran per run.</param>
public sealed record OperatorTime(string OpType, double MillisecondsPerRun, double Nodes);

/// <summary>Reads ONNX Runtime's profile file (Chrome trace JSON) into time per operator kind.</summary>
public static class OrtProfile
{
    /// <summary>
    /// Operator kinds by time, largest first, each averaged over its session's runs and summed over the files (the
    /// sessions of one pass, such as one per block); and the summed mean wall time of a run.
    /// </summary>
    public static (IReadOnlyList<OperatorTime> Operators, double MillisecondsPerRun) Summarize(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var perKind = new Dictionary<string, (double Milliseconds, double Nodes)>();
        double perRun = 0;
        foreach (string path in paths)
        {
            using JsonDocument trace = JsonDocument.Parse(File.ReadAllBytes(path));
            var micros = new Dictionary<string, (double Total, int Count)>();
            int runs = 0;
            double runMicros = 0;
            foreach (JsonElement e in trace.RootElement.EnumerateArray())
            {
                string name = e.GetProperty("name").GetString() ?? "";
                double duration = e.TryGetProperty("dur", out JsonElement d) ? d.GetDouble() : 0;
                if (name == "model_run")
                {
                    runs++;
                    runMicros += duration;
                }
                else if (name.EndsWith("_kernel_time", StringComparison.Ordinal)
                    && e.TryGetProperty("args", out JsonElement args) && args.TryGetProperty("op_name", out JsonElement op))
                {
                    string kind = op.GetString() ?? "?";
                    (double total, int count) = micros.GetValueOrDefault(kind);
                    micros[kind] = (total + duration, count + 1);
                }
            }

            int divisor = Math.Max(1, runs);
            perRun += runMicros / 1000 / divisor;
            foreach (var (kind, (total, count)) in micros)
            {
                (double ms, double nodes) = perKind.GetValueOrDefault(kind);
                perKind[kind] = (ms + (total / 1000 / divisor), nodes + ((double)count / divisor));
            }
        }

        OperatorTime[] operators = perKind
            .Select(p => new OperatorTime(p.Key, p.Value.Milliseconds, p.Value.Nodes))
            .OrderByDescending(o => o.MillisecondsPerRun)
            .ToArray();
        return (operators, perRun);
    }
}
