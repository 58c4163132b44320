import ArgumentParser
import Foundation
import TernMesh
import TernNode

/// `tern fuzz TARGET`: seeded mutation fuzzing of one decoder that reads bytes from the
/// network or a file (or of all of them), through the same engine the test suite runs.
struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Feed a decoder mutated and random inputs; fail if one breaks an invariant.",
        discussion: """
            Each iteration feeds the decoder either a mutation of a valid sample (bit flips, boundary bytes, inserted, deleted or duplicated ranges, truncation, two samples spliced, length and count fields overwritten with huge values) or random bytes. Decoders must accept or reject every input: a crash kills this process. Where the format promises it, accepted inputs are checked too (they re-encode to the same bytes; only really signed data verifies). The same --seed gives the same inputs.

            Targets:
            \(FuzzCatalog.entries.map { "  \($0.name.padding(toLength: 13, withPad: " ", startingAt: 0)) \($0.summary)" }.joined(separator: "\n"))
              all           every target in turn

            Exits with status 1 if an input broke an invariant, and prints the first few in hex.
            """
    )

    @Argument(help: "What to fuzz: \((FuzzCatalog.names + ["all"]).joined(separator: ", ")).")
    var target: String
    @Option(help: "Inputs to feed each target.") var iterations = 100_000
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Flag(help: "Print the reports as JSON.") var json = false

    func validate() throws {
        guard target == "all" || FuzzCatalog.entry(named: target) != nil else {
            throw ValidationError("unknown target '\(target)'; choose one of \((FuzzCatalog.names + ["all"]).joined(separator: ", "))")
        }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1, got \(iterations)") }
    }

    func run() throws {
        let entries = target == "all" ? FuzzCatalog.entries : [FuzzCatalog.entry(named: target)!]
        var reports: [FuzzReport] = []
        for entry in entries {
            var fuzzTarget = try entry.make()
            reports.append(runCampaign(&fuzzTarget))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(reports), as: UTF8.self))
        } else {
            printTables(reports)
        }
        if reports.contains(where: { $0.violations > 0 }) { throw ExitCode(1) }
    }

    /// One campaign, with a progress line on a terminal's stderr (redrawn at most 4× a second).
    private func runCampaign(_ fuzzTarget: inout any FuzzTarget) -> FuzzReport {
        let showProgress = isatty(STDERR_FILENO) == 1
        let started = Date()
        var lastDrawn = started
        let name = fuzzTarget.name
        let report = FuzzCampaign.run(&fuzzTarget, iterations: iterations, seed: seed) { done in
            let now = Date()
            guard showProgress, now.timeIntervalSince(lastDrawn) >= 0.25 else { return }
            lastDrawn = now
            let rate = Double(done) / now.timeIntervalSince(started)
            FileHandle.standardError.write(Data(String(
                format: "\r  %@: %d/%d inputs (%.0f/s, ETA %.0f s)  ",
                name, done, iterations, rate, Double(iterations - done) / rate).utf8))
        }
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        return report
    }

    private func printTables(_ reports: [FuzzReport]) {
        var summary = TablePrinter("target", "iterations", "accepted", "rejected", "violations", "seconds", "inputs/s")
        for report in reports {
            summary.add([report.target, "\(report.iterations)", "\(report.accepted)", "\(report.rejected)",
                         "\(report.violations)", String(format: "%.1f", report.seconds),
                         String(format: "%.0f", report.inputsPerSecond)])
        }
        print("seed \(seed)\n" + summary.render())
        var outcomes = TablePrinter("target", "outcome", "inputs")
        for report in reports {
            for (outcome, count) in report.outcomes.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
                outcomes.add([report.target, outcome, "\(count)"])
            }
        }
        print("\n" + outcomes.render())
        for report in reports where report.violations > 0 {
            print("\n\(report.target): \(report.violations) inputs broke an invariant; the first:")
            for violation in report.firstViolations {
                print("  iteration \(violation.iteration): \(violation.reason)\n    \(violation.inputHex)")
            }
        }
    }
}
