namespace NeuralStyle.Tests.Support;

/// <summary>
/// The tests that publish or pack the projects under src/ themselves run one at a time: a publish restores those
/// projects again (for its runtime) while a pack reads what restore wrote.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SourceTreeBuilds
{
    public const string Name = "builds from the source tree";
}
