using Replay.Engines.Trace;
using Replay.Import;
using Replay.Tests.Cli;

namespace Replay.Tests.Import;

/// <summary>Lackey files as processes: M as a load then a store, round-robin slices, vCPU placement, the limit.</summary>
public sealed class LackeyImporterTests : IDisposable
{
    private readonly TempDir _d = Cli.Cli.Temp();

    public void Dispose() => _d.Dispose();

    [Fact]
    public void M_is_a_load_then_a_store_of_the_same_bytes()
    {
        File.WriteAllText(_d.File("m.trace"), " M 7ff0,8\n");
        var host = Run([_d.File("m.trace")], new ImportOptions(), keepCalls: true);
        Assert.Equal(["create 0", "mark 1", "run 0 0", "Read 0 7ff0 8", "Write 0 7ff0 8", "exit 0"], host.Calls);
    }

    [Fact]
    public void Two_files_take_turns_every_slice_records()
    {
        // yi.trace has 7 records, dave.trace 5. With --slice 2 the turns are yi 2, dave 2, yi 2, dave 2, yi 2,
        // dave 1 (ends), yi 1 (ends): 7 turns, each on another process than the one before: 7 context switches.
        var host = Run([Samples.File("cachelab/yi.trace"), Samples.File("cachelab/dave.trace")], new ImportOptions(Slice: 2));
        Assert.Equal(7, host.Switches);
        Assert.Equal(4 + 2 + 2, host.Accesses[TraceOp.Read]);       // L lines 4 + 2, M lines 2 (as loads)
        Assert.Equal(1 + 3 + 2, host.Accesses[TraceOp.Write]);      // S lines 1 + 3, M lines 2 (as stores)
    }

    [Fact]
    public void Files_stay_on_their_vcpu()
    {
        File.WriteAllText(_d.File("a.trace"), " L 1000,4\n L 1004,4\n");
        File.WriteAllText(_d.File("b.trace"), " S 2000,4\n");
        var host = Run([_d.File("a.trace"), _d.File("b.trace")], new ImportOptions(Vcpus: 2, Slice: 1), keepCalls: true);
        Assert.Equal(
            ["create 0", "create 1", "mark 1", "run 0 0", "Read 0 1000 4", "mark 2", "run 1 1", "Write 1 2000 4", "Read 0 1004 4", "exit 1", "exit 0"],
            host.Calls);
    }

    [Fact]
    public void A_kernel_address_names_the_line_or_is_counted_with_skip_bad()
    {
        File.WriteAllText(_d.File("k.trace"), " L 1000,4\n L ffffffffff600000,8\n L 1008,4\n");
        var e = Assert.Throws<ImportFormatException>(() => Run([_d.File("k.trace")], new ImportOptions()));
        Assert.StartsWith(_d.File("k.trace") + ":2: address 0xffffffffff600000", e.Message, StringComparison.Ordinal);
        var stats = new LackeyImporter([_d.File("k.trace")], new ImportOptions(SkipBad: true)).Run(new RecordingHost());
        Assert.Equal((2L, 1L), (stats.Loads, stats.BadRecords));
    }

    [Fact]
    public void Every_I_line_is_a_fetch_and_one_skipped_as_bad_is_retired_as_an_instruction()
    {
        // Three I lines, the second in the vsyscall page: with --skip-bad two fetches and one instruction retired
        // (on the file's vCPU, after its turn started), so 3 instructions; without it, an error.
        File.WriteAllText(_d.File("i.trace"), "I  400000,4\nI  ffffffffff600000,4\n L 1000,4\nI  400004,4\n");
        Assert.Throws<ImportFormatException>(() => Run([_d.File("i.trace")], new ImportOptions()));
        var host = Run([_d.File("i.trace")], new ImportOptions(SkipBad: true), keepCalls: true);
        Assert.Equal(["create 0", "mark 1", "run 0 0", "Fetch 0 400000 4", "retire 0 1", "Read 0 1000 4", "Fetch 0 400004 4", "exit 0"], host.Calls);
        var stats = new LackeyImporter([_d.File("i.trace")], new ImportOptions(SkipBad: true)).Run(new RecordingHost());
        Assert.Equal((2L, 1L, 3L, 1L), (stats.Fetches, stats.Insns, stats.Instructions, stats.BadRecords));
    }

    [Fact]
    public void A_bad_I_line_first_in_a_turn_still_runs_the_file_before_retiring()
    {
        File.WriteAllText(_d.File("j.trace"), "I  ffffffffff600000,4\n");
        var host = new RecordingHost(1, keepCalls: true);
        var importer = new LackeyImporter([_d.File("j.trace")], new ImportOptions(SkipBad: true));
        // Having read no valid record, the import then fails (nothing is written), but only after driving the host.
        Assert.Contains("no valid access record", Assert.Throws<ImportFormatException>(() => importer.Run(host)).Message, StringComparison.Ordinal);
        Assert.Equal(["create 0", "mark 1", "run 0 0", "retire 0 1", "exit 0"], host.Calls);
    }

    [Fact]
    public void The_limit_counts_records_across_files()
    {
        var stats = new LackeyImporter([Samples.File("cachelab/long.trace"), Samples.File("cachelab/trans.trace")], new ImportOptions(Slice: 100, Limit: 250))
            .Run(new RecordingHost());
        Assert.Equal(250, stats.Records);
    }

    private static RecordingHost Run(string[] files, ImportOptions options, bool keepCalls = false)
    {
        var host = new RecordingHost(options.Vcpus, keepCalls);
        new LackeyImporter(files, options).Run(host);
        return host;
    }
}
