namespace NeuralStyle.Tests.Support;

/// <summary>A test class with its own temporary folder, deleted with everything in it after each test.</summary>
public abstract class TemporaryFolderTest : IDisposable
{
    /// <summary>The folder, fresh for each test.</summary>
    protected string Folder { get; } = Directory.CreateTempSubdirectory("neuralstyle-test-").FullName;

    public void Dispose()
    {
        Directory.Delete(Folder, recursive: true);
        GC.SuppressFinalize(this);
    }
}
