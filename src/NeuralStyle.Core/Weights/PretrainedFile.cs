namespace NeuralStyle.Weights;

/// <summary>
/// A pretrained VGG19 file that <c>model fetch</c> downloads into the model cache: where it comes from, and the size
/// and SHA-256 it must have, as the ONNX Model Zoo's hub manifest (ONNX_HUB_MANIFEST.json) records them, so that a
/// damaged, truncated or substituted download is refused rather than used.
/// </summary>
/// <param name="Name">What <c>--source</c> calls it.</param>
/// <param name="FileName">Its name in the model cache, one that <c>--weights auto</c> looks for.</param>
/// <param name="Url">Where it is downloaded from unless <c>--url</c> names a mirror.</param>
/// <param name="Bytes">Its exact size.</param>
/// <param name="Sha256">Its SHA-256, lower-case hex.</param>
public sealed record PretrainedFile(string Name, string FileName, Uri Url, long Bytes, string Sha256)
{
    private const string ModelZoo = "https://github.com/onnx/models/raw/main/validated/vision/classification/vgg/model/";

    /// <summary>Caffe's VGG19 as converted by Caffe2 (opset 9): the weights Gatys et al. used (Caffe's preprocessing).</summary>
    public static PretrainedFile Caffe2 { get; } = new("vgg19-caffe2", "vgg19-caffe2-9.onnx", new Uri(ModelZoo + "vgg19-caffe2-9.onnx"),
        574_674_712, "cfb97260b303ad3963999662456571b89c5f73dbdd2fd9dffd19fed7a90f766b");

    /// <summary>The Model Zoo's VGG19 from MXNet/Gluon (opset 7), trained with torchvision's normalisation (the importer recognises both).</summary>
    public static PretrainedFile Gluon { get; } = new("vgg19", "vgg19-7.onnx", new Uri(ModelZoo + "vgg19-7.onnx"),
        574_677_321, "692f9f927f1df1b89033787a77a73eac59fd9b3344f9ecdf0b13221e41c2046f");

    /// <summary>Every file <c>model fetch</c> knows, the default first.</summary>
    public static IReadOnlyList<PretrainedFile> Known { get; } = [Caffe2, Gluon];

    /// <summary>The known file called <paramref name="name"/>; refuses any other name, listing the known ones.</summary>
    public static PretrainedFile Find(string name) =>
        Known.FirstOrDefault(f => f.Name == name)
        ?? throw new UserInputException($"--source must be one of {string.Join(", ", Known.Select(f => f.Name))}, not '{name}'.");
}
