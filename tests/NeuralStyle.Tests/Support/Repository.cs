namespace NeuralStyle.Tests.Support;

/// <summary>Paths inside the repository, found by walking up from the test binaries to NeuralStyle.sln.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string Examples => Path.Combine(Root, "examples");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NeuralStyle.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("NeuralStyle.sln not found above " + AppContext.BaseDirectory);
    }
}
