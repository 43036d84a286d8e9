using Google.Protobuf;
using NeuralStyle.Engine;
using NeuralStyle.Graphs;
using NeuralStyle.Model;
using NeuralStyle.Weights;

namespace NeuralStyle.Cli.Commands;

/// <summary>The <c>model</c> verb: <c>export</c> and <c>fetch</c>.</summary>
internal static class ModelCommand
{
    public static int Run(ModelOptions o, TextWriter output, bool interactive, CancellationToken cancel) => o.Action switch
    {
        "export" => Export(o, output),
        "fetch" => ModelFetch.Run(o, output, interactive, cancel),
        _ => throw new UserInputException($"Unknown model action '{o.Action}'; the actions are: export, fetch."),
    };

    /// <summary><c>model export</c>: the forward and backward graphs, weights included, for Netron.</summary>
    private static int Export(ModelOptions o, TextWriter output)
    {
        LossSettings loss = ProblemFactory.LossFrom(o.StyleLayers, o.ContentLayers, o.Pooling);
        PreprocessPreset? requested = ProblemFactory.ParsePreprocess(o.Preprocess);
        if (File.Exists(o.OutDir))
        {
            throw new UserInputException($"--out-dir '{o.OutDir}' is a file; name a folder.");
        }

        AtomicFile.RequireWritableFolder(o.OutDir, "--out-dir");
        NetworkWeights weights = WeightSource.Resolve(o.Weights, output.WriteLine);
        Directory.CreateDirectory(o.OutDir); // now that nothing can refuse the export: a refused one leaves no folder
        PreprocessPreset preprocess = requested ?? weights.Preprocess;
        NetworkWeights cut = weights.TruncatedAt(loss.DeepestTap(weights.Architecture));
        string forward = Path.Combine(o.OutDir, "forward.onnx");
        string backward = Path.Combine(o.OutDir, "backward.onnx");
        AtomicFile.Write(forward, s => ForwardGraphBuilder.Build(cut, preprocess, loss.Pooling).WriteTo(s));
        AtomicFile.Write(backward, s => BackwardGraphBuilder.Build(cut, preprocess, loss.Pooling, loss.Taps).WriteTo(s));
        output.WriteLine($"Wrote {forward} and {backward} ({cut.Identity}, {preprocess} preprocessing, {loss.Pooling} pooling, up to {cut.Architecture.Layers[^1].ReluName}).");
        return 0;
    }
}
