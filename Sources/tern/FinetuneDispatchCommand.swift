import ArgumentParser
import Foundation
import TernModel
import TernNode
import TernTasks

/// `tern finetune …`: train here (`local`, the default), or dispatch a fine-tune that the
/// mesh shares and follow it.
struct FinetuneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Train a LoRA adapter on this machine, or dispatch a fine-tune the mesh shares.",
        discussion: """
            `tern finetune MODEL --data FILE --out ADAPTER` trains here. `tern finetune dispatch …`
            asks the running node to train over its peers: DiLoCo rounds of a few inner steps
            on each worker's shard, one LoRA factor per round (exact averaging), every worker's
            first result re-executed to check it.
            """,
        subcommands: [FinetuneLocal.self, Dispatch.self, Status.self, Cancel.self],
        defaultSubcommand: FinetuneLocal.self
    )

    /// The running daemon whose node dispatches (default `$TERN_DATA`).
    struct NodeData: ParsableArguments {
        @Option(name: .customLong("node-data"), help: "The dispatching node's data directory (default: $TERN_DATA or ~/.local/share/tern).")
        var path: String?

        func client() throws -> ControlClient {
            try ControlClient(directory: path.map(NodeDirectory.init) ?? .default)
        }
    }

    struct Dispatch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fine-tune MODEL on --data over the mesh's live peers and write the adapter to --out.",
            discussion: """
                The node registers MODEL (in place) and the dataset as blobs; each worker fetches them
                once. Every round trains both LoRA factors and averages each (`--factors both`, the
                default: measured within 2 points of one node on the instruction set, though the mean
                of the Bᵢ times the mean of the Aᵢ is not the mean of the Bᵢ·Aᵢ); `--factors alternating`
                trains B in even rounds and A in odd ones, which makes the average exact but trained
                10 points worse at that budget (docs/finetuning.md). The outer step is Nesterov
                momentum (--outer-lr, --outer-momentum; 1 and 0 average).
                Without --wait it prints the task id and returns; follow it with `tern finetune status`.
                """)

        @Argument(help: "Path to the base model (.gguf).") var model: String
        @Option(help: "Training data file (text, JSONL chat or JSONL prompt/completion).") var data: String
        @Option(help: "Data format: text, chat or completion (default: detected from the first line).") var format: String?
        @Option(help: "Where to write the final adapter (GGUF LoRA).") var out: String
        @Option(help: "Workers per round.") var workers = 2
        @Option(help: "Outer rounds.") var rounds = 4
        @Option(help: "Inner optimizer steps per worker and round (H).") var innerSteps = 20
        @Option(help: "LoRA rank.") var rank = 8
        @Option(help: "LoRA alpha.") var alpha: Double = 16
        @Option(help: "Comma-separated LoRA modules.") var modules = LoRATarget.attention.map(\.rawValue).joined(separator: ",")
        @Option(help: "Inner learning rate (AdamW, constant).") var lr: Double = 1e-3
        @Option(help: "Context length: tokens per training sequence.") var ctx = 128
        @Option(help: "Sequences per inner step.") var batch = 1
        @Option(help: "Seed of the adapter initialisation and the choice of results to check.") var seed: UInt64 = 42
        @Option(help: "Which factor trains: both (averaged separately, inexact), alternating (B, then A, …; exact) or bOnly (A frozen; exact).") var factors = "both"
        @Option(help: "Outer learning rate (DiLoCo: 0.7).") var outerLr: Float = 0.7
        @Option(help: "Outer Nesterov momentum (DiLoCo: 0.9).") var outerMomentum: Float = 0.9
        @Option(help: "Fraction of later results re-executed to check them (first results always are).") var verifyRate = 0.1
        @Flag(help: "Wait for the fine-tune to finish, showing each round.") var wait = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var node: NodeData

        func run() async throws {
            let absolute = { (path: String) in URL(fileURLWithPath: path).standardizedFileURL.path }
            let training = TrainJobOptions(
                steps: innerSteps, learningRate: lr, rank: rank, alpha: alpha,
                modules: modules.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) },
                sequenceLength: ctx, batchSize: batch, seed: seed, format: format)
            let client = try node.client()
            var status = try await client.dispatchFineTune(FineTuneDispatchRequest(
                modelPath: absolute(model), dataPath: absolute(data), outPath: absolute(out), workers: workers, rounds: rounds,
                innerSteps: innerSteps, training: training, factors: factors, outerLearningRate: outerLr,
                outerMomentum: outerMomentum, verifyRate: verifyRate))
            guard wait else {
                if json { print(String(decoding: try ControlJSON.encoder.encode(status), as: UTF8.self)) } else { print(status.id) }
                return
            }
            var shown = 0
            while status.state == "running" {
                try await Task.sleep(for: .seconds(1))
                status = try await client.fineTuneStatus(status.id).first ?? status
                for report in status.completed.dropFirst(shown) where !json {
                    FileHandle.standardError.write(Data(Status.line(report, of: status.rounds).utf8))
                }
                shown = status.completed.count
            }
            if json {
                print(String(decoding: try ControlJSON.encoder.encode(status), as: UTF8.self))
            } else {
                print("\(status.state): \(status.completed.count)/\(status.rounds) rounds → \(status.outPath)")
            }
            if status.state != "finished" { throw ExitCode.failure }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show dispatched fine-tunes: rounds, per-worker progress, loss, tokens/s, ETA, checks.",
            discussion: """
                Each closed round shows its factor, workers, tokens, mean loss, tokens/s and where its
                time went (compute, transfer, checks, aggregation, waiting). A running fine-tune also
                shows each shard of the round in progress (worker, steps done, last loss) and an ETA
                from the mean round so far; every re-execution of a worker's result is listed with
                its verdict and, on a mismatch, the first step where the runs parted.
                """)

        @Argument(help: "A task id (or prefix); default: every fine-tune of this node.") var task: String?
        @Flag(help: "Print JSON.") var json = false
        @Flag(help: "Redraw every 2 seconds until the fine-tunes shown have ended.") var watch = false
        @OptionGroup var node: NodeData

        static func line(_ report: FineTuneRoundReport, of rounds: Int) -> String {
            var text = String(format: "round %d/%d · factor %@ · %d workers · %d tokens · loss %.4f · %.1f s · %.0f tok/s",
                              report.round + 1, rounds, report.factor ?? "A+B", report.workers.count, report.tokens,
                              report.meanLoss, report.seconds, report.seconds > 0 ? Double(report.tokens) / report.seconds : 0)
            if let t = report.timing {
                text += String(format: " · compute %.1f s, transfer %.1f s, checks %.1f s, aggregation %.1f s, waiting %.1f s",
                               t.compute, t.transfer, t.verification, t.aggregation, t.waiting)
            }
            return text + "\n"
        }

        static func render(_ status: FineTuneStatus) -> String {
            var out = "\(status.id)  \(status.state)  \(status.completed.count)/\(status.rounds) rounds  → \(status.outPath)\n"
            for report in status.completed { out += "  " + line(report, of: status.rounds) }
            if status.state == "running" {
                for shard in status.running ?? [] {
                    out += "  now: shard \(shard.shard) on \(shard.worker.prefix(16)) · step \(shard.stepsDone)/\(shard.steps)"
                        + (shard.loss.map { String(format: " · loss %.4f", $0) } ?? "") + "\n"
                }
                let seconds = status.completed.map(\.seconds)
                if !seconds.isEmpty {
                    let eta = seconds.reduce(0, +) / Double(seconds.count) * Double(status.rounds - status.completed.count)
                    out += String(format: "  ETA about %.0f s\n", eta)
                }
            }
            for check in status.checks ?? [] {
                out += "  check: round \(check.round + 1) shard \(check.shard) of \(check.worker.prefix(16)) "
                    + (check.matched ? "matched" : "MISMATCH" + (check.firstDivergentStep.map { " from step \($0)" } ?? ""))
                    + (check.kernelClass.map { " in \($0)" } ?? "")
                    + (check.verifier.map { " by \($0.prefix(16))" } ?? " here")
                    + (check.relativeDifference.map { String(format: ", update off by %.2g (tolerance %.0g)", $0, UpdateComparison.defaultTolerance) } ?? "")
                    + String(format: " (%.1f s)\n", check.seconds)
            }
            if !status.banned.isEmpty { out += "  banned: \(status.banned.map { String($0.prefix(16)) }.joined(separator: ", "))\n" }
            if let error = status.error { out += "  error: \(error)\n" }
            return out
        }

        func run() async throws {
            let client = try node.client()
            while true {
                let all = try await client.fineTuneStatus(task)
                if json {
                    print(String(decoding: try ControlJSON.encoder.encode(all), as: UTF8.self))
                } else {
                    if watch { print("\u{1B}[H\u{1B}[2J", terminator: "") }
                    print(all.map(Self.render).joined(), terminator: "")
                }
                guard watch, all.contains(where: { $0.state == "running" }) else { return }
                try await Task.sleep(for: .seconds(2))
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a dispatched fine-tune.")

        @Argument(help: "The task id (or prefix).") var task: String
        @OptionGroup var node: NodeData

        func run() async throws {
            let status = try await node.client().cancelFineTune(task)
            print("cancelling \(status.id)")
        }
    }
}
