using Xunit.Abstractions;

namespace NeuralStyle.TestRunner;

/// <summary>Selects test cases by one trait, as <c>dotnet test --filter Category=Cuda</c> does; no filter selects all.</summary>
internal sealed class TraitFilter
{
    private readonly string? _name;
    private readonly string? _value;

    private TraitFilter(string? name, string? value) => (_name, _value) = (name, value);

    public static TraitFilter Parse(string[] args)
    {
        if (args.Length == 0)
        {
            return new TraitFilter(null, null);
        }

        if (args.Length == 2 && args[0] == "--filter")
        {
            string[] parts = args[1].Split('=', 2);
            if (parts.Length == 2 && parts[0].Length > 0 && parts[1].Length > 0)
            {
                return new TraitFilter(parts[0], parts[1]);
            }

            throw new ArgumentException($"--filter takes Name=Value, not '{args[1]}'.");
        }

        throw new ArgumentException($"Unknown arguments: {string.Join(' ', args)}.");
    }

    public bool Matches(ITestCase testCase) =>
        _name is null
        || (testCase.Traits.TryGetValue(_name, out List<string>? values) && values.Contains(_value!, StringComparer.OrdinalIgnoreCase));

    public override string ToString() => _name is null ? "no filter" : $"{_name}={_value}";
}
