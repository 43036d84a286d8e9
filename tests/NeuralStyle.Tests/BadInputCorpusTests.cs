using System.Globalization;
using NeuralStyle.Cli;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>Every case of tests/corpus/bad-inputs.tsv through the command line: exit code 2, one sentence, no stack trace.</summary>
public sealed class BadInputCorpusTests : TemporaryFolderTest
{
    public static IEnumerable<object[]> Cases =>
        File.ReadAllLines(Path.Combine(Repository.Root, "tests", "corpus", "bad-inputs.tsv"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('\t'))
            .Select(f => new object[] { f[0], f[1], f[2] });

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_bad_input_gets_one_sentence_and_exit_code_2(string name, string arguments, string fragment)
    {
        string corpus = Path.Combine(Repository.Root, "tests", "corpus");
        string[] args = arguments.Replace("{c}", corpus, StringComparison.Ordinal).Replace("{out}", Folder, StringComparison.Ordinal)
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (!args.Contains("--out") && args[0] == "render")
        {
            args = [.. args, "--out", Path.Combine(Folder, "out.png")];
        }

        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);
        int code = Program.Run(args, output, error, interactive: false);

        string message = error.ToString().Trim();
        Assert.True(code == 2, $"{name}: exit {code}; {message}{output}");
        Assert.Contains(fragment, message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message);
        Assert.False(File.Exists(Path.Combine(Folder, "out.png")), $"{name}: an output was written");
    }
}
