using Xunit.Abstractions;

namespace NeuralStyle.TestRunner;

/// <summary>
/// Selects test cases as <c>dotnet test --filter</c> does, in the forms tools/gpu-check.sh uses: conditions joined by
/// <c>&amp;</c>, each <c>Name=Value</c> (equals), <c>Name~Value</c> (contains), or <c>!=</c> and <c>!~</c> (neither),
/// where Name is a trait (Category) or FullyQualifiedName (Namespace.Class.Method); case-insensitive. No filter selects
/// all.
/// </summary>
internal sealed class TestFilter
{
    private const string FullyQualifiedName = "FullyQualifiedName";
    private readonly IReadOnlyList<Condition> _conditions;
    private readonly string _text;

    private TestFilter(IReadOnlyList<Condition> conditions, string text) => (_conditions, _text) = (conditions, text);

    public static TestFilter Parse(string[] args)
    {
        if (args.Length == 0)
        {
            return new TestFilter([], "no filter");
        }

        if (args.Length == 2 && args[0] == "--filter")
        {
            return new TestFilter(args[1].Split('&').Select(c => Condition.Parse(c, args[1])).ToList(), args[1]);
        }

        throw new ArgumentException($"Unknown arguments: {string.Join(' ', args)}.");
    }

    public bool Matches(ITestCase testCase) => _conditions.All(c => c.Matches(testCase));

    public override string ToString() => _text;

    private sealed record Condition(string Name, bool Contains, bool Negated, string Value)
    {
        public static Condition Parse(string text, string whole)
        {
            int at = text.IndexOfAny(['=', '~']);
            bool negated = at > 0 && text[at - 1] == '!';
            string name = at < 0 ? "" : text[..(negated ? at - 1 : at)];
            if (name.Length == 0 || at == text.Length - 1)
            {
                throw new ArgumentException($"--filter takes conditions Name=Value, Name~Value, Name!=Value or Name!~Value joined by '&', not '{whole}'.");
            }

            return new Condition(name, text[at] == '~', negated, text[(at + 1)..]);
        }

        public bool Matches(ITestCase testCase)
        {
            IEnumerable<string> values = Name.Equals(FullyQualifiedName, StringComparison.OrdinalIgnoreCase)
                ? [$"{testCase.TestMethod.TestClass.Class.Name}.{testCase.TestMethod.Method.Name}"]
                : testCase.Traits.TryGetValue(Name, out List<string>? traits) ? traits : [];
            bool found = values.Any(v => Contains ? v.Contains(Value, StringComparison.OrdinalIgnoreCase) : v.Equals(Value, StringComparison.OrdinalIgnoreCase));
            return found != Negated;
        }
    }
}
