using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using NeuralStyle.Imaging;
using NeuralStyle.Tests.Support;

namespace NeuralStyle.Tests;

/// <summary>Publishes libneuralstyle with NativeAOT once for the tests below (about half a minute).</summary>
public sealed class NativeLibraryFixture : IDisposable
{
    public NativeLibraryFixture()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        Folder = Directory.CreateTempSubdirectory("neuralstyle-native-").FullName;
        var (code, output) = NativeLibraryTests.Execute("dotnet", ["publish", Path.Combine(Repository.Root, "src", "NeuralStyle.Native"),
            "-c", "Release", "-r", "linux-x64", "-o", Folder], null, TimeSpan.FromMinutes(10));
        PublishLog = output;
        Library = code == 0 ? Path.Combine(Folder, "libneuralstyle.so") : null;
    }

    public string? Folder { get; }

    public string? Library { get; }

    public string PublishLog { get; } = "";

    public void Dispose()
    {
        if (Folder is not null)
        {
            Directory.Delete(Folder, recursive: true);
        }
    }
}

/// <summary>The C ABI from outside .NET: a C program compiled against include/neuralstyle.h, and the Python ctypes example.</summary>
[Collection(SourceTreeBuilds.Name)]
public sealed class NativeLibraryTests(NativeLibraryFixture native) : IClassFixture<NativeLibraryFixture>
{
    /// <summary>
    /// smoke.c: a render through the header and the documented status for each misuse; threads.c: one handle used from
    /// two threads as the header allows (reads while a run runs, a refused second run, a release that ends the run).
    /// </summary>
    [SkippableTheory]
    [InlineData("smoke")]
    [InlineData("threads")]
    public void A_c_program_gets_what_the_header_documents(string name)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "The native library test builds linux-x64.");
        Skip.If(Which("cc") is null, "No C compiler (cc) on this machine.");
        Assert.True(native.Library is not null, "NativeAOT publish failed:\n" + native.PublishLog);
        string program = Path.Combine(native.Folder!, name);
        var (compiled, compileLog) = Execute("cc", ["-std=c11", "-pthread", "-Wall", "-Wextra", "-Werror", "-I", Path.Combine(Repository.Root, "include"),
            Path.Combine(Repository.Root, "tests", "native", name + ".c"), "-L", native.Folder!, "-lneuralstyle", $"-Wl,-rpath,{native.Folder}", "-o", program], null, TimeSpan.FromMinutes(2));
        Assert.True(compiled == 0, compileLog);
        if (name == "smoke")
        {
            // A sweep of the command line's, one of whose rates smoke.c continues alone.
            using var log = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
            string sweep = Path.Combine(native.Folder!, "sweep");
            int swept = NeuralStyle.Cli.Program.Run(["sweep", "--size", "32", "--lr", "1,2,4", "--checkpoints", "2", "--weights", "random:0", "--no-estimate", "--force", "--out-dir", sweep], log, log, interactive: false);
            Assert.True(swept == 0, log.ToString());
        }

        var (code, output) = Execute(program, [native.Folder!], null, TimeSpan.FromMinutes(5));
        Assert.True(code == 0, output);
        Assert.Contains($"{name}: ok", output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void The_python_ctypes_example_writes_an_image_in_its_own_or_the_contents_colours()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "The native library test builds linux-x64.");
        Skip.If(Which("python3") is null, "No python3 on this machine.");
        Assert.True(native.Library is not null, "NativeAOT publish failed:\n" + native.PublishLog);
        string content = Path.Combine(Repository.Examples, "content-cat-chelsea.png");
        RgbImage Example(string name, params string[] options)
        {
            string output = Path.Combine(native.Folder!, name);
            var (code, log) = Execute("python3", [Path.Combine(Repository.Root, "examples", "python", "neuralstyle_example.py"),
                content, Path.Combine(Repository.Examples, "style-van-gogh-starry-night.jpg"), output, .. options],
                new Dictionary<string, string> { ["NEURALSTYLE_LIB"] = native.Library! }, TimeSpan.FromMinutes(5));
            Assert.True(code == 0, log);
            Assert.Contains("device: CPU (", log, StringComparison.Ordinal);
            // The fall it prints from ns_engine_get_recent_gain is the one from the first row to the lowest it printed.
            Match fall = Regex.Match(log, @"loss (\S+) at iteration 0, lowest (\S+) at iteration (\d): fell (\S+)% in \S+ s");
            Assert.True(fall.Success, log);
            double first = Number(fall.Groups[1]), lowest = Number(fall.Groups[2]);
            static double Number(Group g) => double.Parse(g.Value, CultureInfo.InvariantCulture);
            Assert.InRange(Number(fall.Groups[4]), (100 * (first - lowest) / first) - 1e-3, (100 * (first - lowest) / first) + 1e-3); // 6 digits printed
            Assert.Contains($"best image: iteration {fall.Groups[3].Value}\n", log, StringComparison.Ordinal); // that of the lowest loss
            byte[] ppm = File.ReadAllBytes(output);
            Assert.StartsWith("P6 48 32 255\n", System.Text.Encoding.ASCII.GetString(ppm, 0, 13), StringComparison.Ordinal);
            Assert.Equal(13 + (48 * 32 * 3), ppm.Length);
            return RgbImage.FromPixels(ppm.AsSpan(13), 48, 32, 48 * 3, 3);
        }

        RgbImage plain = Example("cat.ppm"), kept = Example("cat-kept.ppm", "--original-colors");
        Assert.InRange(ColourMeasures.MeanDifference(kept, plain, ColourMeasures.Luma), 0, ColourMeasures.Tolerance);
        Assert.InRange(ColourMeasures.MeanDifference(kept, ImageFiles.Load(content, 48), ColourMeasures.Chroma), 0, ColourMeasures.Tolerance);
        Assert.True(ColourMeasures.MeanDifference(plain, ImageFiles.Load(content, 48), ColourMeasures.Chroma) > 5 * ColourMeasures.Tolerance);
    }

    [SkippableFact]
    public void The_python_sweep_example_runs_its_rates_as_one_batch_and_writes_each_rates_best_image()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "The native library test builds linux-x64.");
        Skip.If(Which("python3") is null, "No python3 on this machine.");
        Assert.True(native.Library is not null, "NativeAOT publish failed:\n" + native.PublishLog);
        string prefix = Path.Combine(native.Folder!, "cat-sweep");
        var (code, log) = Execute("python3", [Path.Combine(Repository.Root, "examples", "python", "sweep_example.py"),
            Path.Combine(Repository.Examples, "content-cat-chelsea.png"), Path.Combine(Repository.Examples, "style-van-gogh-starry-night.jpg"), prefix, "2,8,30"],
            new Dictionary<string, string> { ["NEURALSTYLE_LIB"] = native.Library! }, TimeSpan.FromMinutes(5));
        Assert.True(code == 0, log);

        // A line per rate: its lowest loss, that loss's iteration (its best image's) within its history, and whether it
        // runs or was set aside after a round (at its last row).
        var lines = Regex.Matches(log, @"lr (\S+): lowest loss \S+ at iteration (\d+) of (\d+), (running|set aside at iteration (\d+)); wrote (\S+)\n");
        Assert.True(lines.Count == 3, log);
        Assert.Equal(["2", "8", "30"], lines.Select(m => m.Groups[1].Value));
        var images = new List<byte[]>();
        foreach (Match line in lines)
        {
            int best = int.Parse(line.Groups[2].Value, CultureInfo.InvariantCulture), last = int.Parse(line.Groups[3].Value, CultureInfo.InvariantCulture);
            Assert.InRange(best, 0, last);
            Assert.True(line.Groups[5].Value is "" || line.Groups[5].Value == line.Groups[3].Value, line.Value);
            Assert.Equal($"{prefix}-lr{line.Groups[1].Value}.ppm", line.Groups[6].Value);
            byte[] ppm = File.ReadAllBytes(line.Groups[6].Value);
            Assert.StartsWith("P6 32 21 255\n", System.Text.Encoding.ASCII.GetString(ppm, 0, 13), StringComparison.Ordinal);
            Assert.Equal(13 + (32 * 21 * 3), ppm.Length);
            images.Add(ppm);
        }

        Assert.Equal(3, images.Select(Convert.ToHexString).Distinct().Count()); // each rate's own image

        // A rate given twice: the library's sentence, and a failing exit.
        (code, log) = Execute("python3", [Path.Combine(Repository.Root, "examples", "python", "sweep_example.py"), "content.png", "style.png", prefix, "2,2"],
            new Dictionary<string, string> { ["NEURALSTYLE_LIB"] = native.Library! }, TimeSpan.FromMinutes(1));
        Assert.True(code != 0, log);
        Assert.Contains("libneuralstyle status 1: options->learning_rates lists a learning rate twice; each item needs its own rate.", log, StringComparison.Ordinal);
    }

    /// <summary>
    /// The published folder as a C or C++ project elsewhere uses it: tests/native/package.c built with CMake
    /// (find_package(NeuralStyle VERSION), which refuses a version above the header's) or with pkg-config, in a folder
    /// of its own, and run from there.
    /// </summary>
    [SkippableTheory]
    [InlineData("cmake")]
    [InlineData("pkg-config")]
    public void A_c_project_elsewhere_builds_with_the_published_folders_own_description_of_the_library(string tool)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "The native library test builds linux-x64.");
        Skip.If(Which(tool) is null, $"No {tool} on this machine (tools/install-deps.sh installs it).");
        Skip.If(Which("cc") is null, "No C compiler (cc) on this machine.");
        Assert.True(native.Library is not null, "NativeAOT publish failed:\n" + native.PublishLog);
        string version = HeaderVersion();
        string project = Directory.CreateDirectory(Path.Combine(native.Folder!, "project-" + tool)).FullName;
        File.Copy(Path.Combine(Repository.Root, "tests", "native", "package.c"), Path.Combine(project, "package.c"));
        string program = Path.Combine(project, "build", "package");
        if (tool == "cmake")
        {
            File.WriteAllText(Path.Combine(project, "CMakeLists.txt"), """
                cmake_minimum_required(VERSION 3.16)
                project(package C)
                find_package(NeuralStyle ${WANTED} REQUIRED)
                message(STATUS "found NeuralStyle ${NeuralStyle_VERSION}")
                add_executable(package package.c)
                set_target_properties(package PROPERTIES C_STANDARD 11)
                target_compile_options(package PRIVATE -Wall -Wextra -Werror)
                target_link_libraries(package PRIVATE NeuralStyle::neuralstyle)
                """);
            string Configure(string wanted, string build, bool succeeds)
            {
                var (code, log) = Execute("cmake", ["-S", project, "-B", Path.Combine(project, build), $"-DCMAKE_PREFIX_PATH={native.Folder}", $"-DWANTED={wanted}"], null, TimeSpan.FromMinutes(2));
                Assert.True(succeeds == (code == 0), log);
                return log;
            }

            Assert.Contains($"found NeuralStyle {version}", Configure(version, "build", succeeds: true), StringComparison.Ordinal);
            var (built, buildLog) = Execute("cmake", ["--build", Path.Combine(project, "build")], null, TimeSpan.FromMinutes(2));
            Assert.True(built == 0, buildLog);
            string[] parts = version.Split('.');
            string newer = $"{parts[0]}.{int.Parse(parts[1], CultureInfo.InvariantCulture) + 1}";
            Assert.Contains($"compatible with requested version \"{newer}\"", Configure(newer, "build-newer", succeeds: false), StringComparison.Ordinal);
        }
        else
        {
            var environment = new Dictionary<string, string> { ["PKG_CONFIG_PATH"] = Path.Combine(native.Folder!, "lib", "pkgconfig") };
            var (found, modversion) = Execute("pkg-config", ["--modversion", "neuralstyle"], environment, TimeSpan.FromMinutes(1));
            Assert.True(found == 0, modversion);
            Assert.Equal(version, modversion.Trim());
            var (described, flags) = Execute("pkg-config", ["--cflags", "--libs", "neuralstyle"], environment, TimeSpan.FromMinutes(1));
            Assert.True(described == 0, flags);
            Directory.CreateDirectory(Path.GetDirectoryName(program)!);
            var (compiled, compileLog) = Execute("cc", ["-std=c11", "-Wall", "-Wextra", "-Werror", Path.Combine(project, "package.c"),
                .. flags.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), "-o", program], null, TimeSpan.FromMinutes(2));
            Assert.True(compiled == 0, compileLog);
        }

        string content = Path.Combine(Repository.Examples, "content-cat-chelsea.png");
        var (code, output) = Execute(program, [content, Path.Combine(Repository.Examples, "style-van-gogh-starry-night.jpg")], null, TimeSpan.FromMinutes(2));
        Assert.True(code == 0, output);
        RgbImage rendered = ImageFiles.Load(content, 32); // package.c renders at a long side of 32
        Assert.Equal($"package: ok {version} {rendered.Width}x{rendered.Height}", output.Trim());
    }

    /// <summary>The README's C examples with smaller sizes and fewer iterations, each text to change found once (<see cref="ReadmeCode.WithChanges"/>).</summary>
    private static readonly (string Written, string Run)[] QuickerCExamples =
    [
        ("options.size = 384;", "options.size = 32;"), ("ns_engine_run(engine, 300,", "ns_engine_run(engine, 2,"), ("\"painting.jpg\"", "style_path"),
        ("done < 2000", "done < 4"), ("ns_engine_run(engine, 25,", "ns_engine_run(engine, 2,"),
    ];

    /// <summary>
    /// The three C examples of the README (a render of the caller's buffer, a loop to the plateau, a sweep), each in a
    /// function that declares what it takes from its reader's program, compiled with every warning an error, linked
    /// against the published library and run: each must leave what it promises (an image of the output's size, the
    /// iterations the loop asked for, a rate's image and stop reason). Their statuses go unchecked there for brevity,
    /// so the frame checks the results.
    /// </summary>
    [SkippableFact]
    public void The_readmes_c_examples_compile_and_run_against_the_library()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "The native library test builds linux-x64.");
        Skip.If(Which("cc") is null, "No C compiler (cc) on this machine.");
        Assert.True(native.Library is not null, "NativeAOT publish failed:\n" + native.PublishLog);
        IReadOnlyList<string> examples = ReadmeCode.Blocks("```c", "**C and C++**", "**Python**");
        Assert.Equal(3, examples.Count); // a render, a loop to the plateau, a sweep: each has its frame below
        string[] sweep = examples[2].Split("/* … create, set the images, run as above … */");
        Assert.Equal(2, sweep.Length); // the frame creates and runs the engine where the README says so
        string source = Path.Combine(native.Folder!, "readme.c");
        File.WriteAllText(source, $$"""
            #include "neuralstyle.h"
            #include <stdio.h>
            #include <string.h>

            static const char* style_path; /* the README's "painting.jpg" */
            static int progress_calls;

            static int on_progress(int32_t iteration, int32_t target, double loss, void* user_data)
            {
                (void)iteration; (void)target; (void)loss; (void)user_data;
                progress_calls++;
                return 0;
            }

            static const char* written(const uint8_t* pixels, int32_t width, int32_t height)
            {
                for (int32_t i = 0; i < width * height * 4; i++) if (pixels[i] != 0) return "written";
                return "empty";
            }

            static int render(const uint8_t* rgba, uint8_t* out, int32_t width, int32_t height, int32_t stride, void* user_data)
            {
            {{ReadmeCode.WithChanges(examples[0], QuickerCExamples[..3])}}
                printf("render: %dx%d image %s after %d progress calls on %.4s\n", out_width, out_height, written(out, out_width, out_height), progress_calls, device);
                return 0;
            }

            static int32_t run_until_plateau(ns_engine* engine)
            {
            {{ReadmeCode.WithChanges(examples[1], QuickerCExamples[3..])}}
                return done;
            }

            static void sweep(ns_options options, const uint8_t* rgba, uint8_t* out, int32_t width, int32_t height)
            {
            {{sweep[0]}}
                ns_engine* engine;
                int32_t out_width = 0, out_height = 0;
                if (ns_engine_create(&options, &engine) != NS_OK || ns_engine_set_content(engine, rgba, width, height, width * 4, NS_PIXEL_RGBA8) != NS_OK
                    || ns_engine_add_style_file(engine, style_path, 1.0) != NS_OK || ns_engine_run(engine, 2, NULL, NULL) != NS_OK
                    || ns_engine_get_size(engine, &out_width, &out_height) != NS_OK) {
                    printf("sweep: %s\n", ns_last_error());
                    return;
                }
                memset(out, 0, (size_t)width * height * 4);
            {{sweep[1]}}
                printf("sweep: rate 5's image %s, rate 20 stopped '%s'\n", written(out, out_width, out_height), why);
                ns_engine_release(engine);
            }

            int main(int argc, char** argv)
            {
                enum { W = 48, H = 32 };
                static uint8_t rgba[W * H * 4], out[W * H * 4];
                if (argc < 2) return 2;
                style_path = argv[1];
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++) {
                        uint8_t* p = rgba + ((y * W) + x) * 4;
                        p[0] = (uint8_t)(x * 5); p[1] = (uint8_t)(y * 7); p[2] = (uint8_t)((x + y) * 3); p[3] = 255;
                    }
                if (render(rgba, out, W, H, W * 4, NULL) != 0) return 1;

                ns_options options;
                ns_options_init(&options);
                options.size = 32;
                options.weights = "random:0";
                ns_engine* engine;
                if (ns_engine_create(&options, &engine) != NS_OK || ns_engine_set_content(engine, rgba, W, H, W * 4, NS_PIXEL_RGBA8) != NS_OK
                    || ns_engine_add_style_file(engine, style_path, 1.0) != NS_OK) {
                    printf("plateau: %s\n", ns_last_error());
                    return 1;
                }
                printf("plateau loop: %d iterations\n", run_until_plateau(engine));
                ns_engine_release(engine);

                sweep(options, rgba, out, W, H);
                return 0;
            }
            """);
        string program = Path.Combine(native.Folder!, "readme");
        var (compiled, compileLog) = Execute("cc", ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-result", "-Werror", "-I", Path.Combine(Repository.Root, "include"), source,
            "-L", native.Folder!, "-lneuralstyle", $"-Wl,-rpath,{native.Folder}", "-o", program], null, TimeSpan.FromMinutes(2));
        Assert.True(compiled == 0, compileLog);

        string models = Directory.CreateDirectory(Path.Combine(native.Folder!, "no-models")).FullName; // "auto" weights: random features, never a cached file
        var (code, output) = Execute(program, [Path.Combine(Repository.Examples, "style-van-gogh-starry-night.jpg")],
            new Dictionary<string, string> { ["NEURALSTYLE_MODELS"] = models }, TimeSpan.FromMinutes(5));
        Assert.True(code == 0, output);
        Assert.Contains("render: 32x21 image written after 2 progress calls on CPU ", output, StringComparison.Ordinal);
        Assert.Contains("plateau loop: 4 iterations", output, StringComparison.Ordinal);
        Assert.Contains("sweep: rate 5's image written, rate 20 stopped ''", output, StringComparison.Ordinal);
    }

    /// <summary>NS_VERSION_MAJOR.MINOR.PATCH as include/neuralstyle.h defines them.</summary>
    private static string HeaderVersion()
    {
        string header = File.ReadAllText(Path.Combine(Repository.Root, "include", "neuralstyle.h"));
        return string.Join('.', new[] { "MAJOR", "MINOR", "PATCH" }.Select(part => Regex.Match(header, $@"#define NS_VERSION_{part} (\d+)\n").Groups[1].Value));
    }

    internal static (int Code, string Output) Execute(string file, string[] args, Dictionary<string, string>? environment, TimeSpan limit)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (key, value) in environment ?? [])
        {
            info.Environment[key] = value;
        }

        try
        {
            var (code, stdout, stderr) = CliProcess.RunAsync(info, limit).GetAwaiter().GetResult();
            return (code, stdout + stderr);
        }
        catch (TimeoutException e)
        {
            return (-1, e.Message); // the callers' assertions show it, the publish fixture's included
        }
    }

    private static string? Which(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);
}
