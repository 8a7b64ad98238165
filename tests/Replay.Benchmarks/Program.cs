using BenchmarkDotNet.Running;

// dotnet run -c Release --project tests/Replay.Benchmarks -- --filter '*'
// Environment: REPLAY_BENCH_EVENTS (default 10,000,000) sets the size of the generated trace.
BenchmarkSwitcher.FromAssembly(typeof(Replay.Benchmarks.ReplayBenchmarks).Assembly).Run(args);
