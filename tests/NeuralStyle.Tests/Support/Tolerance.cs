using System.Text;

namespace NeuralStyle.Tests.Support;

/// <summary>
/// Element-wise comparison with |actual − expected| ≤ abs + rel·|expected| (as llm.c's validate_result and
/// dotnet/runtime's tensor tests do); a failure names the first mismatching indices.
/// </summary>
internal static class Tolerance
{
    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double abs, double rel, string what)
    {
        var copy = new double[actual.Length];
        for (int i = 0; i < actual.Length; i++)
        {
            copy[i] = actual[i];
        }

        AssertClose(expected, copy, abs, rel, what);
    }

    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double abs, double rel, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}.");
        var report = new StringBuilder();
        int failures = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double limit = abs + (rel * Math.Abs(expected[i]));
            if (!(Math.Abs(actual[i] - expected[i]) <= limit))
            {
                if (failures++ < 8)
                {
                    report.Append(System.Globalization.CultureInfo.InvariantCulture, $"\n  [{i}] expected {expected[i]:R}, got {actual[i]:R} (limit {limit:G3})");
                }
            }
        }

        Assert.True(failures == 0, $"{what}: {failures} of {expected.Length} values outside abs {abs:G3} + rel {rel:G3}:{report}");
    }

    /// <summary>
    /// As <see cref="AssertClose(ReadOnlySpan{double}, ReadOnlySpan{float}, double, double, string)"/>, but up to
    /// <paramref name="outliers"/> values may lie outside abs + rel·|expected|, each still within <paramref name="outlierAbs"/>:
    /// for results where a few values may legitimately take another branch (a max pool's argmax). Returns how many lay
    /// outside and the largest difference of all, for the test to report.
    /// </summary>
    public static (int Outside, double Largest) AssertMostlyClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double abs, double rel, int outliers, double outlierAbs,
        string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}.");
        int outside = 0, beyond = 0;
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double difference = Math.Abs(actual[i] - expected[i]);
            worst = double.IsNaN(difference) || double.IsNaN(worst) ? double.NaN : Math.Max(worst, difference);
            if (!(difference <= abs + (rel * Math.Abs(expected[i]))))
            {
                outside++;
                beyond += difference <= outlierAbs ? 0 : 1;
            }
        }

        Assert.True(outside <= outliers && beyond == 0, string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{what}: {outside} of {expected.Length} values outside abs {abs:G3} + rel {rel:G3} (at most {outliers} may be), {beyond} beyond {outlierAbs:G3}; the largest difference {worst:G4}."));
        return (outside, worst);
    }

    /// <summary>The largest |value|, for tolerances scaled to a tensor.</summary>
    public static double MaxAbs(ReadOnlySpan<double> values)
    {
        double max = 0;
        foreach (double v in values)
        {
            max = Math.Max(max, Math.Abs(v));
        }

        return max;
    }
}
