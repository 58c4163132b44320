import ArgumentParser
import Foundation
import TernKernels
import TernTrain

/// `tern bench finetune MODEL`: LoRA training speed and peak memory on a fixed built-in
/// text (no dataset file): one sequence of ctx + 1 tokens per step, so ctx tokens per step.
struct BenchFinetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "LoRA fine-tuning throughput (tokens/s) and peak RSS on a fixed text."
    )

    @Argument(help: "Path to a .gguf model.") var model: String
    @Option(help: "Tokens per training sequence (and per step).") var ctx = 128
    @Option(help: "LoRA rank.") var rank = 8
    @Option(help: "LoRA alpha.") var alpha: Float = 16
    @Option(help: "Comma-separated LoRA modules.") var modules = LoRATarget.attention.map(\.rawValue).joined(separator: ",")
    @Option(help: "Timed optimizer steps (after one warm-up step).") var steps = 4
    @Option(help: "Kernel threads (default: one per CPU).") var threads: Int?
    @Option(help: "Activation recomputation: on, off, or auto (on when saved activations would pass 256 MiB).")
    var recompute = "auto"
    @Option(help: "Input gradients through ternary weights: int8 (transposed copy, fast) or float (exact).")
    var ternaryGradient = TernaryGradientPath.int8.rawValue
    @Flag(help: "Print JSON instead of a table.") var json = false

    struct Report: Codable {
        let model: String
        let ctx: Int
        let rank: Int
        let alpha: Float
        let modules: [String]
        let threads: Int
        let steps: Int
        let recompute: Bool
        let ternary_gradient: String
        let tokens_per_second: Double
        let seconds_per_step: Double
        let peak_rss_bytes: Int
        let first_loss: Double
        let last_loss: Double
    }

    func validate() throws {
        guard ctx >= 2 else { throw ValidationError("--ctx must be at least 2, got \(ctx)") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") }
        guard ["on", "off", "auto"].contains(recompute) else { throw ValidationError("--recompute must be on, off or auto") }
        guard TernaryGradientPath(rawValue: ternaryGradient) != nil else { throw ValidationError("--ternary-gradient must be int8 or float") }
    }

    func run() throws {
        let file = try GGUFFile(path: model)
        let tokenizer = try Tokenizer(file: file)
        let transformer = try TransformerModel(file: file)
        var text = Self.text
        var tokens = tokenizer.encode(text)
        while tokens.count < ctx + 1 {
            text += "\n\n" + Self.text
            tokens = tokenizer.encode(text)
        }
        let sequence = try TrainingSequence(tokens: Array(tokens.prefix(ctx + 1)), lossMask: Array(repeating: true, count: ctx + 1))
        var options = TrainingOptions()
        options.rank = rank
        options.alpha = alpha
        options.targets = try LoRATarget.parseList(modules)
        options.steps = steps + 1
        let pool = ThreadPool(threads: threads)
        let trainer = try Trainer(model: transformer, train: [sequence], validation: [], options: options, contextLength: ctx,
                                  recomputesActivations: recompute == "auto" ? nil : recompute == "on",
                                  ternaryGradient: TernaryGradientPath(rawValue: ternaryGradient)!, pool: pool)
        let warmup = try trainer.trainStep()
        var seconds = 0.0, last = warmup
        for _ in 0..<steps {
            last = try trainer.trainStep()
            seconds += last.seconds
        }
        let report = Report(model: (model as NSString).lastPathComponent, ctx: ctx, rank: rank, alpha: alpha,
                            modules: options.targets.map(\.rawValue), threads: pool.threadCount, steps: steps,
                            recompute: trainer.graph.recomputesActivations, ternary_gradient: ternaryGradient,
                            tokens_per_second: Double(steps * ctx) / seconds, seconds_per_step: seconds / Double(steps),
                            peak_rss_bytes: PeakMemory.residentBytes, first_loss: warmup.loss.mean, last_loss: last.loss.mean)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            var table = TablePrinter("model", "ctx", "rank", "modules", "threads", "recompute", "tokens/s", "s/step", "peak RSS MiB", "loss first→last")
            table.add([report.model, "\(ctx)", "\(rank)", report.modules.joined(separator: ","), "\(report.threads)",
                       report.recompute ? "on" : "off", String(format: "%.1f", report.tokens_per_second),
                       String(format: "%.2f", report.seconds_per_step),
                       String(format: "%.0f", Double(report.peak_rss_bytes) / 1_048_576),
                       String(format: "%.3f→%.3f", report.first_loss, report.last_loss)])
            print(table.render())
        }
    }

    /// A fixed English passage (public-domain style prose written for this benchmark).
    static let text = """
        The lighthouse keeper climbed the spiral stairs every evening before the sun went down. \
        He carried a small can of oil, a clean cloth and a notebook in which he wrote the weather, \
        the ships he had seen and the number of birds that rested on the gallery rail. In winter \
        the wind pushed against the glass so hard that the whole tower seemed to hum, and he would \
        stand for a while with his hand on the cold brass, listening. In summer the sea was calm and \
        green, and children from the village came to ask him how far the light could reach. Twenty \
        miles, he told them, on a clear night, and farther if you were high up on a mast. They never \
        quite believed him, so once a year he took them out in his boat after dark and let them watch \
        the beam sweep across the water until it was only a faint star on the horizon.
        """
}
