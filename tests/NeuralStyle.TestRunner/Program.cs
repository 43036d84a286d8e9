// Runs the tests of NeuralStyle.Tests in this process through xunit's own discovery and execution, so that a
// self-contained publish of this runner is all a machine without the .NET SDK needs (tools/gpu-check.sh).
//
//   neuralstyle-tests [--filter CONDITIONS]   e.g. --filter 'Category=Cuda&FullyQualifiedName~CudaKernelTests'
//
// CONDITIONS as dotnet test writes them (Name=Value, Name~Value, != and !~, joined by &; see TestFilter).
//
// Prints which vector instructions the process may use, a line as each test starts (so that a process killed by a
// native fault names the test it was in), one as each ends (failures with their message and stack), then
// "Total tests: N, Passed: N, Failed: N, Skipped: N". Exit code 0 when nothing failed and at least one test ran.
using System.Numerics;
using System.Reflection;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using NeuralStyle.TestRunner;
using Xunit.Abstractions;
using Xunit.Sdk;

TestFilter filter;
try
{
    filter = TestFilter.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine("usage: neuralstyle-tests [--filter CONDITIONS]   e.g. --filter Category=Cuda, or Category=Cuda&FullyQualifiedName!~CudaBackendTests");
    return 2;
}

Assembly tests = typeof(NeuralStyle.Tests.CudaBackendTests).Assembly;
var diagnostics = new DiagnosticSink(Console.Error);
using var framework = new XunitTestFramework(diagnostics);

var discovery = new DiscoverySink();
using (var discoverer = framework.GetDiscoverer(Reflector.Wrap(tests)))
{
    discoverer.Find(includeSourceInformation: false, discovery, new FrameworkOptions());
    discovery.Finished.Wait();
}

List<ITestCase> selected = discovery.TestCases.Where(filter.Matches).ToList();
Console.WriteLine($"{selected.Count} of {discovery.TestCases.Count} tests selected ({filter}).");
// Which of the kernels' vector paths this process takes (DOTNET_EnableAVX2=0 and the like turn some off).
Console.WriteLine($"Vector instructions: AVX {Avx.IsSupported}, AVX2 {Avx2.IsSupported}, FMA {Fma.IsSupported}, AdvSimd {AdvSimd.IsSupported}; Vector<float> holds {Vector<float>.Count}.");

var reporter = new ConsoleReporter(Console.Out);
using (var executor = framework.GetExecutor(tests.GetName()))
{
    // One test at a time: the GPU tests measure and compare device work, which concurrent tests would disturb.
    var execution = new FrameworkOptions();
    execution.SetValue("xunit.execution.DisableParallelization", true);
    executor.RunTests(selected, reporter, execution);
    reporter.Finished.Wait();
}

Console.WriteLine($"Total tests: {reporter.Total}, Passed: {reporter.Passed}, Failed: {reporter.Failed}, Skipped: {reporter.Skipped}");
return reporter.Failed == 0 && reporter.Total > 0 ? 0 : 1;
