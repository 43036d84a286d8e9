using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(NeuralStyle.Benchmarks.KernelBenchmarks).Assembly).Run(args);
