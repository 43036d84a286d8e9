namespace NeuralStyle.Tests.Support;

/// <summary>Central finite differences in float64, the ground truth every gradient test compares against.</summary>
internal static class FiniteDifferences
{
    /// <summary>∂f/∂x_i ≈ (f(x + h·e_i) − f(x − h·e_i)) / 2h for every i; <paramref name="x"/> is restored.</summary>
    public static double[] Gradient(Func<double[], double> f, double[] x, double step)
    {
        var gradient = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double keep = x[i];
            x[i] = keep + step;
            double up = f(x);
            x[i] = keep - step;
            double down = f(x);
            x[i] = keep;
            gradient[i] = (up - down) / (2 * step);
        }

        return gradient;
    }
}
