using System.Globalization;
using NeuralStyle.Cli.Reports;
using NeuralStyle.Engine;
using NeuralStyle.Imaging;

namespace NeuralStyle.Cli.Commands;

/// <summary>
/// The files a render writes (the image, its checkpoint, the loss log and the images <c>--save-every</c> adds), where
/// they go when not named, and the checks, made before any work, that none of them replaces an input or another of
/// them: the last one written would win, and a run's result or its checkpoint would be lost without a word.
/// </summary>
internal sealed class RenderOutputs
{
    /// <summary>The image a new render writes when <c>--out</c> is not given.</summary>
    public const string DefaultImage = "out/render.png";

    private readonly bool _savesIntermediates;

    private RenderOutputs(string image, string checkpoint, string? lossLog, bool savesIntermediates)
    {
        Image = image;
        Checkpoint = checkpoint;
        LossLog = lossLog;
        _savesIntermediates = savesIntermediates;
    }

    /// <summary>The final image (and the image saved on interruption).</summary>
    public string Image { get; }

    /// <summary>The run's checkpoint, written with every saved image and at the end.</summary>
    public string Checkpoint { get; }

    /// <summary>The loss per iteration as CSV, if asked for.</summary>
    public string? LossLog { get; }

    /// <summary>Every output, to make its folder once the run starts.</summary>
    public IEnumerable<string> Files => new[] { Image, Checkpoint, LossLog }.OfType<string>();

    /// <summary>
    /// The outputs <paramref name="o"/> names, or their defaults: a new render writes <see cref="DefaultImage"/>; one
    /// resumed from a render's checkpoint continues in place (the image and loss log the checkpoint records, and the
    /// checkpoint itself); one rate continued alone from a sweep goes beside the sweep's folder, as the sweep suggests,
    /// and never onto the sweep's checkpoint, which keeps its other rates. Otherwise the checkpoint goes beside the
    /// image unless named.
    /// Throws a <see cref="UserInputException"/> for an output that cannot be written or would replace another file
    /// the run reads or writes. <paramref name="resumed"/>: the settings of the checkpoint <c>--resume</c> names.
    /// </summary>
    public static RenderOutputs Of(RenderOptions o, RunSettings? resumed)
    {
        if (resumed is not null)
        {
            _ = ProblemFactory.ChosenItem(o.Resume!, resumed.LearningRates, o.LearningRate); // a sweep needs --lr, a render refuses it
        }

        // The rate of a sweep continued alone: the one --lr names, or the only one of a sweep of one rate (a sweep's
        // checkpoint records no image; a render's always does).
        bool oneRateSweep = resumed is { Image: null, LearningRates.Count: 1 } && Path.GetFileName(o.Resume) == SweepReport.CheckpointFile;
        double? sweepRate = resumed is null ? null : o.LearningRate ?? (oneRateSweep ? resumed.LearningRates[0] : null);

        string image = o.Out ?? (o.Resume, sweepRate) switch
        {
            (null, _) => DefaultImage,
            (string sweep, double rate) => SweepRateImage(sweep, rate),
            (string checkpoint, null) => SavedImage(checkpoint, resumed!),
        };
        bool inPlace = o.Out is null && o.Resume is not null && sweepRate is null;
        string checkpointFile = o.Checkpoint ?? (inPlace ? o.Resume! : Path.ChangeExtension(image, ".ckpt"));
        string? lossLog = o.LossLog ?? (inPlace && resumed!.LossLog is string log ? Path.Combine(Path.GetDirectoryName(o.Resume!) ?? "", log) : null);
        var outputs = new RenderOutputs(image, checkpointFile, lossLog, o.SaveEvery > 0);
        outputs.Check(o, sweepRate, resumed);
        return outputs;
    }

    /// <summary>OUT_00100.png for iteration 100.</summary>
    public string Intermediate(int iteration) =>
        Path.Combine(Path.GetDirectoryName(Image) ?? "", $"{Path.GetFileNameWithoutExtension(Image)}_{iteration:D5}{Path.GetExtension(Image)}");

    /// <summary>
    /// Where one rate of a sweep continued alone goes: beside the sweep's folder, as the sweep suggests
    /// (out/study/sweep.ckpt → out/study-lr5.png), or beside a sweep checkpoint kept under another name (x-lr5.png).
    /// </summary>
    private static string SweepRateImage(string checkpoint, double rate) =>
        Path.GetFileName(checkpoint) == SweepReport.CheckpointFile
            ? SweepCommand.AloneImage(Path.GetDirectoryName(checkpoint) ?? "", rate)
            : Path.ChangeExtension(checkpoint, null) + string.Create(CultureInfo.InvariantCulture, $"-lr{rate:G6}.png");

