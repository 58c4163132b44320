import ArgumentParser

/// `tern bench …`: benchmarks that print a table (or `--json`) with ratios measured in the
/// same run.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure kernel, model, fine-tuning and blob transfer speed on this machine.",
        subcommands: [BenchKernels.self, BenchFloat.self, BenchModel.self, BenchFinetune.self, BenchBlob.self, BenchDispatch.self, BenchServe.self]
    )
}
