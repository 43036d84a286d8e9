namespace NeuralStyle.Tests.Support;

/// <summary>The code examples of the README, so that tests can build and run them as a reader would paste them.</summary>
internal static class ReadmeCode
{
    /// <summary>
    /// The examples fenced with <paramref name="fence"/> (e.g. <c>```csharp</c>) between the line
    /// <paramref name="after"/> and the next line that starts with <paramref name="before"/>, each as its lines joined.
    /// </summary>
    public static IReadOnlyList<string> Blocks(string fence, string after, string before)
    {
        string[] readme = File.ReadAllLines(Path.Combine(Repository.Root, "README.md"));
        int start = Array.FindIndex(readme, l => l.StartsWith(after, StringComparison.Ordinal));
        Assert.True(start >= 0, $"The README has no line starting '{after}'.");
        int end = Array.FindIndex(readme, start + 1, l => l.StartsWith(before, StringComparison.Ordinal));
        end = end < 0 ? readme.Length : end;
        var blocks = new List<string>();
        for (int open = Array.IndexOf(readme, fence, start, end - start); open >= 0; open = Array.IndexOf(readme, fence, open + 1, end - open - 1))
        {
            blocks.Add(string.Join('\n', readme[(open + 1)..Array.IndexOf(readme, "```", open + 1)]));
        }

        return blocks;
    }

    /// <summary>
    /// <paramref name="code"/> with each change made (smaller sizes, fewer iterations, the test's files), where each
    /// text to change must occur exactly once: a README edit that drops one fails here, naming it, rather than leaving
    /// the test to run something else than the README shows.
    /// </summary>
    public static string WithChanges(string code, IEnumerable<(string Written, string Run)> changes)
    {
        foreach (var (written, run) in changes)
        {
            Assert.True(code.Split(written).Length == 2, $"The README's examples no longer hold '{written}' once; change the test's substitutions with them.");
            code = code.Replace(written, run, StringComparison.Ordinal);
        }

        return code;
    }
}