    /// <summary>The image saved with a render's checkpoint, which it records; refused where it records none.</summary>
    private static string SavedImage(string checkpoint, RunSettings settings) => settings.Image is string image
        ? Path.Combine(Path.GetDirectoryName(checkpoint) ?? "", image)
        : throw new UserInputException($"'{checkpoint}' does not record an image saved with it (a sweep's checkpoint, or one from the embedding API or an earlier version does not); name the image to write with --out.");

    private void Check(RenderOptions o, double? sweepRate, RunSettings? resumed)
    {
        var named = new List<(string Option, string Path)>
        {
            ("--out", Image),
            (o.Checkpoint is null ? "--out's checkpoint" : "--checkpoint", Checkpoint),
        };
        if (LossLog is not null)
        {
            named.Add(("--loss-log", LossLog));
        }

        foreach (var (option, path) in named)
        {
            if (Directory.Exists(path) || Path.GetFileName(path).Length == 0) // "logs/" names a folder even before it exists
            {
                throw new UserInputException($"Cannot write '{path}': it is a folder; give {option} a file in it.");
            }

            AtomicFile.RequireWritableFolder(Path.GetDirectoryName(Path.GetFullPath(path))!, option);
        }

        _ = ImageFiles.EncoderFor(Image); // after the folder check: "out/" is a folder before it is a missing extension

        RefuseOverwritingInputs(o, named, sweepRate, resumed);
        for (int a = 0; a < named.Count; a++)
        {
            for (int b = a + 1; b < named.Count; b++)
            {
                if (SamePath(named[a].Path, named[b].Path))
                {
                    throw new UserInputException($"{named[a].Option} and {named[b].Option} are both '{named[b].Path}'; give each its own file, or one would overwrite the other.");
                }
            }

            if (a > 0 && _savesIntermediates && IsIntermediate(named[a].Path))
            {
                throw new UserInputException($"{named[a].Option} '{named[a].Path}' is named like the images --save-every writes beside --out; choose another name so neither overwrites the other.");
            }
        }
    }

    /// <summary>
    /// An output never replaces an input (the content, a style, the --init image, the checkpoint being resumed, and
    /// the images that checkpoint's run was made from), except a render's own checkpoint, which a resumed render
    /// continues in place; nor do the --save-every images.
    /// </summary>
    private void RefuseOverwritingInputs(RenderOptions o, List<(string Option, string Path)> named, double? sweepRate, RunSettings? run)
    {
        IEnumerable<string?> given = run is null ? [o.Content ?? ProblemFactory.DefaultContent, o.Init] : [run.Content, .. run.Styles, o.Resume];
        string[] inputs = given.Concat(o.Styles)
            .Where(p => !string.IsNullOrEmpty(p) && File.Exists(p)).Select(p => Path.GetFullPath(p!)).ToArray();
        for (int n = 0; n < named.Count; n++)
        {
            var (option, path) = named[n];
            bool resumed = o.Resume is not null && SamePath(path, o.Resume);
            if (resumed && sweepRate is double rate)
            {
                string instead = SweepRateImage(o.Resume!, rate);
                throw new UserInputException($"{option} '{path}' is the sweep's checkpoint being resumed, which keeps all of its rates; choose another file (e.g. --out {instead}) so the sweep is kept.");
            }

            bool continuesInPlace = resumed && n == 1; // the checkpoint, continued in place
            if (!continuesInPlace && inputs.Contains(Path.GetFullPath(path)))
            {
                throw new UserInputException($"{option} '{path}' is one of the inputs; choose another file name so the input is kept.");
            }
        }

        if (_savesIntermediates && inputs.FirstOrDefault(IsIntermediate) is string saved)
        {
            throw new UserInputException($"--save-every would write over '{saved}', one of the inputs, beside --out; choose another --out so the input is kept.");
        }
    }

    private bool IsIntermediate(string path)
    {
        string name = Path.GetFileName(path), stem = Path.GetFileNameWithoutExtension(Image) + "_", extension = Path.GetExtension(Image);
        return SamePath(Path.GetDirectoryName(Path.GetFullPath(path))!, Path.GetDirectoryName(Path.GetFullPath(Image))!)
            && name.StartsWith(stem, StringComparison.Ordinal) && name.EndsWith(extension, StringComparison.Ordinal)
            && name[stem.Length..^extension.Length] is { Length: >= 5 } digits && digits.All(char.IsAsciiDigit);
    }

    private static bool SamePath(string a, string b) => Path.GetFullPath(a) == Path.GetFullPath(b);
}
