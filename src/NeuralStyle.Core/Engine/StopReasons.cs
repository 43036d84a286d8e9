using System.Globalization;

namespace NeuralStyle.Engine;

/// <summary>
/// Why an item stopped, as checkpoints and reports keep it. A diverged item is done for good: its loss left the
/// numbers at that learning rate. A plateaued one stopped only because its lowest loss no longer fell enough to pay
/// for its share of the batch (a sweep's --plateau), and one set aside because a resumed sweep went on without it
/// (<see cref="Checkpoint.SetAsideAllBut"/>); either can be taken further alone (<see cref="Checkpoint.Item"/>).
/// </summary>
public static class StopReasons
{
    private const string DivergedAt = "diverged at iteration ", PlateauedAt = "plateaued at iteration ", SetAsideAt = "set aside at iteration ";

    /// <summary>"diverged at iteration k".</summary>
    public static string Diverged(int iteration) => DivergedAt + iteration.ToString(CultureInfo.InvariantCulture);

    /// <summary>"plateaued at iteration k".</summary>
    public static string Plateaued(int iteration) => PlateauedAt + iteration.ToString(CultureInfo.InvariantCulture);

    /// <summary>"set aside at iteration k".</summary>
    public static string SetAside(int iteration) => SetAsideAt + iteration.ToString(CultureInfo.InvariantCulture);

    /// <summary>Whether <paramref name="reason"/> is a plateau's.</summary>
    public static bool IsPlateau(string? reason) => reason?.StartsWith(PlateauedAt, StringComparison.Ordinal) == true;

    /// <summary>
    /// Whether <paramref name="reason"/> leaves the item able to go on alone from the state it stopped in: a plateau's or
    /// a setting aside's, where the item's image, loss and step count agree.
    /// </summary>
    public static bool CanGoOnAlone(string? reason) =>
        IsPlateau(reason) || reason?.StartsWith(SetAsideAt, StringComparison.Ordinal) == true;

    /// <summary>Whether <paramref name="reason"/> is a divergence's.</summary>
    public static bool IsDivergence(string? reason) => reason?.StartsWith(DivergedAt, StringComparison.Ordinal) == true;
}
