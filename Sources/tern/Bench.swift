import ArgumentParser

/// `tern bench …`: benchmarks that print a table (or `--json`) with ratios measured in the
/// same run.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure kernel, model and fine-tuning speed on this machine.",
        subcommands: [BenchKernels.self, BenchFloat.self, BenchModel.self, BenchFinetune.self]
    )
}
