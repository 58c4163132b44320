import ArgumentParser
import Foundation
import TernNode

/// `tern bench dispatch`: a distributed fine-tune over real daemons on loopback, with every
/// round's wall time split into compute, transfer, checks, aggregation and waiting.
struct BenchDispatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatch",
        abstract: "Where a distributed fine-tune's round time goes: compute vs. transfer, checks, aggregation, waiting.",
        discussion: """
            Starts one dispatching daemon and --workers worker daemons on loopback (each with
            --threads kernel threads), dispatches a fine-tune of --model on --data (default: a
            generated text) and reports, per round, the workers' compute time (from their receipts)
            against everything else, as the dispatcher measured it. The first round also fetches
            the model and dataset and re-executes every worker's first result, so the goal
            (non-compute ≤ 10 % of a round at H = 20) is judged on the rounds after it.
            """)

    @Option(help: "Base model (default: SmolLM2-135M-Instruct.Q4_1.gguf in $TERN_MODELS or ~/.cache/tern/models).") var model: String?
    @Option(help: "Training data (default: a generated text file).") var data: String?
    @Option(help: "Worker daemons.") var workers = 2
    @Option(help: "Outer rounds.") var rounds = 3
    @Option(help: "Inner steps per worker and round (H).") var innerSteps = 20
    @Option(help: "Sequences per inner step.") var batch = 4
    @Option(help: "Tokens per training sequence.") var ctx = 128
    @Option(help: "LoRA rank.") var rank = 8
    @Option(help: "Kernel threads per daemon (default: the cores shared among the workers).") var threads: Int?
    @Option(help: "Where to put the daemons' data (default: a new temporary directory).") var workDir: String?
    @Flag(help: "Print JSON instead of a table.") var json = false

    struct Round: Codable {
        let round: Int
        let wall_seconds: Double
        let compute_seconds: Double
        let transfer_seconds: Double
        let verification_seconds: Double
        let aggregation_seconds: Double
        let waiting_seconds: Double
        let non_compute_fraction: Double
        let tokens: Int
    }

    struct Report: Codable {
        let model: String
        let workers: Int
        let inner_steps: Int
        let threads_per_daemon: Int
        let rounds: [Round]
        /// Mean over the rounds after the first.
        let steady_non_compute_fraction: Double?
        let goal_non_compute_fraction: Double
        let cores: Int
    }

    func validate() throws {
        guard workers >= 1, rounds >= 1, innerSteps >= 1, batch >= 1, ctx >= 2, rank >= 1 else {
            throw ValidationError("--workers, --rounds, --inner-steps, --batch and --rank must be at least 1, --ctx at least 2")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
        let modelPath = model ?? ModelSynthCommand.defaultTokenizerPath
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw ValidationError("no model at \(modelPath): pass --model or run scripts/setup.sh")
        }
        let root = URL(fileURLWithPath: workDir ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("tern-bench-dispatch-\(UUID().uuidString.prefix(8))").path)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { if workDir == nil { try? FileManager.default.removeItem(at: root) } }
        let dataPath = try data ?? Self.writeText(in: root)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let perDaemon = threads ?? max(1, cores / workers)

        progress("starting \(workers + 1) daemons with \(perDaemon) kernel thread(s) each")
        let base = LoopbackPorts.freeBlock()
        let daemons = try (0...workers).map { index in
            try BenchDaemon.start(root: root, index: index, listen: "127.0.0.1:\(base + index)", bootstrap: "127.0.0.1:\(base)",
                                  extra: ["--threads", "\(perDaemon)"])
        }
        defer { for daemon in daemons { daemon.stop() } }
        let clients = try await daemons.asyncMap { try await $0.client() }
        for client in clients {
            try await BenchBlob.waitUntil("the daemons see each other", seconds: 60) {
                (try? await client.status())?.membersAlive == workers
            }
        }

        let training = TrainJobOptions(steps: innerSteps, learningRate: 5e-4, rank: rank, alpha: Double(2 * rank),
                                       modules: ["attn_q", "attn_k", "attn_v", "attn_o"], sequenceLength: ctx, batchSize: batch,
                                       seed: 42, format: nil)
        var status = try await clients[0].dispatchFineTune(FineTuneDispatchRequest(
            modelPath: URL(fileURLWithPath: modelPath).standardizedFileURL.path,
            dataPath: URL(fileURLWithPath: dataPath).standardizedFileURL.path,
            outPath: root.appendingPathComponent("adapter.gguf").path, workers: workers, rounds: rounds, innerSteps: innerSteps,
            training: training, factors: "both", outerLearningRate: 0.7, outerMomentum: 0.9, verifyRate: 0))
        var shown = 0
        while status.state == "running" {
            try await Task.sleep(for: .seconds(1))
            status = try await clients[0].fineTuneStatus(status.id).first ?? status
            for report in status.completed.dropFirst(shown) { progress(FinetuneCommand.Status.line(report, of: rounds)) }
            shown = status.completed.count
        }
        guard status.state == "finished" else {
            throw ValidationError("the fine-tune \(status.state): \(status.error ?? "no error given")")
        }

        let measured = status.completed.compactMap { report in
            report.timing.map { t in
                Round(round: report.round + 1, wall_seconds: report.seconds, compute_seconds: t.compute, transfer_seconds: t.transfer,
                      verification_seconds: t.verification, aggregation_seconds: t.aggregation, waiting_seconds: t.waiting,
                      non_compute_fraction: t.overheadFraction, tokens: report.tokens)
            }
        }
        let steady = measured.dropFirst()
        let result = Report(
            model: URL(fileURLWithPath: modelPath).lastPathComponent, workers: workers, inner_steps: innerSteps,
            threads_per_daemon: perDaemon, rounds: measured,
            steady_non_compute_fraction: steady.isEmpty ? nil : steady.map(\.non_compute_fraction).reduce(0, +) / Double(steady.count),
            goal_non_compute_fraction: 0.10, cores: cores)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
            return
        }
        var table = TablePrinter("ROUND", "WALL S", "COMPUTE S", "TRANSFER S", "CHECKS S", "AGGREGATION S", "WAITING S", "NON-COMPUTE")
        for r in measured {
            table.add(["\(r.round)", String(format: "%.1f", r.wall_seconds), String(format: "%.1f", r.compute_seconds),
                       String(format: "%.2f", r.transfer_seconds), String(format: "%.1f", r.verification_seconds),
                       String(format: "%.2f", r.aggregation_seconds), String(format: "%.2f", r.waiting_seconds),
                       String(format: "%.1f %%", 100 * r.non_compute_fraction)])
        }
        print(table.render())
        if let fraction = result.steady_non_compute_fraction {
            print(String(format: "\n%d workers × H = %d on %d cores (%d kernel thread(s) each); rounds after the first: "
                         + "%.1f %% not computing (goal ≤ %.0f %%: %@)", workers, innerSteps, cores, perDaemon, 100 * fraction,
                         100 * result.goal_non_compute_fraction, fraction <= result.goal_non_compute_fraction ? "met" : "not met"))
        }
    }

    private func progress(_ line: String) {
        if !json { FileHandle.standardError.write(Data("… \(line)\(line.hasSuffix("\n") ? "" : "\n")".utf8)) }
    }

    /// A plain-text training file, so the benchmark needs nothing but a model.
    static func writeText(in root: URL) throws -> String {
        let path = root.appendingPathComponent("bench.txt").path
        let sentences = ["The mesh splits the work into shards and every worker trains its own.",
                         "A round ends when the workers' changes are averaged into one adapter.",
                         "Each node publishes a signed profile of what it can do and how fast.",
                         "Verification re-runs a sample of the shards and compares every step."]
        let text = (0..<2_000).map { sentences[$0 % sentences.count] + " Line \($0)." }.joined(separator: "\n")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
