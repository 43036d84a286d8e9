using NeuralStyle.Engine;
using NeuralStyle.Imaging;
using NeuralStyle.Model;

namespace NeuralStyle.Tests;

/// <summary>The engine's messages name the settings in the words of the front end that runs it.</summary>
public sealed class SettingNamesTests
{
    private static readonly Lazy<NetworkWeights> Weights = new(() => NetworkWeights.Random(NetworkArchitecture.Vgg19, 0));

    public static TheoryData<string> FrontEnds => ["CommandLine", "DotNet", "C"];

    private static SettingNames Named(string frontEnd) => frontEnd switch
    {
        "CommandLine" => SettingNames.CommandLine,
        "DotNet" => SettingNames.DotNet,
        "C" => SettingNames.C,
        _ => throw new ArgumentOutOfRangeException(nameof(frontEnd)),
    };

    [Theory]
    [MemberData(nameof(FrontEnds))]
    public void A_message_from_deep_in_the_engine_names_the_front_ends_setting(string frontEnd)
    {
        SettingNames names = Named(frontEnd);
        using IDisposable scope = SettingNames.Use(names);
        var options = new StyleTransferOptions { Size = null, Weights = "random:0", Device = DeviceKind.Cpu, Loss = new LossSettings { TvWeight = 1e308 } };
        using var transfer = new StyleTransfer(options);
        transfer.SetContent(RgbImage.Noise(36, 32, 1));
        transfer.AddStyle(RgbImage.Noise(36, 32, 2));

        var error = Assert.Throws<UserInputException>(() => transfer.Run(1));
        Assert.Contains($"the total-variation term; lower {names.TvWeight} (", error.Message, StringComparison.Ordinal);
        foreach (SettingNames other in new[] { SettingNames.CommandLine, SettingNames.DotNet, SettingNames.C }.Where(n => n != names))
        {
            Assert.DoesNotContain(other.TvWeight, error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("CommandLine", "raise --style-scale (or --size) or use shallower layers")]
    [InlineData("DotNet", "raise StyleTransferOptions.StyleScale (or StyleTransferOptions.Size) or use shallower layers")]
    [InlineData("C", "raise options->style_scale (or options->size) or use shallower layers")]
    [InlineData("a host without a style scale", "raise the size or use shallower layers")]
    public void Each_front_end_is_offered_the_remedies_it_has(string frontEnd, string remedy)
    {
        using IDisposable scope = SettingNames.Use(frontEnd.StartsWith("a host", StringComparison.Ordinal)
            ? SettingNames.C with { Size = "the size", StyleScale = null }
            : Named(frontEnd));
        var problem = new StyleProblem { Content = RgbImage.Noise(40, 40, 1), Styles = [RgbImage.Noise(8, 8, 2)], Weights = Weights.Value };

        var error = Assert.Throws<UserInputException>(() => StyleTransferEngine.Create(problem, [1.0], DeviceKind.Cpu));
        Assert.StartsWith("A style image is 8×8", error.Message, StringComparison.Ordinal);
        Assert.EndsWith(remedy + ".", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(FrontEnds))]
    public void Loss_weights_out_of_range_are_named_as_the_front_end_names_them(string frontEnd)
    {
        SettingNames names = Named(frontEnd);
        using IDisposable scope = SettingNames.Use(names);
        Assert.Equal($"{names.TvWeight} must be a finite number ≥ 0, not -1.", new LossSettings { TvWeight = -1 }.Validate(NetworkArchitecture.Vgg19));
        Assert.Equal($"{names.StyleWeight} must be a finite number ≥ 0, not NaN.", new LossSettings { StyleWeight = double.NaN }.Validate(NetworkArchitecture.Vgg19));
        Assert.EndsWith($"set {names.ContentWeight}, {names.StyleWeight} or {names.TvWeight} above 0.",
            new LossSettings { ContentWeight = 0, StyleWeight = 0, TvWeight = 0 }.Validate(NetworkArchitecture.Vgg19), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_scope_holds_for_the_work_it_starts_and_ends_where_it_was_set()
    {
        Assert.Same(SettingNames.DotNet, SettingNames.Current); // a library caller's own names, unless a front end says otherwise
        using (SettingNames.Use(SettingNames.C))
        {
            Assert.Same(SettingNames.C, await Task.Run(() => SettingNames.Current));
            using (SettingNames.Use(SettingNames.CommandLine))
            {
                Assert.Same(SettingNames.CommandLine, SettingNames.Current);
            }

            Assert.Same(SettingNames.C, SettingNames.Current);

            // Work that does not flow from the scope (another caller's thread) keeps its own names.
            SettingNames? unrelated = null;
            using (ExecutionContext.SuppressFlow())
            {
                var thread = new Thread(() => unrelated = SettingNames.Current);
                thread.Start();
                thread.Join();
            }

            Assert.Same(SettingNames.DotNet, unrelated);
        }

        Assert.Same(SettingNames.DotNet, SettingNames.Current);
    }
}
